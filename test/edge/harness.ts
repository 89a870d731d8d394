import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EdgeSnapshotInput } from '../../src/contracts/snapshot.ts';
import { ROOT } from '../helpers.ts';

/** Where the kernel picks ports for outgoing connections and `listen(0)`; ports below it are never picked. */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 11_000 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

const handedOut = new Set<number>();

/**
 * A free loopback port for a process the test starts, chosen below the ephemeral range: a port taken
 * from that range and released can be taken by any outgoing connection before the process binds it
 * (CI saw the edge fail with EADDRINUSE while the differential test's clients were connecting).
 */
export async function freePort(): Promise<number> {
  const low = 10_000;
  const high = ephemeralLow() - 1;
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low + 1));
    if (handedOut.has(port)) continue;
    if (await bindable(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free loopback port between ${low} and ${high} after 100 tries`);
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createNetServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** A real HTTP server standing in for a store's Varnish: counts requests, answers what a test says. */
export class Upstream {
  server: Server | undefined;
  port = 0;
  requests: IncomingMessage[] = [];
  private readonly sockets = new Set<import('node:net').Socket>();
  handler: (req: IncomingMessage, res: ServerResponse) => void = (req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'x-upstream': String(this.port) });
    res.end(`hello from ${this.port} ${req.method} ${req.url}\n`);
  };

  async start(port = 0): Promise<this> {
    this.server = createHttpServer((req, res) => {
      this.requests.push(req);
      this.handler(req, res);
    });
    this.server.keepAliveTimeout = 30_000;
    // Upgraded (WebSocket) sockets leave the HTTP server's books, so kill() tracks every socket itself.
    this.server.on('connection', (sock) => {
      this.sockets.add(sock);
      sock.once('close', () => this.sockets.delete(sock));
    });
    await new Promise<void>((r) => this.server!.listen(port, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  /** Closes the listener and every open connection at once, like a crashed process. */
  async kill(): Promise<void> {
    const s = this.server;
    if (!s) return;
    this.server = undefined;
    const closed = new Promise<void>((r) => s.close(() => r()));
    for (const sock of this.sockets) sock.destroy();
    await closed;
  }
}

/** A snapshot with one store `shop` on `shop.localhost` balanced over `ports`. */
export function shopSnapshot(
  version: number,
  ports: number[],
  policy: Record<string, unknown> = {},
): EdgeSnapshotInput {
  return {
    version,
    routes: [{ id: 'shop', store: 'shop', hosts: ['shop.localhost'], pool: 'shop-pool' }],
    pools: [
      {
        id: 'shop-pool',
        members: ports.map((port) => ({ host: '127.0.0.1', port })),
        healthCheck: { path: '/health', intervalMs: 200, timeoutMs: 500, unhealthyAfter: 1, healthyAfter: 1 },
        passiveFailures: 1,
      },
    ],
    policies: [{ store: 'shop', ...policy }],
  };
}

/** A running `triplane edge` process on free loopback ports, with its own data directory. */
export class EdgeProcess {
  child: ChildProcess | undefined;
  http = 0;
  https = 0;
  metricsPort = 0;
  readonly dataDir: string;
  output = '';

  constructor(
    readonly args: string[],
    dataDir?: string,
  ) {
    this.dataDir = dataDir ?? mkdtempSync(join(tmpdir(), 'tp-edge-'));
  }

  /** Starts the edge and waits until /readyz answers 200 (or `/healthz` when `ready` is false). */
  async start(opts: { ready?: boolean; workers?: number } = {}): Promise<this> {
    this.http ||= await freePort();
    this.https ||= await freePort();
    this.metricsPort ||= await freePort();
    this.child = spawn(
      `${ROOT}triplane`,
      [
        'edge',
        ...this.args,
        '--data-dir',
        this.dataDir,
        '--http',
        `127.0.0.1:${this.http}`,
        '--https',
        `127.0.0.1:${this.https}`,
        '--metrics',
        `127.0.0.1:${this.metricsPort}`,
        '--workers',
        String(opts.workers ?? 2),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child.stdout!.on('data', (d) => {
      this.output += d;
    });
    this.child.stderr!.on('data', (d) => {
      this.output += d;
    });
    const path = opts.ready === false ? '/healthz' : '/readyz';
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      try {
        const r = await fetch(`http://127.0.0.1:${this.metricsPort}${path}`);
        if (r.status === 200) return this;
      } catch {
        // Not listening yet.
      }
      if (this.child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`edge did not become ready:\n${this.output}`);
  }

  /** Prometheus text of /metrics. */
  async metrics(): Promise<string> {
    return (await fetch(`http://127.0.0.1:${this.metricsPort}/metrics`)).text();
  }

  /** Sum of a metric's samples whose labels include `labels` (e.g. `{state="dropped"}`); 0 when absent. */
  async metric(name: string, labels = ''): Promise<number> {
    const text = await this.metrics();
    let sum = 0;
    for (const line of text.split('\n')) {
      if (!line.startsWith(name)) continue;
      const rest = line.slice(name.length);
      // No labels asked: the sum over every series of the metric.
      const wanted = labels
        ? rest.startsWith('{') && labelsMatch(rest, labels)
        : rest.startsWith(' ') || rest.startsWith('{');
      if (wanted) {
        sum += Number(rest.split(' ').at(-1));
      }
    }
    return sum;
  }

  /** Stops the edge (SIGTERM, then SIGKILL). */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill(signal);
    const t = setTimeout(() => c.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(t);
  }

  /** Removes the data directory; keeps the edge's output for a look when TRIPLANE_TEST_KEEP is set. */
  cleanup(): void {
    if (process.env.TRIPLANE_TEST_KEEP) writeFileSync(join(this.dataDir, 'edge-output.log'), this.output);
    else rmSync(this.dataDir, { recursive: true, force: true });
  }
}

