// How sure a run of alternating idle and busy windows is of its busy/idle ratio.
//
// Latencies within one window are not independent draws: a host that takes a core for a second
// slows every request in that second, so one window's tail can decide a pooled p99 (a run with the
// same work in both kinds of window reported 1.25, one window deciding it). Resampling single
// requests would hide that; resampling whole rounds (a cluster bootstrap, each round's idle and busy
// window kept together, so slow stretches of the day weigh on both) shows how far the ratio would
// move had other rounds been drawn.

export interface Round {
  /** Latencies (ms) of the round's idle window. */
  idle: readonly number[];
  /** Latencies (ms) of the round's busy window. */
  busy: readonly number[];
}

export interface RatioInterval {
  /** The ratio over all rounds as measured: quantile of pooled busy / quantile of pooled idle. */
  ratio: number;
  /** Lower and upper bounds of the central `level` share of the resampled ratios. */
  low: number;
  high: number;
  level: number;
  resamples: number;
}

export type Verdict = 'met' | 'not met' | 'not resolved';

export class RoundsInputError extends Error {
  readonly code = 'BENCH_ROUNDS_INPUT';
}

/** The nearest-rank quantile, as the bench's per-window figures use. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/**
 * One side's latencies from every round, sorted once, each with its round: a resample's pooled
 * quantile is then a walk down from the top weighing each latency by how often its round was drawn,
 * with no sort per resample.
 */
interface Pooled {
  values: Float64Array;
  round: Int32Array;
  sizes: number[];
}

function pool(rounds: readonly Round[], side: keyof Round): Pooled {
  const all = rounds.flatMap((r, i) => r[side].map((v) => [v, i] as const)).sort((a, b) => a[0] - b[0]);
  return {
    values: Float64Array.from(all, (e) => e[0]),
    round: Int32Array.from(all, (e) => e[1]),
    sizes: rounds.map((r) => r[side].length),
  };
}

/** The nearest-rank quantile of the multiset in which round r's latencies appear times[r] times. */
function pooledQuantile(p: Pooled, times: ArrayLike<number>, q: number): number {
  let n = 0;
  for (let r = 0; r < p.sizes.length; r++) n += p.sizes[r]! * times[r]!;
  // Ascending rank k (0-based) is the (n - 1 - k)-th from the top.
  const fromTop = n - 1 - Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1));
  let seen = 0;
  for (let i = p.values.length - 1; i >= 0; i--) {
    seen += times[p.round[i]!]!;
    if (seen > fromTop) return p.values[i]!;
  }
  return Number.NaN;
}

/** Deterministic, so a rerun on the same samples prints the same interval. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface IntervalOptions {
  /** The quantile compared, 0.99 for p99. */
  q?: number;
  resamples?: number;
  /** Share of the resampled ratios the interval holds, 0.9 by default. */
  level?: number;
  seed?: number;
}

export function ratioInterval(rounds: readonly Round[], opts: IntervalOptions = {}): RatioInterval {
  const { q = 0.99, resamples = 2000, level = 0.9, seed = 1 } = opts;
  const problems: string[] = [];
  if (rounds.length === 0) problems.push('rounds: expected at least one round, got 0');
  rounds.forEach((r, i) => {
    if (r.idle.length === 0) problems.push(`rounds[${i}].idle: expected latencies, got none`);
    if (r.busy.length === 0) problems.push(`rounds[${i}].busy: expected latencies, got none`);
  });
  if (!(q > 0 && q < 1)) problems.push(`q: expected a number between 0 and 1, got ${q}`);
  if (!(Number.isInteger(resamples) && resamples >= 1))
    problems.push(`resamples: expected a whole number of at least 1, got ${resamples}`);
  if (!(level > 0 && level < 1)) problems.push(`level: expected a number between 0 and 1, got ${level}`);
  if (problems.length > 0) throw new RoundsInputError(problems.join('; '));

  const idle = pool(rounds, 'idle');
  const busy = pool(rounds, 'busy');
  const once = new Array<number>(rounds.length).fill(1);
  const ratio = pooledQuantile(busy, once, q) / pooledQuantile(idle, once, q);
  const random = mulberry32(seed);
  const drawn = new Float64Array(resamples);
  const times = new Int32Array(rounds.length);
  for (let b = 0; b < resamples; b++) {
    times.fill(0);
    for (let k = 0; k < rounds.length; k++) times[Math.floor(random() * rounds.length)]!++;
    drawn[b] = pooledQuantile(busy, times, q) / pooledQuantile(idle, times, q);
  }
  drawn.sort();
  const tail = (1 - level) / 2;
  return {
    ratio,
    low: quantile(drawn, tail),
    high: quantile(drawn, 1 - tail),
    level,
    resamples,
  };
}

