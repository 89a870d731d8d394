import { InvalidArgumentError } from 'commander';
import { ReadBudgetOptions } from '../control/api/read-budget.ts';

// Option values arrive as text; each parser refuses what the command could not use, so commander
// reports the option and the value before anything starts, instead of a NaN deep inside.

/** `--analytics-share`: a fraction of one core, as ReadBudgetOptions allows it. */
export function parseShare(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !ReadBudgetOptions.shape.share.safeParse(n).success)
    throw new InvalidArgumentError(`expected a number from 0.01 to 1, got ${JSON.stringify(value)}`);
  return n;
}

/**
 * A whole number from `min` to `max`. The bounds say what makes sense for the option: a supervisor
 * pass more often than once a second would spend the store's cores on health checks, and one
 * interval of NaN used to make the pass loop without pause.
 */
export function integerIn(min: number, max: number): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max)
      throw new InvalidArgumentError(
        `expected an integer from ${min} to ${max}, got ${JSON.stringify(value)}`,
      );
    return Number(value);
  };
}

/** `--niceness`: 0 to 19 (raising a priority is not the platform's to do). */
export const parseNiceness = integerIn(0, 19);

/** `agent --interval`: milliseconds between supervisor passes, one second to one hour. */
export const parseIntervalMs = integerIn(1_000, 3_600_000);

/** `up --timeout`: seconds to wait for the store to answer, one second to one day. */
export const parseTimeoutSeconds = integerIn(1, 86_400);
