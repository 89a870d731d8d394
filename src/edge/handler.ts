import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AccessLogRecord } from '../contracts/snapshot.ts';
import type { AccessLog } from './accesslog/index.ts';
import type { EdgeCache } from './cache/index.ts';
import type { EdgeMetrics } from './metrics.ts';
import { challengeResponse, type StoreConnections, verifyChallenge } from './protect/index.ts';
import type { Runtime, Target } from './runtime.ts';
import {
  type ForwardContext,
  fetchBuffered,
  forward,
  type ResponseGate,
  UpstreamError,
} from './upstream/forward.ts';
import { WafExchange } from './waf/exchange.ts';
import type { RuleSet, WafRequest } from './waf/index.ts';
import type { Inspection, WafOffload } from './waf/offload.ts';

/** What every request needs from its worker. */
export interface HandlerDeps {
  readonly runtime: () => Runtime | undefined;
  readonly cache: EdgeCache;
  readonly log: AccessLog;
  readonly metrics: EdgeMetrics;
  /** Open connections per store and client IP, for each store's connection cap. */
  readonly connections: StoreConnections;
  /** Secret for bot-challenge cookies; the same in every worker of an edge. */
  readonly challengeSecret: string;
  /** The thread the WAF inspects large requests and responses on. */
  readonly wafOffload: WafOffload;
}

/** Normalises Node's IPv4-mapped IPv6 form so policies and logs see "1.2.3.4". */
export function clientIp(req: IncomingMessage): string {
  const ip = req.socket.remoteAddress ?? '';
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

function hostOf(req: IncomingMessage): string {
  const h = req.headers.host ?? '';
  const colon = h.lastIndexOf(':');
  return (colon > 0 && !h.endsWith(']') ? h.slice(0, colon) : h).toLowerCase();
}

function pathOnly(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/** Answers a request itself (blocked, limited, failed) with a short plain-text body. */
function answer(
  res: ServerResponse,
  requestId: string,
  status: number,
  message: string,
  headers: Record<string, string> = {},
): number {
  if (res.headersSent) {
    res.destroy();
    return status;
  }
  const body = `${message}\n`;
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-request-id': requestId,
    ...headers,
  });
  res.end(body);
  return status;
}

/**
 * The request path: route → IP rules → rate limits → bot rules → body limit → overload queue → edge
 * cache → upstream. Each step can answer on its own; every request leaves one access-log record.
 */
