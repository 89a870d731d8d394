import { z } from 'zod';
import { ENVIRONMENT_SEPARATOR, EnvironmentName, instanceName } from '../../contracts/fleet.ts';
import { StackSpec } from '../../contracts/stack.ts';
import type { StackVersion, State } from '../state/index.ts';

const SourceDir = z.string().startsWith('/', {
  error: (i) => `expected an absolute path, got ${JSON.stringify(i.input)}`,
});

/**
 * What a stack version stores: the spec with one extra top-level key, `sourceDir` (the directory
 * `app.code` is relative to on the nodes). The stacks repository has one document column and no place
 * for it; this is the layout src/control/api/stacks.ts writes (`applyStack`) and reads (`appliedStack`).
 */
export const StackPayload = z.strictObject({ spec: StackSpec, sourceDir: SourceDir });
/** A stack version's stored document, split into the spec and its source directory. */
export type StackPayload = z.infer<typeof StackPayload>;

/**
 * The document to hand to `stacks.apply(store, environment, stackPayload(spec, sourceDir), actor)`:
 * the same layout the API's `applyStack` stores. Typed as a StackSpec because that is what the
 * repository takes; read it back with `readStackPayload`.
 */
export function stackPayload(spec: StackSpec, sourceDir: string): StackSpec {
  return { ...spec, sourceDir } as StackSpec;
}

/** The spec and source directory of a stored stack version, or why it has none (a message naming the version). */
export function readStackPayload(
  v: StackVersion,
): { ok: true; payload: StackPayload } | { ok: false; problem: string } {
  const { sourceDir, ...spec } = v.spec as StackSpec & { sourceDir?: unknown };
  const r = StackPayload.safeParse({ spec, sourceDir });
  if (r.success) return { ok: true, payload: r.data };
  const where = `store ${v.storeId} ${v.environment} stack version ${v.version}`;
  const issue = r.error.issues[0];
  const path = issue?.path.join('.') ?? '';
  const detail =
    sourceDir === undefined
      ? 'stored without a sourceDir (not applied through the API)'
      : `${path}: ${issue?.message}`;
  return { ok: false, problem: `${where}: ${detail}` };
}

/** One environment of a store as nodes run it and the edge routes it (see `instanceName`). */
export interface StackInstance {
  readonly storeId: string;
  readonly environment: EnvironmentName;
  /** The runtime name: the store's own for production, `<store>--staging` for staging. */
  readonly name: string;
  /**
   * The latest stack of the environment with the spec's `name` set to the instance name. Null when
   * nothing was applied to it yet, or the stored document is unreadable.
   */
  readonly stack: { readonly version: number; readonly payload: StackPayload } | null;
}

/**
 * Every store's production instance (with or without a stack) and every staging environment that has
 * a stack applied, as the reconciler places them and the snapshot builder routes them. Unreadable
 * stack documents and staging environments whose instance name would be too long are named in
 * `problems` and left out.
 */
export async function stackInstances(
  state: State,
): Promise<{ instances: StackInstance[]; problems: string[] }> {
  const instances: StackInstance[] = [];
  const problems: string[] = [];
  for (const store of await state.stores.list()) {
    for (const environment of EnvironmentName.options) {
      const latest = await state.stacks.latest(store.id, environment);
      if (!latest && environment !== 'production') continue;
      const name = instanceName(store.id, environment);
      if (name === null) {
        problems.push(
          `store ${store.id} ${environment}: the instance name ${store.id}${ENVIRONMENT_SEPARATOR}${environment} is over 30 characters, so it cannot run`,
        );
        continue;
      }
      const read = latest ? readStackPayload(latest) : undefined;
      if (read && !read.ok) problems.push(read.problem);
      instances.push({
        storeId: store.id,
        environment,
        name,
        stack:
          latest && read?.ok
            ? { version: latest.version, payload: { ...read.payload, spec: { ...read.payload.spec, name } } }
            : null,
      });
    }
  }
  return { instances, problems };
}
