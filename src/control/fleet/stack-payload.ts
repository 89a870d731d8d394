import { z } from 'zod';
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

/** A store and its latest production stack, as the reconciler and snapshot builder read them. */
export interface ProductionStack {
  readonly storeId: string;
  /** Null when nothing was applied to production yet, or the stored document is unreadable. */
  readonly stack: { readonly version: number; readonly payload: StackPayload } | null;
}

/** Every store with its latest production stack; unreadable stack documents are named in `problems`. */
export async function productionStacks(
  state: State,
): Promise<{ stores: ProductionStack[]; problems: string[] }> {
  const stores: ProductionStack[] = [];
  const problems: string[] = [];
  for (const store of await state.stores.list()) {
    const latest = await state.stacks.latest(store.id, 'production');
    const read = latest ? readStackPayload(latest) : undefined;
    if (read && !read.ok) problems.push(read.problem);
    stores.push({
      storeId: store.id,
      stack: latest && read?.ok ? { version: latest.version, payload: read.payload } : null,
    });
  }
  return { stores, problems };
}
