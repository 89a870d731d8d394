import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import type { StateError } from './errors.ts';
import { type OpenStateOptions, openState, redactUrl, resolveDatabase } from './state.ts';
import { DIALECTS, raceNodes, useTestDatabases } from './testing.ts';

const dbs = useTestDatabases();

// Runs statements on a database behind the state store's back; returns the last one's rows.
async function rawSql(opts: OpenStateOptions, statements: string[]): Promise<unknown[]> {
  if (opts.databaseUrl) {
    const client = new pg.Client(opts.databaseUrl);
    await client.connect();
    try {
      let rows: unknown[] = [];
      for (const s of statements) rows = (await client.query(s)).rows;
      return rows;
    } finally {
      await client.end();
    }
  }
  mkdirSync(opts.dataDir, { recursive: true });
  const db = new SQLite(join(opts.dataDir, 'control.sqlite'));
  try {
    let rows: unknown[] = [];
    for (const s of statements) {
      const stmt = db.prepare(s);
      if (stmt.reader) rows = stmt.all();
      else stmt.run();
    }
    return rows;
  } finally {
    db.close();
  }
}

describe('resolveDatabase', () => {
  test('uses control.sqlite in the data directory when no URL is given', () => {
    assert.deepEqual(resolveDatabase({ dataDir: '/var/lib/triplane' }), {
      dialect: 'sqlite',
      path: '/var/lib/triplane/control.sqlite',
    });
  });

  test('uses PostgreSQL for postgres:// and postgresql:// URLs', () => {
    for (const url of ['postgres://u:p@db/triplane', 'postgresql://db/triplane']) {
      assert.deepEqual(resolveDatabase({ databaseUrl: url, dataDir: '/d' }), { dialect: 'postgres', url });
    }
  });

  test('fails with STATE_BAD_URL naming the URL, its password hidden', () => {
    for (const url of ['mysql://root:hunter2@db/x', '', 'sqlite:/tmp/x']) {
      assert.throws(
        () => resolveDatabase({ databaseUrl: url, dataDir: '/d' }),
        (e: StateError) => {
          assert.equal(e.code, 'STATE_BAD_URL');
          assert.match(e.message, /^databaseUrl: expected a postgres:\/\/ or postgresql:\/\/ URL/);
          assert.ok(!e.message.includes('hunter2'), e.message);
          return true;
        },
      );
    }
  });

  test('redactUrl hides the password and keeps the rest', () => {
    assert.equal(redactUrl('postgres://app:s3cret@db:5432/tp'), 'postgres://app:***@db:5432/tp');
    assert.equal(redactUrl('postgres://db/tp'), 'postgres://db/tp');
  });
});

describe('openState', () => {
  test('fails with STATE_UNAVAILABLE when PostgreSQL cannot be reached, without the password', async () => {
    // Nothing listens on a socket in a directory that does not exist.
    const url = 'postgresql://app:s3cret@localhost/tp?host=%2Fnonexistent-triplane-dir';
    await assert.rejects(openState({ databaseUrl: url, dataDir: '/unused' }), (e: StateError) => {
      assert.equal(e.code, 'STATE_UNAVAILABLE');
      assert.match(e.message, /^cannot connect to postgresql:\/\/app:\*\*\*@localhost/);
      return true;
    });
  });

  test('fails with STATE_UNAVAILABLE when the SQLite file cannot be created', async () => {
    const opts = await dbs.fresh('sqlite');
    writeFileSync(opts.dataDir, 'not a directory');
    await assert.rejects(openState(opts), (e: StateError) => {
      assert.equal(e.code, 'STATE_UNAVAILABLE');
      assert.match(e.message, /^cannot open .*control\.sqlite: /);
      return true;
    });
  });

  test('opens SQLite in WAL mode with foreign keys enforced, and creates the data directory', async () => {
    const opts = await dbs.fresh('sqlite');
    const state = await dbs.openWith({ ...opts, dataDir: join(opts.dataDir, 'nested') });
    const file = new SQLite(join(opts.dataDir, 'nested', 'control.sqlite'));
    try {
      assert.equal(file.pragma('journal_mode', { simple: true }), 'wal');
    } finally {
      file.close();
    }
    // A foreign key violation is reported, so the pragma is on for the State's own connection.
    await assert.rejects(state.environments.create('nope', 'production'), { code: 'STATE_NOT_FOUND' });
  });
});

