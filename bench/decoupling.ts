// Storefront latency through the edge while management work runs, for bench/decoupling.sh.
//   node --import tsx bench/decoupling.ts --data-dir DIR [--rate 50] [--seconds 20] [--rounds 2]
//     [--samples FILE]
// An open-loop generator sends a storefront mix at a fixed rate for the whole run: every request is
// sent at its scheduled time whatever earlier ones are doing, and its latency is counted from that
// time, so a stall is not hidden by the generator waiting for it (coordinated omission). The run
// alternates windows — idle, then busy: a backup as `triplane backup create --wait` takes it (dump,
// media, restic, and the verification restore into a throwaway MariaDB) plus concurrent
// log-analytics loops against the control API — and reports each window, the pooled idle and busy
// figures, and busy/idle ratios.
import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { getPriority, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import { layout, runningPid } from '../src/agent/datadir.ts';
import { formatCpuList, hostManagementCpus } from '../src/contracts/priority.ts';
import { controlLayout } from '../src/control/layout.ts';
import { lowerOwnPriority } from '../src/control/priority.ts';
import { describeInterval, quantile, ratioInterval } from './lib/rounds.ts';

/**
 * The operator client — one process that asks for the backups and runs the analytics loops through
 * the control API — stands for an operator's tools, which run on the operator's machine as the
 * generator stands for shoppers on theirs: at nice 19 and the idle scheduling policy (which the
 * kernel preempts at once for any normal task; at nice 19 alone a woken task may wait out its
 * slice, bench/wakeup-latency.ts) it takes only what the storefront leaves, as it would on another
 * machine. It asks for a backup as `triplane backup create --wait` does (POST the backup, follow
 * the operation, read the backup), without starting a CLI on this machine: a Node.js start-up is
 * 1.5 s of CPU and 200 MB of fresh memory, kernel work that lands on the storefront's cores whatever
 * the priority. What is measured is the platform's side of the work — the control API answering, the
 * jobs, the agent's backup and verification.
 */
const OPERATOR_NICENESS = 19;

const { values: opt } = parseArgs({
  options: {
    'data-dir': { type: 'string' },
    store: { type: 'string', default: 'demo' },
    rate: { type: 'string', default: '50' },
    seconds: { type: 'string', default: '20' },
    rounds: { type: 'string', default: '2' },
    edge: { type: 'string', default: 'http://127.0.0.1:8080' },
    api: { type: 'string', default: 'http://127.0.0.1:7070' },
    analytics: { type: 'string', default: '4' },
    backup: { type: 'string', default: 'on' },
    'operator-client': { type: 'boolean', default: false },
    /** Also write every reported request (window, kind, latency, status) here, one JSON per line. */
    samples: { type: 'string' },
  },
});
if (!opt['data-dir']) throw new Error('--data-dir is required');
const dataDir = resolve(opt['data-dir']);
const store = opt.store;
const rate = Number(opt.rate);
const windowMs = Number(opt.seconds) * 1000;
const rounds = Number(opt.rounds);
if (opt.backup !== 'on' && opt.backup !== 'off')
  throw new Error(`--backup: expected on or off, got ${JSON.stringify(opt.backup)}`);
/** Off: busy windows hold the log analytics alone, to tell its share from the backup's. */
const withBackup = opt.backup === 'on';
/** Between windows the load goes on but is not reported, so one window's tail does not land in the next. */
const SETTLE_MS = 3000;
const WARMUP_MS = 5000;
const SESSIONS = 24;
const host = `${store}.localhost`;
const token = readFileSync(controlLayout(dataDir).adminToken, 'utf8').trim();
const auth = { authorization: `Bearer ${token}` };

// ─── the storefront mix ─────────────────────────────────────────────────────────────────────────
// Cached catalog pages (the edge keeps /product/, Varnish the rest) and uncached PHP work: the cart
// page from the Redis session, adding to the cart, and checkouts, which write MariaDB.
type Kind = 'home' | 'category' | 'product' | 'cart' | 'cart-add' | 'checkout';
const MIX: readonly (readonly [Kind, number])[] = [
  ['home', 25],
  ['category', 20],
  ['product', 25],
  ['cart', 12],
  ['cart-add', 12],
  ['checkout', 6],
];
const KINDS = MIX.map(([k]) => k);

/** A fixed-seed PRNG (mulberry32), so every run sends the same sequence. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = prng(20261130);
const pick = (n: number) => 1 + Math.floor(random() * n);
function drawKind(): Kind {
  let r = random() * 100;
  for (const [k, w] of MIX) {
    r -= w;
    if (r < 0) return k;
  }
  return 'home';
}

/** A shopper's PHP session; checkouts only go to a session whose cart has items and nothing in flight. */
interface Session {
  cookie: string;
  filled: boolean;
  adding: number;
  checkingOut: boolean;
}
const sessions: Session[] = [];

const edge = new Agent({
  connections: 200,
  keepAliveTimeout: 4000,
  headersTimeout: 30_000,
  bodyTimeout: 30_000,
});
const control = new Agent({ connections: 16, headersTimeout: 60_000, bodyTimeout: 60_000 });

interface Sent {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: string;
}
const FORM = 'application/x-www-form-urlencoded';

async function send(s: Sent): Promise<{ status: number; setCookie?: string }> {
  const r = await request(`${opt.edge}${s.path}`, {
    dispatcher: edge,
    method: s.method,
    headers: { host, ...s.headers },
    body: s.body,
  });
  await r.body.arrayBuffer();
  const c = r.headers['set-cookie'];
  return { status: r.statusCode, setCookie: Array.isArray(c) ? c.join('; ') : c };
}

async function newSession(): Promise<Session> {
  const r = await send({
    method: 'POST',
    path: '/cart/add',
    headers: { 'content-type': FORM, accept: 'application/json' },
    body: 'product_id=1&qty=1',
  });
  const id = /PHPSESSID=([^;]+)/.exec(r.setCookie ?? '')?.[1];
  if (r.status !== 200 || !id)
    throw new Error(`cart/add without a session: status ${r.status}, no PHPSESSID`);
  return { cookie: `PHPSESSID=${id}`, filled: true, adding: 0, checkingOut: false };
}

/** The request a scheduled slot of `kind` sends, and what to note about its session afterwards. */
function plan(kind: Kind): { kind: Kind; sent: Sent; done?: (status: number) => void } {
  const anySession = () => sessions[Math.floor(random() * sessions.length)]!;
  switch (kind) {
    case 'home':
      return { kind, sent: { method: 'GET', path: '/', headers: { accept: 'text/html' } } };
    case 'category':
      return {
        kind,
        sent: { method: 'GET', path: `/category/${pick(4)}`, headers: { accept: 'text/html' } },
      };
    case 'product':
      return {
        kind,
        sent: { method: 'GET', path: `/product/${pick(20)}`, headers: { accept: 'text/html' } },
      };
    case 'cart': {
      const s = anySession();
      return {
        kind,
        sent: { method: 'GET', path: '/cart', headers: { accept: 'text/html', cookie: s.cookie } },
      };
    }
    case 'checkout': {
      const start = Math.floor(random() * sessions.length);
      for (let i = 0; i < sessions.length; i++) {
        const s = sessions[(start + i) % sessions.length]!;
        if (!s.filled || s.adding > 0 || s.checkingOut) continue;
        s.checkingOut = true;
        s.filled = false;
        return {
          kind,
          sent: {
            method: 'POST',
            path: '/checkout',
            headers: { accept: 'application/json', cookie: s.cookie },
          },
          done: () => {
            s.checkingOut = false;
          },
        };
      }
      // No cart is ready: this slot fills one instead (counted as cart-add).
      return plan('cart-add');
    }
    case 'cart-add': {
      let s = anySession();
      for (let i = 0; i < sessions.length && s.checkingOut; i++) s = anySession();
      s.adding++;
      return {
        kind,
        sent: {
          method: 'POST',
          path: '/cart/add',
          headers: { 'content-type': FORM, accept: 'application/json', cookie: s.cookie },
          body: `product_id=${pick(20)}&qty=1`,
        },
        done: (status) => {
          s.adding--;
          if (status === 200) s.filled = true;
        },
      };
    }
  }
}

// ─── samples and percentiles ────────────────────────────────────────────────────────────────────
interface Sample {
  phase: string;
  kind: Kind;
  /** When it was due (performance.now()), to place it against the backup's stages. */
  at: number;
  /** From the scheduled send time to the end of the response body (or the error), ms. */
  ms: number;
  /** How late the generator itself sent it, ms: shows when the generator was starved of CPU. */
  lagMs: number;
  ok: boolean;
  status: number;
}
const samples: Sample[] = [];
let phase = 'setup';
let inFlight = 0;

interface Summary {
  n: number;
  errors: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  lag99: number;
}
function summarise(list: readonly Sample[]): Summary {
  const ms = list.map((s) => s.ms).sort((a, b) => a - b);
  const lag = list.map((s) => s.lagMs).sort((a, b) => a - b);
  return {
    n: list.length,
    errors: list.filter((s) => !s.ok).length,
    p50: quantile(ms, 0.5),
    p90: quantile(ms, 0.9),
    p99: quantile(ms, 0.99),
    max: ms.at(-1) ?? Number.NaN,
    lag99: quantile(lag, 0.99),
  };
}

// ─── the open-loop generator ────────────────────────────────────────────────────────────────────
async function fire(due: number): Promise<void> {
  const p = phase;
  const { kind, sent, done } = plan(drawKind());
  const lagMs = performance.now() - due;
  inFlight++;
  let status = 0;
  try {
    status = (await send(sent)).status;
  } catch {
    status = 0;
  }
  inFlight--;
  done?.(status);
  const ms = performance.now() - due;
  if (p !== 'setup' && p !== 'settle' && p !== 'warmup')
    samples.push({ phase: p, kind, at: due, ms, lagMs, ok: status >= 200 && status < 300, status });
}

/** Sends at `rate` per second until stopped; returns the function that stops it. */
function generate(): () => void {
  const interval = 1000 / rate;
  const t0 = performance.now();
  let i = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const tick = () => {
    const now = performance.now();
    for (; t0 + i * interval <= now; i++) void fire(t0 + i * interval);
    if (!stopped) timer = setTimeout(tick, Math.max(0, t0 + i * interval - performance.now()));
  };
  tick();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

// ─── management work: the backup and the log analytics ─────────────────────────────────────────
interface BackupOutcome {
  /** performance.now() when the command started and when it ended. */
  startMs: number;
  endMs: number;
  wallMs: number;
  exit: number | null;
  backup?: {
    id: string;
    status: string;
    snapshot: {
      sizeBytes: number;
      addedBytes: number;
      durationMs: number;
      tables: number;
      mediaFiles: number;
    } | null;
    verification: {
      status: string;
      durationMs: number;
      tables: number;
      rows: number;
      mediaFiles: number;
      problems: string[];
    } | null;
    error: string | null;
  };
  stderr: string;
}
let operatorPid: number | undefined;

/** Epoch milliseconds, comparable across processes (performance.now() is not). */
const epochNow = () => performance.timeOrigin + performance.now();

/**
 * What `triplane backup create STORE --wait --json` does, through the API: asks for a backup,
 * follows the operation once a second until it has ended, then reads the backup. Runs in the
 * operator client; times are epoch milliseconds.
 */
async function backupViaApi(): Promise<BackupOutcome> {
  const t0 = epochNow();
  const api = async <T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> => {
    const r = await request(`${opt.api}${path}`, {
      method,
      dispatcher: control,
      headers: { ...auth, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await r.body.text();
    if (r.statusCode >= 400) throw new Error(`${method} ${path}: HTTP ${r.statusCode} ${text.slice(0, 300)}`);
    return JSON.parse(text) as T;
  };
  let exit: number | null = null;
  let backup: BackupOutcome['backup'];
  let stderr = '';
  try {
    const op = await api<{ operation: string; backup: { id: string } }>(
      'POST',
      `/api/stores/${store}/backups`,
      {
        environment: 'production',
      },
    );
    let job: { status: string; error?: string | null };
    for (;;) {
      job = await api('GET', `/api/stores/${store}/operations/${op.operation}`);
      if (job.status === 'succeeded' || job.status === 'failed') break;
      await sleep(1000);
    }
    backup = await api('GET', `/api/stores/${store}/backups/${op.backup.id}`);
    exit = job.status === 'succeeded' && backup?.verification?.status !== 'failed' ? 0 : 1;
    if (job.status === 'failed') stderr = `backup failed: ${job.error ?? ''}`;
  } catch (e) {
    stderr = (e as Error).message;
  }
  const end = epochNow();
  return { startMs: t0, endMs: end, wallMs: end - t0, exit, backup, stderr };
}

interface Analytics {
  path: string;
  /** Latency of each answered query, waiting in the control plane's read budget included. */
  ms: number[];
  /** Answers 429 (the read budget's line was full), waited out for their Retry-After as a client should. */
  busy: number;
  errors: number;
}
/** One log-analytics loop: the same query again as soon as the last answer is read, until stopped. */
async function analyticsLoop(a: Analytics, running: () => boolean): Promise<void> {
  while (running()) {
    const t0 = performance.now();
    try {
      const r = await request(`${opt.api}${a.path}`, { dispatcher: control, headers: auth });
      await r.body.arrayBuffer();
      if (r.statusCode === 429) {
        a.busy++;
        await sleep(1000 * Number(r.headers['retry-after'] ?? 1));
        continue;
      }
      if (r.statusCode !== 200) a.errors++;
    } catch {
      a.errors++;
      await sleep(100);
    }
    a.ms.push(performance.now() - t0);
  }
}

/** The kernel's autogroup setting, which decides whether niceness ranks processes across sessions. */
function autogroup(): string {
  try {
    return readFileSync('/proc/sys/kernel/sched_autogroup_enabled', 'utf8').trim() === '0' ? 'off' : 'on';
  } catch {
    return 'absent';
  }
}

/** What the generator and the operator client tell each other. */
type ToOperator = 'start' | 'stop' | 'backup';
type FromOperator = { kind: 'loops'; loops: Analytics[] } | { kind: 'backup'; outcome: BackupOutcome };

/**
 * The operator client runs in a process of its own at {@link OPERATOR_NICENESS} and SCHED_IDLE:
 * reading answers in the generator would delay the generator's sends, and at the generator's
 * priority it would take CPU the storefront should get. Told by message when a busy window starts ("start": the analytics loops
 * run) and ends ("stop": answered with the loops' figures), and to take a backup ("backup": answered
 * with its outcome).
 */
function operatorClient(): void {
  lowerOwnPriority(OPERATOR_NICENESS);
  let loops: Analytics[] = [];
  let running: Promise<void>[] = [];
  let busy = false;
  const send = (m: FromOperator) => process.send?.(m);
  process.on('message', (m: ToOperator) => {
    if (m === 'backup') {
      void backupViaApi().then((outcome) => send({ kind: 'backup', outcome }));
      return;
    }
    if (m === 'start') {
      busy = true;
      loops = Array.from({ length: Number(opt.analytics) }, (_, i) => ({
        path:
          i % 2 === 0 ? `/api/stores/${store}/requests?limit=1000` : `/api/stores/${store}/events?limit=1000`,
        ms: [],
        busy: 0,
        errors: 0,
      }));
      running = loops.map((a) => analyticsLoop(a, () => busy));
      return;
    }
    busy = false;
    void Promise.all(running).then(() => send({ kind: 'loops', loops }));
  });
  process.on('disconnect', () => process.exit(0));
}

/**
 * Starts the operator client. `window()` runs its analytics loops until the returned function is
 * called; `backup()` has it take a backup, with times in this process's performance.now().
 */
function startOperatorClient(): {
  child: ChildProcess;
  window: () => () => Promise<Analytics[]>;
  backup: () => Promise<BackupOutcome>;
} {
  const child = fork(process.argv[1]!, [...process.argv.slice(2), '--operator-client'], {
    execArgv: process.execArgv,
  });
  // Every thread it has by now; the threads it starts later inherit the policy and the CPUs. On the
  // management CPUs too: on another machine it would take none of the storefront's.
  execFileSync('chrt', ['--idle', '--all-tasks', '--pid', '0', String(child.pid)]);
  const managed = hostManagementCpus();
  if (managed)
    execFileSync('taskset', [
      '--all-tasks',
      '--cpu-list',
      '--pid',
      formatCpuList(managed),
      String(child.pid),
    ]);
  const next = <K extends FromOperator['kind']>(kind: K) =>
    new Promise<Extract<FromOperator, { kind: K }>>((done) => {
      const on = (m: FromOperator) => {
        if (m.kind !== kind) return;
        child.off('message', on);
        done(m as Extract<FromOperator, { kind: K }>);
      };
      child.on('message', on);
    });
  return {
    child,
    window: () => {
      child.send('start' satisfies ToOperator);
      return async () => {
        const answer = next('loops');
        child.send('stop' satisfies ToOperator);
        return (await answer).loops;
      };
    },
    backup: async () => {
      const answer = next('backup');
      child.send('backup' satisfies ToOperator);
      const o = (await answer).outcome;
      const local = (epoch: number) => epoch - performance.timeOrigin;
      return { ...o, startMs: local(o.startMs), endMs: local(o.endMs) };
    },
  };
}

// ─── CPU by process group ───────────────────────────────────────────────────────────────────────
// Sampled from /proc once a second (asynchronously, so the generator is not held up), so the report
// can say where the cores went in each window: the store's containers by command, the platform's
// processes, this generator, and whatever else runs on the machine.
const HZ = 100;
const cpu = new Map<string, Map<string, number>>();
const storeUid = Number(
  readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`tp-${store}:`))
    ?.split(':')[2] ?? -1,
);
interface Proc {
  pid: number;
  ppid: number;
  uid: number;
  comm: string;
  nice: number;
  /** The scheduling policy; 5 is SCHED_IDLE. */
  policy: number;
  ticks: number;
  start: string;
}
async function readProc(pid: number): Promise<Proc | undefined> {
  try {
    const [text, st] = await Promise.all([readFile(`/proc/${pid}/stat`, 'utf8'), stat(`/proc/${pid}`)]);
    const close = text.lastIndexOf(')');
    const f = text.slice(close + 2).split(' ');
    return {
      pid,
      ppid: Number(f[1]),
      uid: st.uid,
      comm: text.slice(text.indexOf('(') + 1, close),
      nice: Number(f[16]),
      policy: Number(f[38]),
      ticks: Number(f[11]) + Number(f[12]),
      start: f[19]!,
    };
  } catch {
    return undefined;
  }
}
function roots(): Map<number, string> {
  const m = new Map<number, string>([[process.pid, 'load generator']]);
  if (operatorPid) m.set(operatorPid, 'operator client (backups, analytics)');
  const add = (file: string, name: string) => {
    const pid = runningPid(file);
    if (pid) m.set(pid, name);
  };
  add(controlLayout(dataDir).pid, 'control');
  add(layout(dataDir).agentPid, 'agent');
  add(layout(dataDir).edgePid, 'edge');
  return m;
}
/** The control plane's own children by what they are; their command is Node for both. */
function controlChild(p: Proc): string {
  try {
    const argv = readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').split('\0');
    if (argv.includes('analytics-reader')) return 'analytics reader';
    if (argv.includes('jobs')) return 'jobs process';
  } catch {
    // Gone since it was listed.
  }
  return p.comm;
}
function groupOf(p: Proc, all: Map<number, Proc>, top: Map<number, string>): string {
  const idle = p.policy === 5 ? ', SCHED_IDLE' : '';
  const niced = p.nice > 0 ? ` (nice ${p.nice}${idle})` : idle ? ` (${idle.slice(2)})` : '';
  let ownedByStore = false;
  for (let a: Proc | undefined = p, hops = 0; a && hops < 64; a = all.get(a.ppid), hops++) {
    ownedByStore ||= a.uid === storeUid;
    const root = top.get(a.pid);
    if (!root) continue;
    if (root === 'control') return a === p ? `control API${niced}` : `control: ${controlChild(p)}${niced}`;
    return a === p ? `${root}${niced}` : `${root}: ${p.comm}${niced}`;
  }
  return ownedByStore ? `store: ${p.comm}${niced}` : 'other processes on the machine';
}
/**
 * Seconds of CPU the host took from this virtual machine in each phase (/proc/stat's steal): time
 * in which nothing here ran, the storefront included, whatever its priority.
 */
const stolen = new Map<string, number>();
async function stealTicks(): Promise<number> {
  // cpu  user nice system idle iowait irq softirq steal …
  const first = (await readFile('/proc/stat', 'utf8')).split('\n', 1)[0]!;
  return Number(first.trim().split(/\s+/)[8] ?? 0);
}
function sampleCpu(): () => Promise<void> {
  let last = new Map<string, number>();
  let lastSteal = 0;
  let first = true;
  let stopped = false;
  const loop = async () => {
    while (!stopped) {
      const pids = (await readdir('/proc')).filter((d) => /^\d+$/.test(d)).map(Number);
      const procs = (await Promise.all(pids.map(readProc))).filter((p): p is Proc => p !== undefined);
      const all = new Map(procs.map((p) => [p.pid, p]));
      const top = roots();
      const next = new Map<string, number>();
      const byGroup = cpu.get(phase) ?? new Map<string, number>();
      for (const p of procs) {
        const key = `${p.pid}:${p.start}`;
        next.set(key, p.ticks);
        // A process not seen before started since the last sample: all its time is new.
        const delta = first ? 0 : p.ticks - (last.get(key) ?? 0);
        if (delta <= 0) continue;
        const g = groupOf(p, all, top);
        byGroup.set(g, (byGroup.get(g) ?? 0) + delta / HZ);
      }
      cpu.set(phase, byGroup);
      const steal = await stealTicks();
      if (!first) stolen.set(phase, (stolen.get(phase) ?? 0) + (steal - lastSteal) / HZ);
      lastSteal = steal;
      last = next;
      first = false;
      await sleep(1000);
    }
  };
  const running = loop();
  return async () => {
    stopped = true;
    await running;
  };
}

// ─── setup: rate limit, sessions ────────────────────────────────────────────────────────────────
async function api<T>(method: 'GET' | 'PUT', path: string, body?: unknown): Promise<T> {
  const r = await request(`${opt.api}${path}`, {
    dispatcher: control,
    method,
    headers: { ...auth, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.body.text();
  if (r.statusCode >= 300) throw new Error(`${method} ${path}: ${r.statusCode} ${text}`);
  return JSON.parse(text) as T;
}

/**
 * The store's default rate limit (50/s per client IP) would throttle a generator that sends
 * everything from 127.0.0.1; it is raised well above the rate, and the run waits until every edge
 * has taken the snapshot that carries it.
 */
async function raiseRateLimit(): Promise<void> {
  type Status = { snapshotVersion: number | null; edges: { version: number; accepted: boolean }[] };
  const before = (await api<Status>('GET', `/api/stores/${store}/status`)).snapshotVersion ?? 0;
  const perSec = Math.max(1000, rate * 20);
  await api('PUT', `/api/stores/${store}/policy/rate-limits`, [
    { class: 'default', pathPrefixes: [], methods: [], ratePerSec: perSec, burst: perSec * 2 },
  ]);
  const until = Date.now() + 60_000;
  for (;;) {
    const st = await api<Status>('GET', `/api/stores/${store}/status`);
    const v = st.snapshotVersion ?? 0;
    if (v > before && st.edges.length > 0 && st.edges.every((e) => e.version >= v && e.accepted)) return;
    if (Date.now() > until) throw new Error('the edges did not take the raised rate limit within 60 s');
    await sleep(500);
  }
}

// ─── the run ────────────────────────────────────────────────────────────────────────────────────
const fmtMs = (v: number) => (Number.isNaN(v) ? '-' : v < 10 ? `${v.toFixed(1)}ms` : `${v.toFixed(0)}ms`);
const fmtS = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;
const pad = (cols: readonly string[], widths: readonly number[]) =>
  cols.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' ');

async function main(): Promise<void> {
  // The operator client goes with the generator (its IPC channel closes).
  const stopSignals = () => process.exit(130);
  process.once('SIGTERM', stopSignals);
  process.once('SIGINT', stopSignals);

  await raiseRateLimit();
  for (let i = 0; i < SESSIONS; i++) sessions.push(await newSession());
  const client = startOperatorClient();
  operatorPid = client.child.pid;
  const loadBefore = loadavg();
  const stopCpu = sampleCpu();
  phase = 'warmup';
  const stop = generate();
  await sleep(WARMUP_MS);

  const backups: BackupOutcome[] = [];
  const analytics: Analytics[] = [];
  for (let r = 1; r <= rounds; r++) {
    phase = `idle-${r}`;
    await sleep(windowMs);
    phase = 'settle';
    await sleep(SETTLE_MS);

    phase = `busy-${r}`;
    const stopAnalytics = client.window();
    const [outcome] = await Promise.all([withBackup ? client.backup() : undefined, sleep(windowMs)]);
    const loops = stopAnalytics();
    if (outcome) backups.push(outcome);
    phase = 'settle';
    analytics.push(...(await loops));
    await sleep(SETTLE_MS);
  }
  stop();
  while (inFlight > 0) await sleep(50);
  await stopCpu();
  client.child.disconnect();
  const loadAfter = loadavg();
  report(backups, analytics, loadBefore, loadAfter);
}

/**
 * The steps the agent logged while it took and verified the backups ("task progress" lines of its
 * log, epoch-millisecond times), in this process's performance.now().
 */
function backupSteps(): { at: number; step: string }[] {
  const log = layout(dataDir).agentLog;
  if (!existsSync(log)) return [];
  const steps: { at: number; step: string }[] = [];
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    if (!line.includes('"task progress"')) continue;
    const o = JSON.parse(line) as { time?: number; step?: string; op?: string };
    if (typeof o.time !== 'number' || typeof o.step !== 'string' || !o.op?.startsWith('backup.')) continue;
    steps.push({ at: o.time - performance.timeOrigin, step: o.step });
  }
  return steps.sort((a, b) => a.at - b.at);
}

function report(
  backups: readonly BackupOutcome[],
  analytics: readonly Analytics[],
  loadBefore: number[],
  loadAfter: number[],
): void {
  const out: string[] = [];
  const la = (l: number[]) => l.map((v) => v.toFixed(2)).join(' ');
  out.push(
    `decoupling: ${rate} req/s open loop through the edge (${host}), idle windows ${windowMs / 1000} s, busy windows until the backup has ended (at least ${windowMs / 1000} s), ${rounds} round(s)`,
  );
  out.push(
    `load average at start: ${la(loadBefore)}; at end: ${la(loadAfter)}; generator at nice ${getPriority()}, ${opt.analytics} analytics loop(s), backup ${opt.backup}; autogroup scheduling ${autogroup()}; management work on CPUs ${formatCpuList(hostManagementCpus() ?? []) || 'all'}`,
  );
  out.push('');
  const widths = [10, 6, 6, 7, 8, 8, 8, 8, 9];
  out.push(pad(['phase', 'secs', 'reqs', 'errors', 'p50', 'p90', 'p99', 'max', 'lag p99'], widths));
  const wall = (pred: (p: string) => boolean) =>
    [...phaseWallMs].filter(([p]) => pred(p)).reduce((t, [, ms]) => t + ms, 0) / 1000;
  const row = (name: string, s: Summary, secs: number) =>
    pad(
      [
        name,
        Number.isNaN(secs) ? '-' : secs.toFixed(0),
        String(s.n),
        String(s.errors),
        fmtMs(s.p50),
        fmtMs(s.p90),
        fmtMs(s.p99),
        fmtMs(s.max),
        fmtMs(s.lag99),
      ],
      widths,
    );
  const phases = [...new Set(samples.map((s) => s.phase))];
  const of = (pred: (s: Sample) => boolean) => summarise(samples.filter(pred));
  const isIdle = (p: string) => p.startsWith('idle');
  const isBusy = (p: string) => p.startsWith('busy');
  for (const p of phases) {
    const only = (x: string) => x === p;
    out.push(
      row(
        p,
        of((s) => only(s.phase)),
        wall(only),
      ),
    );
  }
  const idle = of((s) => isIdle(s.phase));
  const busy = of((s) => isBusy(s.phase));
  out.push(row('idle all', idle, wall(isIdle)));
  out.push(row('busy all', busy, wall(isBusy)));
  // The busy windows by what the backup was doing: taking the snapshot (the dump from the store's
  // own MariaDB, media, restic) until its verification began, then verifying (the throwaway
  // MariaDB), then nothing (the window's rest, analytics only).
  const stage = (b: BackupOutcome, at: number): 'snapshot' | 'verify' | 'after' | undefined => {
    const verifyMs = b.backup?.verification?.durationMs ?? 0;
    if (at < b.startMs) return undefined;
    if (at < b.endMs - verifyMs) return 'snapshot';
    if (at <= b.endMs) return 'verify';
    return 'after';
  };
  if (backups.length > 0) {
    const byStage = new Map<string, Sample[]>();
    backups.forEach((b, i) => {
      for (const smp of samples) {
        if (smp.phase !== `busy-${i + 1}`) continue;
        const st = stage(b, smp.at);
        if (st) byStage.set(st, [...(byStage.get(st) ?? []), smp]);
      }
    });
    const stageSecs = (st: string) =>
      backups.reduce((t, b) => {
        const v = b.backup?.verification?.durationMs ?? 0;
        return t + (st === 'snapshot' ? b.wallMs - v : st === 'verify' ? v : 0);
      }, 0) / 1000;
    for (const st of ['snapshot', 'verify', 'after']) {
      const list = byStage.get(st);
      if (!list?.length) continue;
      const sum = summarise(list);
      out.push(
        `${row(`busy:${st}`, sum, st === 'after' ? Number.NaN : stageSecs(st))}  p99/idle ${(sum.p99 / idle.p99).toFixed(2)}`,
      );
    }
  }
  // Finer: by the step the agent was at (its log), from the request for the backup to its end.
  // Before the first step the control plane is scheduling the task; after the last, it records it.
  const steps = backupSteps();
  if (backups.length > 0 && steps.length > 0) {
    const byStep = new Map<string, { list: Sample[]; ms: number }>();
    const at = (name: string) => {
      const e = byStep.get(name) ?? { list: [], ms: 0 };
      byStep.set(name, e);
      return e;
    };
    backups.forEach((b, i) => {
      const mine = steps.filter((s) => s.at >= b.startMs && s.at <= b.endMs);
      const bounds = [{ at: b.startMs, step: '(asked, not started)' }, ...mine, { at: b.endMs, step: '' }];
      for (let k = 0; k + 1 < bounds.length; k++) at(bounds[k]!.step).ms += bounds[k + 1]!.at - bounds[k]!.at;
      for (const smp of samples) {
        if (smp.phase !== `busy-${i + 1}` || smp.at < b.startMs || smp.at > b.endMs) continue;
        const last = bounds.filter((s) => s.at <= smp.at).at(-1)!;
        at(last.step).list.push(smp);
      }
    });
    out.push('');
    out.push("busy by backup step (the agent's log), all rounds together");
    for (const [name, e] of byStep) {
      if (e.list.length === 0) continue;
      const sum = summarise(e.list);
      out.push(
        `${row(name.slice(0, 10), sum, e.ms / 1000)}  p99/idle ${(sum.p99 / idle.p99).toFixed(2)}  ${name}`,
      );
    }
  }
  out.push('');

  const ratio = (a: number, b: number) => (b > 0 ? (a / b).toFixed(2) : '-');
  const perRound = Array.from({ length: rounds }, (_, i) => {
    const bi = of((s) => s.phase === `busy-${i + 1}`);
    const ii = of((s) => s.phase === `idle-${i + 1}`);
    return `${ratio(bi.p99, ii.p99)}`;
  });
  out.push(
    `ratio busy/idle: p99 ${ratio(busy.p99, idle.p99)} (per round ${perRound.join(', ')}), p50 ${ratio(busy.p50, idle.p50)}, p90 ${ratio(busy.p90, idle.p90)}`,
  );
  // One window's tail can decide a pooled p99, so the goal is judged on how far the ratio moves when
  // other rounds are drawn (bench/lib/rounds.ts), not on the one figure.
  const latencies = (p: string) => samples.filter((s) => s.phase === p).map((s) => s.ms);
  const iv = ratioInterval(
    Array.from({ length: rounds }, (_, i) => ({
      idle: latencies(`idle-${i + 1}`),
      busy: latencies(`busy-${i + 1}`),
    })),
  );
  out.push(describeInterval(iv));
  // How far two windows of the same kind differ on this machine: a busy/idle ratio inside this spread
  // cannot be told from noise.
  const idleP99 = Array.from({ length: rounds }, (_, i) => of((s) => s.phase === `idle-${i + 1}`).p99);
  if (rounds > 1) {
    out.push(
      `idle windows against each other: p99 highest/lowest ${ratio(Math.max(...idleP99), Math.min(...idleP99))}`,
    );
  }
  // A window in which the host took cores from this machine says nothing of the platform's work.
  const windows = Array.from({ length: rounds }, (_, i) => [`idle-${i + 1}`, `busy-${i + 1}`]).flat();
  const coresStolen = (p: string) => (stolen.get(p) ?? 0) / ((phaseWallMs.get(p) ?? Number.NaN) / 1000);
  out.push(
    `cores taken by the host (steal), per window: ${windows.map((p) => `${p} ${coresStolen(p).toFixed(2)}`).join(', ')}`,
  );
  const nonOk = samples.filter((s) => !s.ok);
  if (nonOk.length > 0) {
    const counts = new Map<string, number>();
    for (const s of nonOk)
      counts.set(
        `${s.kind} ${s.status || 'error'}`,
        (counts.get(`${s.kind} ${s.status || 'error'}`) ?? 0) + 1,
      );
    out.push(`errors: ${[...counts].map(([k, n]) => `${k} x${n}`).join(', ')}`);
  }
  out.push('');

  out.push('by request (idle all -> busy all)');
  const kw = [10, 6, 7, 8, 8, 8, 8];
  out.push(pad(['request', 'idle n', 'busy n', 'p50 idle', 'p50 busy', 'p99 idle', 'p99 busy'], kw));
  for (const k of KINDS) {
    const i = of((s) => s.kind === k && s.phase.startsWith('idle'));
    const b = of((s) => s.kind === k && s.phase.startsWith('busy'));
    out.push(pad([k, String(i.n), String(b.n), fmtMs(i.p50), fmtMs(b.p50), fmtMs(i.p99), fmtMs(b.p99)], kw));
  }
  out.push('');

  backups.forEach((b, i) => {
    const snap = b.backup?.snapshot;
    const v = b.backup?.verification;
    out.push(
      `backup ${i + 1}: ${fmtS(b.wallMs)} for the command (exit ${b.exit}); ` +
        (snap
          ? `taken in ${fmtS(snap.durationMs)}: ${snap.tables} tables, ${snap.mediaFiles} media files, ${mb(snap.sizeBytes)}, ${mb(snap.addedBytes)} added; `
          : `not taken (${b.backup?.error ?? b.stderr.split('\n').at(-1)}); `) +
        (v
          ? `verification ${v.status} in ${fmtS(v.durationMs)}: ${v.tables} tables, ${v.rows} rows, ${v.mediaFiles} media files${v.problems.length ? `; ${v.problems.slice(0, 3).join('; ')}` : ''}`
          : 'no verification'),
    );
  });
  const byPath = new Map<string, Analytics[]>();
  for (const a of analytics) byPath.set(a.path, [...(byPath.get(a.path) ?? []), a]);
  for (const [path, list] of byPath) {
    const ms = list.flatMap((a) => a.ms).sort((a, b) => a - b);
    const errors = list.reduce((n, a) => n + a.errors, 0);
    const busy = list.reduce((n, a) => n + a.busy, 0);
    out.push(
      `analytics GET ${path}: ${ms.length} answered to ${list.length / rounds} loop(s) per window, p50 ${fmtMs(quantile(ms, 0.5))}, p99 ${fmtMs(quantile(ms, 0.99))}, busy (429) ${busy}, errors ${errors}`,
    );
  }
  out.push('');

  // Cores used per process group, pooled over the idle and the busy windows.
  const cores = (prefix: string) => {
    const m = new Map<string, number>();
    let wall = 0;
    for (const [p, groups] of cpu) {
      if (!p.startsWith(prefix)) continue;
      wall += phaseWallMs.get(p) ?? 0;
      for (const [g, s] of groups) m.set(g, (m.get(g) ?? 0) + s);
    }
    for (const [g, s] of m) m.set(g, wall > 0 ? s / (wall / 1000) : 0);
    return m;
  };
  const ci = cores('idle');
  const cb = cores('busy');
  const groups = [...new Set([...ci.keys(), ...cb.keys()])]
    .map((g) => [g, ci.get(g) ?? 0, cb.get(g) ?? 0] as const)
    .filter(([, i, b]) => i >= 0.01 || b >= 0.01)
    .sort((x, y) => y[2] - x[2]);
  out.push('cores used (of 2), idle -> busy');
  const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  for (const [g, i, b] of groups)
    out.push(`  ${g.padEnd(44)} ${i.toFixed(2).padStart(5)} -> ${b.toFixed(2).padStart(5)}`);
  out.push(
    `  ${'total'.padEnd(44)} ${total(ci).toFixed(2).padStart(5)} -> ${total(cb).toFixed(2).padStart(5)}`,
  );
  const steal = (prefix: string) => {
    const ps = [...stolen.keys()].filter((p) => p.startsWith(prefix));
    const wall = ps.reduce((n, p) => n + (phaseWallMs.get(p) ?? 0), 0);
    return wall > 0 ? ps.reduce((n, p) => n + stolen.get(p)!, 0) / (wall / 1000) : 0;
  };
  out.push(
    `  ${'taken by the host (steal)'.padEnd(44)} ${steal('idle').toFixed(2).padStart(5)} -> ${steal('busy').toFixed(2).padStart(5)}`,
  );
  process.stdout.write(`${out.join('\n')}\n`);
  if (opt.samples) {
    writeFileSync(
      opt.samples,
      `${samples
        .map((x) => JSON.stringify({ phase: x.phase, kind: x.kind, ms: x.ms, status: x.status }))
        .join('\n')}\n`,
    );
  }
}

/** Wall time each reported phase lasted, for the CPU figures. */
const phaseWallMs = new Map<string, number>();
{
  let current = phase;
  let since = performance.now();
  setInterval(() => {
    if (phase === current) return;
    const now = performance.now();
    phaseWallMs.set(current, (phaseWallMs.get(current) ?? 0) + (now - since));
    current = phase;
    since = now;
  }, 20).unref();
}

if (opt['operator-client']) operatorClient();
else
  main().then(
    () => process.exit(0),
    (e: unknown) => {
      process.stderr.write(`decoupling: ${(e as Error).stack ?? String(e)}\n`);
      process.exit(1);
    },
  );
