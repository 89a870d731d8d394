import { z } from 'zod';

/** A CIDR block or a single address (IPv4 or IPv6), e.g. "10.0.0.0/8", "2001:db8::/32", "127.0.0.1". */
const Cidr = z.string().regex(/^[0-9a-fA-F:.]+(\/\d{1,3})?$/, {
  error: (iss) => `expected an IP address or CIDR like "10.0.0.0/8", got ${JSON.stringify(iss.input)}`,
});

const Id = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, {
  error: (iss) =>
    `expected an id of lowercase letters, digits, ".", "_" and "-", got ${JSON.stringify(iss.input)}`,
});

/** One backend address of a pool. */
export const UpstreamMember = z.strictObject({
  host: z.string().min(1),
  port: z.int().min(1).max(65535),
});

/** A pool of interchangeable upstream members with its health checks and timeouts. */
export const UpstreamPool = z.strictObject({
  id: Id,
  members: z.array(UpstreamMember).min(1),
  healthCheck: z
    .strictObject({
      path: z.string().startsWith('/').default('/health_check.php'),
      intervalMs: z.int().min(100).default(2000),
      timeoutMs: z.int().min(50).default(1000),
      /** Failed checks in a row before a member is marked down. */
      unhealthyAfter: z.int().min(1).default(2),
      /** Passed checks in a row before a down member is used again. */
      healthyAfter: z.int().min(1).default(2),
    })
    .prefault({}),
  /** Errors in a row on live traffic that eject a member for `ejectMs`. */
  passiveFailures: z.int().min(1).default(3),
  ejectMs: z.int().min(100).default(10_000),
  connectTimeoutMs: z.int().min(10).default(2000),
  responseTimeoutMs: z.int().min(100).default(60_000),
  keepAliveConnections: z.int().min(1).default(64),
});

/** A host (and path prefix) that leads to a pool, for one store. */
export const Route = z.strictObject({
  id: Id,
  store: Id,
  hosts: z.array(z.string().min(1)).min(1),
  pathPrefix: z.string().startsWith('/').default('/'),
  pool: Id,
  /**
   * Pool used while `pool` has no member up, e.g. a store's app pods while its Varnish is down:
   * the storefront is served uncached instead of failing.
   */
  fallbackPool: Id.optional(),
});

/** A token bucket: `ratePerSec` refill, `burst` capacity, applied per client IP and route class. */
export const RateLimit = z.strictObject({
  /** Route class name, e.g. "default", "checkout", "api", "static". */
  class: z.string().min(1),
  /** Requests whose path starts with one of these belong to the class; empty = every request. */
  pathPrefixes: z.array(z.string().startsWith('/')).default([]),
  methods: z.array(z.string()).default([]),
  ratePerSec: z.number().positive(),
  burst: z.int().min(1),
});

/** A user-agent rule: requests whose User-Agent matches `pattern` (case-insensitive regex). */
export const BotRule = z.strictObject({
  id: Id,
  pattern: z.string().min(1),
  action: z.enum(['allow', 'deny', 'challenge']),
});

/** Edge cache rules of a store. */
export const CacheRules = z.strictObject({
  enabled: z.boolean().default(true),
  /** Only paths under these prefixes are cached at the edge (static assets). */
  pathPrefixes: z.array(z.string().startsWith('/')).default(['/static/', '/media/']),
  /**
   * Requests carrying one of these cookies bypass the edge cache: the page they get depends on it
   * (Magento's X-Magento-Vary holds the customer group, currency and store view).
   */
  bypassCookies: z.array(z.string().min(1)).default(['X-Magento-Vary']),
  /** TTL when the response has no Cache-Control/Expires. 0 = do not cache such responses. */
  defaultTtlSec: z.int().min(0).default(0),
  staleWhileRevalidateSec: z.int().min(0).default(30),
  staleIfErrorSec: z.int().min(0).default(300),
  maxObjectBytes: z
    .int()
    .min(1)
    .default(8 * 1024 * 1024),
});

