import { canonicalIp } from './ip.ts';

/** Limits of a ConnectionLimiter. */
export interface ConnectionLimits {
  /** Open connections allowed in total. */
  maxTotal: number;
  /** Open connections allowed from one client IP. */
  maxPerIp: number;
}

/** Counts of a ConnectionLimiter, for metrics. */
export interface ConnectionStats {
  total: number;
  ips: number;
  rejectedTotal: number;
  /** Releases for an IP with no open connection: a caller bug, counted rather than thrown. */
  unmatchedReleases: number;
}

/** Caps open connections in total and per client IP; every successful `tryAcquire` needs one `release`. */
export class ConnectionLimiter {
  private readonly perIp = new Map<string, number>();
  private total = 0;
  private rejectedTotal = 0;
  private unmatchedReleases = 0;

  private readonly limits: ConnectionLimits;

  constructor(limits: ConnectionLimits) {
    // A copy, so that resizing never writes into the caller's object.
    this.limits = { ...limits };
  }

  /**
   * Changes the caps in place, for a snapshot with new edge settings. Open connections are kept
   * and still counted: above the new cap, new ones are refused until enough have closed.
   */
  resize(maxTotal: number, maxPerIp = this.limits.maxPerIp): this {
    this.limits.maxTotal = maxTotal;
    this.limits.maxPerIp = maxPerIp;
    return this;
  }

  /** Counts a new connection from `ip`, or returns false (and counts nothing) when a cap is reached. */
  tryAcquire(ip: string): boolean {
    const key = canonicalIp(ip);
    const open = this.perIp.get(key) ?? 0;
    if (this.total >= this.limits.maxTotal || open >= this.limits.maxPerIp) {
      this.rejectedTotal++;
      return false;
    }
    this.perIp.set(key, open + 1);
    this.total++;
    return true;
  }

  /** Forgets a connection from `ip` that `tryAcquire` accepted. */
  release(ip: string): void {
    const key = canonicalIp(ip);
    const open = this.perIp.get(key);
    // A stray release must not push counts below zero, which would lift the caps for everyone.
    if (open === undefined) {
      this.unmatchedReleases++;
      return;
    }
    if (open === 1) this.perIp.delete(key);
    else this.perIp.set(key, open - 1);
    this.total--;
  }

  /** Current and cumulative counts. */
  stats(): ConnectionStats {
    return {
      total: this.total,
      ips: this.perIp.size,
      rejectedTotal: this.rejectedTotal,
      unmatchedReleases: this.unmatchedReleases,
    };
  }
}
