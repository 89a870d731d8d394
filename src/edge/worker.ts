import {
  createServer as createHttp,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttps } from 'node:https';
import type { Socket } from 'node:net';
import { createSecureContext } from 'node:tls';
import type { Logger } from 'pino';
import { AggregatorRegistry, register } from 'prom-client';
import type { EdgeSnapshot } from '../contracts/snapshot.ts';
import { AccessLog, FileSink, HttpSink } from './accesslog/index.ts';
import { EdgeCache } from './cache/index.ts';
import { clientIp, handle } from './handler.ts';
import type { ToPrimary, ToWorker } from './ipc.ts';
import { createMetrics } from './metrics.ts';
import type { EdgeOptions } from './options.ts';
import { StoreConnections } from './protect/index.ts';
import { framingProblem } from './protocol.ts';
import { Runtime } from './runtime.ts';
import { CertificateStore, defaultCertificate } from './tls.ts';
import { forwardUpgrade } from './upstream/forward.ts';
import { WafRules } from './waf/index.ts';
import { WafOffload } from './waf/offload.ts';

/** Status for each parser error: oversized headers are 431, a slow client 408, the rest 400. */
export function statusForClientError(code: string | undefined): number {
  if (code === 'HPE_HEADER_OVERFLOW') return 431;
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT' || code === 'ERR_HTTP_HEADERS_TIMEOUT') return 408;
  return 400;
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  413: 'Content Too Large',
  431: 'Request Header Fields Too Large',
};

/**
 * An edge worker: HTTP and HTTPS servers that never listen themselves — the primary hands them
 * connections — running the request path against the current compiled snapshot.
 */
export class EdgeWorker {
  private runtime: Runtime | undefined;
  private certs: CertificateStore | undefined;
  private readonly metrics;
  private readonly cache: EdgeCache;
  private readonly log: AccessLog;
  private readonly connections = new StoreConnections();
  private readonly http: Server;
  private readonly https: Server;
  private readonly fallback;
  private readonly waf = new WafRules();
  private readonly wafOffload: WafOffload;

