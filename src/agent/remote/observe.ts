import type { ObservedStore, Upstream } from '../../contracts/fleet.ts';
import type { StackSpec } from '../../contracts/stack.ts';
import { layout, readJson, type StoreRecord } from '../datadir.ts';
import type { Executor } from '../executor.ts';
import type { StoreUser } from '../podman/types.ts';
import { desiredStore } from '../stack/desired.ts';
import { inspectStore, toStatus } from '../stack/status.ts';
import { readSupervisorRecord } from '../supervisor/supervisor.ts';

/** What the agent knows about a store before looking at its containers. */
export interface StoreFacts {
  readonly store: string;
  /** The stack version last applied successfully, null before the first. */
  readonly applied: number | null;
  /** The version the control plane wants, undefined when the store is no longer desired here. */
  readonly wanted: number | undefined;
  /** The desired spec, when the store is desired. */
  readonly spec: StackSpec | undefined;
  readonly error: string | null;
  /** The store's unix user; undefined when no apply ever got as far as creating it. */
  readonly user: StoreUser | undefined;
}

/** Names of the containers a spec asks for; they depend on the spec alone, not on where files live. */
function containerNames(spec: StackSpec, u: StoreUser, varnishPort: number): string[] {
  return desiredStore({
    spec,
    user: u,
    varnishPort,
    appPorts: [],
    codeDir: '/',
    vcl: { path: '/', hash: '' },
    imageIds: {},
  }).containers.map((c) => c.name);
}

/**
 * Looks at one store's containers (read-only Podman commands) and says whether it runs what is
 * desired: converged means the desired version is the applied one and every container of its spec
 * runs and passed its last health check.
 */
export async function observeStore(ex: Executor, dataDir: string, f: StoreFacts): Promise<ObservedStore> {
  const record = readJson<StoreRecord>(layout(dataDir).record(f.store));
  const facts = f.user ? await inspectStore(ex, f.user) : [];
  const containers = f.user
    ? toStatus(f.store, f.user, facts, readSupervisorRecord(dataDir, f.store).restarts)
    : [];
  const healthy = new Set(
    containers.filter((c) => c.state === 'running' && c.health === 'healthy').map((c) => c.name),
  );
  // A store no longer desired is judged against the spec it last ran.
  const spec = f.spec ?? readJson<StackSpec>(layout(dataDir).spec(f.store));
  const expected =
    spec && f.user && record
      ? containerNames(spec, f.user, record.varnishPort)
      : containers.map((c) => c.name);
  const converged =
    f.applied !== null &&
    (f.wanted === undefined || f.wanted === f.applied) &&
    expected.length > 0 &&
    expected.every((n) => healthy.has(n));
  const varnish = containers.find((c) => c.role === 'varnish');
  const upstreams: Upstream[] = record
    ? [
        {
          role: 'varnish',
          host: '127.0.0.1',
          port: record.varnishPort,
          healthy: varnish !== undefined && healthy.has(varnish.name),
        },
        // An app pod is up when both its web server and its PHP-FPM are.
        ...(record.appPorts ?? []).map((port, i): Upstream => {
          const pod = `${f.store}-app-${i + 1}`;
          return {
            role: 'app',
            host: '127.0.0.1',
            port,
            healthy: healthy.has(`${pod}-web`) && healthy.has(`${pod}-php`),
          };
        }),
      ]
    : [];
  return { store: f.store, stackVersion: f.applied, converged, containers, upstreams, error: f.error };
}
