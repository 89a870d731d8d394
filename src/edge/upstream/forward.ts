import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { type Duplex, type Readable, Transform } from 'node:stream';
import { isConnectFailure, type Member, type Pool } from './pool.ts';

/** Headers that describe one connection, never forwarded (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set([
  // The edge answers "100-continue" itself; the upstream gets the body without being asked.
  'expect',
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'proxy-authenticate',
  'proxy-authorization',
]);

/**
 * Purge tags: what the edge cache indexes entries by. They are for caches, never for browsers, so
 * the store's Varnish sends them only to the edge (asked by `x-triplane-edge`) and the edge keeps
 * them from clients.
 */
export const TAG_HEADERS: readonly string[] = ['x-magento-tags', 'cache-tag'];

/** The request header by which the edge asks the store's Varnish for a response's purge tags. */
export const EDGE_MARK = 'x-triplane-edge';

/** Who asked, as the upstream needs to know it. */
export interface ForwardContext {
  readonly clientIp: string;
  readonly proto: 'http' | 'https';
  readonly requestId: string;
  /** Largest request body passed on; a chunked body that grows past it is cut off. */
  readonly maxBodyBytes?: number;
  /** The request body, already read (for the WAF); sent instead of streaming the request. */
  readonly body?: Buffer;
}

/**
 * Waits until a chunked body's first chunk parsed (or the body ended), so a request whose framing is
 * broken from the start never opens a connection to a member. Later framing errors abort the
 * upstream request; the member only ever sees bodies the edge framed itself.
 */
export function bodyStarted(req: IncomingMessage): Promise<void> {
  if (req.headers['transfer-encoding'] === undefined || req.readableEnded || req.readableLength > 0)
    return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (err?: unknown) => {
      req.off('readable', ok);
      req.off('end', ok);
      req.off('error', fail);
      req.off('close', closed);
      if (err) reject(err);
      else resolve();
    };
    const ok = () => done();
    const fail = (e: unknown) => done(e);
    const closed = () =>
      done(
        Object.assign(new Error('client closed before the body started'), { code: 'TP_EDGE_BODY_ABORTED' }),
      );
    req.once('readable', ok);
    req.once('end', ok);
    req.once('error', fail);
    req.once('close', closed);
  });
}

/** A body stream that fails once more than `max` bytes went through (for chunked uploads). */
function limited(req: IncomingMessage, max: number | undefined): IncomingMessage | Transform {
  if (max === undefined || req.headers['content-length'] !== undefined) return req;
  let seen = 0;
  const t = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      seen += chunk.length;
      if (seen > max)
        cb(Object.assign(new Error(`request body over ${max} bytes`), { code: 'TP_EDGE_BODY_TOO_LARGE' }));
      else cb(null, chunk);
    },
  });
  req.pipe(t);
  return t;
}

/** Request headers for the upstream: hop-by-hop removed, X-Forwarded-* and Via added. */
export function upstreamHeaders(
  h: IncomingHttpHeaders,
  ctx: ForwardContext,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const connectionTokens =
    typeof h.connection === 'string' ? h.connection.toLowerCase().split(/\s*,\s*/) : [];
  for (const k in h) {
    const v = h[k];
    if (v === undefined || HOP_BY_HOP.has(k) || connectionTokens.includes(k) || k === EDGE_MARK) continue;
    out[k] = v;
  }
  out[EDGE_MARK] = '1';
  const xff = h['x-forwarded-for'];
  out['x-forwarded-for'] = xff
    ? `${Array.isArray(xff) ? xff.join(', ') : xff}, ${ctx.clientIp}`
    : ctx.clientIp;
  out['x-forwarded-proto'] = ctx.proto;
  if (h.host) out['x-forwarded-host'] = h.host;
  out.via = h.via ? `${h.via}, 1.1 triplane` : '1.1 triplane';
  out['x-request-id'] = ctx.requestId;
  return out;
}

/**
 * Response headers for the client: hop-by-hop removed, Via added, and purge tags removed unless the
 * edge cache still needs them (it strips them itself when it answers).
 */
