import { checkPositiveInts } from './errors.ts';

/** How long a poll is held by default: well under the edge's and agent's 35 s poll timeout. */
export const DEFAULT_HOLD_MS = 25_000;

/** Hub settings. */
export interface LongPollHubOptions {
  /** How long `wait` holds before it gives up. @default 25_000 */
  readonly holdMs?: number;
}

/** How one `wait` ended. */
export type WaitOutcome = 'published' | 'timeout' | 'aborted';

interface Waiter {
  readonly after: number;
  readonly finish: (outcome: WaitOutcome) => void;
}

/**
 * Wakes long polls: a poller waits for "a version above `after`" of a key (a node id, or "edge"),
 * and `publish` answers every such waiter of that key at once. Each waiter owns one timer and one
 * abort listener, and both are gone the moment it settles, whichever way.
 */
export class LongPollHub {
  private readonly holdMs: number;
  private readonly waiters = new Map<string, Set<Waiter>>();
  // The newest published version per key closes the gap between a poller reading the state and
  // starting to wait: a publish in between is seen here instead of being missed for a whole hold.
  private readonly latest = new Map<string, number>();

  constructor(o: LongPollHubOptions = {}) {
    checkPositiveInts('hub', { holdMs: o.holdMs });
    this.holdMs = o.holdMs ?? DEFAULT_HOLD_MS;
  }

  /** Records that `key` now has `version` and releases every waiter that asked for something older. */
  publish(key: string, version: number): void {
    if (version > (this.latest.get(key) ?? 0)) this.latest.set(key, version);
    for (const w of this.waiters.get(key) ?? []) if (w.after < version) w.finish('published');
  }

  /**
   * Resolves with "published" once a version above `after` is published for `key` (at once when one
   * already was), "timeout" after the hold, or "aborted" when `signal` fires (the client went away).
   */
  wait(key: string, after: number, o: { signal?: AbortSignal; holdMs?: number } = {}): Promise<WaitOutcome> {
    if ((this.latest.get(key) ?? 0) > after) return Promise.resolve('published');
    if (o.signal?.aborted) return Promise.resolve('aborted');
    return new Promise((resolve) => {
      const set = this.waiters.get(key) ?? new Set<Waiter>();
      this.waiters.set(key, set);
      const onAbort = () => w.finish('aborted');
      const timer = setTimeout(() => w.finish('timeout'), o.holdMs ?? this.holdMs);
      const w: Waiter = {
        after,
        finish: (outcome) => {
          clearTimeout(timer);
          o.signal?.removeEventListener('abort', onAbort);
          set.delete(w);
          if (set.size === 0 && this.waiters.get(key) === set) this.waiters.delete(key);
          resolve(outcome);
        },
      };
      set.add(w);
      o.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Polls held right now, over all keys. */
  get held(): number {
    let n = 0;
    for (const set of this.waiters.values()) n += set.size;
    return n;
  }

  /** Releases every held poll as timed out (shutdown): their clients poll again, elsewhere or later. */
  releaseAll(): void {
    for (const set of [...this.waiters.values()]) for (const w of [...set]) w.finish('timeout');
  }
}
