import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { AccessLogsRepository } from './access-logs.ts';
import { AuditRepository, StoreEventsRepository } from './audit.ts';
import { BackupsRepository, MaintenanceRepository } from './backups.ts';
import { CertificatesRepository, DomainsRepository } from './domains.ts';
import { StateError } from './errors.ts';
import { type DialectName, Executor } from './executor.ts';
import { JobsRepository } from './jobs.ts';
import { migrationProvider } from './migrations.ts';
import { JoinTokensRepository, NodesRepository } from './nodes.ts';
import { PoliciesRepository } from './policies.ts';
import type { Database } from './schema.ts';
import { EdgeAcksRepository, SnapshotsRepository } from './snapshots.ts';
import { ImmediateSqliteDialect } from './sqlite.ts';
import { StacksRepository } from './stacks.ts';
import { EnvironmentsRepository, StoresRepository } from './stores.ts';
import { UsersRepository } from './users.ts';

/** Where the state lives, and how it is opened. */
export interface OpenStateOptions {
  /** A `postgres://` or `postgresql://` URL; unset means SQLite in `dataDir`. */
  readonly databaseUrl?: string;
  /** Directory of `control.sqlite` (created when missing); unused with PostgreSQL. */
  readonly dataDir: string;
  /** Time source for every timestamp the repositories write. @default Date.now */
  readonly clock?: () => number;
  /**
   * Called with errors of idle PostgreSQL connections (the server dropped them); the pool replaces
   * them, so nothing else has to happen, but the caller may log and count them. @default ignored
   */
  readonly onIdleConnectionError?: (e: Error) => void;
}

/** The repositories; the same set is available inside a transaction. */
export interface Repositories {
  readonly stores: StoresRepository;
  readonly environments: EnvironmentsRepository;
  readonly stacks: StacksRepository;
  readonly joinTokens: JoinTokensRepository;
  readonly nodes: NodesRepository;
  readonly policies: PoliciesRepository;
  readonly domains: DomainsRepository;
  readonly certificates: CertificatesRepository;
  readonly users: UsersRepository;
  readonly audit: AuditRepository;
  readonly events: StoreEventsRepository;
  readonly snapshots: SnapshotsRepository;
  readonly edgeAcks: EdgeAcksRepository;
  readonly accessLogs: AccessLogsRepository;
  readonly jobs: JobsRepository;
  readonly backups: BackupsRepository;
  readonly maintenance: MaintenanceRepository;
}

/** The control plane's open state store. */
export interface State extends Repositories {
  readonly dialect: DialectName;
  /**
   * Runs `fn` in one transaction with repositories bound to it: a mutation and its audit event
   * commit together or not at all. Inside `fn` use only `tx`; the State's own repositories throw
   * STATE_NESTED_TRANSACTION there (on SQLite they would wait for the connection `fn` holds).
   */
  transaction<T>(fn: (tx: Repositories) => Promise<T>): Promise<T>;
  /** Closes the database connections; further calls do nothing. */
  close(): Promise<void>;
}

/** Which database `openState` will use. */
export type DatabaseTarget = { dialect: 'sqlite'; path: string } | { dialect: 'postgres'; url: string };

/** The URL with its password replaced by `***`, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@');
  }
}

/** Picks the database from the options; STATE_BAD_URL for a URL that is not PostgreSQL's. */
export function resolveDatabase(opts: Pick<OpenStateOptions, 'databaseUrl' | 'dataDir'>): DatabaseTarget {
  if (opts.databaseUrl === undefined)
    return { dialect: 'sqlite', path: join(opts.dataDir, 'control.sqlite') };
  if (!/^postgres(ql)?:\/\//.test(opts.databaseUrl)) {
    const shown = redactUrl(opts.databaseUrl);
    throw new StateError(
      'STATE_BAD_URL',
      `databaseUrl: expected a postgres:// or postgresql:// URL (or none, for SQLite), got ${JSON.stringify(shown)}`,
      { databaseUrl: shown },
    );
  }
  return { dialect: 'postgres', url: opts.databaseUrl };
}