  constructor(
    private readonly o: EdgeOptions,
    private readonly index: number,
    private readonly logger: Logger,
    challengeSecret: string,
  ) {
    this.cache = new EdgeCache({ maxBytes: o.cacheBytes });
    this.wafOffload = new WafOffload({ timeoutMs: 2000, threads: o.wafThreads });
    this.log = new AccessLog({
      sink: /^https?:\/\//.test(o.accessLog)
        ? new HttpSink(o.accessLog, { token: o.controlToken })
        : new FileSink(o.accessLog),
      // One spool per worker index: a restarted worker replays what its predecessor left.
      spoolDir: `${o.dataDir}/edge/spool/worker-${index}`,
      maxSpoolBytes: o.spoolBytes,
    });
    // Constructing one in the worker is what makes prom-client answer the primary's scrape requests.
    new AggregatorRegistry();
    this.metrics = createMetrics(register, {
      log: () => this.log.stats(),
      pools: () => this.runtime?.pools ?? [],
      queues: () => [...(this.runtime?.protections ?? [])].map(([store, p]) => [store, p.overload] as const),
    });
    const def = defaultCertificate(o.dataDir);
    this.fallback = createSecureContext(def);
    const deps = {
      runtime: () => this.runtime,
      cache: this.cache,
      log: this.log,
      metrics: this.metrics,
      connections: this.connections,
      challengeSecret,
      wafOffload: this.wafOffload,
    };
    const opts = {
      // Slow clients: headers must arrive within headersTimeout; the whole request within requestTimeout.
      headersTimeout: 10_000,
      requestTimeout: 30_000,
      keepAliveTimeout: 5_000,
      connectionsCheckingInterval: 500,
      maxHeaderSize: 16 * 1024,
      // Strict parsing is Node's default; said here because smuggling defences depend on it.
      insecureHTTPParser: false,
    };
    const onRequest = (proto: 'http' | 'https') => (req: IncomingMessage, res: ServerResponse) => {
      const problem = framingProblem(req, this.maxHeaders);
      if (problem) {
        // Nothing after a badly framed request on this connection can be trusted: answer and close.
        this.metrics.protocolErrors.inc({ code: problem.code });
        res.shouldKeepAlive = false;
        res
          .writeHead(problem.status, { 'content-type': 'text/plain', connection: 'close' })
          .end(`${REASONS[problem.status]}\n`);
        req.socket.destroySoon();
        return;
      }
      void handle(req, res, deps, proto);
    };
    this.http = createHttp(opts, onRequest('http'));
    this.https = createHttps(
      {
        ...opts,
        SNICallback: (name, cb) =>
          cb(
            null,
            (this.certs ?? new CertificateStore({ certificates: [] } as never, this.fallback)).lookup(name),
          ),
        ...def,
      },
      onRequest('https'),
    );
    for (const [srv, proto] of [
      [this.http, 'http'],
      [this.https, 'https'],
    ] as const) {
      // Node starts its header/request timeout checks on 'listening'. These servers never listen (the
      // primary hands them sockets), so without this a slowloris client could hold a connection forever.
      srv.emit('listening');
      srv.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => this.clientError(err, socket));
      srv.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
        const host = (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
        const t = this.runtime?.match(host, (req.url ?? '/').split('?')[0]!);
        if (!t || t.protection.ip.decide(clientIp(req)) === 'deny') {
          socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
          return;
        }
        forwardUpgrade(req, socket, head, t.pool, { clientIp: clientIp(req), proto, requestId: '' });
      });
    }
  }

  private maxHeaders = 100;

  // A request the parser refused (smuggling attempt, bad framing, oversized headers) is answered and
  // its connection closed: nothing after it on that connection can be trusted.
  private clientError(err: NodeJS.ErrnoException, socket: Socket): void {
    this.metrics.protocolErrors.inc({ code: err.code ?? 'UNKNOWN' });
    const pending = (socket as Socket & { _httpMessage?: { headersSent: boolean } })._httpMessage;
    if (socket.writable && !pending?.headersSent) {
      const status = statusForClientError(err.code);
      socket.end(`HTTP/1.1 ${status} ${REASONS[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    }
    socket.destroy();
  }

  private apply(s: EdgeSnapshot): void {
    const next = Runtime.build(s, this.runtime, this.waf);
    this.wafOffload.prepare(s.policies.filter((p) => p.waf.mode !== 'off').map((p) => p.waf));
    next.start();
    const prev = this.runtime;
    this.runtime = next;
    this.certs = new CertificateStore(s, this.fallback);
    this.maxHeaders = s.settings.maxHeaders;
    // Node's own request timeout is the outer bound; each store's bodyTimeoutMs cuts sooner.
    const slowestBody = Math.max(30_000, ...s.policies.map((p) => p.limits.bodyTimeoutMs));
    for (const srv of [this.http, this.https]) {
      srv.headersTimeout = s.settings.headersTimeoutMs;
      srv.keepAliveTimeout = s.settings.keepAliveTimeoutMs;
      srv.requestTimeout = s.settings.headersTimeoutMs + slowestBody;
    }
    this.metrics.snapshotVersion.set(s.version);
    void prev?.close(next);
  }

  /** Listens to the primary: snapshots, connections, purges. */
  start(): void {
    this.log.start();
    process.on('message', (msg: ToWorker, handle?: Socket) => {
      if (!msg || typeof msg !== 'object' || !('t' in msg)) return;
      if (msg.t === 'conn' && handle) {
        const srv = msg.kind === 'https' ? this.https : this.http;
        handle.once('close', () => this.send({ t: 'closed', ip: msg.ip }));
        srv.emit('connection', handle);
        handle.resume();
      } else if (msg.t === 'snapshot') {
        try {
          this.apply(msg.snapshot);
          this.send({ t: 'applied', version: msg.snapshot.version });
        } catch (e) {
          this.send({ t: 'apply-failed', version: msg.snapshot.version, error: (e as Error).message });
        }
      } else if (msg.t === 'purge') {
        let removed = 0;
        if (msg.url) removed += this.cache.purgeUrl(msg.host ?? '', msg.url);
        if (msg.prefix) removed += this.cache.purgePrefix(msg.host ?? '', msg.prefix);
        if (msg.tag) removed += this.cache.purgeTag(msg.tag);
        this.send({ t: 'purged', removed });
      }
    });
    this.send({ t: 'ready' });
    this.logger.info({ worker: this.index }, 'edge worker ready');
  }

  private send(m: ToPrimary): void {
    if (process.connected) process.send?.(m);
  }

  /** Stops taking requests and flushes the access log. */
  async stop(): Promise<void> {
    this.http.close();
    this.https.close();
    await this.log.stop();
    await this.runtime?.close();
    await this.wafOffload.close();
  }
}
