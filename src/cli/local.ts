import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { layout, listStores, readJson, runningPid, type StoreRecord } from '../agent/datadir.ts';
import type { Executor } from '../agent/executor.ts';
import { inspectStore, toStatus } from '../agent/stack/status.ts';
import { readSupervisorRecord } from '../agent/supervisor/supervisor.ts';
import { existingStoreUser } from '../agent/users.ts';
import type { ContainerStatus } from '../contracts/status.ts';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

/**
 * Starts `triplane <args>` in the background unless the process in `pidFile` runs, with its output
 * appended to `logFile`. The started process writes its own pid file.
 */
export function ensureBackground(
  pidFile: string,
  logFile: string,
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
): { pid: number; started: boolean } {
  const pid = runningPid(pidFile);
  if (pid) return { pid, started: false };
  mkdirSync(dirname(logFile), { recursive: true });
  const fd = openSync(logFile, 'a');
  const child = spawn(process.execPath, [...process.execArgv, MAIN, ...args], {
    detached: true,
    stdio: ['ignore', fd, fd],
    cwd: '/',
    env: { ...process.env, ...env },
  });
  closeSync(fd);
  child.unref();
  return { pid: child.pid ?? 0, started: true };
}

/** Stops a background process by its pid file and waits for it to exit. */
export async function stopBackground(pidFile: string): Promise<number | undefined> {
  const pid = runningPid(pidFile);
  if (!pid) return undefined;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 300; i++) {
    if (!runningPid(pidFile)) return pid;
    await new Promise((r) => setTimeout(r, 100));
  }
  process.kill(pid, 'SIGKILL');
  return pid;
}

/** Status of every container of every (or one) store. */
export async function collectStatus(
  dataDir: string,
  ex: Executor,
  only?: string,
): Promise<ContainerStatus[]> {
  const out: ContainerStatus[] = [];
  for (const rec of listStores(dataDir)) {
    if (only && rec.store !== only) continue;
    const u = await existingStoreUser(ex, rec.store);
    const facts = await inspectStore(ex, u);
    out.push(...toStatus(rec.store, u, facts, readSupervisorRecord(dataDir, rec.store).restarts));
  }
  return out;
}

/** The record of one store, if it was ever applied here. */
export function storeRecord(dataDir: string, store: string): StoreRecord | undefined {
  return readJson<StoreRecord>(layout(dataDir).record(store));
}

/** One GET on loopback with an explicit Host header (`*.localhost` names need no DNS this way). */
export function getStatus(url: string, host?: string, timeoutMs = 5000): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpGet(url, { headers: host ? { host } : {}, timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/** Polls a URL on loopback until it answers 200, or gives up after `timeoutMs`. */
export async function waitForHttp(
  url: string,
  timeoutMs: number,
  onWait: (last: string) => void,
  host?: string,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  let lastReport = 0;
  while (Date.now() < deadline) {
    try {
      const status = await getStatus(url, host);
      if (status === 200) return true;
      last = `HTTP ${status}`;
    } catch (e) {
      last = (e as Error).message;
    }
    if (Date.now() - lastReport > 5000) {
      onWait(last);
      lastReport = Date.now();
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return false;
}
