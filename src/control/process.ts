import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { bootstrapAdmin, buildApi, ReadBudget, type ReadBudgetOptions } from './api/index.ts';
import { Supervised } from './children.ts';
import { fleetRoutes, LongPollHub, Reconciler, SnapshotBuilder } from './fleet/index.ts';
import { jobsCommand } from './jobs/index.ts';
import { controlLayout } from './layout.ts';
import { opsRoutes } from './ops/routes.ts';
import { HttpPurger } from './purger.ts';
import { AnalyticsReader, analyticsRoutes, readerCommand } from './reads/index.ts';
import { openState, type State } from './state/index.ts';

function writeSecret(file: string, value: string): void {
  writeFileSync(file, `${value}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
}

/** The edge token in the data directory, created on first use. */
export function edgeToken(dataDir: string): string {
  const l = controlLayout(dataDir);
  mkdirSync(l.dir, { recursive: true, mode: 0o700 });
  if (!existsSync(l.edgeToken)) writeSecret(l.edgeToken, randomBytes(32).toString('base64url'));
  return readFileSync(l.edgeToken, 'utf8').trim();
}

/**
 * `triplane control init`: opens (and migrates) the state and writes a first admin token to
 * `<dataDir>/control/admin-token` if there is none yet. Returns the file and whether it was created.
 */
export async function initControl(o: {
  dataDir: string;
  databaseUrl?: string;
}): Promise<{ file: string; created: boolean }> {
  const l = controlLayout(o.dataDir);
  mkdirSync(l.dir, { recursive: true, mode: 0o700 });
  // The edges this machine starts need the edge token before the control plane first runs.
  edgeToken(o.dataDir);
  if (existsSync(l.adminToken)) return { file: l.adminToken, created: false };
  const state = await openState({ dataDir: l.dir, databaseUrl: o.databaseUrl });
  try {
    writeSecret(l.adminToken, await bootstrapAdmin(state, 'admin'));
  } finally {
    await state.close();
  }
  return { file: l.adminToken, created: true };
}

/** What `triplane control` runs with. */
export interface ControlOptions {
  readonly dataDir: string;
  /** PostgreSQL URL; unset: SQLite under `<dataDir>/control`. */
  readonly databaseUrl?: string;
  readonly host: string;
  readonly port: number;
  /** Admin endpoints (`http://127.0.0.1:8081`) of the edges that purges go to. */
  readonly edgeAdmin: readonly string[];
  readonly log: Logger;
  /**
   * How to start the jobs process and the analytics reader: the Node.js command and the CLI entry.
   * Null: neither (tests of the API alone); analytics reads are then answered in the API process.
   */
  readonly children: { node: readonly string[]; entry: string } | null;
  /** Hold of long polls. @default 25_000 */
  readonly holdMs?: number;
  /** How much of a core the analytics reads may take (`ReadBudget`). @default ReadBudgetOptions' defaults */
  readonly analytics?: ReadBudgetOptions;
}

/**
 * The control plane process: the API (people, agents, edges) on one port, the reconciler and the
 * snapshot builder beside it; the jobs and the analytics reads in processes of their own at the idle
 * priority, so their work never shares a CPU slot with answering agents and edges, nor takes one
 * from the storefront.
 */
export class ControlPlane {
  private state: State | undefined;
  private app: FastifyInstance | undefined;
  private reconciler: Reconciler | undefined;
  private snapshots: SnapshotBuilder | undefined;
  private jobs: Supervised | undefined;
  private reader: AnalyticsReader | undefined;

  constructor(private readonly o: ControlOptions) {}

  /** The address the API listens on, once started. */
  get url(): string {
    const a = this.app?.server.address();
    return a && typeof a === 'object' ? `http://${this.o.host}:${a.port}` : '';
  }

  /** Opens the state, starts the analytics reader and the background parts, listens, starts the jobs process. */
  async start(): Promise<void> {
    const l = controlLayout(this.o.dataDir);
    mkdirSync(l.dir, { recursive: true, mode: 0o700 });
    const log = this.o.log;
    const state = await openState({ dataDir: l.dir, databaseUrl: this.o.databaseUrl });
    this.state = state;
    const hub = new LongPollHub();
    const onError = (what: string) => (err: unknown) => log.error({ err }, `${what} failed`);
    const reconciler = new Reconciler({ state, hub, onError: onError('reconciler pass') });
    const snapshots = new SnapshotBuilder({ state, hub, onError: onError('snapshot build') });
    this.reconciler = reconciler;
    this.snapshots = snapshots;
    const children = this.o.children;
    const options = { dataDir: this.o.dataDir, databaseUrl: this.o.databaseUrl };
    if (children) {
      this.jobs = new Supervised({
        name: 'jobs process',
        argv: jobsCommand({ ...children, ...options }),
        log,
      });
      this.reader = new AnalyticsReader({
        argv: readerCommand({ ...children, ...options }),
        routes: new Set(analyticsRoutes(state).keys()),
        log,
      });
      // Started first: a read that comes before it is ready waits for it.
      this.reader.start();
    }
    const app = buildApi({
      state,
      log,
      purger: new HttpPurger(state, this.o.edgeAdmin),
      readBudget: new ReadBudget(this.o.analytics),
      answerer: this.reader,
      plugins: [
        fleetRoutes({
          state,
          hub,
          reconciler,
          snapshots,
          edgeToken: edgeToken(this.o.dataDir),
          holdMs: this.o.holdMs,
        }),
        opsRoutes(state),
      ],
    });
    // A change through the API reaches agents and edges now, not at the next timer pass: a
    // rate-limit change must be enforced within seconds.
    app.addHook('onResponse', async (request, reply) => {
      if (request.method !== 'GET' && reply.statusCode < 400 && request.url.startsWith('/api/stores')) {
        reconciler.onChange();
        snapshots.onChange();
      }
    });
    this.app = app;
    reconciler.start();
    snapshots.start();
    await app.listen({ host: this.o.host, port: this.o.port });
    writeFileSync(l.pid, `${process.pid}\n`);
    this.jobs?.start();
    log.info({ url: this.url }, 'control plane listening');
  }

  /** Answers held polls, stops the background parts and the child processes, closes the state. */
  async stop(): Promise<void> {
    const children = Promise.all([this.jobs?.stop(), this.reader?.stop()]);
    await this.app?.close();
    await this.reconciler?.stop();
    await this.snapshots?.stop();
    await children;
    await this.state?.close();
    const pid = controlLayout(this.o.dataDir).pid;
    if (existsSync(pid) && Number(readFileSync(pid, 'utf8')) === process.pid) unlinkSync(pid);
  }
}
