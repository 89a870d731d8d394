import type { Logger } from 'pino';
import type { Job, JsonValue, State } from '../state/index.ts';

/** What a job handler gets: its payload, and a signal that aborts when the attempt times out or the runner stops. */
export interface JobContext {
  readonly job: Job;
  readonly payload: JsonValue;
  readonly signal: AbortSignal;
  readonly log: Logger;
}

/** Does one kind of job; its result is kept in the job's history. Throwing fails the attempt. */
export type JobHandler = (ctx: JobContext) => Promise<JsonValue>;

/** Options of a JobRunner. */
export interface JobRunnerOptions {
  readonly state: State;
  /** Names this runner in job rows (`worker_id`); unique per process. */
  readonly workerId: string;
  readonly handlers: Readonly<Record<string, JobHandler>>;
  readonly log: Logger;
  /** How often an idle runner looks for work. @default 1000 */
  readonly pollMs?: number;
  /** How long `stop()` waits for the running attempt before aborting it. @default 10_000 */
  readonly drainMs?: number;
}

/** A job attempt cut off by its own timeout (`timeoutMs` of the job). */
export class JobTimeoutError extends Error {
  readonly code = 'TP_JOB_TIMEOUT';
}

/**
 * Runs queued jobs one at a time: claim, run with the job's timeout, record success or failure (the
 * state store re-queues failures with backoff until attempts run out). One at a time is deliberate:
 * jobs are the work that must never compete with the storefront, so a runner is a small, bounded
 * consumer, and more throughput means more runner processes, not more concurrency inside one.
 */
export class JobRunner {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private current: AbortController | undefined;
  private stopped = true;
  /** Attempts finished, by outcome, for metrics and tests. */
  readonly counts = { succeeded: 0, failed: 0, timedOut: 0 };

  constructor(private readonly o: JobRunnerOptions) {}

  /** Starts polling for work. */
  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** Stops claiming; waits up to `drainMs` for the running attempt, then aborts it. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    const running = this.running;
    if (!running) return;
    const drain = new Promise((r) => setTimeout(r, this.o.drainMs ?? 10_000).unref());
    await Promise.race([running, drain]);
    this.current?.abort(new Error('job runner stopping'));
    await running.catch(() => {});
  }

  /**
   * Takes back expired leases, then claims and runs one due job. Returns the job as it ended, or null
   * when nothing was due.
   */
  async runOnce(): Promise<Job | null> {
    const { state, workerId, handlers } = this.o;
    await state.jobs.recoverExpiredLeases();
    const job = await state.jobs.claim(workerId, Object.keys(handlers));
    if (!job) return null;
    const p = this.attempt(job);
    this.running = p;
    try {
      return await p;
    } finally {
      this.running = undefined;
    }
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.runOnce().then(
        (job) => this.schedule(job ? 0 : (this.o.pollMs ?? 1000)),
        (err: unknown) => {
          // The state store was unreachable or a lease was lost: nothing ran; try again later.
          this.o.log.error({ err }, 'job runner pass failed');
          this.schedule(this.o.pollMs ?? 1000);
        },
      );
    }, ms);
  }

  private async attempt(job: Job): Promise<Job> {
    const { state, workerId, handlers, log } = this.o;
    const handler = handlers[job.kind]!;
    const ctl = new AbortController();
    this.current = ctl;
    const timeout = new JobTimeoutError(`${job.kind} ${job.id}: no result within ${job.timeoutMs} ms`);
    const timer = setTimeout(() => ctl.abort(timeout), job.timeoutMs);
    const jobLog = log.child({ job: job.id, kind: job.kind, attempt: job.attempts });
    const started = Date.now();
    try {
      const result = await Promise.race([
        handler({ job, payload: job.payload, signal: ctl.signal, log: jobLog }),
        // A handler that ignores its signal still loses its claim at the timeout.
        new Promise<never>((_, reject) => {
          ctl.signal.addEventListener('abort', () => reject(ctl.signal.reason), { once: true });
        }),
      ]);
      this.counts.succeeded++;
      jobLog.info({ ms: Date.now() - started }, 'job succeeded');
      return await state.jobs.complete(job.id, workerId, result ?? null);
    } catch (err) {
      const e = err as { code?: string; message?: string };
      if (err instanceof JobTimeoutError) this.counts.timedOut++;
      this.counts.failed++;
      const message = `${e.code ?? 'TP_JOB_FAILED'}: ${e.message ?? String(err)}`;
      const after = await state.jobs.fail(job.id, workerId, message);
      jobLog.warn({ error: message, next: after.status }, 'job attempt failed');
      return after;
    } finally {
      clearTimeout(timer);
      this.current = undefined;
    }
  }
}
