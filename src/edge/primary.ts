import cluster, { type Worker } from 'node:cluster';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { AggregatorRegistry, Gauge, Registry } from 'prom-client';
import type { EdgeSnapshot } from '../contracts/snapshot.ts';
import type { ToPrimary, ToWorker } from './ipc.ts';
import type { EdgeOptions } from './options.ts';
import { ConnectionLimiter } from './protect/connections.ts';
import { Runtime } from './runtime.ts';
import { ControlSource } from './snapshot/control-source.ts';
import { FileSource } from './snapshot/file-source.ts';
import { SnapshotManager } from './snapshot/manager.ts';
import { WafRules } from './waf/index.ts';

function hashIp(ip: string): number {
  let h = 2166136261;
  for (let i = 0; i < ip.length; i++) h = Math.imul(h ^ ip.charCodeAt(i), 16777619);
  return h >>> 0;
}

/**
 * The edge's primary process: owns the listening sockets, the connection guard (total and per-IP
 * caps) and the snapshot. It hands each accepted connection to a worker chosen by client IP, so all
 * of a client's connections meet the same rate-limit buckets, and broadcasts snapshots to workers.
 */
export class EdgePrimary {
  private readonly workers: (Worker | undefined)[] = [];
  private readonly workerConns = new Map<Worker, Map<string, number>>();
  private readonly applied = new Map<Worker, number>();
  private readonly readyWorkers = new Set<Worker>();
  /** The Core Rule Set, compiled here too so a snapshot that cannot run is refused before workers see it. */
  private readonly waf = new WafRules();
  private readonly listeners: Server[] = [];
  private metricsServer: ReturnType<typeof createHttpServer> | undefined;
  private limiter: ConnectionLimiter;
  private snapshots: SnapshotManager;
  private readonly registry = new Registry();
  private readonly aggregator = new AggregatorRegistry();
  private stopping = false;
  private readonly rejectedConnections: Gauge;

  constructor(
    private readonly o: EdgeOptions,
    private readonly log: Logger,
  ) {
    this.limiter = new ConnectionLimiter({ maxTotal: 10_000, maxPerIp: 256 });
    const source = o.snapshotFile
      ? new FileSource(o.snapshotFile)
      : new ControlSource(o.controlUrl!, { token: o.controlToken, edgeId: o.edgeId });
    this.snapshots = new SnapshotManager({
      dataDir: o.dataDir,
      source,
      log,
      onApply: (s) => this.apply(s),
    });
    const self = this;
    this.rejectedConnections = new Gauge({
      name: 'triplane_edge_connections_rejected_total',
      help: 'Connections refused by the total or per-IP connection caps',
      registers: [this.registry],
      collect() {
        this.set(self.limiter.stats().rejectedTotal);
      },
    });
    new Gauge({
      name: 'triplane_edge_connections_open',
      help: 'Client connections currently open',
      registers: [this.registry],
      collect() {
        this.set(self.limiter.stats().total);
      },
    });
    new Gauge({
      name: 'triplane_edge_snapshot_age_seconds',
      help: 'Seconds since the snapshot in use was applied',
      registers: [this.registry],
      collect() {
        this.set(self.snapshots.stats().age ?? -1);
      },
    });
    new Gauge({
      name: 'triplane_edge_snapshot_rejected_total',
      help: 'Snapshots rejected by validation or consistency checks',
      registers: [this.registry],
      collect() {
        this.set(self.snapshots.stats().rejectedTotal);
      },
    });
  }

  // Compiling in the primary first catches what only compilation can find, before any worker sees it.
  private apply(s: EdgeSnapshot): void {
    const probe = Runtime.build(s, undefined, this.waf);
    void probe.close();
    const cfg = s.settings;
    this.limiter.resize(cfg.maxConnections, cfg.maxConnectionsPerIp);
    this.broadcast({ t: 'snapshot', snapshot: s });
    this.log.info({ version: s.version }, 'snapshot applied');
  }

  private broadcast(msg: ToWorker): void {
    for (const w of this.workers) if (w?.isConnected()) w.send(msg);
  }

  private fork(index: number): void {
    const w = cluster.fork({ TRIPLANE_EDGE_WORKER: String(index) });
    this.workers[index] = w;
    this.workerConns.set(w, new Map());
    w.on('message', (m: ToPrimary) => this.onWorkerMessage(w, m));
    w.on('exit', (code, signal) => {
      // Every connection that worker held is gone with it.
      for (const [ip, n] of this.workerConns.get(w) ?? [])
        for (let i = 0; i < n; i++) this.limiter.release(ip);
      this.workerConns.delete(w);
      this.applied.delete(w);
      this.readyWorkers.delete(w);
      if (this.stopping) return;
      this.log.error({ worker: index, code, signal }, 'edge worker exited; starting a new one');
      this.fork(index);
    });
  }