function repositories(x: Executor): Repositories {
  return {
    stores: new StoresRepository(x),
    environments: new EnvironmentsRepository(x),
    stacks: new StacksRepository(x),
    joinTokens: new JoinTokensRepository(x),
    nodes: new NodesRepository(x),
    policies: new PoliciesRepository(x),
    domains: new DomainsRepository(x),
    certificates: new CertificatesRepository(x),
    users: new UsersRepository(x),
    audit: new AuditRepository(x),
    events: new StoreEventsRepository(x),
    snapshots: new SnapshotsRepository(x),
    edgeAcks: new EdgeAcksRepository(x),
    accessLogs: new AccessLogsRepository(x),
    jobs: new JobsRepository(x),
    backups: new BackupsRepository(x),
    maintenance: new MaintenanceRepository(x),
  };
}

const BUSY_TIMEOUT_MS = 5000;

// Switching a new file to WAL needs an exclusive lock and, unlike other statements, fails at once
// with SQLITE_BUSY (no busy handler) while another process opening the same new file holds a lock.
// It happens once per file, at open, so a short blocking retry is acceptable.
function enableWal(database: SQLite.Database, path: string): void {
  const deadline = Date.now() + BUSY_TIMEOUT_MS;
  for (;;) {
    try {
      const mode = database.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal') throw new Error(`journal_mode is ${mode}: the file system does not support WAL`);
      return;
    } catch (e) {
      if ((e as { code?: string }).code !== 'SQLITE_BUSY' || Date.now() > deadline) {
        throw new StateError(
          'STATE_UNAVAILABLE',
          `cannot enable WAL on ${path}: ${(e as Error).message}`,
          { path },
          e,
        );
      }
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  }
}

function openSqlite(path: string, dataDir: string): Kysely<Database> {
  let database: SQLite.Database | undefined;
  try {
    mkdirSync(dataDir, { recursive: true });
    database = new SQLite(path);
    // busy_timeout makes a second writer wait instead of failing; WAL lets readers run beside the
    // writer; SQLite leaves foreign keys off unless asked, per connection.
    database.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    enableWal(database, path);
    database.pragma('foreign_keys = ON');
    database.pragma('synchronous = NORMAL');
  } catch (e) {
    database?.close();
    if (e instanceof StateError) throw e;
    throw new StateError('STATE_UNAVAILABLE', `cannot open ${path}: ${(e as Error).message}`, { path }, e);
  }
  return new Kysely<Database>({ dialect: new ImmediateSqliteDialect({ database }) });
}

function openPostgres(url: string, onIdleError: (e: Error) => void): Kysely<Database> {
  // int8 (bigint) columns hold epoch milliseconds and counts, all far below 2^53: read them as
  // numbers, on this pool only, instead of pg's default strings.
  const types = new pg.TypeOverrides();
  types.setTypeParser(pg.types.builtins.INT8, (v: string) => Number(v));
  // A bounded connect timeout makes an unreachable server a STATE_UNAVAILABLE error, not a hang.
  const pool = new pg.Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 10_000, types });
  pool.on('error', onIdleError);
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}

async function migrate(db: Kysely<Database>): Promise<void> {
  const { error, results } = await new Migrator({ db, provider: migrationProvider }).migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? '(before any migration ran)';
    throw new StateError(
      'STATE_MIGRATION',
      `migration ${failed} failed: ${(error as Error).message}`,
      { migration: failed },
      error,
    );
  }
}

/**
 * Opens the state store (SQLite in `<dataDir>/control.sqlite`, or PostgreSQL for a postgres URL) and
 * brings its schema up to date. Fails with STATE_BAD_URL, STATE_UNAVAILABLE or STATE_MIGRATION, after
 * closing whatever it had opened.
 */
export async function openState(opts: OpenStateOptions): Promise<State> {
  const target = resolveDatabase(opts);
  const db =
    target.dialect === 'sqlite'
      ? openSqlite(target.path, opts.dataDir)
      : openPostgres(target.url, opts.onIdleConnectionError ?? (() => {}));
  try {
    await sql`select 1`.execute(db).catch((e: Error) => {
      const where = target.dialect === 'sqlite' ? target.path : redactUrl(target.url);
      throw new StateError(
        'STATE_UNAVAILABLE',
        `cannot connect to ${where}: ${e.message}`,
        { database: where },
        e,
      );
    });
    await migrate(db);
  } catch (e) {
    await db.destroy();
    throw e;
  }
  const root = new Executor(db, target.dialect, opts.clock ?? Date.now);
  let closing: Promise<void> | undefined;
  return {
    ...repositories(root),
    dialect: target.dialect,
    transaction: (fn) => root.transaction((x) => fn(repositories(x))),
    close: () => {
      closing ??= db.destroy();
      return closing;
    },
  };
}