export function clientHeaders(
  h: Record<string, string | string[] | undefined>,
  keepTags = false,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const k in h) {
    const v = h[k];
    if (v === undefined || HOP_BY_HOP.has(k) || (!keepTags && TAG_HEADERS.includes(k))) continue;
    out[k] = v;
  }
  out.via = out.via ? `${out.via}, 1.1 triplane` : '1.1 triplane';
  return out;
}

/**
 * Looks at an upstream response before any of it reaches the client (the WAF's response phases):
 * first how much of the body it needs, then, with that much read, whether the response may go on.
 */
export interface ResponseGate {
  /** Bytes of the body to read before deciding; 0 decides on the status and headers alone. */
  peek(status: number, headers: Readonly<Record<string, string | string[] | undefined>>): number;
  /**
   * Whether the response may go to the client. `head` is the start of the body (at least the bytes
   * asked for, unless the body is shorter; undefined when none were asked for), `complete` when it
   * is the whole body.
   */
  pass(
    status: number,
    headers: Readonly<Record<string, string | string[] | undefined>>,
    head: Buffer | undefined,
    complete: boolean,
  ): Promise<boolean>;
}

/** A gate's own failure, kept apart from the member's: the member did its job. */
class GateFailure extends Error {
  constructor(readonly error: unknown) {
    super('response gate failed');
  }
}

/**
 * Stops an upstream body nobody will read. undici reports the abort as an 'error' on the body; it is
 * our own doing, and unheard it would end the process.
 */
function discard(body: Readable): void {
  body.on('error', () => {});
  body.destroy();
}

/**
 * Reads at least `want` bytes of a body (or all of it, if shorter) and pauses it there; the chunks
 * read and whether the body ended. Backpressure holds the rest at the member.
 */
export function readHead(body: Readable, want: number): Promise<{ chunks: Buffer[]; complete: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (err?: unknown, complete = false) => {
      body.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
      if (err) reject(err);
      else resolve({ chunks, complete });
    };
    const onData = (c: Buffer) => {
      chunks.push(c);
      size += c.length;
      if (size >= want) {
        body.pause();
        done();
      }
    };
    const onEnd = () => done(undefined, true);
    const onError = (e: unknown) => done(e);
    const onClose = () =>
      done(Object.assign(new Error('upstream body closed early'), { code: 'UND_ERR_SOCKET' }));
    body.on('data', onData).once('end', onEnd).once('error', onError).once('close', onClose);
  });
}

/**
 * Copies an upstream body to the client with backpressure and resolves with the bytes sent. Not
 * `stream.pipeline`: that builds an AbortController per call and aborts it (with a DOMException and
 * its stack) on every normal finish, which the profile showed as the largest JavaScript cost of a
 * proxied request. A client that goes away mid-body only stops the copy: the member did its job.
 */
export function relay(body: Readable, res: ServerResponse, head: readonly Buffer[] = []): Promise<number> {
  return new Promise((resolve) => {
    let bytes = 0;
    let settled = false;
    // The client may have gone while the gate decided: then there is nobody to copy to.
    if (res.destroyed) {
      discard(body);
      resolve(0);
      return;
    }
    for (const c of head) {
      bytes += c.length;
      res.write(c);
    }
    const settle = () => {
      if (settled) return;
      settled = true;
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
      res.off('close', onClose);
      res.off('drain', onDrain);
      resolve(bytes);
    };
    const onData = (chunk: Buffer) => {
      bytes += chunk.length;
      if (!res.write(chunk)) body.pause();
    };
    const onDrain = () => body.resume();
    const onEnd = () => {
      res.end();
      settle();
    };
    const onError = () => {
      // The member broke off mid-body: the client must not take a cut body for a whole one.
      res.destroy();
      settle();
    };
    const onClose = () => {
      if (!res.writableFinished) discard(body);
      settle();
    };
    body.on('data', onData);
    body.once('end', onEnd);
    body.once('error', onError);
    res.once('close', onClose);
    res.on('drain', onDrain);
    // A body the gate paused stays paused under a new 'data' listener until resumed.
    if (body.isPaused() && res.writableNeedDrain === false) body.resume();
  });
}

