import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { StackSpec } from '../../contracts/stack.ts';
import { validateStack } from '../../contracts/validate.ts';
import type { DialectName } from './executor.ts';
import { type OpenStateOptions, openState, type State } from './state.ts';
import type { NodeArgs, NodeTask } from './testing-node.ts';
import { startPostgres, type TestPostgres } from './testing-postgres.ts';

// Test helper: every repository test runs once per database, each test on a fresh empty database.

/** Both databases, in the order tests run on them. */
export const DIALECTS: readonly DialectName[] = ['sqlite', 'postgres'];

/** A clock tests move by hand. */
export interface ManualClock {
  (): number;
  advance(ms: number): void;
}

/** A clock that stands still at `start` until advanced. */
export function manualClock(start = Date.UTC(2025, 0, 1)): ManualClock {
  let now = start;
  return Object.assign(() => now, {
    advance(ms: number) {
      now += ms;
    },
  });
}

/** Fresh databases for the tests of one file. */
export interface TestDatabases {
  /** Options for a new empty database; open it several times to play several control nodes. */
  fresh(dialect: DialectName): Promise<OpenStateOptions>;
  /** Opens a State on a new empty database; it is closed after the test. */
  open(dialect: DialectName, opts?: { clock?: () => number }): Promise<State>;
  /** Opens a State with these options; it is closed after the test. */
  openWith(opts: OpenStateOptions): Promise<State>;
}

/**
 * Registers this file's hooks: one PostgreSQL cluster for the file (started before its tests,
 * stopped after) and one temporary directory for its SQLite files. Call it at the top level.
 */
export function useTestDatabases(): TestDatabases {
  let cluster: TestPostgres | undefined;
  let root = '';
  let counter = 0;
  const opened: State[] = [];

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'triplane-state-'));
    cluster = await startPostgres();
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
  });
  after(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
    await cluster?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  const fresh = async (dialect: DialectName): Promise<OpenStateOptions> => {
    counter += 1;
    const dataDir = join(root, `db${counter}`);
    if (dialect === 'sqlite') return { dataDir };
    const admin = new pg.Client(cluster!.url);
    await admin.connect();
    try {
      await admin.query(`create database db${counter}`);
    } finally {
      await admin.end();
    }
    return { dataDir, databaseUrl: cluster!.url.replace('/postgres?', `/db${counter}?`) };
  };
  const openWith = async (opts: OpenStateOptions): Promise<State> => {
    const state = await openState(opts);
    opened.push(state);
    return state;
  };
  return {
    fresh,
    openWith,
    open: async (dialect, opts = {}) => openWith({ ...(await fresh(dialect)), ...opts }),
  };
}

const REPO = fileURLToPath(new URL('../../..', import.meta.url));
const NODE_SCRIPT = fileURLToPath(new URL('./testing-node.ts', import.meta.url));

/**
 * Runs one child process per task against the database of `opts` and returns their results in task
 * order. The tasks start together: each node opens the state, then all are released at once.
 */
export async function raceNodes(opts: OpenStateOptions, tasks: readonly NodeTask[]): Promise<unknown[]> {
  const children = tasks.map((task) => {
    const args: NodeArgs = { databaseUrl: opts.databaseUrl, dataDir: opts.dataDir, task };
    const child = spawn(process.execPath, ['--import', 'tsx', NODE_SCRIPT, JSON.stringify(args)], {
      cwd: REPO,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const ready = new Promise<void>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        if (stdout.startsWith('ready\n')) resolve();
      });
    });
    const exited = new Promise<unknown>((resolve, reject) => {
      child.on('close', (code) => {
        const last = stdout.trim().split('\n').pop() ?? '';
        if (code === 0) resolve(JSON.parse(last));
        else reject(new Error(`node ${JSON.stringify(task)} exited ${code}: ${stderr.slice(-2000)}`));
      });
    });
    return { child, ready, exited };
  });
  // A node that dies before it is ready fails the test instead of leaving the others waiting.
  const early = children.map((c) =>
    c.exited.then(() => {
      throw new Error('node exited before it was ready');
    }),
  );
  try {
    await Promise.race([Promise.all(children.map((c) => c.ready)), ...early]);
  } catch (e) {
    for (const c of children) c.child.kill();
    throw e;
  }
  for (const c of children) c.child.stdin.end('go\n');
  return Promise.all(children.map((c) => c.exited));
}

/** A valid stack spec for store `name`, defaults filled in; `replicas` tells versions apart. */
export function testSpec(name: string, replicas = 1): StackSpec {
  const r = validateStack({ name, app: { replicas: { min: replicas, max: replicas + 1 } } });
  if (!r.ok) throw new Error(`test spec is invalid: ${JSON.stringify(r.problems)}`);
  return r.spec;
}