/**
 * A WAF exclusion: rules switched off (by id, id range or tag), for every target or only some, and
 * everywhere or only under a path. The usual fix for a false positive on one form field.
 */
export const WafExclusion = z
  .strictObject({
    /** Rule ids or ranges, e.g. "942100" or "942100-942199". */
    ruleIds: z
      .array(z.string().regex(/^\d+(-\d+)?$/, 'expected a rule id or a range like 942100-942199'))
      .default([]),
    /** CRS tags, e.g. "attack-sqli". */
    tags: z.array(z.string().min(1)).default([]),
    /** Only these targets, e.g. "ARGS:password" or "REQUEST_COOKIES:session"; empty: the whole rule. */
    targets: z
      .array(z.string().regex(/^[A-Z_]+(:[^\s|,]+)?$/, 'expected a target like ARGS:password'))
      .default([]),
    /** Only for requests whose path starts with this; unset: everywhere. */
    pathPrefix: z.string().startsWith('/').optional(),
  })
  .refine((e) => e.ruleIds.length > 0 || e.tags.length > 0, {
    message: 'an exclusion names at least one rule id or tag',
    path: ['ruleIds'],
  });

/** Which response bodies the WAF reads (ModSecurity's SecResponseBodyAccess, …Limit and …MimeType). */
export const WafResponseBody = z.strictObject({
  /** Inspect response bodies of `mimeTypes`: what catches SQL errors, PHP source or stack traces leaking. */
  enabled: z.boolean().default(true),
  /**
   * Bytes of a body the WAF reads (decompressed when the store sent it gzip, deflate or br); a longer
   * body is inspected up to here and sent whole (ModSecurity's ProcessPartial). Default: the 512 KiB
   * of ModSecurity's recommended configuration.
   */
  limitBytes: z
    .int()
    .min(1)
    .max(16 * 1024 * 1024)
    .default(512 * 1024),
  /** Content types (without parameters) whose bodies are read. */
  mimeTypes: z
    .array(
      z
        .string()
        .regex(/^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/, 'expected a lower-case MIME type like text/html'),
    )
    .min(1)
    .default(['text/plain', 'text/html', 'text/xml']),
});

/** How the edge runs the OWASP Core Rule Set for one store. */
export const WafSettings = z.strictObject({
  /** off: not run; detect: run and log, never block; block: requests and responses over their threshold get 403. */
  mode: z.enum(['off', 'detect', 'block']).default('block'),
  /** CRS paranoia level: 1 has the fewest false positives, 4 catches the most. */
  paranoia: z.int().min(1).max(4).default(1),
  /** Inbound anomaly score at which a request is blocked (CRS default 5: one critical rule). */
  inboundThreshold: z.int().min(1).default(5),
  /** Outbound anomaly score at which a response is blocked. */
  outboundThreshold: z.int().min(1).default(4),
  exclusions: z.array(WafExclusion).default([]),
  /**
   * Response bodies (phase 4), as ModSecurity's SecResponseBody* directives set them. A response's
   * status and headers (phase 3) are inspected whenever the WAF runs.
   */
  responseBody: WafResponseBody.prefault({}),
});

/** Everything the edge enforces for one store. */
export const StorePolicy = z.strictObject({
  store: Id,
  rateLimits: z.array(RateLimit).default([]),
  ipAllow: z.array(Cidr).default([]),
  ipDeny: z.array(Cidr).default([]),
  bots: z
    .strictObject({
      rules: z.array(BotRule).default([]),
      /** Verified crawlers (by user agent) that bypass `deny`/`challenge` rules. */
      verifiedBots: z.array(z.string()).default([]),
    })
    .prefault({}),
  cache: CacheRules.prefault({}),
  overload: z
    .strictObject({
      maxConcurrent: z.int().min(1).default(256),
      maxQueue: z.int().min(0).default(1024),
      maxQueueMs: z.int().min(0).default(5000),
    })
    .prefault({}),
  limits: z
    .strictObject({
      maxBodyBytes: z
        .int()
        .min(0)
        .default(64 * 1024 * 1024),
      bodyTimeoutMs: z.int().min(100).default(30_000),
      maxConnectionsPerIp: z.int().min(1).default(256),
    })
    .prefault({}),
  waf: WafSettings.prefault({}),
  /**
   * The edge answers every request with 503 and Retry-After: the control plane sets it while a
   * restore writes the store's database and media; a stack or policy may set it too.
   */
  maintenance: z
    .boolean()
    .default(false)
    .describe(
      'Answer every request with 503 and Retry-After: the control plane sets it while a restore writes the store.',
    ),
});

