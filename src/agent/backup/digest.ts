import { Worker } from 'node:worker_threads';
import type { DumpDigest, MediaManifest } from '../../contracts/backup.ts';

/** A digest to take: of a dump file (per-table rows and checksums) or of a media tree. */
export type DigestJob =
  | { readonly kind: 'dump'; readonly path: string; readonly database: string }
  | { readonly kind: 'media'; readonly root: string };

type Result<J extends DigestJob> = J extends { kind: 'dump' } ? DumpDigest : MediaManifest;

const ENTRY = new URL('./digest-thread.ts', import.meta.url).href;

// A worker thread does not inherit the loader hooks that let the agent run TypeScript: it registers
// tsx itself before importing its entry.
function bootstrap(): string {
  const tsx = import.meta.resolve('tsx/esm/api');
  return `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(ENTRY)}); })`;
}

/**
 * Runs a digest in a worker thread at backup priority and returns it with the niceness the thread
 * ran at. Hashing a dump and the media is the one part of a backup that runs in the agent's own
 * process; at the agent's priority it would take CPU from the storefront as an equal, and on the
 * main thread it would stall the agent's converge and supervise loops for as long.
 */
export function digestInThread<J extends DigestJob>(
  job: J,
): Promise<{ result: Result<J>; niceness: number }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(bootstrap(), { eval: true, workerData: job });
    let answered = false;
    worker.once('message', (m: { result: Result<J>; niceness: number }) => {
      answered = true;
      resolve(m);
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (!answered) reject(new Error(`the digest thread exited with code ${code} before answering`));
    });
  });
}

/** Per-table rows and checksums of a dump file, digested at backup priority. */
export async function digestDump(path: string, database: string): Promise<DumpDigest> {
  return (await digestInThread({ kind: 'dump', path, database })).result;
}

/** The media manifest of a tree, digested at backup priority. */
export async function digestMedia(root: string): Promise<MediaManifest> {
  return (await digestInThread({ kind: 'media', root })).result;
}
