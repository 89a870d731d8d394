import { z } from 'zod';
import { ApiError, parseOrThrow } from '../errors.ts';

/**
 * How much of the control plane the analytics reads (a store's requests, events, audit trail) may
 * take. Niceness alone does not bound them: a dashboard or script asking as fast as it is answered
 * keeps a core busy at any priority, and a core busy beside the storefront's slows it through the
 * caches and memory they share. So these reads are answered one at a time, and after each the next
 * waits until the time spent stays within `share` of one core.
 */
export const ReadBudgetOptions = z.strictObject({
  /** Fraction of one core the analytics reads may take, averaged over consecutive reads. @default 0.1 */
  share: z.number().min(0.01).max(1).default(0.1),
  /** Reads that may wait at once; one more is answered 429 at once. @default 64 */
  queue: z.int().min(1).max(10_000).default(64),
  /** Reads one caller may have waiting or being answered, so a greedy client cannot fill the line. @default 8 */
  perCaller: z.int().min(1).max(10_000).default(8),
});
export type ReadBudgetOptions = z.input<typeof ReadBudgetOptions>;

/** Time as the budget sees it; tests give their own. */
export interface BudgetClock {
  now(): number;
  /** Calls `fn` after `ms`; returns a function that cancels it. */
  after(ms: number, fn: () => void): () => void;
}

const realClock: BudgetClock = {
  now: () => performance.now(),
  after: (ms, fn) => {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
};

interface Waiter {
  readonly caller: string;
  readonly work: () => Promise<unknown>;
  readonly abandoned: () => boolean;
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

/** What the budget has done since it was made. */
export interface ReadBudgetStats {
  answered: number;
  /** Refused with TP_API_BUSY because the line (or the caller's part of it) was full. */
  refused: number;
  /** Dropped before they ran because the client had gone. */
  abandoned: number;
  /** Milliseconds spent answering. */
  spentMs: number;
}

/** Runs analytics reads one at a time within a share of one core; see {@link ReadBudgetOptions}. */
export class ReadBudget {
  readonly options: Readonly<z.output<typeof ReadBudgetOptions>>;
  private readonly waiting: Waiter[] = [];
  private readonly perCaller = new Map<string, number>();
  private running = false;
  /** When the next read may start. */
  private openAt = Number.NEGATIVE_INFINITY;
  private cancelTimer: (() => void) | undefined;
  /** The last read's cost, for the Retry-After estimate. */
  private lastCostMs = 0;
  private readonly counts: ReadBudgetStats = { answered: 0, refused: 0, abandoned: 0, spentMs: 0 };

  constructor(
    options: ReadBudgetOptions = {},
    private readonly clock: BudgetClock = realClock,
  ) {
    this.options = Object.freeze(parseOrThrow(ReadBudgetOptions, options, 'read budget'));
  }

  /**
   * Runs `work` when its turn comes and the budget allows, and settles as it does. Fails with
   * TP_API_BUSY when the line or the caller's part of it is full, and with TP_API_UNAVAILABLE
   * without running `work` when `abandoned()` says the client has gone by then.
   */
  run<T>(caller: string, work: () => Promise<T>, abandoned: () => boolean = () => false): Promise<T> {
    const mine = this.perCaller.get(caller) ?? 0;
    if (this.waiting.length >= this.options.queue || mine >= this.options.perCaller) {
      this.counts.refused++;
      const full = mine >= this.options.perCaller ? 'this caller has' : 'the control plane has';
      const retryAfterSeconds = this.retryAfterSeconds();
      return Promise.reject(
        new ApiError(
          'TP_API_BUSY',
          `${full} too many analytics reads waiting; retry in ${retryAfterSeconds} s`,
          {
            retryAfterSeconds,
            waiting: this.waiting.length,
          },
        ),
      );
    }
    this.perCaller.set(caller, mine + 1);
    return new Promise<T>((resolve, reject) => {
      this.waiting.push({ caller, work, abandoned, resolve: resolve as (v: unknown) => void, reject });
      this.pump();
    });
  }

  /** Counts since the budget was made. */
  stats(): Readonly<ReadBudgetStats> {
    return { ...this.counts };
  }

  /** Seconds until the line as it stands would be through, at least 1. */
  private retryAfterSeconds(): number {
    const perRead = this.lastCostMs / this.options.share;
    return Math.max(1, Math.ceil(((this.waiting.length + 1) * perRead) / 1000));
  }

  private leave(w: Waiter): void {
    const n = (this.perCaller.get(w.caller) ?? 1) - 1;
    if (n === 0) this.perCaller.delete(w.caller);
    else this.perCaller.set(w.caller, n);
  }

  private pump(): void {
    if (this.running || this.cancelTimer) return;
    let next = this.waiting[0];
    while (next?.abandoned()) {
      this.waiting.shift();
      this.leave(next);
      this.counts.abandoned++;
      next.reject(new ApiError('TP_API_UNAVAILABLE', 'the client closed the connection before its turn'));
      next = this.waiting[0];
    }
    if (!next) return;
    const now = this.clock.now();
    if (now < this.openAt) {
      this.cancelTimer = this.clock.after(this.openAt - now, () => {
        this.cancelTimer = undefined;
        this.pump();
      });
      return;
    }
    this.waiting.shift();
    this.running = true;
    const start = now;
    const settle = (how: () => void) => {
      const end = this.clock.now();
      const cost = Math.max(0, end - start);
      this.lastCostMs = cost;
      this.counts.answered++;
      this.counts.spentMs += cost;
      // Spent `cost` at full speed: stay closed long enough that the whole stretch averages `share`.
      this.openAt = end + (cost * (1 - this.options.share)) / this.options.share;
      this.running = false;
      this.leave(next);
      how();
      this.pump();
    };
    // A read's own failure goes to its caller; the line moves on either way.
    let pending: Promise<unknown>;
    try {
      pending = next.work();
    } catch (e) {
      pending = Promise.reject(e);
    }
    pending.then(
      (v) => settle(() => next.resolve(v)),
      (e: unknown) => settle(() => next.reject(e)),
    );
  }
}
