import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { AgentError } from './errors.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether another live process holds the lock file. */
export function isLocked(path: string): boolean {
  try {
    const pid = Number(readFileSync(path, 'utf8'));
    return pid !== process.pid && alive(pid);
  } catch {
    return false;
  }
}

/**
 * Takes a pid lock file so `apply`, `down` and the supervisor never act on one store at once. A lock
 * left by a dead process is taken over.
 */
export async function withLock<T>(path: string, what: string, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o644);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (!isLocked(path)) {
        unlinkSync(path);
        continue;
      }
      if (attempt > 600)
        throw new AgentError('TP_STORE_BUSY', `${what}: another triplane process is working on it`, {
          lock: path,
        });
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    return await fn();
  } finally {
    unlinkSync(path);
  }
}