const IDEMPOTENT_NO_BODY = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Why an upstream attempt failed, for metrics and the status code. */
export type UpstreamFailure = 'connect' | 'timeout' | 'reset' | 'none-available';

/** An upstream error the client should see as 502/503/504. */
export class UpstreamError extends Error {
  readonly code = 'TP_EDGE_UPSTREAM';
  constructor(
    readonly kind: UpstreamFailure,
    message: string,
  ) {
    super(message);
  }
  /** 503 when no member is up, 504 on timeout, 502 otherwise. */
  get status(): number {
    return this.kind === 'none-available' ? 503 : this.kind === 'timeout' ? 504 : 502;
  }
}

function classify(err: unknown): UpstreamFailure {
  const code = (err as { code?: string })?.code ?? '';
  if (isConnectFailure(err)) return 'connect';
  if (code.includes('TIMEOUT')) return 'timeout';
  return 'reset';
}

/** Outcome of one proxied request, for the access log. */
export interface ForwardResult {
  readonly status: number;
  readonly member: Member | undefined;
  readonly upstreamMs: number | null;
  readonly bytesOut: number;
  /** The gate refused the response: nothing was sent, the caller answers the client. */
  readonly refused: boolean;
}

/**
 * Streams a request to a pool member and the response back, both ways without buffering. A request
 * without a body that got no response (connection refused or reset) is retried once on another member.
 * With a gate, the response waits for its verdict before the client sees any of it; only the part of
 * the body the gate asks for is held.
 */
export async function forward(
  req: IncomingMessage,
  res: ServerResponse,
  pool: Pool,
  ctx: ForwardContext,
  onRetry: () => void,
  onFailure: (kind: UpstreamFailure) => void,
  gate?: ResponseGate,
): Promise<ForwardResult> {
  const method = req.method ?? 'GET';
  const retryable = IDEMPOTENT_NO_BODY.has(method);
  const headers = upstreamHeaders(req.headers, ctx);
  if (!retryable && ctx.body === undefined) await bodyStarted(req);
  let tried: Member | undefined;
  for (let attempt = 0; attempt < 2; attempt++) {
    const m = pool.pick(tried);
    if (!m) throw new UpstreamError('none-available', `no healthy member in pool ${pool.cfg.id}`);
    tried = m;
    const t0 = performance.now();
    m.outstanding++;
    try {
      const r = await m.client.request({
        method: method as 'GET',
        path: req.url ?? '/',
        headers,
        body: ctx.body ?? (retryable ? null : limited(req, ctx.maxBodyBytes)),
      });
      const upstreamMs = performance.now() - t0;
      const out = clientHeaders(r.headers);
      let head: Buffer[] = [];
      let complete = false;
      if (gate) {
        const want = gate.peek(r.statusCode, out);
        if (want > 0) ({ chunks: head, complete } = await readHead(r.body, want));
        const body = want > 0 ? Buffer.concat(head) : undefined;
        const pass = await gate.pass(r.statusCode, out, body, complete).catch((e: unknown) => {
          discard(r.body);
          throw new GateFailure(e);
        });
        if (!pass) {
          // The member's connection goes with the unread body; refusals are rare.
          discard(r.body);
          pool.report(m, r.statusCode < 500);
          return { status: r.statusCode, member: m, upstreamMs, bytesOut: 0, refused: true };
        }
      }
      out['x-request-id'] = ctx.requestId;
      res.writeHead(r.statusCode, out);
      let bytesOut: number;
      if (complete) {
        bytesOut = 0;
        for (const c of head) bytesOut += c.length;
        res.end(head.length === 1 ? head[0] : Buffer.concat(head));
      } else bytesOut = await relay(r.body, res, head);
      pool.report(m, r.statusCode < 500);
      return { status: r.statusCode, member: m, upstreamMs, bytesOut, refused: false };
    } catch (err) {
      if (err instanceof GateFailure) throw err.error;
      // The client's own body failed (cut off for its slowness or size, or the client left): the
      // member did nothing wrong and must not be ejected for it.
      if (!retryable && req.destroyed && !req.complete) {
        throw Object.assign(new Error('client body aborted'), { code: 'TP_EDGE_BODY_ABORTED', cause: err });
      }
      const kind = classify(err);
      onFailure(kind);
      pool.report(m, false);
      // A request without a body that got no response (refused, or the member died holding it) is
      // safe to send to another member: nothing reached the client yet and GET/HEAD/OPTIONS are idempotent.
      if (kind !== 'timeout' && retryable && attempt === 0 && !res.headersSent) {
        onRetry();
        continue;
      }
      throw new UpstreamError(kind, `${m.key}: ${(err as Error).message}`);
    } finally {
      m.outstanding--;
    }
  }
  throw new UpstreamError('connect', `pool ${pool.cfg.id}: every attempt failed to connect`);
}

