import type { Logger } from 'pino';
import type { JsonValue, NewJob, State } from '../state/index.ts';

/** A job enqueued every `everyMs` (backups, log rollups, pruning …). */
export interface ScheduledJob {
  readonly kind: string;
  readonly everyMs: number;
  readonly payload?: JsonValue;
  readonly maxAttempts?: number;
  readonly timeoutMs?: number;
}

/**
 * Enqueues scheduled jobs when they are due. Due means: the newest job of that kind was created more
 * than `everyMs` ago (or there is none), read from the job history itself, so a restarted scheduler
 * neither repeats a run nor skips one, and a kind whose last job is still queued or running is not
 * piled up.
 */
export class Scheduler {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly o: {
      state: State;
      jobs: readonly ScheduledJob[];
      log: Logger;
      /** @default 5000 */ tickMs?: number;
      /** @default Date.now */ clock?: () => number;
    },
  ) {}

  /** Starts the ticks (the first one at once). */
  start(): void {
    const tick = () => {
      this.tick().then(
        () => {
          this.timer = setTimeout(tick, this.o.tickMs ?? 5000);
        },
        (err: unknown) => {
          this.o.log.error({ err }, 'scheduler tick failed');
          this.timer = setTimeout(tick, this.o.tickMs ?? 5000);
        },
      );
    };
    tick();
  }

  /** Stops ticking. */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Enqueues every scheduled job that is due; returns the kinds enqueued. */
  async tick(): Promise<string[]> {
    const now = (this.o.clock ?? Date.now)();
    const enqueued: string[] = [];
    for (const s of this.o.jobs) {
      const [last] = await this.o.state.jobs.history(s.kind, 1);
      const busy = last && (last.status === 'queued' || last.status === 'running');
      if (busy || (last && now - last.createdAt < s.everyMs)) continue;
      const job: NewJob = {
        kind: s.kind,
        payload: s.payload ?? null,
        maxAttempts: s.maxAttempts,
        timeoutMs: s.timeoutMs,
      };
      await this.o.state.jobs.enqueue(job);
      enqueued.push(s.kind);
    }
    return enqueued;
  }
}
