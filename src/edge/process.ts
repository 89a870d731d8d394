import cluster from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import pino from 'pino';
import type { EdgeOptions } from './options.ts';
import { EdgePrimary } from './primary.ts';
import { defaultCertificate } from './tls.ts';
import { EdgeWorker } from './worker.ts';

/** Secret for bot-challenge cookies, shared by the workers and kept across restarts. */
function challengeSecret(dataDir: string): string {
  const file = join(dataDir, 'edge', 'challenge.key');
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600 });
  }
  return readFileSync(file, 'utf8').trim();
}

/**
 * Runs the edge: in the primary process the dispatcher (and pid file), in forked processes the
 * workers. Returns when the process should keep running; SIGTERM/SIGINT stop it gracefully.
 */
export async function runEdge(o: EdgeOptions, pidFile?: string): Promise<void> {
  const log = pino({
    name: cluster.isPrimary ? 'triplane-edge' : `triplane-edge-w${process.env.TRIPLANE_EDGE_WORKER}`,
  });
  if (cluster.isPrimary) {
    const primary = new EdgePrimary(o, log);
    // Made before any worker forks, so the workers only read them.
    challengeSecret(o.dataDir);
    defaultCertificate(o.dataDir);
    await primary.start();
    if (pidFile) {
      mkdirSync(dirname(pidFile), { recursive: true });
      writeFileSync(pidFile, `${process.pid}\n`);
    }
    const stop = async () => {
      await primary.stop();
      if (pidFile && existsSync(pidFile) && Number(readFileSync(pidFile, 'utf8')) === process.pid)
        unlinkSync(pidFile);
      process.exit(0);
    };
    process.once('SIGTERM', () => void stop());
    process.once('SIGINT', () => void stop());
    return;
  }
  const index = Number(process.env.TRIPLANE_EDGE_WORKER ?? 0);
  const worker = new EdgeWorker(o, index, log, challengeSecret(o.dataDir));
  worker.start();
  process.once('SIGTERM', () => void worker.stop().then(() => process.exit(0)));
  // The primary owns Ctrl-C; a worker waits for its SIGTERM so it can drain.
  process.on('SIGINT', () => {});
}
