import type { CacheRules } from '../../contracts/snapshot.ts';
import { DiskFiles } from './disk.ts';
import { EMPTY, type Entry, served } from './entry.ts';
import { EntryTable } from './entry-table.ts';
import { checkOptions } from './options.ts';
import type {
  CacheRequest,
  CacheResult,
  CacheStats,
  CacheStatus,
  EdgeCacheOptions,
  StoredResponse,
  UpstreamFetch,
} from './types.ts';
import { fetchOutcome, NO_CONDITIONS, type Outcome } from './upstream.ts';

/**
 * Requests the cache neither answers nor stores: responses to authorized requests may depend on the
 * credentials (RFC 9111 §3.5), and a request with one of the rules' bypass cookies sees a page of its
 * own (Magento's X-Magento-Vary: the customer group, currency or store view).
 */
function bypassed(req: CacheRequest, rules: CacheRules): boolean {
  if (!rules.enabled || req.headers.authorization !== undefined) return true;
  const cookie = req.headers.cookie;
  if (cookie === undefined || rules.bypassCookies.length === 0) return false;
  for (const part of (typeof cookie === 'string' ? cookie : cookie.join(';')).split(';')) {
    const eq = part.indexOf('=');
    if (rules.bypassCookies.includes((eq < 0 ? part : part.slice(0, eq)).trim())) return true;
  }
  return false;
}

/**
 * The edge's shared HTTP cache (RFC 9111): fresh hits from memory, stale-while-revalidate and
 * stale-if-error, one upstream fetch per key however many requests miss at once, purges by URL,
 * prefix and tag, and an optional disk tier for what memory evicts.
 */
export class EdgeCache {
  private readonly now: () => number;
  private readonly files: DiskFiles | undefined;
  private readonly table: EntryTable;
  /** Upstream fetches in progress, by `host path\nvariant`. */
  private readonly flights = new Map<string, Promise<Outcome>>();
  private readonly counts: Record<CacheStatus, number> = {
    HIT: 0,
    MISS: 0,
    STALE: 0,
    REVALIDATED: 0,
    BYPASS: 0,
  };
  private collapsed = 0;
  private refreshFailures = 0;

  constructor(opts: EdgeCacheOptions) {
    checkOptions(opts);
    this.now = opts.now ?? Date.now;
    this.files = opts.diskDir === undefined ? undefined : new DiskFiles(opts.diskDir);
    this.table = new EntryTable(
      { maxBytes: opts.maxBytes, maxDiskBytes: opts.maxDiskBytes ?? 0 },
      this.files,
    );
  }

  /** Prepares the disk tier: creates its directory and deletes files a crashed process left there. */
  async start(): Promise<void> {
    await this.files?.start();
  }

  /** Drains upstream fetches and disk writes, then deletes the disk tier's files. */
  async stop(): Promise<void> {
    await this.idle();
    await this.files?.stop();
  }

  /** Resolves when no upstream fetch (background refreshes included) and no disk operation is pending. */
  async idle(): Promise<void> {
    while (this.flights.size > 0) await Promise.allSettled(this.flights.values());
    await this.files?.idle();
  }

  /**
   * The fast path: a fresh entry in memory answered synchronously (HIT), else `undefined` and the
   * request goes to `handle`. Lets the proxy skip a promise on hits.
   */
  lookup(req: CacheRequest, rules: CacheRules): CacheResult | undefined {
    if (bypassed(req, rules)) return undefined;
    const entry = this.table.find(req.host.toLowerCase(), req.path, req.headers);
    if (entry === undefined || entry.body === undefined) return undefined;
    const now = this.now();
    if (entry.ageMs(now) >= entry.fresh.freshMs) return undefined;
    return this.serve(entry, req, now, 'HIT');
  }

  /** Serves from cache or calls fetch (the upstream) — returns what to send the client. */
  async handle(req: CacheRequest, rules: CacheRules, fetch: UpstreamFetch): Promise<CacheResult> {
    if (bypassed(req, rules)) return this.pass(req, await fetch(NO_CONDITIONS), 'BYPASS');
    return this.lookup(req, rules) ?? this.resolve(req, rules, fetch, true);
  }

  /** Removes every variant of one URL; returns how many entries were removed. */
  purgeUrl(host: string, path: string): number {
    return this.table.purge(this.table.byUrl(host.toLowerCase(), path));
  }

  /** Removes every entry of `host` whose path (with query) starts with `prefix`. */
  purgePrefix(host: string, prefix: string): number {
    return this.table.purge(this.table.byPrefix(host.toLowerCase(), prefix));
  }

  /** Removes every entry whose response carried `tag` in X-Magento-Tags or Cache-Tag. */
  purgeTag(tag: string): number {
    return this.table.purge(this.table.byTag(tag));
  }

  /** Counters and sizes, for metrics. */
  stats(): CacheStats {
    const t = this.table;
    return {
      entries: t.count,
      bytes: t.memory.bytes,
      diskEntries: t.disk.count,
      diskBytes: t.disk.bytes,
      hits: this.counts.HIT,
      misses: this.counts.MISS,
      stale: this.counts.STALE,
      revalidated: this.counts.REVALIDATED,
      bypassed: this.counts.BYPASS,
      collapsed: this.collapsed,
      evictions: t.evictions,
      diskEvictions: t.diskEvictions,
      diskErrors: this.files?.errors ?? 0,
      refreshFailures: this.refreshFailures,
    };
  }

