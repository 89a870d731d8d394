import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SnapshotProblem } from '../../contracts/snapshot.ts';

/** One ack as the control side received it. */
export interface ReceivedAck {
  readonly edge: string;
  readonly version: number | null;
  readonly accepted: boolean;
  readonly problems?: readonly SnapshotProblem[];
}

/** One poll as the control side received it. */
export interface ReceivedPoll {
  readonly edge: string | null;
  readonly after: number;
  readonly authorization: string | null;
}

/** How the test server behaves. */
export interface TestingControlServerOptions {
  /** How long a poll is held before 204. @default 25_000 */
  readonly holdMs?: number;
  /** Bearer token polls and acks must carry. @default none (anything is accepted) */
  readonly token?: string;
}

interface Waiter {
  readonly after: number;
  readonly res: ServerResponse;
  readonly timer: NodeJS.Timeout;
}

/**
 * The control side of the snapshot protocol (see control-source.ts) on 127.0.0.1, for tests; the real
 * control plane implements the same. Unlike the real one it publishes whatever it is given, unchecked,
 * so tests can make the edge reject snapshots.
 */
export class TestingControlServer {
  /** Acks in the order they arrived. */
  readonly acks: ReceivedAck[] = [];
  /** Polls in the order they arrived. */
  readonly polls: ReceivedPoll[] = [];
  private latest: { version: number; body: string } | undefined;
  private readonly waiting = new Set<Waiter>();
  private server: Server | undefined;
  private port = 0;

  constructor(private readonly o: TestingControlServerOptions = {}) {}

  /** Listens on 127.0.0.1:`port` (0 = any free port); pass the old port to bring a server "back". */
  async start(port = 0): Promise<void> {
    const server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  /** Closes every connection, held polls included, as a crashed control plane would. */
  async stop(): Promise<void> {
    for (const w of this.waiting) clearTimeout(w.timer);
    this.waiting.clear();
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  /** Base URL, e.g. "http://127.0.0.1:40123". */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Polls being held right now. */
  get heldPolls(): number {
    return this.waiting.size;
  }

  /** Makes `snapshot` the newest and answers every held poll that asked for something older. */
  publish(snapshot: { readonly version: number }): void {
    this.latest = { version: snapshot.version, body: JSON.stringify(snapshot) };
    for (const w of this.waiting) if (w.after < snapshot.version) this.answer(w);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const authorization = req.headers.authorization ?? null;
    if (this.o.token && authorization !== `Bearer ${this.o.token}`)
      send(res, 401, { code: 'TP_UNAUTHORIZED' });
    else if (req.method === 'GET' && url.pathname === '/api/edge/snapshot')
      this.poll(url, authorization, res);
    else if (req.method === 'POST' && url.pathname === '/api/edge/ack') this.ack(req, res);
    else send(res, 404, { code: 'TP_NOT_FOUND' });
  }

  private poll(url: URL, authorization: string | null, res: ServerResponse): void {
    const after = Number(url.searchParams.get('after') ?? '0');
    if (!Number.isSafeInteger(after) || after < 0) {
      send(res, 400, { code: 'TP_BAD_AFTER' });
      return;
    }
    this.polls.push({ edge: url.searchParams.get('edge'), after, authorization });
    if (this.latest && this.latest.version > after) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(this.latest.body);
      return;
    }
    const w: Waiter = {
      after,
      res,
      timer: setTimeout(() => {
        this.waiting.delete(w);
        res.writeHead(204).end();
      }, this.o.holdMs ?? 25_000),
    };
    this.waiting.add(w);
    // An edge that gave up (timeout, stop) must not be answered later on a dead socket.
    res.on('close', () => {
      clearTimeout(w.timer);
      this.waiting.delete(w);
    });
  }

  private answer(w: Waiter): void {
    clearTimeout(w.timer);
    this.waiting.delete(w);
    w.res.writeHead(200, { 'content-type': 'application/json' }).end(this.latest!.body);
  }

  private ack(req: IncomingMessage, res: ServerResponse): void {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      text += chunk;
    });
    req.on('end', () => {
      try {
        this.acks.push(JSON.parse(text) as ReceivedAck);
        res.writeHead(204).end();
      } catch {
        send(res, 400, { code: 'TP_BAD_JSON' });
      }
    });
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
