import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { JoinRequest, NodeReport } from '../../contracts/fleet.ts';
import { readVersion } from './judge.ts';

interface HeldPoll {
  readonly after: number;
  readonly res: ServerResponse;
  readonly timer: NodeJS.Timeout;
}

/**
 * The control plane's side of the fleet protocol, small enough for tests: one join token, one node,
 * polls held `holdMs` and answered at once when `publish` sets a newer version. Everything it receives
 * is kept for assertions; `failPolls` makes the next polls answer an error status.
 */
export class TestControlPlane {
  static readonly JOIN_TOKEN = 'join-token-1';
  static readonly AGENT_TOKEN = 'agent-token-1';
  static readonly NODE_ID = 'node-1';

  readonly joins: JoinRequest[] = [];
  readonly polls: { after: number; at: number; authorized: boolean }[] = [];
  readonly reports: NodeReport[] = [];
  /** Report bodies that did not parse as a NodeReport, with the problems. */
  readonly badReports: { body: unknown; problems: string[] }[] = [];
  /** Statuses the next polls answer with, first to last. */
  readonly failPolls: number[] = [];
  private desired: unknown;
  private held: HeldPoll[] = [];
  private server: Server | undefined;
  private joinUsed = false;
  port = 0;

  constructor(private readonly holdMs = 200) {}

  /** Base URL once listening. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Listens on the given port (0 = any free one the first time, the same one after a close). */
  async listen(port = this.port): Promise<string> {
    const server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((ok, fail) => {
      server.once('error', fail);
      server.listen(port, '127.0.0.1', () => ok());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this.url;
  }

  /** Goes away like a crashed control plane: held polls and open connections are cut. */
  async close(): Promise<void> {
    for (const h of this.held) clearTimeout(h.timer);
    this.held = [];
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((ok) => s.close(() => ok()));
  }

  /** Sets the node's desired state (any JSON, to test invalid bodies too) and answers waiting polls. */
  publish(desired: unknown): void {
    this.desired = desired;
    const v = readVersion(desired) ?? 0;
    const still: HeldPoll[] = [];
    for (const h of this.held) {
      if (v > h.after) {
        clearTimeout(h.timer);
        this.send(h.res, 200, desired);
      } else still.push(h);
    }
    this.held = still;
  }

  /** Waits until `check` holds, polling every 10 ms; fails after `ms`. */
  async until(what: string, check: () => boolean, ms = 5_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  private send(res: ServerResponse, status: number, body?: unknown): void {
    if (body === undefined) res.writeHead(status).end();
    else res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://x');
    const authorized = req.headers.authorization === `Bearer ${TestControlPlane.AGENT_TOKEN}`;
    if (req.method === 'POST' && url.pathname === '/api/agent/join') {
      const r = JoinRequest.safeParse(JSON.parse(text));
      if (!r.success || r.data.joinToken !== TestControlPlane.JOIN_TOKEN || this.joinUsed)
        return this.send(res, 401, { error: { code: 'TP_API_UNAUTHORIZED', message: 'bad join token' } });
      this.joinUsed = true;
      this.joins.push(r.data);
      return this.send(res, 201, {
        nodeId: TestControlPlane.NODE_ID,
        agentToken: TestControlPlane.AGENT_TOKEN,
      });
    }
    if (req.method === 'GET' && url.pathname === '/api/agent/desired') {
      const after = Number(url.searchParams.get('after'));
      this.polls.push({ after, at: Date.now(), authorized });
      const fail = this.failPolls.shift();
      if (fail !== undefined)
        return this.send(res, fail, { error: { code: 'TP_TEST', message: 'told to fail' } });
      if (!authorized) return this.send(res, 401);
      if ((readVersion(this.desired) ?? 0) > after) return this.send(res, 200, this.desired);
      const timer = setTimeout(() => {
        this.held = this.held.filter((h) => h.res !== res);
        this.send(res, 204);
      }, this.holdMs);
      this.held.push({ after, res, timer });
      return;
    }
    if (req.method === 'POST' && url.pathname === '/api/agent/report') {
      if (!authorized) return this.send(res, 401);
      const body = JSON.parse(text) as unknown;
      const r = NodeReport.safeParse(body);
      if (r.success) this.reports.push(r.data);
      else
        this.badReports.push({
          body,
          problems: r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`),
        });
      return this.send(res, r.success ? 204 : 400);
    }
    this.send(res, 404);
  }
}
