import { readFileSync } from 'node:fs';
import { type EdgeSnapshot, type EdgeSnapshotInput, parseSnapshot } from '../contracts/snapshot.ts';
import type { StackSpec } from '../contracts/stack.ts';

/** A store running on this host, as the local edge needs to know it. */
export interface LocalStore {
  readonly spec: StackSpec;
  readonly varnishPort: number;
}

/**
 * The edge snapshot for the stores of this host: each store answers on `<name>.localhost` and its
 * domains, through its Varnish. Until the control plane publishes snapshots, `up` writes this file
 * and the edge watches it.
 */
export function localSnapshot(stores: readonly LocalStore[], version: number): EdgeSnapshotInput {
  return {
    version,
    createdAt: new Date().toISOString(),
    routes: stores.map((s) => ({
      id: s.spec.name,
      store: s.spec.name,
      hosts: [...new Set([`${s.spec.name}.localhost`, ...s.spec.domains])],
      pathPrefix: '/',
      pool: `${s.spec.name}-varnish`,
    })),
    pools: stores.map((s) => ({
      id: `${s.spec.name}-varnish`,
      members: [{ host: '127.0.0.1', port: s.varnishPort }],
      healthCheck: { path: '/health_check.php' },
    })),
    policies: stores.map((s) => ({ store: s.spec.name, ...s.spec.edge })),
  };
}

/**
 * Next snapshot version for `file`: the same version when nothing but the timestamp would change (so
 * the edge is not disturbed), one more otherwise.
 */
export function nextSnapshot(
  file: string,
  stores: readonly LocalStore[],
): { snapshot: EdgeSnapshot; changed: boolean } {
  let previous: EdgeSnapshot | undefined;
  try {
    const r = parseSnapshot(JSON.parse(readFileSync(file, 'utf8')));
    if (r.ok) previous = r.snapshot;
  } catch {
    previous = undefined;
  }
  const strip = (s: EdgeSnapshot) => JSON.stringify({ ...s, version: 0, createdAt: '' });
  const draft = parseSnapshot(localSnapshot(stores, (previous?.version ?? 0) + 1));
  if (!draft.ok)
    throw new Error(
      `local edge snapshot is invalid: ${draft.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`,
    );
  if (previous && strip(previous) === strip(draft.snapshot)) return { snapshot: previous, changed: false };
  return { snapshot: draft.snapshot, changed: true };
}
