import { checkPositiveInts } from './errors.ts';

/** What a periodic task has done so far, for metrics and status output. */
export interface PeriodicStats {
  readonly runs: number;
  readonly failures: number;
  readonly lastError: { readonly code: string; readonly message: string; readonly at: string } | null;
  readonly lastRunAt: string | null;
}

/**
 * Runs `work` one pass at a time: every `intervalMs` once started, and whenever `trigger` or
 * `runOnce` asks. Requests that arrive during a pass coalesce into one more pass after it, which then
 * sees everything they changed; a burst of triggers costs two passes, not one per trigger.
 */
export class PeriodicTask<T> {
  private phase: 'idle' | 'started' | 'stopped' = 'idle';
  private timer: NodeJS.Timeout | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private queued: Promise<T> | undefined;
  private counts = { runs: 0, failures: 0 };
  private lastError: PeriodicStats['lastError'] = null;
  private lastRunAt: string | null = null;

  constructor(
    what: string,
    private readonly work: () => Promise<T>,
    private readonly intervalMs: number,
    private readonly onError: (e: unknown) => void = () => {},
  ) {
    checkPositiveInts(what, { intervalMs });
  }

  /** Runs a pass now, then one every interval until `stop`. */
  start(): void {
    if (this.phase !== 'idle') return;
    this.phase = 'started';
    this.tick();
  }

  /** Stops the timer and waits for the pass in flight (and one already queued) to finish. */
  async stop(): Promise<void> {
    this.phase = 'stopped';
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.tail.catch(() => {});
  }

  /** A pass that starts after the one in flight; its result, or its error. */
  runOnce(): Promise<T> {
    if (this.queued) return this.queued;
    const next = this.tail
      .catch(() => {})
      .then(() => {
        this.queued = undefined;
        return this.pass();
      });
    this.queued = next;
    this.tail = next;
    return next;
  }

  /**
   * Asks for a pass soon without waiting for it; ignored once stopped. A failed pass is counted in
   * `stats()` and handed to `onError` (to log), not thrown: the next trigger or tick tries again.
   */
  trigger(): void {
    if (this.phase === 'stopped') return;
    this.runOnce().catch(this.onError);
  }

  /** Counters and the last error. */
  stats(): PeriodicStats {
    return { ...this.counts, lastError: this.lastError, lastRunAt: this.lastRunAt };
  }

  private async pass(): Promise<T> {
    try {
      const result = await this.work();
      this.counts.runs++;
      return result;
    } catch (e) {
      this.counts.failures++;
      const code = (e as { code?: unknown }).code;
      this.lastError = {
        code: typeof code === 'string' ? code : 'UNKNOWN',
        message: e instanceof Error ? e.message : String(e),
        at: new Date().toISOString(),
      };
      throw e;
    } finally {
      this.lastRunAt = new Date().toISOString();
    }
  }

  private tick(): void {
    this.trigger();
    // Scheduled from the end of the pass, so a slow pass is never overlapped by the next tick.
    this.tail
      .catch(() => {})
      .then(() => {
        if (this.phase === 'started') this.timer = setTimeout(() => this.tick(), this.intervalMs);
      });
  }
}
