/** How many transactions the inspection thread keeps for their responses, and for how long. */
export interface KeptLimits {
  readonly maxEntries: number;
  /** Sum of the kept requests' sizes (target, headers and body), the bulk of what a transaction holds. */
  readonly maxBytes: number;
  readonly ttlMs: number;
  /** @default performance.now */
  readonly now?: () => number;
}

interface Kept<T> {
  readonly value: T;
  readonly bytes: number;
  readonly expires: number;
}

/**
 * Transactions the inspection thread ran the request phases of, kept by job id until their response
 * comes, within bounds: oldest first out when there are too many or they are too large together,
 * and dropped once expired, so a response that never comes (the upstream failed, the client left,
 * a message was lost) costs a bounded amount of memory for a bounded time. A response whose
 * transaction is gone is inspected by running its request phases again.
 */
export class KeptTransactions<T> {
  // Insertion order is expiry order (one ttl for all), so expired entries are always at the front.
  private readonly entries = new Map<number, Kept<T>>();
  private total = 0;
  private readonly now: () => number;

  constructor(private readonly limits: KeptLimits) {
    this.now = limits.now ?? (() => performance.now());
  }

  /** Keeps `value`; false (and nothing kept) when it alone is over the byte budget. */
  put(id: number, value: T, bytes: number): boolean {
    this.delete(id);
    this.expire();
    if (bytes > this.limits.maxBytes) return false;
    this.entries.set(id, { value, bytes, expires: this.now() + this.limits.ttlMs });
    this.total += bytes;
    for (const [first, k] of this.entries) {
      if (this.entries.size <= this.limits.maxEntries && this.total <= this.limits.maxBytes) break;
      this.entries.delete(first);
      this.total -= k.bytes;
    }
    return true;
  }

  /** The kept value of `id`, removed; undefined when it was never kept, evicted or expired. */
  take(id: number): T | undefined {
    this.expire();
    const k = this.entries.get(id);
    if (k === undefined) return undefined;
    this.delete(id);
    return k.value;
  }

  /** Forgets `id` (its response will not be inspected). */
  delete(id: number): void {
    const k = this.entries.get(id);
    if (k === undefined) return;
    this.entries.delete(id);
    this.total -= k.bytes;
  }

  get size(): number {
    return this.entries.size;
  }

  get bytes(): number {
    return this.total;
  }

  private expire(): void {
    const now = this.now();
    for (const [id, k] of this.entries) {
      if (k.expires > now) break;
      this.entries.delete(id);
      this.total -= k.bytes;
    }
  }
}
