import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { EdgeSnapshot } from '../../contracts/snapshot.ts';
import { messageOf, SnapshotError } from './errors.ts';

/** Where the edge keeps its last-known-good snapshot inside its data directory. */
export function lastKnownGoodPath(dataDir: string): string {
  return join(dataDir, 'edge', 'snapshot.json');
}

/**
 * Writes the snapshot so that a crash at any moment leaves either the old file or the new one: temp
 * file, fsync, rename, then fsync of the directory so the rename itself survives a power cut. Mode
 * 0600 because snapshots carry private keys.
 */
export async function writeLastKnownGood(path: string, snapshot: EdgeSnapshot): Promise<void> {
  const dir = dirname(path);
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(`${JSON.stringify(snapshot, null, 2)}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    const dh = await open(dir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  } catch (e) {
    await rm(tmp, { force: true });
    throw new SnapshotError('TP_EDGE_SNAPSHOT_PERSIST_FAILED', `cannot write ${path}: ${messageOf(e)}`);
  }
}

/** The persisted snapshot, unparsed (the manager validates it like any other), or undefined if none. */
export async function readLastKnownGood(path: string): Promise<{ raw: unknown } | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SnapshotError('TP_EDGE_SNAPSHOT_FILE_UNREADABLE', `cannot read ${path}: ${messageOf(e)}`);
  }
  try {
    return { raw: JSON.parse(text) };
  } catch (e) {
    throw new SnapshotError('TP_EDGE_SNAPSHOT_FILE_UNREADABLE', `${path} is not JSON: ${messageOf(e)}`);
  }
}
