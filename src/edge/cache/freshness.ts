import type { CacheRules } from '../../contracts/snapshot.ts';
import { type CacheControl, parseCacheControl, seconds } from './cache-control.ts';
import { joined } from './headers.ts';

/** Statuses the edge stores; the rest of RFC 9111's heuristically cacheable list is not worth an entry. */
const STORABLE_STATUS = new Set([200, 301, 404]);

/** How long an entry is fresh and how long past that it may still be served, in milliseconds. */
export interface Freshness {
  /** Age the response already had when it arrived (RFC 9111 §4.2.3 corrected initial age). */
  initialAgeMs: number;
  /** Freshness lifetime; 0 means revalidate on every request. */
  freshMs: number;
  /** Past `freshMs`: served stale while one background fetch refreshes the entry. */
  swrMs: number;
  /** Past `freshMs`: served stale when the upstream fails. */
  sieMs: number;
}

/** When an upstream response arrived, to compute its age. */
export interface Timing {
  requestTime: number;
  responseTime: number;
}

/**
 * Whether a shared cache may store the response, and for how long it is fresh; `undefined` when it
 * must not be stored. `lower` holds the response headers with lower-case names.
 */
export function freshness(
  status: number,
  lower: Record<string, string | string[]>,
  cc: CacheControl,
  bodyLength: number,
  rules: CacheRules,
  timing: Timing,
): Freshness | undefined {
  const personal = cc.private || lower['set-cookie'] !== undefined;
  if (!STORABLE_STATUS.has(status) || cc.noStore || personal || bodyLength > rules.maxObjectBytes) return;
  if ((joined(lower.vary) ?? '').includes('*')) return;

  const dateMs = httpDate(lower.date) ?? timing.responseTime;
  const expires = lower.expires === undefined ? undefined : lifetimeFromExpires(lower.expires, dateMs);
  const explicit = cc.noCache ? 0 : (cc.sMaxAge ?? cc.maxAge ?? expires);
  const lifetimeSec = explicit ?? rules.defaultTtlSec;
  const hasValidator = lower.etag !== undefined || lower['last-modified'] !== undefined;
  // A response with no lifetime is only worth keeping when it can be revalidated cheaply.
  if (lifetimeSec === 0 && (explicit === undefined || !hasValidator)) return;

  const apparentAgeMs = Math.max(0, timing.responseTime - dateMs);
  const ageValue = lower.age === undefined ? 0 : seconds(joined(lower.age)!);
  const correctedAgeMs = ageValue * 1000 + (timing.responseTime - timing.requestTime);

  // RFC 9111 §4.2.4: these directives forbid serving stale. s-maxage implies proxy-revalidate, so the
  // rules' defaults do not apply to it, though its own stale-* directives are an explicit permission.
  const mayServeStale = !(cc.noCache || cc.mustRevalidate || cc.proxyRevalidate);
  const defaults = cc.sMaxAge === undefined;
  const swrSec = cc.staleWhileRevalidate ?? (defaults ? rules.staleWhileRevalidateSec : 0);
  const sieSec = cc.staleIfError ?? (defaults ? rules.staleIfErrorSec : 0);
  return {
    initialAgeMs: Math.max(apparentAgeMs, correctedAgeMs),
    freshMs: lifetimeSec * 1000,
    swrMs: mayServeStale ? swrSec * 1000 : 0,
    sieMs: mayServeStale ? sieSec * 1000 : 0,
  };
}

/** Whether a response is meant for one client only, so it must not be given to any other. */
export function isPersonal(lower: Record<string, string | string[]>): boolean {
  return lower['set-cookie'] !== undefined || parseCacheControl(lower['cache-control']).private;
}

/** An HTTP-date in milliseconds, or `undefined` when absent or unparseable. */
export function httpDate(value: string | string[] | undefined): number | undefined {
  const ms = value === undefined ? Number.NaN : Date.parse(joined(value)!);
  return Number.isNaN(ms) ? undefined : ms;
}

/** Expires minus Date in seconds; an invalid Expires (such as "0") means already expired (RFC 9111 §5.3). */
function lifetimeFromExpires(expires: string | string[], dateMs: number): number {
  const at = httpDate(expires);
  return at === undefined ? 0 : Math.max(0, Math.floor((at - dateMs) / 1000));
}