/** A certificate (PEM) for a set of host names. */
export const Certificate = z.strictObject({
  hosts: z.array(z.string().min(1)).min(1),
  certPem: z.string().includes('BEGIN CERTIFICATE'),
  keyPem: z.string().includes('PRIVATE KEY'),
});

/** Edge-wide settings, the same for every store. */
export const EdgeSettings = z
  .strictObject({
    maxConnections: z.int().min(1).default(10_000),
    /** Open connections one client IP may hold to the edge, over all stores (each store caps its own too). */
    maxConnectionsPerIp: z.int().min(1).default(256),
    headersTimeoutMs: z.int().min(100).default(10_000),
    keepAliveTimeoutMs: z.int().min(100).default(5_000),
    maxHeaderBytes: z
      .int()
      .min(1024)
      .default(16 * 1024),
    maxHeaders: z.int().min(1).default(100),
  })
  .prefault({});

/**
 * The only thing that crosses from control plane to edge: immutable, versioned, consistency-checked.
 * `version` increases with every change; an edge that already runs it is not disturbed.
 */
export const EdgeSnapshot = z.strictObject({
  version: z.int().min(1),
  createdAt: z.string().default(() => new Date(0).toISOString()),
  settings: EdgeSettings,
  routes: z.array(Route).default([]),
  pools: z.array(UpstreamPool).default([]),
  policies: z.array(StorePolicy).default([]),
  certificates: z.array(Certificate).default([]),
});
/** A validated edge snapshot with defaults filled in. */
export type EdgeSnapshot = z.infer<typeof EdgeSnapshot>;
/** What a producer may write. */
export type EdgeSnapshotInput = z.input<typeof EdgeSnapshot>;
export type UpstreamPool = z.infer<typeof UpstreamPool>;
export type Route = z.infer<typeof Route>;
export type StorePolicy = z.infer<typeof StorePolicy>;
export type RateLimit = z.infer<typeof RateLimit>;
export type CacheRules = z.infer<typeof CacheRules>;
export type WafSettings = z.infer<typeof WafSettings>;
export type WafResponseBody = z.infer<typeof WafResponseBody>;
export type WafExclusion = z.infer<typeof WafExclusion>;
export type WafEvent = z.infer<typeof WafEvent>;

/** One problem in a snapshot. */
export interface SnapshotProblem {
  readonly path: string;
  readonly message: string;
}

