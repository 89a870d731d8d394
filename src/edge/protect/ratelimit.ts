import { performance } from 'node:perf_hooks';
import type { RateLimit } from '../../contracts/snapshot.ts';
import { canonicalIp } from './ip.ts';

/** The answer to one request: allowed, or refused with the class and when a token will be back. */
export type RateDecision = { ok: true } | { ok: false; class: string; retryAfterSec: number };

/** Options of a RateLimiter. */
export interface RateLimiterOptions {
  /**
   * Most clients tracked per route class; the least recently seen is forgotten first.
   * @default 100_000
   */
  maxKeys?: number;
  /**
   * Monotonic clock in milliseconds, used when `take` is given no time.
   * @default performance.now
   */
  now?: () => number;
}

const OK: RateDecision = Object.freeze({ ok: true });

// Floating-point sums of 1000/rate drift by a few ulps; without slack a client that waits exactly
// 1/rate seconds could be refused.
const EPSILON_MS = 1e-6;

/** How many idle buckets are looked at, oldest first, each time a client is added. */
const SWEEP = 2;

/**
 * One client's bucket, kept as GCRA's "theoretical arrival time": it behaves exactly like a token
 * bucket (`burst` at once, then one per interval) with one number instead of a count and a time.
 */
interface Client {
  readonly key: string;
  tat: number;
  older: Client | null;
  newer: Client | null;
}

/**
 * One route class and its clients, in a Map for lookup and a linked list for recency. Reordering a
 * Map by delete and set instead would leave deleted slots at its front, which every later scan for
 * the oldest entry walks over.
 */
class RouteClass {
  readonly name: string;
  private readonly prefixes: readonly string[];
  private readonly methods: readonly string[];
  readonly intervalMs: number;
  /** How far ahead of now the arrival time may run: the burst beyond the first request. */
  readonly toleranceMs: number;
  readonly clients = new Map<string, Client>();
  oldest: Client | null = null;
  private newest: Client | null = null;

  constructor(limit: RateLimit) {
    this.name = limit.class;
    this.prefixes = limit.pathPrefixes;
    this.methods = limit.methods.map((m) => m.toUpperCase());
    this.intervalMs = 1000 / limit.ratePerSec;
    this.toleranceMs = this.intervalMs * (limit.burst - 1);
  }

  applies(method: string, path: string): boolean {
    if (this.methods.length > 0 && !this.methods.includes(method)) return false;
    if (this.prefixes.length === 0) return true;
    for (const p of this.prefixes) if (path.startsWith(p)) return true;
    return false;
  }

  add(key: string, tat: number): void {
    const c: Client = { key, tat, older: this.newest, newer: null };
    if (this.newest) this.newest.newer = c;
    else this.oldest = c;
    this.newest = c;
    this.clients.set(key, c);
  }

  touch(c: Client): void {
    if (c === this.newest) return;
    this.unlink(c);
    c.older = this.newest;
    c.newer = null;
    this.newest!.newer = c;
    this.newest = c;
  }

  remove(c: Client): void {
    this.unlink(c);
    this.clients.delete(c.key);
  }

  private unlink(c: Client): void {
    if (c.older) c.older.newer = c.newer;
    else this.oldest = c.newer;
    if (c.newer) c.newer.older = c.older;
    else this.newest = c.older;
  }
}

/** Token buckets per route class and client IP for one store, with bounded memory. */
export class RateLimiter {
  private readonly classes: readonly RouteClass[];
  private readonly maxKeys: number;
  private readonly now: () => number;

  constructor(limits: readonly RateLimit[], options: RateLimiterOptions = {}) {
    this.classes = limits.map((l) => new RouteClass(l));
    this.maxKeys = options.maxKeys ?? 100_000;
    this.now = options.now ?? (() => performance.now());
  }

  /** Spends a token of the first class the request belongs to; a request in no class always passes. */
  take(ip: string, method: string, path: string, now = this.now()): RateDecision {
    let rc: RouteClass | undefined;
    for (const candidate of this.classes) {
      if (candidate.applies(method, path)) {
        rc = candidate;
        break;
      }
    }
    if (!rc) return OK;
    const key = canonicalIp(ip);
    const c = rc.clients.get(key);
    if (c === undefined) {
      // A client not tracked has a full bucket, and every class allows a burst of at least one.
      this.sweep(rc, now);
      if (rc.clients.size >= this.maxKeys) rc.remove(rc.oldest!);
      rc.add(key, now + rc.intervalMs);
      return OK;
    }
    // A refused client counts as seen too: evicting the busiest clients would hand them a full bucket.
    rc.touch(c);
    // An arrival time in the past means a full bucket.
    const tat = Math.max(c.tat, now);
    const ahead = tat - now;
    if (ahead > rc.toleranceMs + EPSILON_MS) {
      return {
        ok: false,
        class: rc.name,
        retryAfterSec: Math.max(1, Math.ceil((ahead - rc.toleranceMs) / 1000)),
      };
    }
    c.tat = tat + rc.intervalMs;
    return OK;
  }

  /**
   * Drops the oldest clients whose buckets are full again (they hold nothing a fresh bucket would
   * not). It runs when a client is added, so the map shrinks as fast as it grows.
   */
  private sweep(rc: RouteClass, now: number): void {
    for (let n = 0; n < SWEEP && rc.oldest !== null && rc.oldest.tat <= now; n++) rc.remove(rc.oldest);
  }

  /** How many clients are tracked, over all classes. */
  stats(): { keys: number } {
    let keys = 0;
    for (const rc of this.classes) keys += rc.clients.size;
    return { keys };
  }
}
