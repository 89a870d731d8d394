import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  describeInterval,
  quantile,
  type Round,
  RoundsInputError,
  ratioInterval,
  roundsFromSamples,
  verdict,
} from './rounds.ts';

/** n latencies spread evenly over [from, to], in shuffled order (the code must sort them itself). */
function spread(n: number, from: number, to: number): number[] {
  const out = Array.from({ length: n }, (_, i) => from + ((to - from) * i) / (n - 1));
  for (let i = out.length - 1; i > 0; i--) {
    const j = (i * 7919) % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

test('quantile is the nearest rank, as the per-window figures are', () => {
  const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(quantile(sorted, 0.99), 99);
  assert.equal(quantile(sorted, 0.5), 50);
  assert.equal(quantile([7], 0.99), 7);
  assert.ok(Number.isNaN(quantile([], 0.5)));
});

test('the measured ratio is that of the pooled windows, sorted, for any quantile', () => {
  let x = 12345;
  const next = () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x / 2147483648;
  };
  const rounds: Round[] = [3, 17, 250, 1, 40].map((n, r) => ({
    idle: Array.from({ length: n }, () => 1 + next() * 100),
    busy: Array.from({ length: n + r }, () => 1 + next() * 150),
  }));
  const sorted = (side: keyof Round) => rounds.flatMap((r) => r[side]).sort((a, b) => a - b);
  for (const q of [0.5, 0.9, 0.99, 0.999]) {
    const iv = ratioInterval(rounds, { q, resamples: 50 });
    assert.equal(iv.ratio, quantile(sorted('busy'), q) / quantile(sorted('idle'), q), `q ${q}`);
    assert.ok(iv.low <= iv.high, `q ${q}: ${iv.low}-${iv.high}`);
  }
});

test('rounds whose busy windows are all twice as slow give an interval at 2, and the goal is missed', () => {
  const rounds: Round[] = Array.from({ length: 6 }, (_, r) => {
    const idle = spread(1000, 5 + r, 100 + r);
    return { idle, busy: idle.map((v) => v * 2) };
  });
  const iv = ratioInterval(rounds, { resamples: 300 });
  assert.ok(Math.abs(iv.ratio - 2) < 1e-9, `ratio ${iv.ratio}`);
  assert.ok(iv.low > 1.95 && iv.high < 2.05, `interval ${iv.low}-${iv.high}`);
  assert.equal(verdict(iv, 1.1), 'not met');
});

test('the same work in both windows, rounds alike: a narrow interval around 1 that meets the goal', () => {
  const rounds: Round[] = Array.from({ length: 8 }, (_, r) => ({
    idle: spread(1500, 5, 100 + (r % 3)),
    busy: spread(1500, 5, 100 + ((r + 1) % 3)),
  }));
  const iv = ratioInterval(rounds, { resamples: 200 });
  assert.ok(iv.low <= 1 && iv.high >= 1, `interval ${iv.low}-${iv.high}`);
  assert.ok(iv.high - iv.low < 0.05, `interval ${iv.low}-${iv.high}`);
  assert.equal(verdict(iv, 1.1), 'met');
});

test('one busy window with a slow tail moves the pooled ratio but leaves the run unable to tell', () => {
  const rounds: Round[] = Array.from({ length: 6 }, () => ({
    idle: spread(1500, 5, 100),
    busy: spread(1500, 5, 100),
  }));
  // A few seconds in which the host took the cores: the window's slowest 10 % wait 400 ms more.
  rounds[2] = { idle: rounds[2]!.idle, busy: spread(1500, 5, 100).map((v) => (v > 90.5 ? v + 400 : v)) };
  const iv = ratioInterval(rounds, { resamples: 400 });
  assert.ok(iv.ratio > 1.1, `ratio ${iv.ratio}`);
  assert.ok(iv.low <= 1.1 && iv.high > 1.1, `interval ${iv.low}-${iv.high}`);
  assert.equal(verdict(iv, 1.1), 'not resolved');
});

test('the same seed draws the same interval; another seed may not', () => {
  const rounds: Round[] = Array.from({ length: 5 }, (_, r) => ({
    idle: spread(400, 5, 50 + r * 10),
    busy: spread(400, 5, 60 + r * 7),
  }));
  const three = ratioInterval(rounds, { resamples: 200, seed: 3 });
  assert.deepEqual(ratioInterval(rounds, { resamples: 200, seed: 3 }), three);
  const others = [4, 5, 6, 7].map((seed) => ratioInterval(rounds, { resamples: 200, seed }));
  assert.ok(others.some((o) => o.low !== three.low || o.high !== three.high));
  // The measured ratio does not depend on the draws.
  for (const o of others) assert.equal(o.ratio, three.ratio);
});

test('verdict: met only inside the goal, missed only beyond it', () => {
  assert.equal(verdict({ low: 0.8, high: 1.1 }, 1.1), 'met');
  assert.equal(verdict({ low: 1.11, high: 1.5 }, 1.1), 'not met');
  assert.equal(verdict({ low: 1.1, high: 1.3 }, 1.1), 'not resolved');
});

test('bad input names every field and value at once', () => {
  assert.throws(
    () =>
      ratioInterval(
        [
          { idle: [], busy: [1] },
          { idle: [1], busy: [] },
        ],
        { q: 1.5, resamples: 0, level: 2 },
      ),
    (e: unknown) => {
      assert.ok(e instanceof RoundsInputError);
      assert.equal(e.code, 'BENCH_ROUNDS_INPUT');
      for (const part of [
        'rounds[0].idle: expected latencies, got none',
        'rounds[1].busy: expected latencies, got none',
        'q: expected a number between 0 and 1, got 1.5',
        'resamples: expected a whole number of at least 1, got 0',
        'level: expected a number between 0 and 1, got 2',
      ])
        assert.ok(e.message.includes(part), `${part} in ${e.message}`);
      return true;
    },
  );
  assert.throws(() => ratioInterval([]), /rounds: expected at least one round, got 0/);
});

const sampleLines = (rows: [string, number][]) =>
  rows.map(([phase, ms]) => JSON.stringify({ phase, kind: 'home', ms, status: 200 })).join('\n');

test('rounds from a samples file: numbered windows in round order, warm-up left out', () => {
  const text = `${sampleLines([
    ['warmup', 99],
    ['idle-2', 5],
    ['idle-1', 1],
    ['busy-1', 2],
    ['busy-2', 6],
    ['idle-1', 3],
    ['busy-10', 9],
    ['idle-10', 8],
  ])}\n\n`;
  assert.deepEqual(roundsFromSamples(text, 'run.jsonl'), [
    { idle: [1, 3], busy: [2] },
    { idle: [5], busy: [6] },
    { idle: [8], busy: [9] },
  ]);
});

test('a samples file with bad lines or a half round names each problem with file and line', () => {
  const text = [
    sampleLines([
      ['idle-1', 1],
      ['busy-1', 2],
      ['idle-2', 3],
    ]),
    'not json',
    JSON.stringify({ phase: 'busy-1', ms: 'slow' }),
    JSON.stringify({ ms: 4 }),
  ].join('\n');
  assert.throws(
    () => roundsFromSamples(text, 'run.jsonl'),
    (e: unknown) =>
      e instanceof RoundsInputError &&
      e.code === 'BENCH_ROUNDS_INPUT' &&
      e.message ===
        [
          'run.jsonl:4: expected a JSON object, got "not json"',
          'run.jsonl:5: ms: expected a latency in milliseconds, got "slow"',
          'run.jsonl:6: phase: expected a window name, got undefined',
          'run.jsonl: round 2: no samples in busy-2',
        ].join('; '),
  );
  assert.throws(() => roundsFromSamples('', 'empty.jsonl'), /empty\.jsonl: no idle-N or busy-N samples/);
});

test('describe prints the ratio, the interval and the verdict as the decoupling scripts report them', () => {
  const iv = { ratio: 0.955, low: 0.881, high: 1.049, level: 0.9, resamples: 2000 };
  assert.equal(
    describeInterval(iv),
    'p99 busy/idle 0.95, 90 % interval over rounds 0.88-1.05 (2000 resamples of whole rounds); goal p99 <= 1.10: met',
  );
  assert.match(describeInterval({ ...iv, high: 1.28, level: 0.95 }), /95 % interval .*: not resolved$/);
});