  private onWorkerMessage(w: Worker, m: ToPrimary): void {
    if (m.t === 'ready') {
      this.readyWorkers.add(w);
      const cur = this.snapshots.current();
      if (cur) w.send({ t: 'snapshot', snapshot: cur } satisfies ToWorker);
    } else if (m.t === 'applied') {
      this.applied.set(w, m.version);
    } else if (m.t === 'apply-failed') {
      this.log.error({ version: m.version, error: m.error }, 'worker could not apply snapshot');
    } else if (m.t === 'closed') {
      this.limiter.release(m.ip);
      const conns = this.workerConns.get(w);
      const n = conns?.get(m.ip) ?? 0;
      if (n <= 1) conns?.delete(m.ip);
      else conns?.set(m.ip, n - 1);
    }
  }

  private onConnection(kind: 'http' | 'https', socket: Socket): void {
    const ip = socket.remoteAddress ?? '';
    if (!this.limiter.tryAcquire(ip)) {
      if (kind === 'http')
        socket.end(
          'HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n',
        );
      else socket.destroy();
      return;
    }
    // A worker that has not said 'ready' has no handler for connections yet: a socket sent to it would
    // hang unanswered. Its clients go to a ready worker meanwhile (their rate-limit buckets start
    // fresh there, which only happens while workers start or restart).
    const n = this.workers.length;
    let w = this.workers[hashIp(ip) % n];
    if (!w || !this.readyWorkers.has(w) || !w.isConnected())
      w = this.workers.find((x) => x && this.readyWorkers.has(x) && x.isConnected());
    if (!w) {
      this.limiter.release(ip);
      if (kind === 'http')
        socket.end(
          'HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n',
        );
      else socket.destroy();
      return;
    }
    const conns = this.workerConns.get(w)!;
    conns.set(ip, (conns.get(ip) ?? 0) + 1);
    w.send({ t: 'conn', kind, ip } satisfies ToWorker, socket, { keepOpen: false });
  }

  /** Forks the workers, loads the snapshot (disk first, then the source) and starts listening. */
  async start(): Promise<void> {
    for (let i = 0; i < this.o.workers; i++) this.fork(i);
    await this.snapshots.start();
    const listen = (kind: 'http' | 'https', addr: { host: string; port: number }) =>
      new Promise<void>((resolve, reject) => {
        const srv = createServer({ pauseOnConnect: true, noDelay: true }, (s) => this.onConnection(kind, s));
        srv.once('error', reject);
        srv.listen({ host: addr.host, port: addr.port, backlog: 4096 }, () => resolve());
        this.listeners.push(srv);
      });
    await listen('http', this.o.http);
    if (this.o.https) await listen('https', this.o.https);
    this.metricsServer = createHttpServer((req, res) => {
      // A failed scrape (a worker too busy to answer in time) is a 500 for that scrape, never a crash.
      this.admin(req, res).catch((e: unknown) => {
        this.log.warn({ err: e, url: req.url }, 'admin request failed');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`${(e as Error).message}\n`);
      });
    });
    await new Promise<void>((r) => this.metricsServer!.listen(this.o.metrics.port, this.o.metrics.host, r));
    this.log.info(
      { http: this.o.http, https: this.o.https, metrics: this.o.metrics, workers: this.o.workers },
      'edge listening',
    );
  }

  private ready(): boolean {
    const cur = this.snapshots.current();
    if (!cur) return false;
    return this.workers.every((w) => w && this.applied.get(w) === cur.version);
  }

  private async admin(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://edge');
    if (url.pathname === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (url.pathname === '/readyz') {
      const ok = this.ready();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ready\n' : 'not ready\n');
    } else if (url.pathname === '/metrics') {
      const workers = await this.aggregator.clusterMetrics();
      res
        .writeHead(200, { 'content-type': this.registry.contentType })
        .end(`${await this.registry.metrics()}\n${workers}`);
    } else if (url.pathname === '/purge' && req.method === 'POST') {
      const body = await new Promise<string>((r) => {
        let b = '';
        req.on('data', (c) => {
          b += c;
        });
        req.on('end', () => r(b));
      });
      let what: { url?: string; prefix?: string; tag?: string; host?: string };
      try {
        what = JSON.parse(body) as typeof what;
      } catch {
        res
          .writeHead(400, { 'content-type': 'application/json' })
          .end(JSON.stringify({ code: 'TP_EDGE_BAD_PURGE', message: 'body: expected JSON' }));
        return;
      }
      this.broadcast({ t: 'purge', ...what });
      res.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ accepted: true }));
    } else if (url.pathname === '/snapshot') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(this.snapshots.stats()));
    } else {
      res.writeHead(404).end();
    }
  }

  /** Stops accepting, gives workers 5 s to drain (then kills them), stops the snapshot source. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const l of this.listeners) l.close();
    this.metricsServer?.close();
    const deadline = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());
    await Promise.race([this.snapshots.stop(), deadline(3000)]);
    await Promise.all(
      this.workers.map(
        (w) =>
          new Promise<void>((r) => {
            if (!w || w.isDead()) return r();
            w.once('exit', () => r());
            w.process.kill('SIGTERM');
            // A worker stuck draining a slow client must not hold up a restart.
            setTimeout(() => w.process.kill('SIGKILL'), 5000).unref();
          }),
      ),
    );
  }
}