function labelsMatch(rest: string, want: string): boolean {
  const have = rest.slice(1, rest.indexOf('}')).split(',');
  return want
    .slice(1, -1)
    .split(',')
    .every((kv) => have.includes(kv));
}

/** Writes a snapshot file the way editors and `up` do: a temporary file renamed over the old one. */
export function writeSnapshot(file: string, snapshot: unknown): void {
  writeFileSync(`${file}.tmp`, JSON.stringify(snapshot));
  renameSync(`${file}.tmp`, file);
}

/** GET through the edge with a Host header, returning status, headers and body. */
export async function get(
  port: number,
  path: string,
  host = 'shop.localhost',
  headers: Record<string, string> = {},
) {
  const { request } = await import('undici');
  const r = await request(`http://127.0.0.1:${port}${path}`, { headers: { host, ...headers } });
  const body = await r.body.text();
  return { status: r.statusCode, headers: r.headers, body };
}

/**
 * Runs GETs of `/load` for `host` on 8 connections for `ms`, with `during` (which does its own
 * waiting) running meanwhile; returns how many succeeded and every failure.
 */
export async function load(
  port: number,
  ms: number,
  during?: (served: () => number) => Promise<void>,
  host = 'shop.localhost',
) {
  const { Agent, request } = await import('undici');
  const agent = new Agent({ connections: 8 });
  let ok = 0;
  const failures: string[] = [];
  let deadline = Date.now() + ms;
  const one = async () => {
    while (Date.now() < deadline) {
      try {
        const r = await request(`http://127.0.0.1:${port}/load`, { headers: { host }, dispatcher: agent });
        await r.body.dump();
        if (r.statusCode === 200) ok++;
        else failures.push(`HTTP ${r.statusCode} ${r.headers['x-request-id'] ?? ''}`);
      } catch (e) {
        failures.push((e as Error).message);
      }
    }
  };
  const runs = Promise.all(Array.from({ length: 8 }, one));
  if (during) {
    await during(() => ok);
    // A `during` that waited on a slow machine still leaves a second of load after it.
    deadline = Math.max(deadline, Date.now() + 1000);
  }
  const okByThen = ok;
  await runs;
  await agent.close();
  /** `okAfter`: answered with 200 after `during` had finished. */
  return { ok, failures, okAfter: ok - okByThen };
}

/** Resolves once `f` holds, checking every 100 ms; fails naming `what` after `ms`. */
export async function until(what: string, f: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() >= deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
