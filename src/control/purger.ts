import { request } from 'undici';
import { NodeReport } from '../contracts/fleet.ts';
import type { Purger } from './api/index.ts';
import { ApiError } from './errors.ts';
import type { State } from './state/index.ts';

/** One HTTP call of a purge fan-out: where it goes and what it sends. */
export interface PurgeCall {
  readonly target: 'edge' | 'varnish';
  readonly method: 'POST' | 'PURGE';
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
}

/** Magento's tag pattern: the tag as a whole item of the comma-separated `X-Magento-Tags` header. */
export function tagPattern(tag: string): string {
  return `((^|,)${tag.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(,|$))`;
}

/**
 * The calls that purge `what` from a store: each edge's admin endpoint (once per host of the store
 * for a URL or prefix, since the edge cache keys on the host) and each Varnish of the store (PURGE of
 * the URL, or a ban by tag). Varnish has no prefix purge in the store's VCL: a prefix reaches the
 * edges only, and the result says so by counting no Varnish.
 */
export function purgeCalls(
  what: { url?: string; prefix?: string; tag?: string },
  edges: readonly string[],
  hosts: readonly string[],
  varnishes: readonly { host: string; port: number }[],
): PurgeCall[] {
  const calls: PurgeCall[] = [];
  const json = { 'content-type': 'application/json' };
  for (const edge of edges) {
    const url = `${edge.replace(/\/$/, '')}/purge`;
    if (what.tag)
      calls.push({
        target: 'edge',
        method: 'POST',
        url,
        headers: json,
        body: JSON.stringify({ tag: what.tag }),
      });
    for (const host of what.tag ? [] : hosts) {
      const body = what.url ? { host, url: what.url } : { host, prefix: what.prefix };
      calls.push({ target: 'edge', method: 'POST', url, headers: json, body: JSON.stringify(body) });
    }
  }
  for (const v of varnishes) {
    const base = `http://${v.host}:${v.port}`;
    if (what.tag) {
      calls.push({
        target: 'varnish',
        method: 'PURGE',
        url: `${base}/`,
        headers: { 'x-magento-tags-pattern': tagPattern(what.tag) },
      });
    } else if (what.url) {
      for (const host of hosts)
        calls.push({ target: 'varnish', method: 'PURGE', url: `${base}${what.url}`, headers: { host } });
    }
  }
  return calls;
}

/**
 * Purges through the edges' admin endpoints (`--edge-admin`, the edges this control plane runs) and
 * every Varnish the store's node reports. Every call must succeed: a purge that reached only some
 * caches would leave stale pages the caller believes gone.
 */
export class HttpPurger implements Purger {
  constructor(
    private readonly state: State,
    private readonly edges: readonly string[],
  ) {}

  async purge(store: string, what: { url?: string; prefix?: string; tag?: string }) {
    const snapshot = await this.state.snapshots.latest();
    const hosts = [
      ...new Set((snapshot?.routes ?? []).filter((r) => r.store === store).flatMap((r) => r.hosts)),
    ];
    const varnishes: { host: string; port: number }[] = [];
    for (const n of await this.state.nodes.list()) {
      const report = NodeReport.safeParse(n.observed);
      if (!report.success) continue;
      for (const s of report.data.stores.filter((x) => x.store === store))
        varnishes.push(...s.upstreams.filter((u) => u.role === 'varnish'));
    }
    const calls = purgeCalls(what, this.edges, hosts, varnishes);
    const failures: string[] = [];
    await Promise.all(
      calls.map(async (c) => {
        try {
          const r = await request(c.url, {
            method: c.method as 'POST', // undici sends any token; its type lists the common ones
            headers: c.headers,
            body: c.body,
            headersTimeout: 5000,
            bodyTimeout: 5000,
          });
          await r.body.dump();
          if (r.statusCode >= 300) failures.push(`${c.method} ${c.url}: HTTP ${r.statusCode}`);
        } catch (e) {
          failures.push(`${c.method} ${c.url}: ${(e as Error).message}`);
        }
      }),
    );
    if (failures.length > 0) {
      throw new ApiError('TP_API_UNAVAILABLE', `purge of ${store} incomplete: ${failures.join('; ')}`, {
        failures,
      });
    }
    return {
      edges: this.edges.length,
      varnishes: what.prefix ? 0 : varnishes.length,
    };
  }
}
