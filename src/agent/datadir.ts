import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/** Default data directory: system-wide for root, per user otherwise. */
export function defaultDataDir(): string {
  if (process.env.TRIPLANE_DATA_DIR) return process.env.TRIPLANE_DATA_DIR;
  return process.getuid?.() === 0 ? '/var/lib/triplane' : join(homedir(), '.local', 'share', 'triplane');
}

/** What the agent remembers about a store between runs. */
export interface StoreRecord {
  readonly store: string;
  /** Absolute path of the stack file the store was last applied from. */
  readonly source: string;
  readonly varnishPort: number;
  /** Loopback port of each app pod, replica 1 first; absent in records from before app ports. */
  readonly appPorts?: readonly number[];
  readonly appliedAt: string;
  readonly specHash: string;
  /** `down` keeps the record (and the port) but the supervisor leaves the store alone. */
  readonly state?: 'up' | 'down';
}

/** Paths inside the data directory, in one place. */
export function layout(dataDir: string) {
  return {
    root: dataDir,
    stores: join(dataDir, 'stores'),
    store: (s: string) => join(dataDir, 'stores', s),
    record: (s: string) => join(dataDir, 'stores', s, 'store.json'),
    secrets: (s: string) => join(dataDir, 'stores', s, 'secrets.json'),
    /** The validated spec of the last apply, with every default filled in. */
    spec: (s: string) => join(dataDir, 'stores', s, 'spec.json'),
    supervisor: (s: string) => join(dataDir, 'stores', s, 'supervisor.json'),
    applyLock: (s: string) => join(dataDir, 'stores', s, 'apply.lock'),
    run: join(dataDir, 'run'),
    agentPid: join(dataDir, 'run', 'agent.pid'),
    edgePid: join(dataDir, 'run', 'edge.pid'),
    edgeLog: join(dataDir, 'logs', 'edge.log'),
    accessLog: join(dataDir, 'logs', 'access.ndjson'),
    logs: join(dataDir, 'logs'),
    agentLog: join(dataDir, 'logs', 'agent.log'),
  };
}

/** Writes a file atomically (write + rename) so a crash never leaves half a state file. */
export function writeFileAtomic(path: string, text: string, mode = 0o644): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}

/** Reads a JSON file, or undefined when it does not exist. */
export function readJson<T>(path: string): T | undefined {
  if (!existsSync(path)) return undefined;
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

/** Stores known to this data directory (those applied at least once and not destroyed). */
export function listStores(dataDir: string): StoreRecord[] {
  const dir = layout(dataDir).stores;
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .map((s) => readJson<StoreRecord>(layout(dataDir).record(s)))
    .filter((r): r is StoreRecord => r !== undefined);
}

/** The pid in a pid file if that process is alive. */
export function runningPid(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}
