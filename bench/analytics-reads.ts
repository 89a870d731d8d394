// Where the CPU of an analytics read lands: in the API process, which runs at nice 19 and cannot take
// the idle policy (it pushes policy to the edges under load), or in the analytics reader, which runs
// at the idle policy. The same API is started three ways on one state — answering its analytics
// reads itself ("in-process"), passing them to a reader process (src/control/reads) that answers on
// the client's connection ("reader", as the control plane runs), and one whose answers come back
// through the API ("reader-bytes") — and asked the same read in a loop; the CPU each process used
// (utime + stime from /proc) is divided by the reads answered, and also what the API process spends
// over as long asked nothing is taken off ("above idle"). The ways alternate in one run.
//   node --import tsx bench/analytics-reads.ts [--records 1000] [--seconds 10] [--rounds 3]
//     [--ways in-process,reader,reader-bytes]
// Loopback only: each API listens on 127.0.0.1 on a port the kernel picks.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { request } from 'undici';
import { bootstrapAdmin, buildApi } from '../src/control/api/index.ts';
import { opsRoutes } from '../src/control/ops/routes.ts';
import { AnalyticsReader, analyticsRoutes, readerCommand } from '../src/control/reads/index.ts';
import { openState } from '../src/control/state/index.ts';

const ROOT = join(import.meta.dirname, '..');
const NODE = [process.execPath, '--import', join(ROOT, 'node_modules/tsx/dist/loader.mjs')];
const { values: opt } = parseArgs({
  options: {
    records: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    ways: { type: 'string', default: 'in-process,reader,reader-bytes' },
    // Internal: run as the API under test.
    serve: { type: 'string' },
    'data-dir': { type: 'string' },
  },
});

const WAYS = ['in-process', 'reader', 'reader-bytes'];

function ticks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}
const MS_PER_TICK = 10;

function childrenOf(pid: number): number[] {
  return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map(Number);
}

async function serve(mode: string, dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    'nice',
    ['-n', '19', ...NODE, join(ROOT, 'bench/analytics-reads.ts'), '--serve', mode, '--data-dir', dataDir],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(out.split('\n')[0]!);
    });
    child.once('exit', (code) => reject(new Error(`the ${mode} API exited (${code}) before it listened`)));
  });
  return { child, url: `http://127.0.0.1:${(JSON.parse(line) as { port: number }).port}` };
}

interface Round {
  mode: string;
  reads: number;
  bytes: number;
  apiMs: number;
  /** The API process's CPU over as long a time with no reads. */
  idleMs: number;
  readerMs: number;
}

