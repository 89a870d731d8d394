import { httpDate } from './freshness.ts';

/** What an entry can be validated with: its ETag and Last-Modified. */
export interface Validators {
  /** ETag as the upstream sent it, e.g. `W/"abc"`. */
  readonly etag: string | undefined;
  /** The ETag's opaque part (without `W/`), for the weak comparison GET conditionals use. */
  readonly opaqueTag: string | undefined;
  readonly lastModifiedMs: number | undefined;
}

/**
 * Whether the client's conditional headers say its copy is the entry's (RFC 9110 §13.1.1–2):
 * If-None-Match, compared weakly, takes precedence; If-Modified-Since is only consulted without it.
 * The common shapes (no header, or one tag equal to ours) cost no allocation.
 */
export function clientHasCurrent(
  v: Validators,
  headers: Record<string, string | string[] | undefined>,
): boolean {
  const inm = headers['if-none-match'];
  if (inm !== undefined) {
    if (v.opaqueTag === undefined) return false;
    if (inm === v.etag || inm === v.opaqueTag) return true;
    return anyTagMatches(typeof inm === 'string' ? inm : inm.join(','), v.opaqueTag);
  }
  const ims = headers['if-modified-since'];
  if (ims === undefined || v.lastModifiedMs === undefined) return false;
  const since = httpDate(ims);
  return since !== undefined && v.lastModifiedMs <= since;
}

/** The opaque part of an entity tag. */
export function opaque(tag: string): string {
  return tag.startsWith('W/') ? tag.slice(2) : tag;
}

function anyTagMatches(list: string, opaqueTag: string): boolean {
  for (const part of list.split(',')) {
    const tag = part.trim();
    if (tag === '*' || opaque(tag) === opaqueTag) return true;
  }
  return false;
}
