/** A request the proxy may answer from the cache: GET or HEAD under one of the rules' path prefixes. */
export interface CacheRequest {
  method: 'GET' | 'HEAD';
  /** Host name as routed; compared case-insensitively. */
  host: string;
  /** Path with its query string, exactly as it forms the cache key. */
  path: string;
  /** Request headers with lower-case names, as Node's `IncomingMessage.headers`. */
  headers: Record<string, string | string[] | undefined>;
}

/** A complete response: what the upstream returned, or what the cache stored. */
export interface StoredResponse {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

/**
 * A response to send to the client. Responses served from an entry are shared between requests and
 * frozen: copy `headers` before changing them.
 */
export interface ServedResponse extends StoredResponse {
  /** `headers` flattened as `[name, value, name, value, …]`, ready for `res.writeHead(status, rawHeaders)`. */
  readonly rawHeaders: readonly string[];
}

/** How a request was answered; the proxy turns it into its X-Cache header. */
export type CacheStatus = 'HIT' | 'MISS' | 'STALE' | 'REVALIDATED' | 'BYPASS';

/** What `EdgeCache.handle` returns: the response for the client and how it was obtained. */
export interface CacheResult {
  readonly response: ServedResponse;
  readonly status: CacheStatus;
}

/**
 * The upstream, as the proxy calls it: always a GET of the request's URL carrying exactly the given
 * conditional headers (and none of the client's), resolving to the whole buffered response.
 */
export type UpstreamFetch = (conditional: Record<string, string>) => Promise<StoredResponse>;

/** How the cache is sized and where its disk tier lives. */
export interface EdgeCacheOptions {
  /** Memory budget for stored responses (bodies, headers and bookkeeping), in bytes. */
  maxBytes: number;
  /**
   * Directory for entries evicted from memory; the cache owns the `*.tpcache` files in it.
   * @default no disk tier: evicted entries are dropped
   */
  diskDir?: string;
  /** Disk budget in bytes; required with `diskDir`. */
  maxDiskBytes?: number;
  /**
   * Clock in milliseconds since the epoch; tests inject their own.
   * @default Date.now
   */
  now?: () => number;
}

/** Counters and sizes of one cache, for metrics. */
export interface CacheStats {
  /** Entries cached, in memory and on disk. */
  entries: number;
  /** Bytes held by the memory tier. */
  bytes: number;
  diskEntries: number;
  diskBytes: number;
  hits: number;
  misses: number;
  stale: number;
  revalidated: number;
  bypassed: number;
  /** Requests that waited for another request's upstream fetch instead of making their own. */
  collapsed: number;
  /** Entries pushed out of memory for space (to disk when there is a disk tier). */
  evictions: number;
  /** Entries dropped from the disk tier for space. */
  diskEvictions: number;
  /** Failed disk writes, reads and deletes; each cost at most one cache miss. */
  diskErrors: number;
  /** Background (stale-while-revalidate) refreshes whose upstream fetch failed. */
  refreshFailures: number;
}