  /** Everything but a fresh hit in memory: disk, stale entries, misses and their collapsing. */
  private async resolve(
    req: CacheRequest,
    rules: CacheRules,
    fetch: UpstreamFetch,
    mayRetry: boolean,
  ): Promise<CacheResult> {
    const host = req.host.toLowerCase();
    const found = this.table.find(host, req.path, req.headers);
    const entry = found === undefined ? undefined : await this.table.load(found);
    const now = this.now();
    if (entry !== undefined) {
      const age = entry.ageMs(now);
      if (age < entry.fresh.freshMs) return this.serve(entry, req, now, 'HIT');
      if (age < entry.fresh.freshMs + entry.fresh.swrMs) {
        this.refresh(host, req, rules, fetch, entry);
        return this.serve(entry, req, now, 'STALE');
      }
    }
    const key = `${host} ${req.path}\n${entry?.variant ?? this.table.variantOf(host, req.path, req.headers)}`;
    const waiting = this.flights.get(key);
    if (waiting !== undefined) this.collapsed++;
    const flight = waiting ?? this.fly(key, host, req, rules, fetch, entry);
    return this.settle(host, req, rules, fetch, entry, flight, waiting !== undefined, mayRetry);
  }

  /** Turns an outcome into this request's answer, falling back to the stale entry on upstream errors. */
  private async settle(
    host: string,
    req: CacheRequest,
    rules: CacheRules,
    fetch: UpstreamFetch,
    stale: Entry | undefined,
    flight: Promise<Outcome>,
    joined: boolean,
    mayRetry: boolean,
  ): Promise<CacheResult> {
    let outcome: Outcome;
    try {
      outcome = await flight;
    } catch (error) {
      const fallback = await this.staleIfError(req, stale);
      if (fallback !== undefined) return fallback;
      throw error;
    }
    if (outcome.kind === 'entry') {
      if (!joined || outcome.entry.matches(req.headers))
        return this.serve(outcome.entry, req, this.now(), outcome.status);
      // The response varies on a header this request has another value of; the URL's Vary is now known,
      // so resolving again keys (and collapses) by the right variant.
      if (mayRetry) return this.resolve(req, rules, fetch, false);
    } else {
      const { response } = outcome;
      if (response.status >= 500) {
        const fallback = await this.staleIfError(req, stale);
        if (fallback !== undefined) return fallback;
      }
      // Waiters share an upstream error, so a failing upstream sees one request, not a stampede.
      if (!joined || (response.status >= 500 && outcome.shareable)) return this.pass(req, response, 'MISS');
    }
    // It waited for a response it must not be given (another client's, or another variant): it fetches its own.
    const own = fetchOutcome(this.table, this.now, host, req, rules, fetch, stale);
    return this.settle(host, req, rules, fetch, stale, own, false, false);
  }

  /** Starts an upstream fetch that later requests for the same key wait for. */
  private fly(
    key: string,
    host: string,
    req: CacheRequest,
    rules: CacheRules,
    fetch: UpstreamFetch,
    stale: Entry | undefined,
  ): Promise<Outcome> {
    const flight = fetchOutcome(this.table, this.now, host, req, rules, fetch, stale);
    this.flights.set(key, flight);
    const land = () => this.flights.delete(key);
    flight.then(land, land);
    return flight;
  }

  /** Refreshes a stale entry in the background, unless a fetch for it is already in flight. */
  private refresh(
    host: string,
    req: CacheRequest,
    rules: CacheRules,
    fetch: UpstreamFetch,
    stale: Entry,
  ): void {
    const key = `${host} ${req.path}\n${stale.variant}`;
    if (this.flights.has(key)) return;
    // Nobody waits for this fetch, so its failure is only counted: the entry stays stale and the next
    // request within the window tries again.
    this.fly(key, host, req, rules, fetch, stale).then(
      (o) => {
        if (o.kind === 'passed' && o.response.status >= 500) this.refreshFailures++;
      },
      () => {
        this.refreshFailures++;
      },
    );
  }

  /** The stale entry as STALE when the upstream failed within its stale-if-error window. */
  private async staleIfError(req: CacheRequest, stale: Entry | undefined): Promise<CacheResult | undefined> {
    // An entry purged or replaced meanwhile is no longer ours to serve.
    if (stale === undefined || stale.tier === 'none') return undefined;
    const now = this.now();
    if (stale.ageMs(now) >= stale.fresh.freshMs + stale.fresh.sieMs) return undefined;
    const loaded = await this.table.load(stale);
    return loaded === undefined ? undefined : this.serve(loaded, req, now, 'STALE');
  }

  private serve(entry: Entry, req: CacheRequest, now: number, status: CacheStatus): CacheResult {
    this.table.touch(entry);
    this.counts[status]++;
    return entry.respond(req, now, status);
  }

  /** An upstream response handed through as is (no body for HEAD). */
  private pass(req: CacheRequest, res: StoredResponse, status: CacheStatus): CacheResult {
    this.counts[status]++;
    const body = req.method === 'HEAD' ? EMPTY : res.body;
    return Object.freeze({ response: served(res.status, { ...res.headers }, body), status });
  }
}