export async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  deps: HandlerDeps,
  proto: 'http' | 'https',
): Promise<void> {
  const started = performance.now();
  const requestId = (req.headers['x-request-id'] as string | undefined)?.slice(0, 64) || randomUUID();
  const ip = clientIp(req);
  const host = hostOf(req);
  const url = req.url ?? '/';
  const path = pathOnly(url);
  const rec: { -readonly [K in keyof AccessLogRecord]: AccessLogRecord[K] } = {
    time: new Date().toISOString(),
    store: null,
    client: ip,
    method: req.method ?? '',
    host,
    path: url.length > 2048 ? url.slice(0, 2048) : url,
    status: 0,
    bytesIn: 0,
    bytesOut: 0,
    durationMs: 0,
    upstreamMs: null,
    cache: 'NONE',
    upstream: null,
    blockedBy: null,
    requestId,
  };
  // Counting on the socket, not with a 'data' listener: that would switch the body to flowing mode
  // and lose what arrives before the upstream starts reading it.
  const socket = req.socket;
  const readAtStart = socket.bytesRead;
  // X-Request-Id goes into each writeHead, never through setHeader: once a header is set that way,
  // Node validates and copies every header of the response one by one again.
  try {
    const rt = deps.runtime();
    const target = rt?.match(host, path);
    if (!target) {
      rec.status = answer(
        res,
        requestId,
        rt ? 404 : 503,
        rt ? `no store answers on ${host || '(no host)'}` : 'edge is starting',
      );
      return;
    }
    rec.store = target.store;
    // Checked per request, not per snapshot: members go down and come back between snapshots.
    const use = target.fallback && !target.pool.anyAvailable() ? target.fallback : target;
    await serve(req, res, use, deps, rec, { clientIp: ip, proto, requestId }, path);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (rec.blockedBy === 'limit:body-timeout') {
      // Already answered 408 when the body's time ran out; the upload's failure is that, not a new error.
      if (!res.writableEnded) res.destroy();
    } else if (code === 'TP_EDGE_BODY_ABORTED' || code === 'TP_EDGE_BODY_TOO_LARGE' || req.destroyed) {
      // The client broke its own request (bad framing, too much body, went away): 400/413, nothing upstream.
      rec.status = answer(res, requestId, code === 'TP_EDGE_BODY_TOO_LARGE' ? 413 : 400, 'bad request body');
      rec.blockedBy = `protocol:${code ?? 'aborted'}`;
    } else {
      rec.status =
        err instanceof UpstreamError
          ? answer(
              res,
              requestId,
              err.status,
              err.status === 504 ? 'upstream timed out' : 'upstream unavailable',
            )
          : answer(res, requestId, 500, 'edge error');
    }
    if (err instanceof UpstreamError) rec.blockedBy = `upstream:${err.kind}`;
  } finally {
    const done = () => {
      rec.bytesIn = Math.max(0, socket.bytesRead - readAtStart);
      rec.durationMs = Math.round((performance.now() - started) * 100) / 100;
      const store = rec.store ?? '-';
      deps.metrics.recordRequest(store, rec.status || res.statusCode, rec.durationMs / 1000);
      if (rec.status === 0) rec.status = res.statusCode;
      deps.log.push(rec);
    };
    if (res.writableFinished) done();
    else res.once('close', done);
  }
}

async function serve(
  req: IncomingMessage,
  res: ServerResponse,
  t: Target,
  deps: HandlerDeps,
  rec: { -readonly [K in keyof AccessLogRecord]: AccessLogRecord[K] },
  ctx: ForwardContext,
  path: string,
): Promise<void> {
  const p = t.protection;
  const m = deps.metrics;
  const block = (reason: string, status: number, message: string, headers?: Record<string, string>) => {
    rec.blockedBy = reason;
    m.blocked.inc({ store: t.store, reason: reason.split(':')[0]! });
    rec.status = answer(res, ctx.requestId, status, message, headers);
  };

  if (p.ip.decide(ctx.clientIp) === 'deny') return block('ipdeny', 403, 'forbidden');

  // A store in maintenance (a restore is writing its database) is answered here, not by PHP.
  if (t.policy.maintenance)
    return block('maintenance', 503, 'the store is down for maintenance; try again in a minute', {
      'retry-after': '30',
    });

  if (!deps.connections.admit(req.socket, t.store, ctx.clientIp, t.policy.limits.maxConnectionsPerIp)) {
    res.shouldKeepAlive = false;
    return block('limit:connections', 429, 'too many connections from your address', {
      'retry-after': '1',
      connection: 'close',
    });
  }

  const rate = p.rateLimiter.take(ctx.clientIp, req.method ?? 'GET', path);
  if (!rate.ok) {
    return block(`ratelimit:${rate.class}`, 429, 'too many requests', {
      'retry-after': String(rate.retryAfterSec),
    });
  }

  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > t.policy.limits.maxBodyBytes) return block('limit:body', 413, 'request body too large');

  // Most requests have no body: they skip the timer and its closure altogether.
  const bodyTimer = awaitsBody(req)
    ? bodyDeadline(req, res, t.policy.limits.bodyTimeoutMs, () => {
        rec.blockedBy = 'limit:body-timeout';
        m.blocked.inc({ store: t.store, reason: 'limit' });
        rec.status = answer(res, ctx.requestId, 408, 'request body too slow');
      })
    : undefined;
  let waf: WafExchange | undefined;
  try {
    let fwd = ctx;
    if (t.waf) {
      const inspected = await inspect(req, t, t.waf, deps, rec, ctx, block);
      if (inspected === null) return;
      waf = inspected.exchange;
      if (inspected.body !== undefined) fwd = { ...ctx, body: inspected.body };
    }

    const bot = p.bots.classify(req.headers['user-agent']);
    if (bot.action === 'deny') return block(`bot:${bot.rule}`, 403, 'forbidden');
    if (
      bot.action === 'challenge' &&
      !verifyChallenge(req.headers.cookie, ctx.clientIp, deps.challengeSecret, Date.now())
    ) {
      rec.blockedBy = `challenge:${bot.rule}`;
      m.blocked.inc({ store: t.store, reason: 'challenge' });
      const c = challengeResponse({ ip: ctx.clientIp, secret: deps.challengeSecret, now: Date.now() });
      res.writeHead(c.status, { ...c.headers, 'x-request-id': ctx.requestId }).end(c.body);
      rec.status = c.status;
      return;
    }
    await guarded(req, res, t, deps, rec, fwd, path, block, waf);
  } finally {
    clearTimeout(bodyTimer);
    waf?.release();
  }
}