async function round(
  mode: string,
  dataDir: string,
  token: string,
  seconds: number,
  records: number,
): Promise<Round> {
  const { child, url } = await serve(mode, dataDir);
  try {
    const path = `/api/stores/demo/requests?limit=${records}`;
    const get = async (starting = false) => {
      const r = await request(`${url}${path}`, { headers: { authorization: `Bearer ${token}` } });
      const body = await r.body.text();
      // A reader at the idle policy may take longer to start than a read waits for it.
      if (starting && r.statusCode === 503) return 0;
      if (r.statusCode !== 200) throw new Error(`${mode}: ${r.statusCode} ${body}`);
      return body.length;
    };
    // Warm up: the reader starts (within a minute), then both JITs settle.
    const started = Date.now() + 60_000;
    while ((await get(Date.now() < started)) === 0);
    const warm = Date.now() + 2000;
    while (Date.now() < warm) await get();
    const pid = child.pid!;
    const others = childrenOf(pid);
    // What the API process spends asked nothing (timers, the collector), for as long as it is asked.
    const idleFrom = ticks(pid);
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const idleMs = (ticks(pid) - idleFrom) * MS_PER_TICK;
    const before = { api: ticks(pid), others: others.map(ticks) };
    let reads = 0;
    let bytes = 0;
    const end = Date.now() + seconds * 1000;
    while (Date.now() < end) {
      bytes = await get();
      reads++;
    }
    const apiMs = (ticks(pid) - before.api) * MS_PER_TICK;
    const readerMs = others.reduce((sum, p, i) => sum + (ticks(p) - before.others[i]!) * MS_PER_TICK, 0);
    return { mode, reads, bytes, apiMs, idleMs, readerMs };
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
}

async function main(): Promise<void> {
  const records = Number(opt.records);
  const seconds = Number(opt.seconds);
  const rounds = Number(opt.rounds);
  const ways = opt.ways.split(',');
  const unknown = ways.filter((w) => !WAYS.includes(w));
  if (unknown.length > 0) throw new Error(`--ways: expected some of ${WAYS.join(', ')}, got "${opt.ways}"`);
  const dataDir = mkdtempSync(join(tmpdir(), 'tp-bench-reads-'));
  try {
    const state = await openState({ dataDir: join(dataDir, 'control') });
    const token = await bootstrapAdmin(state, 'bench');
    await state.stores.create({ id: 'demo', displayName: 'Demo' });
    await state.environments.create('demo', 'production');
    const t0 = Date.now() - 600_000;
    await state.accessLogs.insertBatch(
      Array.from({ length: records }, (_, i) => ({
        time: new Date(t0 + i).toISOString(),
        store: 'demo',
        client: '127.0.0.1',
        method: 'GET',
        host: 'demo.localhost',
        path: `/catalog/product/view/id/${i}?utm_source=newsletter&utm_campaign=winter-sale`,
        status: 200,
        bytesIn: 0,
        bytesOut: 12_345,
        durationMs: 12.5,
        upstreamMs: 11.2,
        cache: 'MISS' as const,
        upstream: '127.0.0.1:8180',
        blockedBy: null,
        requestId: `r${i}-0123456789abcdef`,
      })),
    );
    await state.close();

    const all: Round[] = [];
    for (let i = 0; i < rounds; i++) {
      for (const mode of ways) all.push(await round(mode, dataDir, token, seconds, records));
    }
    const per = (r: Round, ms: number) => (ms / r.reads).toFixed(2);
    console.log(`${records} records a read (${all[0]!.bytes} bytes), ${seconds} s a round, one client loop`);
    console.log('way          reads   API ms/read   above idle   reader ms/read');
    for (const r of all) {
      const reader = r.mode.startsWith('reader') ? per(r, r.readerMs) : '-';
      console.log(
        `${r.mode.padEnd(12)} ${String(r.reads).padStart(5)}   ${per(r, r.apiMs).padStart(11)}   ${per(r, r.apiMs - r.idleMs).padStart(10)}   ${reader.padStart(14)}`,
      );
    }
    const sum = (mode: string, f: (r: Round) => number) =>
      all.filter((r) => r.mode === mode).reduce((s, r) => s + f(r), 0);
    for (const [what, f] of [
      ['', (r: Round) => r.apiMs],
      [' above idle', (r: Round) => r.apiMs - r.idleMs],
    ] as const) {
      const perRead = (mode: string) => sum(mode, f) / sum(mode, (r) => r.reads);
      for (const [a, b] of [
        ['reader', 'in-process'],
        ['reader-bytes', 'in-process'],
        ['reader', 'reader-bytes'],
      ] as const) {
        if (!ways.includes(a) || !ways.includes(b)) continue;
        console.log(
          `API process CPU per read${what}, ${a} / ${b}: ${(perRead(a) / perRead(b)).toFixed(2)} (${perRead(a).toFixed(2)} / ${perRead(b).toFixed(2)} ms)`,
        );
      }
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function serveHere(): Promise<void> {
  // The API under test, as the control plane builds it (src/control/process.ts), at nice 19 like it.
  const dataDir = opt['data-dir']!;
  const state = await openState({ dataDir: join(dataDir, 'control') });
  let reader: AnalyticsReader | undefined;
  if (opt.serve?.startsWith('reader')) {
    reader = new AnalyticsReader({
      argv: readerCommand({ node: NODE, entry: join(ROOT, 'src/cli/main.ts'), dataDir }),
      routes: new Set(analyticsRoutes(state).keys()),
      log: pino({ level: 'silent' }),
      // reader: it answers on the client's connection; reader-bytes: its answers pass through the API.
      connections: opt.serve === 'reader',
    });
    reader.start();
  }
  const app = buildApi({ state, answerer: reader, plugins: [opsRoutes(state)] });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' ? address?.port : 0 })}\n`);
  process.once('SIGTERM', () => {
    void Promise.all([app.close(), reader?.stop()]).then(() => state.close());
  });
}

if (opt.serve) await serveHere();
else await main();
