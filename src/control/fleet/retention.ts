import type { State } from '../state/index.ts';
import { checkPositiveInts } from './errors.ts';
import { type PeriodicStats, PeriodicTask } from './periodic.ts';

/** Access-log retention settings. */
export interface AccessLogRetentionOptions {
  readonly state: State;
  /** Records kept at most; the oldest go first. @default 1_000_000 */
  readonly maxRows?: number;
  /** Records older than this go. @default 7 days */
  readonly maxAgeMs?: number;
  /** Time between prunes once started. @default 10 minutes */
  readonly intervalMs?: number;
  /** Called with the error of a prune started by the timer (to log). @default ignored */
  readonly onError?: (e: unknown) => void;
}

/**
 * Keeps the access log bounded by age and count. It runs apart from the intake, so shipping a batch
 * never waits for a delete.
 */
export class AccessLogRetention {
  private readonly task: PeriodicTask<number>;
  private readonly limits: { maxRows: number; maxAgeMs: number };

  constructor(o: AccessLogRetentionOptions) {
    // Checked together, so one error names every bad limit; the task checks the interval again.
    checkPositiveInts('accessLogRetention', {
      maxRows: o.maxRows,
      maxAgeMs: o.maxAgeMs,
      intervalMs: o.intervalMs,
    });
    this.limits = { maxRows: o.maxRows ?? 1_000_000, maxAgeMs: o.maxAgeMs ?? 7 * 24 * 3600 * 1000 };
    this.task = new PeriodicTask(
      'accessLogRetention',
      () => o.state.accessLogs.prune(this.limits),
      o.intervalMs ?? 10 * 60 * 1000,
      o.onError,
    );
  }

  /** Prunes now and then every interval. */
  start(): void {
    this.task.start();
  }

  /** Stops the timer and waits for the prune in flight. */
  stop(): Promise<void> {
    return this.task.stop();
  }

  /** Prunes once; resolves with how many records went. */
  runOnce(): Promise<number> {
    return this.task.runOnce();
  }

  /** Prune counters and the last error. */
  stats(): PeriodicStats {
    return this.task.stats();
  }
}