const CLIENT_CONDITIONALS = [
  'if-none-match',
  'if-modified-since',
  'if-match',
  'if-unmodified-since',
  'if-range',
  'range',
];

/** A buffered upstream response, for the edge cache. */
export interface BufferedResponse {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

/** Fetches a cacheable (GET) response whole, with the same retry rule as `forward`. */
export async function fetchBuffered(
  req: IncomingMessage,
  pool: Pool,
  ctx: ForwardContext,
  extraHeaders: Record<string, string>,
  onFailure: (kind: UpstreamFailure) => void,
): Promise<BufferedResponse & { member: Member }> {
  const headers = upstreamHeaders(req.headers, ctx);
  // The cache fetches whole entries for every client and revalidates with its own validators; a
  // client's conditional or range header would make it store a 304 or a slice for everyone.
  for (const h of CLIENT_CONDITIONALS) delete headers[h];
  Object.assign(headers, extraHeaders);
  let tried: Member | undefined;
  for (let attempt = 0; attempt < 2; attempt++) {
    const m = pool.pick(tried);
    if (!m) throw new UpstreamError('none-available', `no healthy member in pool ${pool.cfg.id}`);
    tried = m;
    m.outstanding++;
    try {
      const r = await m.client.request({ method: 'GET', path: req.url ?? '/', headers });
      const body = Buffer.from(await r.body.arrayBuffer());
      pool.report(m, r.statusCode < 500);
      return { status: r.statusCode, headers: clientHeaders(r.headers, true), body, member: m };
    } catch (err) {
      const kind = classify(err);
      onFailure(kind);
      pool.report(m, false);
      if (kind !== 'timeout' && attempt === 0) continue;
      throw new UpstreamError(kind, `${m.key}: ${(err as Error).message}`);
    } finally {
      m.outstanding--;
    }
  }
  throw new UpstreamError('connect', `pool ${pool.cfg.id}: every attempt failed to connect`);
}

/** Passes a WebSocket (or other Upgrade) handshake to a member and splices the two sockets. */
export function forwardUpgrade(
  req: IncomingMessage,
  client: Duplex,
  head: Buffer,
  pool: Pool,
  ctx: ForwardContext,
): void {
  const m = pool.pick();
  if (!m) {
    client.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    return;
  }
  const up = connect(m.port, m.host);
  const fail = () => {
    client.destroy();
    up.destroy();
  };
  up.once('error', () => {
    if (!client.destroyed)
      client.end('HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    up.destroy();
  });
  client.once('error', fail);
  up.once('connect', () => {
    const headers = upstreamHeaders(req.headers, ctx);
    // Upgrade and Connection are hop-by-hop but are the whole point of this request.
    headers.connection = 'Upgrade';
    headers.upgrade = String(req.headers.upgrade ?? '');
    let head_ = `${req.method} ${req.url} HTTP/1.1\r\n`;
    for (const [k, v] of Object.entries(headers)) {
      for (const one of Array.isArray(v) ? v : [v]) head_ += `${k}: ${one}\r\n`;
    }
    up.write(`${head_}\r\n`);
    if (head.length > 0) up.write(head);
    up.pipe(client);
    client.pipe(up);
  });
}