/**
 * The WAF's request phases: headers first, then (having read it) the body. Returns the body to send
 * on (undefined when there was none) and the exchange whose response phases are still to run
 * (undefined when the request phases ran out of time), or null when the request was answered here:
 * blocked, or its body too large to inspect.
 */
async function inspect(
  req: IncomingMessage,
  t: Target,
  rules: RuleSet,
  deps: HandlerDeps,
  rec: { -readonly [K in keyof AccessLogRecord]: AccessLogRecord[K] },
  ctx: ForwardContext,
  block: (reason: string, status: number, message: string, headers?: Record<string, string>) => void,
): Promise<{ body: Buffer | undefined; exchange: WafExchange | undefined } | null> {
  const settings = t.policy.waf;
  const raw = req.rawHeaders;
  const headers: [string, string][] = [];
  for (let i = 0; i < raw.length; i += 2) headers.push([raw[i]!, raw[i + 1]!]);
  const request: WafRequest = {
    method: req.method ?? 'GET',
    uri: req.url ?? '/',
    httpVersion: req.httpVersion,
    headers,
    remoteAddr: ctx.clientIp,
    remotePort: req.socket.remotePort ?? 0,
    serverPort: req.socket.localPort ?? 0,
    id: ctx.requestId,
  };
  let body: Buffer | undefined;
  if (awaitsBody(req)) {
    const limit = Math.min(t.policy.limits.maxBodyBytes, rules.config.requestBodyLimit);
    body = await readBody(req, limit);
    if (body === undefined) {
      block('waf:body-limit', 413, 'request body too large to inspect');
      return null;
    }
  }
  const exchange = await WafExchange.request(rules, settings, request, body, deps.wafOffload);
  const result = exchange.result;
  const enforce = settings.mode === 'block';
  if (result.timedOut) {
    exchange.release();
    deps.metrics.wafTimeouts.inc({ store: t.store });
    if (enforce) {
      block(
        'waf:timeout',
        403,
        `forbidden: the request could not be inspected in time (request ${ctx.requestId})`,
      );
      return null;
    }
    return { body, exchange: undefined };
  }
  record(result, t, deps, rec, 1);
  const stop = result.interrupted;
  if (enforce && stop) {
    exchange.release();
    // The request id lets the store owner find the event; the payload is never echoed.
    block(
      `waf:${stop.ruleId}`,
      stop.status,
      `forbidden: blocked by the web application firewall (request ${ctx.requestId})`,
    );
    return null;
  }
  return { body, exchange };
}

/**
 * Puts what a WAF phase found into the access-log record (each time the whole event so far) and
 * counts the matches of phases from `fromPhase` on (the earlier ones were counted already).
 */