/** Cross-references zod cannot check: every route's pool exists, ids are unique, regexes compile. */
export function checkSnapshotConsistency(s: EdgeSnapshot): SnapshotProblem[] {
  const problems: SnapshotProblem[] = [];
  const pools = new Set<string>();
  s.pools.forEach((p, i) => {
    if (pools.has(p.id))
      problems.push({ path: `pools[${i}].id`, message: `duplicate pool id ${JSON.stringify(p.id)}` });
    pools.add(p.id);
  });
  const routeIds = new Set<string>();
  const hostPaths = new Set<string>();
  s.routes.forEach((r, i) => {
    if (!pools.has(r.pool))
      problems.push({
        path: `routes[${i}].pool`,
        message: `route ${r.id} names unknown pool ${JSON.stringify(r.pool)}`,
      });
    if (r.fallbackPool !== undefined && !pools.has(r.fallbackPool))
      problems.push({
        path: `routes[${i}].fallbackPool`,
        message: `route ${r.id} names unknown fallback pool ${JSON.stringify(r.fallbackPool)}`,
      });
    if (routeIds.has(r.id))
      problems.push({ path: `routes[${i}].id`, message: `duplicate route id ${JSON.stringify(r.id)}` });
    routeIds.add(r.id);
    for (const h of r.hosts) {
      const key = `${h.toLowerCase()} ${r.pathPrefix}`;
      if (hostPaths.has(key))
        problems.push({
          path: `routes[${i}].hosts`,
          message: `host ${h} with prefix ${r.pathPrefix} is routed twice`,
        });
      hostPaths.add(key);
    }
  });
  const stores = new Set<string>();
  s.policies.forEach((p, i) => {
    if (stores.has(p.store))
      problems.push({ path: `policies[${i}].store`, message: `two policies for store ${p.store}` });
    stores.add(p.store);
    p.bots.rules.forEach((b, j) => {
      try {
        new RegExp(b.pattern, 'i');
      } catch (e) {
        problems.push({
          path: `policies[${i}].bots.rules[${j}].pattern`,
          message: `invalid regex: ${(e as Error).message}`,
        });
      }
    });
  });
  return problems;
}

/** Validates and consistency-checks a snapshot: the snapshot, or every problem at once. */
export function parseSnapshot(
  input: unknown,
): { ok: true; snapshot: EdgeSnapshot } | { ok: false; problems: SnapshotProblem[] } {
  const r = EdgeSnapshot.safeParse(input);
  if (!r.success) {
    return {
      ok: false,
      problems: r.error.issues.map((i) => ({
        path: i.path
          .map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))
          .join('.')
          .replace(/\.\[/g, '['),
        message: i.message,
      })),
    };
  }
  const problems = checkSnapshotConsistency(r.data);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, snapshot: r.data };
}

/** One access-log record per request, shipped from the edge to the control plane. */
/** The WAF's findings for one request, as the access log carries them. */
export const WafEvent = z.strictObject({
  /** blocked: the edge answered 403 instead of passing the request or response on; detected: logged only. */
  action: z.enum(['blocked', 'detected']),
  paranoia: z.int().min(1).max(4),
  /** TX:ANOMALY_SCORE (inbound) when the request phases ended. */
  anomalyScore: z.int(),
  /** TX:OUTBOUND_ANOMALY_SCORE: present when the response phases ran. */
  outboundScore: z.int().optional(),
  matches: z.array(
    z.strictObject({
      id: z.int(),
      /** 1–2: the request (line, headers, body); 3–4: the response (status, headers, body). */
      phase: z.int().min(1).max(5).optional(),
      msg: z.string(),
      /** What matched (logdata), cut to 512 bytes. */
      data: z.string(),
      /** The variable that matched, e.g. "ARGS:q". */
      variable: z.string(),
      severity: z.string().nullable(),
    }),
  ),
});

export const AccessLogRecord = z.strictObject({
  time: z.string(),
  store: z.string().nullable(),
  client: z.string(),
  method: z.string(),
  host: z.string(),
  path: z.string(),
  status: z.int(),
  bytesIn: z.int().min(0),
  bytesOut: z.int().min(0),
  durationMs: z.number().min(0),
  upstreamMs: z.number().min(0).nullable(),
  cache: z.enum(['HIT', 'MISS', 'STALE', 'REVALIDATED', 'BYPASS', 'NONE']),
  upstream: z.string().nullable(),
  /** Why the edge answered itself, e.g. "ratelimit:checkout", "ipdeny", "bot:bad-crawlers", "waf:949110". */
  blockedBy: z.string().nullable(),
  requestId: z.string(),
  /** What the WAF found: present when a rule matched, in detection-only mode too. */
  waf: WafEvent.optional(),
});
/** One access-log record. */
export type AccessLogRecord = z.infer<typeof AccessLogRecord>;
