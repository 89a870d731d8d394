// How long a short storefront-like task waits for a core while management work runs beside it, by
// what that work does and the priority it runs at: busy loops at nice 19 and under the idle
// scheduling policy (SCHED_IDLE, what backups and the jobs process run under), and, all at the lowest
// priority and policy, a disk writer, process starts, and memory allocated and freed; the cases
// named "management CPUs" also keep to the CPUs TRIPLANE_MANAGEMENT_CPUS sets apart (all of them when
// it is unset; src/contracts/priority.ts).
//   [TRIPLANE_MANAGEMENT_CPUS=1] node --import tsx bench/wakeup-latency.ts [--seconds 20] [--rounds 2]
// The probe wakes 50 times a second and computes for 2 ms; its latency is counted from when it was
// due, so a wait for a core shows up in full. The cases alternate in one run. Run it at nice -10 (as
// bench/decoupling.sh runs its generator) to see what even a higher priority does not escape.
import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { availableParallelism, getPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { hostLowestPriority, lowestPriority } from '../src/contracts/priority.ts';

const { values: opt } = parseArgs({
  options: { seconds: { type: 'string', default: '20' }, rounds: { type: 'string', default: '2' } },
});
const seconds = Number(opt.seconds);
const rounds = Number(opt.rounds);
const PERIOD_MS = 20;
const WORK_MS = 2;

const LOOP = 'for (;;) {}';
/** The lowest priority and policy on any CPU; the cases marked "management CPUs" add the host's CPU set. */
const LOWEST = lowestPriority(undefined);
const MANAGED = hostLowestPriority();
const SCRATCH = join(tmpdir(), `tp-wakeup-${process.pid}.bin`);
const perCore = (argv: string[]) => Array.from({ length: availableParallelism() }, () => argv);
/** Each case: a name and the commands that run beside the probe (one process each). */
const CASES: readonly (readonly [string, string[][]])[] = [
  ['nothing beside it', []],
  ['busy loops at nice 19', perCore(['nice', '-n', '19', process.execPath, '-e', LOOP])],
  ['busy loops, SCHED_IDLE', perCore(['chrt', '--idle', '0', process.execPath, '-e', LOOP])],
  ['busy loops, management CPUs', perCore([...MANAGED, process.execPath, '-e', LOOP])],
  [
    'disk writer, lowest',
    [
      [
        ...LOWEST,
        'sh',
        '-c',
        `while :; do dd if=/dev/zero of=${SCRATCH} bs=1M count=150 conv=fsync status=none; done`,
      ],
    ],
  ],
  ['node starts, lowest', [[...LOWEST, 'sh', '-c', `while :; do ${process.execPath} -e 0; done`]]],
  ['podman starts, lowest', [[...LOWEST, 'sh', '-c', 'while :; do podman --version >/dev/null; done']]],
  [
    'podman starts, management CPUs',
    [[...MANAGED, 'sh', '-c', 'while :; do podman --version >/dev/null; done']],
  ],
  [
    'alloc+free 640 MB, lowest',
    [
      [
        ...LOWEST,
        process.execPath,
        '-e',
        'const a = []; setInterval(() => { a.length = 0; for (let i = 0; i < 40; i++) a.push(Buffer.alloc(16 << 20)); }, 300);',
      ],
    ],
  ],
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
  for (const [name, commands] of CASES) {
    const beside: ChildProcess[] = commands.map((argv) =>
      // Detached: each loop leads its own process group, so the whole group goes at the end.
      spawn(argv[0]!, argv.slice(1), { stdio: 'ignore', detached: true }),
    );
    try {
      await sleep(500);
      results.get(name)!.push(...(await probe(seconds * 1000)));
    } finally {
      for (const b of beside) if (b.pid) process.kill(-b.pid, 'SIGKILL');
      rmSync(SCRATCH, { force: true });
    }
  }
}

console.log(
  `probe: ${WORK_MS} ms of work every ${PERIOD_MS} ms at nice ${getPriority()}, ${rounds} x ${seconds} s per case; busy loops: one per core`,
);
const base = q(
  [...results.get(CASES[0]![0])!].sort((a, b) => a - b),
  0.99,
);
for (const [name, xs] of results) {
  xs.sort((a, b) => a - b);
  const p99 = q(xs, 0.99);
  console.log(
    `${name.padEnd(30)} n ${String(xs.length).padStart(5)}  p50 ${q(xs, 0.5).toFixed(2)} ms  p99 ${p99.toFixed(2)} ms  max ${xs.at(-1)!.toFixed(2)} ms  p99/alone ${(p99 / base).toFixed(2)}`,
  );
}