function record(
  result: Inspection,
  t: Target,
  deps: HandlerDeps,
  rec: { -readonly [K in keyof AccessLogRecord]: AccessLogRecord[K] } | undefined,
  fromPhase: number,
): void {
  const event = result.event;
  if (!event) return;
  if (rec) rec.waf = event;
  for (const match of event.matches) {
    if ((match.phase ?? 1) >= fromPhase)
      deps.metrics.wafMatches.inc({ store: t.store, rule: String(match.id), action: event.action });
  }
}

/**
 * What the WAF's response phases decided for a response: the rule to refuse it for (in block mode),
 * or undefined to send it on. A response the thread could not inspect in time is sent on, as
 * ModSecurity sends a response whose regexes hit their match limit (no rule refuses it); it is counted.
 * Without `rec` (a cache refresh after its request was answered) only the metrics are kept.
 */
function judgeResponse(
  result: Inspection,
  t: Target,
  deps: HandlerDeps,
  rec: { -readonly [K in keyof AccessLogRecord]: AccessLogRecord[K] } | undefined,
): { readonly ruleId: number; readonly status: number } | undefined {
  if (result.timedOut) {
    deps.metrics.wafTimeouts.inc({ store: t.store });
    return undefined;
  }
  record(result, t, deps, rec, 3);
  return t.policy.waf.mode === 'block' ? result.interrupted : undefined;
}

/** Reads a request body into memory; undefined when it grows past `max` bytes. */
function readBody(req: IncomingMessage, max: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > max) {
        cleanup();
        resolve(undefined);
        return;
      }
      chunks.push(c);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (e: Error) => {
      cleanup();
      reject(e);
    };
    const onClose = () => {
      cleanup();
      reject(
        Object.assign(new Error('client closed before the body ended'), { code: 'TP_EDGE_BODY_ABORTED' }),
      );
    };
    const cleanup = () => {
      req.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
    };
    req.on('data', onData).once('end', onEnd).once('error', onError).once('close', onClose);
  });
}

/** A request whose body is still to arrive. */
function awaitsBody(req: IncomingMessage): boolean {
  const declared = req.headers['content-length'];
  const hasBody =
    req.headers['transfer-encoding'] !== undefined || (declared !== undefined && declared !== '0');
  return hasBody && !req.complete;
}

/**
 * Cuts off a request whose body has not fully arrived within the store's `bodyTimeoutMs` (a slow
 * upload holds a connection and an overload slot): answers 408 and drops the request, so the member
 * never sees a complete one. Returns the timer.
 */
function bodyDeadline(
  req: IncomingMessage,
  res: ServerResponse,
  ms: number,
  onTimeout: () => void,
): NodeJS.Timeout {
  const timer = setTimeout(() => {
    if (req.complete) return;
    res.shouldKeepAlive = false;
    onTimeout();
    // Dropping the request aborts its upstream copy; after the 408 is out, so the client reads why.
    if (res.writableFinished || res.destroyed) req.destroy();
    else res.once('close', () => req.destroy()).once('finish', () => req.destroy());
  }, ms);
  req.once('end', () => clearTimeout(timer));
  return timer;
}

