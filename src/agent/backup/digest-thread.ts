// A worker thread that digests one dump or media tree at backup priority (see digest.ts).
import { getPriority, setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { BACKUP_NICENESS } from './commands.ts';
import type { DigestJob } from './digest.ts';
import { digestDumpFile } from './dump.ts';
import { mediaManifest } from './media.ts';

// On Linux, id 0 is the calling thread: this thread only, not the agent's main thread.
setPriority(0, BACKUP_NICENESS);
const job = workerData as DigestJob;
const result =
  job.kind === 'dump' ? await digestDumpFile(job.path, job.database) : await mediaManifest(job.root);
parentPort!.postMessage({ result, niceness: getPriority(0) });
