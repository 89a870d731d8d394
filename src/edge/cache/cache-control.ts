/** The response Cache-Control directives a shared cache acts on. Durations are in seconds. */
export interface CacheControl {
  maxAge?: number;
  sMaxAge?: number;
  staleWhileRevalidate?: number;
  staleIfError?: number;
  noStore: boolean;
  noCache: boolean;
  private: boolean;
  mustRevalidate: boolean;
  proxyRevalidate: boolean;
}

/**
 * Parses Cache-Control header values. A duration that is not a non-negative integer counts as 0, so
 * the response is treated as stale (RFC 9111 §4.2.1); qualified `private="…"` and `no-cache="…"` are
 * treated like their unqualified forms, which is the conservative reading for a shared cache.
 */
export function parseCacheControl(value: string | string[] | undefined): CacheControl {
  const cc: CacheControl = {
    noStore: false,
    noCache: false,
    private: false,
    mustRevalidate: false,
    proxyRevalidate: false,
  };
  if (value === undefined) return cc;
  const text = typeof value === 'string' ? value : value.join(',');
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    const name = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
    const arg = eq < 0 ? '' : part.slice(eq + 1).trim();
    switch (name) {
      case 'max-age':
        cc.maxAge = seconds(arg);
        break;
      case 's-maxage':
        cc.sMaxAge = seconds(arg);
        break;
      case 'stale-while-revalidate':
        cc.staleWhileRevalidate = seconds(arg);
        break;
      case 'stale-if-error':
        cc.staleIfError = seconds(arg);
        break;
      case 'no-store':
        cc.noStore = true;
        break;
      case 'no-cache':
        cc.noCache = true;
        break;
      case 'private':
        cc.private = true;
        break;
      case 'must-revalidate':
        cc.mustRevalidate = true;
        break;
      case 'proxy-revalidate':
        cc.proxyRevalidate = true;
        break;
    }
  }
  return cc;
}

/** A delta-seconds argument (quotes tolerated); anything else is 0. */
export function seconds(arg: string): number {
  const digits = arg.length > 1 && arg.startsWith('"') && arg.endsWith('"') ? arg.slice(1, -1) : arg;
  return /^\d+$/.test(digits) ? Number(digits) : 0;
}
