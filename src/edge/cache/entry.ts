import type { CacheRules } from '../../contracts/snapshot.ts';
import { parseCacheControl } from './cache-control.ts';
import { clientHasCurrent, opaque, type Validators } from './conditional.ts';
import { type Freshness, freshness, httpDate, type Timing } from './freshness.ts';
import { flatten, joined, storedHeaders, tagsOf, variantKey, varyNames } from './headers.ts';
import type { CacheRequest, CacheResult, CacheStatus, ServedResponse } from './types.ts';

/**
 * Where an entry's body is: nowhere yet or any more (`none`), in memory, being written to disk (the
 * body is still held), on disk, or being read back.
 */
export type Tier = 'none' | 'memory' | 'spilling' | 'disk' | 'reading';

/** Headers a 304 carries when the 200 would have (RFC 9110 §15.4.5). */
const NOT_MODIFIED_FIELDS = [
  'cache-control',
  'content-location',
  'date',
  'etag',
  'expires',
  'last-modified',
  'vary',
];

/** Bytes charged per entry for its objects, keys and links, so many tiny entries still fill the budget. */
const ENTRY_OVERHEAD = 512;

/** The body of HEAD and 304 answers. */
export const EMPTY = Buffer.alloc(0);

/** One stored response for one variant of one URL, with what it takes to serve it fast. */
export class Entry implements Validators {
  /** Links of the tier list (memory or disk LRU) that holds the entry. */
  prev: Entry | undefined = undefined;
  next: Entry | undefined = undefined;
  tier: Tier = 'none';
  /** Body file while spilling, on disk or being read back. */
  file: string | undefined = undefined;
  /** The read in progress, which every request for the entry shares. */
  reading: Promise<Entry | undefined> | undefined = undefined;
  /** `undefined` while the body only exists on disk. */
  body: Buffer | undefined;

  readonly size: number;
  readonly bodyLength: number;
  readonly etag: string | undefined;
  readonly opaqueTag: string | undefined;
  readonly lastModifiedMs: number | undefined;
  /** Headers that revalidate this entry upstream. */
  readonly conditional: Readonly<Record<string, string>>;
  readonly tags: readonly string[];

  // Responses served as HIT within one second of age are identical, so they are built once per second.
  private servedAgeSec = -1;
  private hitGet: CacheResult | undefined = undefined;
  private hitHead: CacheResult | undefined = undefined;
  private hitNotModified: CacheResult | undefined = undefined;

  private constructor(
    readonly host: string,
    readonly path: string,
    readonly varyNames: readonly string[],
    readonly variant: string,
    readonly status: number,
    readonly headers: Readonly<Record<string, string | string[]>>,
    body: Buffer,
    readonly fresh: Freshness,
    readonly responseTime: number,
    lower: Record<string, string | string[]>,
  ) {
    this.body = body;
    this.bodyLength = body.length;
    this.etag = joined(lower.etag);
    this.opaqueTag = this.etag === undefined ? undefined : opaque(this.etag);
    const lastModified = joined(lower['last-modified']);
    this.lastModifiedMs = httpDate(lastModified);
    const conditional: Record<string, string> = {};
    if (this.etag !== undefined) conditional['if-none-match'] = this.etag;
    if (lastModified !== undefined) conditional['if-modified-since'] = lastModified;
    this.conditional = Object.freeze(conditional);
    this.tags = tagsOf(lower);
    let headerBytes = 0;
    for (const name in headers) headerBytes += name.length + String(headers[name]).length;
    this.size = body.length + headerBytes + host.length + path.length + variant.length + ENTRY_OVERHEAD;
  }

  /**
   * The entry for an upstream response to `req`, or `undefined` when a shared cache must not store it.
   * `lower` holds the response headers with lower-case names.
   */
  static create(
    req: Pick<CacheRequest, 'host' | 'path' | 'headers'>,
    status: number,
    lower: Record<string, string | string[]>,
    body: Buffer,
    rules: CacheRules,
    timing: Timing,
  ): Entry | undefined {
    const fresh = freshness(
      status,
      lower,
      parseCacheControl(lower['cache-control']),
      body.length,
      rules,
      timing,
    );
    if (fresh === undefined) return;
    const names = varyNames(lower);
    const headers = storedHeaders(lower, body.length);
    const variant = variantKey(names, req.headers);
    return new Entry(
      req.host,
      req.path,
      names,
      variant,
      status,
      headers,
      body,
      fresh,
      timing.responseTime,
      lower,
    );
  }

  /** Lets go of the body once it is on disk, including the answers built from it. */
  dropBody(): void {
    this.body = undefined;
    this.servedAgeSec = -1;
    this.hitGet = this.hitHead = this.hitNotModified = undefined;
  }

  /** Age in milliseconds at `now` (RFC 9111 §4.2.3 current_age). */
  ageMs(now: number): number {
    return this.fresh.initialAgeMs + now - this.responseTime;
  }

  /** Whether a request with these headers selects this entry's variant. */
  matches(headers: CacheRequest['headers']): boolean {
    return variantKey(this.varyNames, headers) === this.variant;
  }

  /**
   * The answer to `req` from this entry at `now`: a 304 when the client already holds it, no body for
   * HEAD. HITs reuse the answer built for the same age in seconds, so a hot entry costs no allocation.
   */
  respond(req: CacheRequest, now: number, status: CacheStatus): CacheResult {
    const ageSec = Math.max(0, Math.floor(this.ageMs(now) / 1000));
    const notModified = clientHasCurrent(this, req.headers);
    if (status !== 'HIT') return this.build(ageSec, req.method, notModified, status);
    if (ageSec !== this.servedAgeSec) {
      this.servedAgeSec = ageSec;
      this.hitGet = this.hitHead = this.hitNotModified = undefined;
    }
    if (notModified) {
      this.hitNotModified ??= this.build(ageSec, req.method, true, status);
      return this.hitNotModified;
    }
    if (req.method === 'HEAD') {
      this.hitHead ??= this.build(ageSec, 'HEAD', false, status);
      return this.hitHead;
    }
    this.hitGet ??= this.build(ageSec, 'GET', false, status);
    return this.hitGet;
  }

  private build(ageSec: number, method: string, notModified: boolean, status: CacheStatus): CacheResult {
    const age = String(ageSec);
    let response: ServedResponse;
    if (notModified) {
      const headers: Record<string, string | string[]> = {};
      for (const name of NOT_MODIFIED_FIELDS)
        if (this.headers[name] !== undefined) headers[name] = this.headers[name];
      headers.age = age;
      response = served(304, headers, EMPTY);
    } else {
      const body = method === 'HEAD' ? EMPTY : this.body!;
      response = served(this.status, { ...this.headers, age }, body);
    }
    return Object.freeze({ response, status });
  }
}

/** A frozen response for the client, with its flat header array; purge tags stay in the cache. */
export function served(
  status: number,
  headers: Record<string, string | string[]>,
  body: Buffer,
): ServedResponse {
  const { 'x-magento-tags': _magento, 'cache-tag': _tag, ...visible } = headers;
  const frozen = Object.freeze(visible);
  return Object.freeze({ status, headers: frozen, body, rawHeaders: flatten(frozen) });
}
