import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { MediaEntry, MediaManifest } from '../../contracts/backup.ts';

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * Every regular file under `root` with its size and sha256, sorted by path. Symbolic links and
 * special files are not followed: a media volume holds uploaded files, and a link out of it must
 * never pull host files into a backup.
 */
export async function mediaManifest(root: string): Promise<MediaManifest> {
  const entries: MediaEntry[] = [];
  const walk = async (dir: string, rel: string): Promise<void> => {
    const names = (await readdir(dir)).sort();
    for (const name of names) {
      const abs = join(dir, name);
      const path = rel === '' ? name : `${rel}/${name}`;
      const st = await lstat(abs);
      if (st.isDirectory()) await walk(abs, path);
      else if (st.isFile()) entries.push({ path, size: st.size, sha256: await sha256File(abs) });
    }
  };
  await walk(root, '');
  entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { files: entries.length, bytes: entries.reduce((n, e) => n + e.size, 0), entries };
}

/** Every difference between two media manifests, each naming the file; at most `limit` listed. */
export function compareMedia(expected: MediaManifest, actual: MediaManifest, limit = 20): string[] {
  const problems: string[] = [];
  const got = new Map(actual.entries.map((e) => [e.path, e]));
  const want = new Set(expected.entries.map((e) => e.path));
  for (const e of expected.entries) {
    const a = got.get(e.path);
    if (!a) problems.push(`media ${e.path}: missing from the restore`);
    else if (a.size !== e.size)
      problems.push(`media ${e.path}: ${a.size} bytes restored, ${e.size} backed up`);
    else if (a.sha256 !== e.sha256) problems.push(`media ${e.path}: checksum differs from the backup's`);
  }
  for (const a of actual.entries)
    if (!want.has(a.path)) problems.push(`media ${a.path}: restored but not in the backup's manifest`);
  if (problems.length > limit)
    return [...problems.slice(0, limit), `media: ${problems.length - limit} more differences`];
  return problems;
}
