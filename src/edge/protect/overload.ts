import { performance } from 'node:perf_hooks';
import { OverloadedError } from './errors.ts';

/** Gives a slot back; calling it again does nothing. */
export type Release = () => void;

/** Limits of an OverloadQueue (a store policy's `overload` section). */
export interface OverloadLimits {
  /** Requests that may run at once. */
  maxConcurrent: number;
  /** Requests that may wait for a slot; more are rejected at once. */
  maxQueue: number;
  /** Longest wait for a slot, in milliseconds; 0 means requests never wait. */
  maxQueueMs: number;
}

/** Options of an OverloadQueue. */
export interface OverloadOptions {
  /**
   * Monotonic clock in milliseconds for queue deadlines.
   * @default performance.now
   */
  now?: () => number;
}

/** Counts of an OverloadQueue, for metrics. */
export interface OverloadStats {
  active: number;
  queued: number;
  /** Requests that ever had to wait. */
  queuedTotal: number;
  /** Requests turned away, because the queue was full or the wait too long. */
  rejectedTotal: number;
}

interface Waiter {
  readonly resolve: (release: Release) => void;
  readonly reject: (err: OverloadedError) => void;
  readonly deadline: number;
  next: Waiter | null;
}

/**
 * Caps the requests a store runs at once and queues the rest first in, first out. Every waiter has
 * the same maximum wait, so deadlines expire in queue order: a singly linked list and one timer for
 * the head are enough.
 */
export class OverloadQueue {
  private readonly now: () => number;
  private active = 0;
  private queued = 0;
  private queuedTotal = 0;
  private rejectedTotal = 0;
  private head: Waiter | null = null;
  private tail: Waiter | null = null;
  private timer: NodeJS.Timeout | null = null;
  // Rejections come in floods exactly when the edge is busiest, so two errors are made once and
  // shared: a stack trace per rejected request would cost CPU and says nothing useful.
  private readonly fullError: OverloadedError;
  private readonly timeoutError: OverloadedError;

  constructor(
    private readonly limits: OverloadLimits,
    options: OverloadOptions = {},
  ) {
    this.now = options.now ?? (() => performance.now());
    const retryAfterSec = Math.max(1, Math.ceil(limits.maxQueueMs / 1000));
    this.fullError = new OverloadedError('queue-full', retryAfterSec);
    this.timeoutError = new OverloadedError('queue-timeout', retryAfterSec);
  }

  /** A slot to run one request: at once under the limit, else after the requests queued before it. */
  acquire(): Promise<Release> {
    if (this.active < this.limits.maxConcurrent) {
      this.active++;
      return Promise.resolve(this.releaser());
    }
    if (this.queued >= this.limits.maxQueue || this.limits.maxQueueMs === 0) {
      this.rejectedTotal++;
      return Promise.reject(this.fullError);
    }
    return new Promise<Release>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, deadline: this.now() + this.limits.maxQueueMs, next: null };
      if (this.tail) this.tail.next = waiter;
      else this.head = waiter;
      this.tail = waiter;
      this.queued++;
      this.queuedTotal++;
      if (!this.timer) this.arm(this.limits.maxQueueMs);
    });
  }

  /** Current and cumulative counts. */
  stats(): OverloadStats {
    return {
      active: this.active,
      queued: this.queued,
      queuedTotal: this.queuedTotal,
      rejectedTotal: this.rejectedTotal,
    };
  }

  private releaser(): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.handOver();
    };
  }

  /** A finished request's slot goes to the oldest waiter, or back to the pool when none waits. */
  private handOver(): void {
    const w = this.shift();
    if (w) w.resolve(this.releaser());
    else this.active--;
  }

  private shift(): Waiter | null {
    const w = this.head;
    if (!w) return null;
    this.head = w.next;
    if (!this.head) {
      this.tail = null;
      this.disarm();
    }
    this.queued--;
    return w;
  }

  private arm(ms: number): void {
    // Not unref'd: while requests wait, the process has work to finish, and this timer settles it.
    this.timer = setTimeout(() => this.expire(), Math.max(1, Math.ceil(ms)));
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Rejects every waiter whose deadline has passed and re-arms the timer for the next one. */
  private expire(): void {
    this.timer = null;
    const now = this.now();
    while (this.head && this.head.deadline <= now) {
      const w = this.shift()!;
      this.rejectedTotal++;
      w.reject(this.timeoutError);
    }
    if (this.head && !this.timer) this.arm(this.head.deadline - now);
  }
}