/** The decoupling goal: p99 while management work runs at most 1.1 x idle. */
export const P99_GOAL = 1.1;

/** The interval and its verdict against P99_GOAL, as the decoupling scripts print them. */
export function describeInterval(iv: RatioInterval): string {
  return `p99 busy/idle ${iv.ratio.toFixed(2)}, ${Math.round(iv.level * 100)} % interval over rounds ${iv.low.toFixed(2)}-${iv.high.toFixed(2)} (${iv.resamples} resamples of whole rounds); goal p99 <= ${P99_GOAL.toFixed(2)}: ${verdict(iv, P99_GOAL)}`;
}

/**
 * Met only when the whole interval is within the goal, missed only when the whole interval is
 * beyond it; anything else is a run that cannot tell.
 */
export function verdict(interval: Pick<RatioInterval, 'low' | 'high'>, goal: number): Verdict {
  if (interval.high <= goal) return 'met';
  if (interval.low > goal) return 'not met';
  return 'not resolved';
}

/**
 * The rounds of one run from its samples file (`TRIPLANE_BENCH_SAMPLES`, one JSON line per reported
 * request with its window as `phase`: idle-N, busy-N). Windows without a number (warm-up) are not
 * rounds; a round missing either window is an error, as is any line that is not a sample, each named
 * by `source:line` and all reported at once.
 */
export function roundsFromSamples(text: string, source: string): Round[] {
  const problems: string[] = [];
  const windows = new Map<number, { idle: number[]; busy: number[] }>();
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    const at = `${source}:${i + 1}`;
    let s: unknown;
    try {
      s = JSON.parse(line);
    } catch {
      problems.push(`${at}: expected a JSON object, got ${JSON.stringify(line.slice(0, 60))}`);
      return;
    }
    const { phase, ms } = (s ?? {}) as { phase?: unknown; ms?: unknown };
    if (typeof ms !== 'number' || !(ms >= 0)) {
      problems.push(`${at}: ms: expected a latency in milliseconds, got ${JSON.stringify(ms)}`);
      return;
    }
    const m = typeof phase === 'string' ? /^(idle|busy)-([1-9]\d*)$/.exec(phase) : null;
    if (!m) {
      if (typeof phase !== 'string')
        problems.push(`${at}: phase: expected a window name, got ${JSON.stringify(phase)}`);
      return;
    }
    const n = Number(m[2]);
    const w = windows.get(n) ?? { idle: [], busy: [] };
    w[m[1] as 'idle' | 'busy'].push(ms);
    windows.set(n, w);
  });
  const rounds = [...windows.keys()].sort((a, b) => a - b);
  for (const n of rounds) {
    const w = windows.get(n)!;
    if (w.idle.length === 0) problems.push(`${source}: round ${n}: no samples in idle-${n}`);
    if (w.busy.length === 0) problems.push(`${source}: round ${n}: no samples in busy-${n}`);
  }
  if (rounds.length === 0 && problems.length === 0) problems.push(`${source}: no idle-N or busy-N samples`);
  if (problems.length > 0) throw new RoundsInputError(problems.join('; '));
  return rounds.map((n) => windows.get(n)!);
}
