import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runningAgentPid } from '../agent/daemon.ts';
import { layout, listStores, readJson, type StoreRecord } from '../agent/datadir.ts';
import type { Executor } from '../agent/executor.ts';
import { inspectStore, toStatus } from '../agent/stack/status.ts';
import { readSupervisorRecord } from '../agent/supervisor/supervisor.ts';
import { existingStoreUser } from '../agent/users.ts';
import type { ContainerStatus } from '../contracts/status.ts';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

/** Starts the agent in the background (logs and pid file in the data directory) unless it runs. */
export function ensureAgentRunning(dataDir: string): { pid: number; started: boolean } {
  const pid = runningAgentPid(dataDir);
  if (pid) return { pid, started: false };
  const paths = layout(dataDir);
  mkdirSync(paths.logs, { recursive: true });
  const fd = openSync(paths.agentLog, 'a');
  const child = spawn(process.execPath, [...process.execArgv, MAIN, 'agent', '--data-dir', dataDir], {
    detached: true,
    stdio: ['ignore', fd, fd],
    cwd: '/',
  });
  closeSync(fd);
  child.unref();
  return { pid: child.pid ?? 0, started: true };
}

/** Stops the background agent and waits for it to exit. */
export async function stopAgent(dataDir: string): Promise<number | undefined> {
  const pid = runningAgentPid(dataDir);
  if (!pid) return undefined;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 300; i++) {
    if (!runningAgentPid(dataDir)) return pid;
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

/** Polls a URL on loopback until it answers 200, or gives up after `timeoutMs`. */
export async function waitForHttp(
  url: string,
  timeoutMs: number,
  onWait: (last: string) => void,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  let lastReport = 0;
  while (Date.now() < deadline) {
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(5000) });
      if (r.status === 200) return true;
      last = `HTTP ${r.status}`;
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
