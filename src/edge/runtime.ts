import type { EdgeSnapshot, Route, StorePolicy } from '../contracts/snapshot.ts';
import { StorePolicy as StorePolicySchema } from '../contracts/snapshot.ts';
import { compileProtection, type Protection, recompile } from './protect/index.ts';
import { Pool } from './upstream/pool.ts';
import type { RuleSet, WafRules } from './waf/index.ts';

/** A route with its pool and its store's compiled protection, ready for the request path. */
export interface Target {
  readonly route: Route;
  readonly pool: Pool;
  readonly store: string;
  readonly policy: StorePolicy;
  readonly protection: Protection;
  /** The store's compiled Core Rule Set; undefined when its WAF is off. */
  readonly waf: RuleSet | undefined;
  /** The same route served by its fallback pool, when it has one. */
  readonly fallback?: Target;
}

/**
 * A snapshot compiled for serving: host lookup tables, live pools and compiled policies. Built beside
 * the running one and swapped in one assignment, so a request sees one snapshot from start to end.
 */
export class Runtime {
  private readonly byHost = new Map<string, Target[]>();
  readonly pools = new Map<string, Pool>();
  readonly protections = new Map<string, Protection>();

  private constructor(readonly snapshot: EdgeSnapshot) {}

  /**
   * Compiles a snapshot, reusing the previous runtime's pools (connections, health) and limiter state.
   * `waf` compiles each store's Core Rule Set; without it no store's WAF runs (tests of the rest).
   */
  static build(snapshot: EdgeSnapshot, previous?: Runtime, waf?: WafRules): Runtime {
    const rt = new Runtime(snapshot);
    for (const cfg of snapshot.pools) {
      const old = previous?.pools.get(cfg.id);
      rt.pools.set(cfg.id, new Pool(cfg, old?.sameSettings(cfg) ? old : undefined));
    }
    const policies = new Map(snapshot.policies.map((p) => [p.store, p]));
    for (const route of snapshot.routes) {
      const policy = policies.get(route.store) ?? StorePolicySchema.parse({ store: route.store });
      let protection = rt.protections.get(route.store);
      if (!protection) {
        const prev = previous?.protections.get(route.store);
        protection = prev ? recompile(prev, policy) : compileProtection(policy);
        rt.protections.set(route.store, protection);
      }
      const rules = waf && policy.waf.mode !== 'off' ? waf.forSettings(policy.waf) : undefined;
      const base = { route, store: route.store, policy, protection, waf: rules };
      const fallbackPool = route.fallbackPool === undefined ? undefined : rt.pools.get(route.fallbackPool);
      const target: Target = {
        ...base,
        pool: rt.pools.get(route.pool)!,
        ...(fallbackPool ? { fallback: { ...base, pool: fallbackPool } } : {}),
      };
      for (const h of route.hosts) {
        const key = h.toLowerCase();
        const list = rt.byHost.get(key) ?? [];
        list.push(target);
        // Longest prefix first, so /admin wins over /.
        list.sort((a, b) => b.route.pathPrefix.length - a.route.pathPrefix.length);
        rt.byHost.set(key, list);
      }
    }
    return rt;
  }

  /** The target for a host and path, or undefined when nothing is routed there. */
  match(host: string, path: string): Target | undefined {
    const list = this.byHost.get(host) ?? this.wildcard(host);
    if (!list) return undefined;
    for (const t of list) if (path.startsWith(t.route.pathPrefix)) return t;
    return undefined;
  }

  private wildcard(host: string): Target[] | undefined {
    const dot = host.indexOf('.');
    return dot > 0 ? this.byHost.get(`*${host.slice(dot)}`) : undefined;
  }

  /** Starts health checks of every pool. */
  start(): void {
    for (const p of this.pools.values()) p.startChecks();
  }

  /** Stops this runtime's checks and closes connections the next runtime does not keep. */
  async close(next?: Runtime): Promise<void> {
    await Promise.all([...this.pools.entries()].map(([id, p]) => p.close(next?.pools.get(id))));
  }
}
