import type { CacheRules } from '../../contracts/snapshot.ts';
import { Entry } from './entry.ts';
import type { EntryTable } from './entry-table.ts';
import { isPersonal } from './freshness.ts';
import { lowerCased, revalidatedHeaders, storedHeaders } from './headers.ts';
import type { CacheRequest, StoredResponse, UpstreamFetch } from './types.ts';

/** What one upstream fetch produced; every request that waited for it reads the same outcome. */
export type Outcome =
  /** A storable response (stored unless a purge overlapped the fetch), or a stale entry a 304 refreshed. */
  | { kind: 'entry'; entry: Entry; status: 'MISS' | 'REVALIDATED' }
  /** A response the cache must not keep; `shareable` when it is not personal to the client that caused it. */
  | { kind: 'passed'; response: StoredResponse; shareable: boolean };

/** The conditional headers of an unconditional fetch. */
export const NO_CONDITIONS: Record<string, string> = Object.freeze({});

/**
 * One upstream fetch for `req` — conditional when there is a stale entry, so a 304 refreshes it — and
 * what it leaves in the table.
 */
export async function fetchOutcome(
  table: EntryTable,
  now: () => number,
  host: string,
  req: CacheRequest,
  rules: CacheRules,
  fetch: UpstreamFetch,
  stale: Entry | undefined,
): Promise<Outcome> {
  const purges = table.purges;
  // Held now: the stale entry may be moved to disk while the fetch runs.
  const staleBody = stale?.body;
  const requestTime = now();
  const res = await fetch(stale?.conditional ?? NO_CONDITIONS);
  const timing = { requestTime, responseTime: now() };
  const revalidated = res.status === 304 && stale !== undefined && staleBody !== undefined;
  const status = revalidated ? stale.status : res.status;
  const lower = revalidated ? revalidatedHeaders(stale.headers, res.headers) : lowerCased(res.headers);
  const body = revalidated ? staleBody : res.body;
  const entry = Entry.create(
    { host, path: req.path, headers: req.headers },
    status,
    lower,
    body,
    rules,
    timing,
  );
  // A purge while the fetch ran may have been meant for what it brought: serve it, do not keep it.
  const current = table.purges === purges;
  if (entry === undefined) {
    // The upstream no longer lets the response be stored, so the stored one is outdated.
    if (stale !== undefined && current && res.status < 500) table.remove(stale);
    const response = revalidated ? { status, headers: storedHeaders(lower, body.length), body } : res;
    return { kind: 'passed', response, shareable: !isPersonal(lower) };
  }
  if (current) table.insert(entry);
  return { kind: 'entry', entry, status: revalidated ? 'REVALIDATED' : 'MISS' };
}
