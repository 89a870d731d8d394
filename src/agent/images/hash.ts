import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Files under `dir`, as sorted forward-slash paths relative to it. */
function listFiles(dir: string, prefix = ''): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) files.push(...listFiles(dir, rel));
    else files.push(rel);
  }
  return files.sort();
}

/**
 * SHA-256 over an image folder: every file's path, executable bit and content, then the parent
 * image's hash and an optional recipe. Chaining the parent's hash means a new base gives every
 * child a new hash, so children are rebuilt on top of it instead of being skipped.
 */
export function hashImageDir(dir: string, parentHash: string | null, recipe = ''): string {
  const hash = createHash('sha256').update('triplane-image-v1\n');
  for (const rel of listFiles(dir)) {
    const path = join(dir, rel);
    // An entrypoint that lost its executable bit is a different (broken) image.
    const mode = statSync(path).mode & 0o111 ? 'x' : '-';
    const content = createHash('sha256').update(readFileSync(path)).digest('hex');
    hash.update(`file ${rel} ${mode} ${content}\n`);
  }
  hash.update(`parent ${parentHash ?? '-'}\n`);
  hash.update(`recipe ${recipe}\n`);
  return hash.digest('hex');
}
