import { createHash } from 'node:crypto';
import { hashTree } from '../tree-hash.ts';

/**
 * SHA-256 over an image folder: every file's path, mode and content (`hashTree`), then the parent
 * image's hash and an optional recipe. Chaining the parent's hash means a new base gives every
 * child a new hash, so children are rebuilt on top of it instead of being skipped.
 */
export function hashImageDir(dir: string, parentHash: string | null, recipe = ''): string {
  return createHash('sha256')
    .update(`triplane-image-v2\ntree ${hashTree(dir)}\nparent ${parentHash ?? '-'}\nrecipe ${recipe}\n`)
    .digest('hex');
}