async function guarded(
  req: IncomingMessage,
  res: ServerResponse,
  t: Target,
  deps: HandlerDeps,
  rec: { -readonly [K in keyof AccessLogRecord]: AccessLogRecord[K] },
  ctx: ForwardContext,
  path: string,
  block: (reason: string, status: number, message: string, headers?: Record<string, string>) => void,
  waf: WafExchange | undefined,
): Promise<void> {
  const m = deps.metrics;
  const p = t.protection;
  const method = req.method ?? 'GET';
  let refusal: { readonly ruleId: number; readonly status: number } | undefined;
  const refuse = (stop: { readonly ruleId: number; readonly status: number }) =>
    block(
      `waf:${stop.ruleId}`,
      stop.status,
      `forbidden: blocked by the web application firewall (request ${ctx.requestId})`,
    );
  let release: () => void;
  try {
    const wait = p.overload.acquire();
    release = await wait;
  } catch (err) {
    m.overloadRejected.inc({ store: t.store });
    const retry = String((err as { retryAfterSec?: number }).retryAfterSec ?? 1);
    return block('overload', 503, 'store is busy, try again', { 'retry-after': retry });
  }
  try {
    const rules = t.policy.cache;
    const cacheable =
      rules.enabled &&
      (method === 'GET' || method === 'HEAD') &&
      rules.pathPrefixes.some((pre) => path.startsWith(pre));
    if (!cacheable) {
      rec.cache = 'BYPASS';
      // The WAF's response phases see each response before the client does: only the part of the
      // body they inspect is held back, the rest (and every body they do not read) streams.
      const gate: ResponseGate | undefined = waf && {
        peek: (status, headers) => waf.peekBytes(method, status, headers),
        pass: async (status, headers, head, complete) => {
          refusal = judgeResponse(await waf.response(method, status, headers, head, complete), t, deps, rec);
          return refusal === undefined;
        },
      };
      const r = await forward(
        req,
        res,
        t.pool,
        { ...ctx, maxBodyBytes: t.policy.limits.maxBodyBytes },
        () => m.retries.inc({ pool: t.pool.cfg.id }),
        (kind) => m.upstreamErrors.inc({ pool: t.pool.cfg.id, kind }),
        gate,
      );
      rec.status = r.status;
      rec.upstream = r.member?.key ?? null;
      rec.upstreamMs = r.upstreamMs === null ? null : Math.round(r.upstreamMs * 100) / 100;
      rec.bytesOut = r.bytesOut;
      if (r.refused && refusal) refuse(refusal);
      return;
    }
    let member: string | null = null;
    // A refresh in the background (stale-while-revalidate) may finish after this request's record
    // was written: from then on its WAF findings only count in the metrics.
    let answered = false;
    const t0 = performance.now();
    const out = await deps.cache.handle(
      { method: method as 'GET' | 'HEAD', host: rec.host, path: req.url ?? '/', headers: req.headers },
      rules,
      async (conditional) => {
        const r = await fetchBuffered(req, t.pool, ctx, conditional, (kind) =>
          m.upstreamErrors.inc({ pool: t.pool.cfg.id, kind }),
        );
        if (!answered) member = r.member.key;
        if (waf) {
          // Inspected before the cache may store it, as the GET every later hit is served from.
          const limit = waf.peekBytes('GET', r.status, r.headers);
          const head = limit > 0 ? r.body.subarray(0, limit) : undefined;
          const result = await waf.response('GET', r.status, r.headers, head, r.body.length <= limit);
          const stop = judgeResponse(result, t, deps, answered ? undefined : rec);
          if (stop) {
            if (!answered) refusal = stop;
            // Never stored, never served: this request answers 403, others waiting fetch their own.
            return { status: 403, headers: { 'cache-control': 'no-store' }, body: Buffer.alloc(0) };
          }
          // Sent on uninspected, as ModSecurity would, but not kept to be served to everyone.
          if (result.timedOut)
            return { status: r.status, headers: { ...r.headers, 'cache-control': 'no-store' }, body: r.body };
        }
        return { status: r.status, headers: r.headers, body: r.body };
      },
    );
    answered = true;
    if (refusal) {
      rec.cache = out.status;
      rec.upstream = member;
      m.cache.inc({ store: t.store, result: out.status });
      return refuse(refusal);
    }
    rec.cache = out.status;
    rec.upstream = member;
    rec.upstreamMs = member ? Math.round((performance.now() - t0) * 100) / 100 : null;
    m.cache.inc({ store: t.store, result: out.status });
    const r = out.response;
    // The cached response is shared and frozen: X-Cache and X-Request-Id go on beside its raw headers.
    res.writeHead(r.status, [
      ...(r.rawHeaders as string[]),
      'x-cache',
      out.status,
      'x-request-id',
      ctx.requestId,
    ]);
    if (method === 'HEAD' || r.status === 304) res.end();
    else res.end(r.body);
    rec.status = r.status;
    rec.bytesOut = method === 'HEAD' ? 0 : r.body.length;
  } finally {
    release();
  }
}
