import { unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { AgentError } from '../errors.ts';
import type { Executor } from '../executor.ts';
import { imageInspect, imageLoad, imagePull, imageSave } from '../podman/argv.ts';
import type { StoreUser } from '../podman/types.ts';

async function imageId(ex: Executor, u: StoreUser | null, ref: string): Promise<string | undefined> {
  const r = await ex.run(imageInspect(u, [ref]));
  return r.exitCode === 0 ? r.stdout.trim() || undefined : undefined;
}

/** An image Triplane did not build comes from its registry, pulled by the store user itself. */
async function pull(
  ex: Executor,
  u: StoreUser,
  ref: string,
  onProgress: (msg: string) => void,
): Promise<string> {
  if (ref.startsWith('localhost/')) {
    throw new AgentError(
      'TP_IMAGE_MISSING',
      `image ${ref} is neither built on this host nor in ${u.user}'s storage: run \`triplane images build\``,
      { image: ref, user: u.user },
    );
  }
  onProgress(`pull ${ref} into ${u.user}'s storage`);
  const r = await ex.run({ ...imagePull(u, ref), okExitCodes: [0, 125] });
  const id = r.exitCode === 0 ? await imageId(ex, u, ref) : undefined;
  if (!id) {
    const why = r.stderr.trim().split('\n').at(-1) ?? '';
    throw new AgentError(
      'TP_IMAGE_MISSING',
      `image ${ref} is not on this host and cannot be pulled: ${why}`,
      { image: ref },
    );
  }
  return id;
}

/**
 * Makes the store user's storage hold the same images as root's (where Triplane builds them), copying
 * only those that differ. Returns each reference's image ID as the store user sees it.
 */
export async function ensureStoreImages(
  ex: Executor,
  u: StoreUser,
  refs: readonly string[],
  onProgress: (msg: string) => void = () => {},
): Promise<Record<string, string>> {
  const ids: Record<string, string> = {};
  const toLoad: string[] = [];
  for (const ref of refs) {
    const [rootId, userId] = [await imageId(ex, null, ref), await imageId(ex, u, ref)];
    if (rootId && rootId !== userId) toLoad.push(ref);
    else if (userId) ids[ref] = userId;
    else ids[ref] = await pull(ex, u, ref, onProgress);
  }
  if (toLoad.length > 0) {
    onProgress(`copy ${toLoad.length} image(s) into ${u.user}'s storage: ${toLoad.join(', ')}`);
    const archive = join(u.home, '.triplane-images.tar');
    try {
      await ex.run(imageSave(toLoad, archive));
      await ex.run(imageLoad(u, archive));
    } finally {
      try {
        unlinkSync(archive);
      } catch {
        // Nothing to clean when save failed before writing the archive.
      }
    }
    for (const ref of toLoad) {
      const id = await imageId(ex, u, ref);
      if (!id)
        throw new AgentError('TP_IMAGE_LOAD_FAILED', `image ${ref} did not appear in ${u.user}'s storage`, {
          image: ref,
        });
      ids[ref] = id;
    }
  }
  return ids;
}
