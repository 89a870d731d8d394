/** Header fields a hop consumes (RFC 9110 §7.6.1): never stored, never replayed from the cache. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** A header value as one string: list fields joined the way HTTP would combine them. */
export function joined(value: string | string[] | undefined): string | undefined {
  return value === undefined || typeof value === 'string' ? value : value.join(', ');
}

/** Response headers with lower-case names, so policy code can read them without guessing the case. */
export function lowerCased(headers: Record<string, string | string[]>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name in headers) out[name.toLowerCase()] = headers[name]!;
  return out;
}

/**
 * The headers an entry replays: hop-by-hop fields and those the Connection header names are dropped,
 * `age` is dropped because the cache computes its own, and `content-length` is the stored body's, so
 * a HEAD answered from the entry still announces the GET's length. Frozen, as entries share it.
 */
export function storedHeaders(
  lower: Record<string, string | string[]>,
  bodyLength: number,
): Readonly<Record<string, string | string[]>> {
  const dropped = new Set(HOP_BY_HOP);
  for (const name of (joined(lower.connection) ?? '').split(',')) dropped.add(name.trim().toLowerCase());
  dropped.add('age');
  const out: Record<string, string | string[]> = {};
  for (const name in lower) {
    if (dropped.has(name)) continue;
    const value = lower[name]!;
    // Frozen as the entry shares it; typed mutable because StoredResponse's headers are.
    out[name] = typeof value === 'string' ? value : (Object.freeze([...value]) as string[]);
  }
  out['content-length'] = String(bodyLength);
  return Object.freeze(out);
}

/**
 * The stored response's headers updated with those of a 304 that revalidated it (RFC 9111 §3.2),
 * lower-cased; the body's framing stays the stored one's.
 */
export function revalidatedHeaders(
  stored: Readonly<Record<string, string | string[]>>,
  update: Record<string, string | string[]>,
): Record<string, string | string[]> {
  const lower = lowerCased(update);
  delete lower['content-length'];
  return { ...stored, ...lower };
}

/** `headers` flattened as `[name, value, …]`, one pair per value of a list field. */
export function flatten(headers: Readonly<Record<string, string | string[]>>): readonly string[] {
  const out: string[] = [];
  for (const name in headers) {
    const value = headers[name]!;
    if (typeof value === 'string') out.push(name, value);
    else for (const v of value) out.push(name, v);
  }
  return Object.freeze(out);
}

/** Purge tags a response carries in `X-Magento-Tags` or `Cache-Tag`, comma or space separated. */
export function tagsOf(lower: Record<string, string | string[]>): readonly string[] {
  const text = `${joined(lower['x-magento-tags']) ?? ''},${joined(lower['cache-tag']) ?? ''}`;
  return Object.freeze([...new Set(text.split(/[\s,]+/).filter((t) => t !== ''))]);
}

/** The request header names a response varies on, lower-cased; `['*']` when it varies on everything. */
export function varyNames(lower: Record<string, string | string[]>): readonly string[] {
  const text = joined(lower.vary) ?? '';
  return Object.freeze(
    text
      .split(',')
      .map((n) => n.trim().toLowerCase())
      .filter((n) => n !== ''),
  );
}

/** Stands for an absent request header in a variant key, so "absent" and "empty" stay different. */
const ABSENT = '\u0000';

/**
 * The part of the cache key a request's varied headers select. A single varied header (the usual
 * `Vary: Accept-Encoding`) keys by its value as is, so the hit path builds no string.
 */
export function variantKey(
  names: readonly string[],
  headers: Record<string, string | string[] | undefined>,
): string {
  if (names.length === 0) return '';
  if (names.length === 1) return joined(headers[names[0]!]) ?? ABSENT;
  return names.map((n) => joined(headers[n]) ?? ABSENT).join('\n');
}