for (const dialect of DIALECTS) {
  describe(`state on ${dialect}`, () => {
    test('fails with STATE_MIGRATION naming the migration, and leaves no half-built schema', async () => {
      const opts = await dbs.fresh(dialect);
      // GIVEN a database where a table of the first migration already exists, unlike ours.
      await rawSql(opts, ['create table nodes (unrelated integer)']);
      // WHEN the state is opened THEN the migration fails as a whole.
      await assert.rejects(dbs.openWith(opts), (e: StateError) => {
        assert.equal(e.code, 'STATE_MIGRATION');
        assert.match(e.message, /^migration 0001_initial failed: .*nodes.* already exists/);
        return true;
      });
      const tables = await rawSql(opts, [
        dialect === 'sqlite'
          ? "select name from sqlite_master where type = 'table' and name = 'stores'"
          : "select tablename as name from pg_tables where tablename = 'stores'",
      ]);
      assert.deepEqual(tables, [], 'the tables created before the failure were rolled back');
    });

    test('reopening an up-to-date database runs no migration and keeps the data', async () => {
      const opts = await dbs.fresh(dialect);
      const first = await dbs.openWith(opts);
      await first.stores.create({ id: 'demo', displayName: 'Demo' });
      await first.close();
      const second = await dbs.openWith(opts);
      assert.equal((await second.stores.get('demo'))?.displayName, 'Demo');
    });

    test('two control nodes opening a new database at once both end up migrated', async () => {
      const opts = await dbs.fresh(dialect);
      assert.deepEqual(await raceNodes(opts, [{ kind: 'open' }, { kind: 'open' }]), ['opened', 'opened']);
      const state = await dbs.openWith(opts);
      await state.stores.create({ id: 'one', displayName: 'One' });
      assert.deepEqual(
        (await state.stores.list()).map((s) => s.id),
        ['one'],
      );
    });

    test('a transaction commits a mutation and its audit event together', async () => {
      const state = await dbs.open(dialect);
      await state.transaction(async (tx) => {
        const store = await tx.stores.create({ id: 'demo', displayName: 'Demo' });
        await tx.audit.record({
          actor: 'alice',
          action: 'store.create',
          resourceType: 'store',
          resourceId: store.id,
          storeId: store.id,
          after: { id: store.id },
        });
      });
      assert.equal((await state.stores.list()).length, 1);
      assert.deepEqual(
        (await state.audit.list()).map((e) => [e.action, e.resourceId]),
        [['store.create', 'demo']],
      );
    });

    test('a transaction whose callback throws leaves nothing behind and rethrows the error', async () => {
      const state = await dbs.open(dialect);
      const boom = new Error('boom');
      await assert.rejects(
        state.transaction(async (tx) => {
          await tx.stores.create({ id: 'demo', displayName: 'Demo' });
          await tx.audit.record({
            actor: 'a',
            action: 'store.create',
            resourceType: 'store',
            resourceId: 'demo',
          });
          throw boom;
        }),
        (e) => e === boom,
      );
      assert.deepEqual(await state.stores.list(), []);
      assert.deepEqual(await state.audit.list(), []);
    });

    test('a failing repository call rolls back the earlier writes of its transaction', async () => {
      const state = await dbs.open(dialect);
      await state.stores.create({ id: 'demo', displayName: 'Demo' });
      await assert.rejects(
        state.transaction(async (tx) => {
          await tx.stores.create({ id: 'other', displayName: 'Other' });
          await tx.stores.create({ id: 'demo', displayName: 'Again' });
        }),
        { code: 'STATE_CONFLICT' },
      );
      assert.deepEqual(
        (await state.stores.list()).map((s) => s.id),
        ['demo'],
      );
    });

    test('fails with STATE_NESTED_TRANSACTION when the State itself is used inside its transaction', async () => {
      const state = await dbs.open(dialect);
      await assert.rejects(
        state.transaction(async () => {
          await state.stores.list();
        }),
        { code: 'STATE_NESTED_TRANSACTION' },
      );
      await assert.rejects(
        state.transaction(() => state.transaction(async () => 1)),
        { code: 'STATE_NESTED_TRANSACTION' },
      );
      // The guard ends with the transaction: the State works again afterwards.
      assert.deepEqual(await state.stores.list(), []);
    });

    test('close can be called twice', async () => {
      const state = await dbs.open(dialect);
      await state.close();
      await state.close();
    });
  });
}
