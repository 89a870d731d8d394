import {
  CompiledQuery,
  type DatabaseConnection,
  type DialectAdapter,
  type Driver,
  SqliteAdapter,
  SqliteDialect,
  type SqliteDialectConfig,
  SqliteDriver,
} from 'kysely';

// Kysely's SQLite driver begins transactions with a plain (deferred) BEGIN: a transaction that reads
// before it writes then fails with SQLITE_BUSY when another connection wrote in between, whatever the
// busy_timeout. BEGIN IMMEDIATE takes the write lock up front, waiting up to busy_timeout for it, so
// read-then-write transactions (version counters, migrations) are serialised instead of failing.
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

// SQLite does run DDL in transactions, but Kysely's adapter says it does not, so its Migrator would
// run migrations outside any transaction: a failed migration would leave half a schema, and two
// processes opening a new database would both create the tables.
class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

/** Kysely's SQLite dialect with immediate transactions and transactional migrations. */
export class ImmediateSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;
  constructor(config: SqliteDialectConfig) {
    super(config);
    this.#config = config;
  }
  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config);
  }
  override createAdapter(): DialectAdapter {
    return new TransactionalDdlSqliteAdapter();
  }
}
