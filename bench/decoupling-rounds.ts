// Judges the decoupling goal again from kept samples, one run at a time and all runs together.
//   node --import tsx bench/decoupling-rounds.ts [--level 0.9] [--seed 1] FILE...
// Each FILE is a run's TRIPLANE_BENCH_SAMPLES output (bench/decoupling.sh). Rounds of several runs
// pooled are a bigger sample of the same experiment: each round still keeps its idle and busy window
// together, so a run that met a slow day weighs on both sides as it did in its own run.
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  describeInterval,
  type Round,
  RoundsInputError,
  ratioInterval,
  roundsFromSamples,
} from './lib/rounds.ts';

const { values, positionals } = parseArgs({
  options: { level: { type: 'string', default: '0.9' }, seed: { type: 'string', default: '1' } },
  allowPositionals: true,
});
if (positionals.length === 0) {
  process.stderr.write('decoupling-rounds: give one or more samples files (TRIPLANE_BENCH_SAMPLES)\n');
  process.exit(2);
}
const level = Number(values.level);
const seed = Number(values.seed);
if (!Number.isInteger(seed)) {
  process.stderr.write(
    `decoupling-rounds: --seed: expected a whole number, got ${JSON.stringify(values.seed)}\n`,
  );
  process.exit(2);
}

const line = (name: string, rounds: Round[]) =>
  `${name}: ${rounds.length} rounds, seed ${seed}: ${describeInterval(ratioInterval(rounds, { level, seed }))}`;

try {
  const runs = positionals.map((f) => ({ f, rounds: roundsFromFile(f) }));
  for (const r of runs) process.stdout.write(`${line(r.f, r.rounds)}\n`);
  if (runs.length > 1)
    process.stdout.write(
      `${line(
        'all runs',
        runs.flatMap((r) => r.rounds),
      )}\n`,
    );
} catch (e) {
  if (!(e instanceof RoundsInputError)) throw e;
  process.stderr.write(`error ${e.code}: ${e.message}\n`);
  process.exit(2);
}

function roundsFromFile(f: string): Round[] {
  if (!existsSync(f)) throw new RoundsInputError(`${f}: no such samples file`);
  return roundsFromSamples(readFileSync(f, 'utf8'), f);
}
