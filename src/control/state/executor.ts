import { AsyncLocalStorage } from 'node:async_hooks';
import type { Kysely } from 'kysely';
import { StateError } from './errors.ts';
import type { Database } from './schema.ts';

/** The two databases the state store runs on. */
export type DialectName = 'sqlite' | 'postgres';

interface OpenTransaction {
  readonly owner: object;
  open: boolean;
}

// Marks the async context of a running transaction, so that a repository of the same State used
// outside `tx` is caught: on SQLite it would wait forever for the connection the transaction holds,
// on PostgreSQL it would quietly run outside the transaction.
const current = new AsyncLocalStorage<OpenTransaction>();

/**
 * Where repositories run their queries: the database or one open transaction, with its dialect and
 * clock. Repositories never begin transactions themselves; they ask `atomic`, which joins the caller's
 * transaction when there is one.
 */
export class Executor {
  readonly #db: Kysely<Database>;
  readonly #owner: object;
  readonly #inTransaction: boolean;

  constructor(
    db: Kysely<Database>,
    readonly dialect: DialectName,
    readonly clock: () => number,
    owner: object = {},
    inTransaction = false,
  ) {
    this.#db = db;
    this.#owner = owner;
    this.#inTransaction = inTransaction;
  }

  /** The query builder; refuses to be used outside a transaction this State is running right now. */
  get db(): Kysely<Database> {
    const tx = current.getStore();
    if (!this.#inTransaction && tx?.owner === this.#owner && tx.open) {
      throw new StateError(
        'STATE_NESTED_TRANSACTION',
        'state used inside its own transaction: use the repositories of the `tx` argument',
      );
    }
    return this.#db;
  }

  /** Whether row locks (`FOR UPDATE`) are needed: PostgreSQL locks rows, SQLite the whole database. */
  get locksRows(): boolean {
    return this.dialect === 'postgres';
  }

  /** Runs `fn` in the current transaction, or in a new one when there is none. */
  atomic<T>(fn: (db: Kysely<Database>) => Promise<T>): Promise<T> {
    if (this.#inTransaction) return fn(this.#db);
    return this.transaction((x) => fn(x.#db));
  }

  /**
   * Runs `fn` in a new transaction and commits it, or rolls back and rethrows. SQLite transactions
   * begin IMMEDIATE (see sqlite.ts); PostgreSQL runs READ COMMITTED and repositories lock the rows they
   * read-then-write with FOR UPDATE.
   */
  async transaction<T>(fn: (x: Executor) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(async (trx) => {
      const marker: OpenTransaction = { owner: this.#owner, open: true };
      try {
        return await current.run(marker, () =>
          fn(new Executor(trx, this.dialect, this.clock, this.#owner, true)),
        );
      } finally {
        marker.open = false;
      }
    });
  }
}
