// How long a short storefront-like task waits for a core when management work keeps the cores busy,
// by the priority that work runs at: nothing beside it, busy loops at nice 19, busy loops under the
// idle scheduling policy (SCHED_IDLE, what backups and the jobs process run under).
//   node --import tsx bench/wakeup-latency.ts [--seconds 20] [--rounds 2]
// The probe wakes 50 times a second and computes for 2 ms; its latency is counted from when it was
// due, so a wait for a core shows up in full. One busy loop per core; the cases alternate in one run.
import { type ChildProcess, spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';

const { values: opt } = parseArgs({
  options: { seconds: { type: 'string', default: '20' }, rounds: { type: 'string', default: '2' } },
});
const seconds = Number(opt.seconds);
const rounds = Number(opt.rounds);
const PERIOD_MS = 20;
const WORK_MS = 2;

const LOOP = 'for (;;) {}';
const CASES: readonly (readonly [string, string[] | null])[] = [
  ['nothing beside it', null],
  ['busy loops at nice 19', ['nice', '-n', '19', process.execPath, '-e', LOOP]],
  ['busy loops, SCHED_IDLE', ['chrt', '--idle', '0', process.execPath, '-e', LOOP]],
];

function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

/** Runs the probe for `ms`; returns each wake-up's lateness plus its work, in ms. */
async function probe(ms: number): Promise<number[]> {
  const out: number[] = [];
  const start = performance.now();
  for (let i = 0; ; i++) {
    const due = start + i * PERIOD_MS;
    if (due - start > ms) return out;
    await sleep(Math.max(0, due - performance.now()));
    spin(WORK_MS);
    out.push(performance.now() - due);
  }
}

const q = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
const results = new Map<string, number[]>(CASES.map(([name]) => [name, []]));
for (let r = 0; r < rounds; r++) {
  for (const [name, argv] of CASES) {
    const loops: ChildProcess[] = argv
      ? Array.from({ length: availableParallelism() }, () =>
          spawn(argv[0]!, argv.slice(1), { stdio: 'ignore' }),
        )
      : [];
    try {
      await sleep(500);
      results.get(name)!.push(...(await probe(seconds * 1000)));
    } finally {
      for (const l of loops) l.kill('SIGKILL');
    }
  }
}

console.log(
  `probe: ${WORK_MS} ms of work every ${PERIOD_MS} ms, ${rounds} x ${seconds} s per case; ${availableParallelism()} busy loop(s) per case`,
);
const base = q(
  [...results.get(CASES[0]![0])!].sort((a, b) => a - b),
  0.99,
);
for (const [name, xs] of results) {
  xs.sort((a, b) => a - b);
  const p99 = q(xs, 0.99);
  console.log(
    `${name.padEnd(24)} n ${String(xs.length).padStart(5)}  p50 ${q(xs, 0.5).toFixed(2)} ms  p99 ${p99.toFixed(2)} ms  max ${xs.at(-1)!.toFixed(2)} ms  p99/alone ${(p99 / base).toFixed(2)}`,
  );
}
