import { existsSync, readFileSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { layout, runningPid, writeFileAtomic } from '../agent/datadir.ts';
import { AgentError } from '../agent/errors.ts';
import { remoteLayout } from '../agent/remote/state.ts';
import type { StackSpec } from '../contracts/stack.ts';
import { controlLayout } from '../control/layout.ts';
import { lastKnownGoodPath } from '../edge/snapshot/index.ts';
import { ApiClient, CliApiError } from './api-client.ts';
import { ensureBackground, getStatus, stopBackground } from './local.ts';

/** Where the processes of one machine's platform listen; the edge's ports are the README's. */
export interface PlatformAddresses {
  /** The control plane's API, `host:port`. */
  readonly api: string;
  /** The edge's metrics/admin address, where the control plane sends purges. */
  readonly edgeAdmin: string;
}

export const DEFAULT_ADDRESSES: PlatformAddresses = { api: '127.0.0.1:7070', edgeAdmin: '127.0.0.1:8081' };

/** Log files of the platform's background processes, in the data directory. */
export function platformLogs(dataDir: string) {
  const l = layout(dataDir);
  return { control: join(l.logs, 'control.log'), agent: l.agentLog, edge: l.edgeLog };
}

/** The command line a running process was started with, or [] when it is gone. */
function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

/**
 * Stops the process in `pidFile` when it runs but not under the control plane (started by an `up`
 * from before the control plane, or by hand): two masters for one store would fight.
 */
async function stopIfNotControlled(pidFile: string): Promise<number | undefined> {
  const pid = runningPid(pidFile);
  if (!pid || cmdline(pid).includes('--control')) return undefined;
  return stopBackground(pidFile);
}

async function waitFor(what: string, timeoutMs: number, ok: () => Promise<boolean>, logFile: string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok().catch(() => false))) {
    if (Date.now() > deadline)
      throw new AgentError(
        'TP_UP_TIMEOUT',
        `${what} did not start within ${timeoutMs / 1000}s; see ${logFile}`,
      );
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Starts the control plane in the background unless it runs; returns its API client as the admin. */
export async function ensureControl(
  dataDir: string,
  at: PlatformAddresses,
  say: (m: string) => void,
): Promise<{ api: ApiClient; url: string; adminTokenFile: string }> {
  // Loaded here, not at start: every other CLI command would pay for the control plane's code.
  const { initControl } = await import('../control/process.ts');
  const init = await initControl({ dataDir });
  if (init.created) say(`admin token written to ${init.file}`);
  const url = `http://${at.api}`;
  const logs = platformLogs(dataDir);
  const c = ensureBackground(controlLayout(dataDir).pid, logs.control, [
    'control',
    '--data-dir',
    dataDir,
    '--listen',
    at.api,
    '--edge-admin',
    `http://${at.edgeAdmin}`,
  ]);
  say(c.started ? `control plane started (pid ${c.pid})` : `control plane running (pid ${c.pid})`);
  await waitFor(
    'the control plane',
    60_000,
    async () => (await getStatus(`${url}/api/health`)) === 200,
    logs.control,
  );
  writeFileAtomic(apiUrlFile(dataDir), `${url}\n`);
  return { api: localApi(dataDir), url, adminTokenFile: init.file };
}

/** Where `up` notes the API address it started the control plane on, for later commands. */
function apiUrlFile(dataDir: string): string {
  return join(layout(dataDir).run, 'api-url');
}

/** The control plane `up` started on this machine, as its admin. */
export function localApi(dataDir: string): ApiClient {
  const file = apiUrlFile(dataDir);
  const url = existsSync(file) ? readFileSync(file, 'utf8').trim() : `http://${DEFAULT_ADDRESSES.api}`;
  return new ApiClient({ url, token: readFileSync(controlLayout(dataDir).adminToken, 'utf8').trim() });
}

/** Starts this machine's agent under the control plane unless it runs, joining it the first time. */
export async function ensureAgent(
  dataDir: string,
  api: ApiClient,
  url: string,
  say: (m: string) => void,
): Promise<void> {
  const old = await stopIfNotControlled(layout(dataDir).agentPid);
  if (old) say(`agent without a control plane stopped (pid ${old})`);
  const env: Record<string, string> = {};
  if (!runningPid(layout(dataDir).agentPid) && !existsSync(remoteLayout(dataDir).identity)) {
    const t = await api.call<{ token: string }>('POST', '/api/join-tokens', { ttlSeconds: 600 });
    // In the environment, not on the command line, where every user could read it.
    env.TRIPLANE_JOIN_TOKEN = t.token;
  }
  const a = ensureBackground(
    layout(dataDir).agentPid,
    platformLogs(dataDir).agent,
    ['agent', '--data-dir', dataDir, '--control', url, '--name', hostname().toLowerCase()],
    env,
  );
  say(a.started ? `agent started (pid ${a.pid})` : `agent running (pid ${a.pid})`);
}

/** Starts the edge on the control plane's snapshots unless it runs. */
export async function ensureEdge(
  dataDir: string,
  url: string,
  at: PlatformAddresses,
  say: (m: string) => void,
): Promise<void> {
  const paths = layout(dataDir);
  const old = await stopIfNotControlled(paths.edgePid);
  if (old) {
    // Its last-known-good came from a file with versions of its own; the control plane's would be
    // refused as older.
    rmSync(lastKnownGoodPath(dataDir), { force: true });
    say(`edge on a local snapshot file stopped (pid ${old})`);
  }
  const e = ensureBackground(paths.edgePid, paths.edgeLog, [
    'edge',
    '--control',
    url,
    '--token-file',
    controlLayout(dataDir).edgeToken,
    '--access-log',
    `${url}/api/edge/access-log`,
    '--metrics',
    at.edgeAdmin,
    '--data-dir',
    dataDir,
    '--pid-file',
    paths.edgePid,
  ]);
  say(e.started ? `edge started (pid ${e.pid})` : `edge running (pid ${e.pid})`);
}

/** Creates the store when the control plane does not know it, then applies the spec as a new version. */
export async function applyThroughControl(
  api: ApiClient,
  spec: StackSpec,
  stackFile: string,
): Promise<number> {
  try {
    await api.call('GET', `/api/stores/${spec.name}`);
  } catch (e) {
    if (!(e instanceof CliApiError) || e.code !== 'TP_API_NOT_FOUND') throw e;
    await api.call('POST', '/api/stores', { id: spec.name });
  }
  const v = await api.call<{ version: number }>('POST', `/api/stores/${spec.name}/stacks`, {
    environment: 'production',
    spec,
    sourceDir: dirname(stackFile),
  });
  return v.version;
}

/** What the control plane says about a store while it converges. */
export interface StoreProgress {
  readonly appliedVersion: number | null;
  readonly converged: boolean;
  readonly error: string | null;
  readonly containers: readonly { name: string; state: string; health: string }[];
  readonly upstreams: readonly { role: string; host: string; port: number; healthy: boolean }[];
}

/** Waits until the agent runs `version` of the store with every container healthy. */
export async function waitConverged(
  api: ApiClient,
  store: string,
  version: number,
  timeoutMs: number,
  say: (m: string) => void,
): Promise<StoreProgress | undefined> {
  const deadline = Date.now() + timeoutMs;
  let lastSaid = '';
  let lastAt = 0;
  for (;;) {
    const st = await api.call<StoreProgress>('GET', `/api/stores/${store}/status`);
    if (st.converged && (st.appliedVersion ?? 0) >= version) return st;
    if (Date.now() > deadline) return undefined;
    const healthy = st.containers.filter((c) => c.state === 'running' && c.health === 'healthy').length;
    const line =
      st.appliedVersion === version || st.containers.length > 0
        ? `version ${version}: ${healthy}/${st.containers.length} containers healthy${st.error ? ` (${st.error})` : ''}`
        : `version ${version}: waiting for the agent${st.error ? ` (${st.error})` : ''}`;
    if (line !== lastSaid || Date.now() - lastAt > 10_000) {
      say(line);
      lastSaid = line;
      lastAt = Date.now();
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** Stops the platform's background processes, agent first so nothing is re-applied meanwhile. */
export async function stopPlatform(dataDir: string, say: (m: string) => void): Promise<void> {
  const agent = await stopBackground(layout(dataDir).agentPid);
  if (agent) say(`agent stopped (pid ${agent})`);
  const edge = await stopBackground(layout(dataDir).edgePid);
  if (edge) say(`edge stopped (pid ${edge})`);
  const control = await stopBackground(controlLayout(dataDir).pid);
  if (control) say(`control plane stopped (pid ${control})`);
}
