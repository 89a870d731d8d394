import { Counter, Gauge, Histogram, type Registry, register } from 'prom-client';

/** Live state the metrics read when scraped. */
export interface MetricSources {
  log?: () => { buffered: number; spooled: number; shipped: number; dropped: number };
  pools?: () => Iterable<[string, { members: readonly { key: string; available(now: number): boolean }[] }]>;
  queues?: () => Iterable<
    [string, { stats(): { active: number; queued: number; queuedTotal: number; rejectedTotal: number } }]
  >;
}

/**
 * Every metric a worker records. They live in prom-client's global registry because that is the one
 * the primary's AggregatorRegistry collects from each worker for /metrics.
 */
export function createMetrics(registry: Registry = register, sources: MetricSources = {}) {
  const p = 'triplane_edge_';
  const m = {
    registry,
    requests: new Counter({
      name: `${p}requests_total`,
      help: 'Requests answered, by store and status code',
      labelNames: ['store', 'status'] as const,
      registers: [registry],
    }),
    latency: new Histogram({
      name: `${p}request_duration_seconds`,
      help: 'Time from request start to the last byte written, by store',
      labelNames: ['store'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    cache: new Counter({
      name: `${p}cache_requests_total`,
      help: 'Edge cache lookups by result (HIT, MISS, STALE, REVALIDATED, BYPASS)',
      labelNames: ['store', 'result'] as const,
      registers: [registry],
    }),
    blocked: new Counter({
      name: `${p}blocked_total`,
      help: 'Requests the edge answered itself, by reason',
      labelNames: ['store', 'reason'] as const,
      registers: [registry],
    }),
    protocolErrors: new Counter({
      name: `${p}protocol_errors_total`,
      help: 'Malformed or smuggling requests rejected before routing, by parser error code',
      labelNames: ['code'] as const,
      registers: [registry],
    }),
    upstreamErrors: new Counter({
      name: `${p}upstream_errors_total`,
      help: 'Failed upstream attempts by pool and kind (connect, timeout, reset)',
      labelNames: ['pool', 'kind'] as const,
      registers: [registry],
    }),
    retries: new Counter({
      name: `${p}upstream_retries_total`,
      help: 'Idempotent requests retried on another member after a connect failure',
      labelNames: ['pool'] as const,
      registers: [registry],
    }),
    overloadRejected: new Counter({
      name: `${p}overload_rejected_total`,
      help: 'Requests rejected with 503 by a store overload queue',
      labelNames: ['store'] as const,
      registers: [registry],
    }),
    wafMatches: new Counter({
      name: `${p}waf_matches_total`,
      help: 'WAF rule matches, request and response phases, by store, rule id and whether the exchange was blocked or only detected',
      labelNames: ['store', 'rule', 'action'] as const,
      registers: [registry],
    }),
    wafTimeouts: new Counter({
      name: `${p}waf_timeouts_total`,
      help: 'Requests and responses the WAF could not inspect within its deadline (requests are refused when the store blocks, responses sent on)',
      labelNames: ['store'] as const,
      registers: [registry],
    }),
    snapshotVersion: new Gauge({
      name: `${p}snapshot_version`,
      help: 'Version of the snapshot every worker uses (the oldest among the workers)',
      registers: [registry],
      // The oldest, not the newest: a rollout is done when the last worker has it.
      aggregator: 'min',
    }),
    logRecords: new Gauge({
      name: `${p}access_log_records`,
      help: 'Access-log records by state: buffered and spooled now; shipped and dropped since start',
      labelNames: ['state'] as const,
      registers: [registry],
      aggregator: 'sum',
      collect() {
        const s = sources.log?.();
        if (!s) return;
        this.set({ state: 'buffered' }, s.buffered);
        this.set({ state: 'spooled' }, s.spooled);
        this.set({ state: 'shipped' }, s.shipped);
        this.set({ state: 'dropped' }, s.dropped);
      },
    }),
    upstreamHealthy: new Gauge({
      name: `${p}upstream_member_healthy`,
      help: 'Whether a pool member is in rotation (1) or not (0)',
      labelNames: ['pool', 'member'] as const,
      registers: [registry],
      aggregator: 'min',
      collect() {
        this.reset();
        for (const [id, pool] of sources.pools?.() ?? []) {
          const now = Date.now();
          for (const m of pool.members) this.set({ pool: id, member: m.key }, m.available(now) ? 1 : 0);
        }
      },
    }),
    overloadActive: new Gauge({
      name: `${p}overload_queue`,
      help: 'Requests running and waiting per store overload queue',
      labelNames: ['store', 'state'] as const,
      registers: [registry],
      aggregator: 'sum',
      collect() {
        this.reset();
        for (const [store, q] of sources.queues?.() ?? []) {
          const s = q.stats();
          this.set({ store, state: 'active' }, s.active);
          this.set({ store, state: 'queued' }, s.queued);
          this.set({ store, state: 'queued_total' }, s.queuedTotal);
          this.set({ store, state: 'rejected_total' }, s.rejectedTotal);
        }
      },
    }),
  };
  // prom-client hashes a label object on every call; the per-request metrics keep their children.
  const requestChildren = new Map<string, { inc(): void }>();
  const latencyChildren = new Map<string, { observe(v: number): void }>();
  return {
    ...m,
    /** Counts one answered request and its duration: the two metrics every request records. */
    recordRequest(store: string, status: number, seconds: number): void {
      const key = `${store} ${status}`;
      let c = requestChildren.get(key);
      if (!c) {
        c = m.requests.labels(store, String(status));
        requestChildren.set(key, c);
      }
      c.inc();
      let h = latencyChildren.get(store);
      if (!h) {
        h = m.latency.labels(store);
        latencyChildren.set(store, h);
      }
      h.observe(seconds);
    },
  };
}

/** The metrics a worker records into. */
export type EdgeMetrics = ReturnType<typeof createMetrics>;
