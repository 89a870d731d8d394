import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AccessLogRecord } from '../../contracts/snapshot.ts';
import { DIALECTS, manualClock, useTestDatabases } from './testing.ts';

const dbs = useTestDatabases();
const T0 = Date.UTC(2025, 0, 1);

function rec(second: number, over: Partial<AccessLogRecord> = {}): AccessLogRecord {
  return {
    time: new Date(T0 + second * 1000).toISOString(),
    store: 'demo',
    client: '192.0.2.1',
    method: 'GET',
    host: 'demo.localhost',
    path: '/',
    status: 200,
    bytesIn: 0,
    bytesOut: 512,
    durationMs: 3.5,
    upstreamMs: 2.25,
    cache: 'MISS',
    upstream: '127.0.0.1:9000',
    blockedBy: null,
    requestId: `r${second}`,
    ...over,
  };
}

const ids = (records: AccessLogRecord[]) => records.map((r) => r.requestId);

for (const dialect of DIALECTS) {
  describe(`access logs on ${dialect}`, () => {
    test('insertBatch keeps every field; query returns newest first', async () => {
      const state = await dbs.open(dialect);
      const records = [rec(1), rec(3, { store: null, blockedBy: 'ipdeny', status: 403 }), rec(2)];
      assert.equal(await state.accessLogs.insertBatch(records), 3);
      const back = await state.accessLogs.query();
      assert.deepEqual(ids(back), ['r3', 'r2', 'r1']);
      assert.deepEqual(back[0], records[1]);
      assert.equal(await state.accessLogs.insertBatch([]), 0);
    });

    test('query filters by store, time, status and path prefix, and limits', async () => {
      const state = await dbs.open(dialect);
      await state.accessLogs.insertBatch([
        rec(1, { path: '/checkout/cart' }),
        rec(2, { path: '/Checkout/x', status: 404 }),
        rec(3, { path: '/static/app.js', store: 'alpha' }),
        rec(4, { path: '/checkout%/odd' }),
        rec(5, { path: '/checkout/pay', status: 429 }),
      ]);
      assert.deepEqual(ids(await state.accessLogs.query({ store: 'alpha' })), ['r3']);
      assert.deepEqual(ids(await state.accessLogs.query({ since: T0 + 4000 })), ['r5', 'r4']);
      assert.deepEqual(ids(await state.accessLogs.query({ status: 429 })), ['r5']);
      // Case-sensitive, and % is no wildcard.
      assert.deepEqual(ids(await state.accessLogs.query({ pathPrefix: '/checkout/' })), ['r5', 'r1']);
      assert.deepEqual(ids(await state.accessLogs.query({ pathPrefix: '/checkout%' })), ['r4']);
      assert.deepEqual(
        ids(await state.accessLogs.query({ store: 'demo', pathPrefix: '/checkout', limit: 2 })),
        ['r5', 'r4'],
      );
      assert.deepEqual(ids(await state.accessLogs.query({ store: 'demo', since: T0 + 2000, status: 200 })), [
        'r4',
      ]);
    });

    test('a batch larger than one INSERT is stored whole', async () => {
      const state = await dbs.open(dialect);
      const batch = Array.from({ length: 1234 }, (_, i) => rec(i));
      assert.equal(await state.accessLogs.insertBatch(batch), 1234);
      assert.equal((await state.accessLogs.query({ limit: 10_000 })).length, 1234);
    });

    test('fails with STATE_INVALID naming every bad timestamp, and stores none of the batch', async () => {
      const state = await dbs.open(dialect);
      await assert.rejects(
        state.accessLogs.insertBatch([rec(1), rec(2, { time: 'yesterday' }), rec(3, { time: '' })]),
        {
          code: 'STATE_INVALID',
          message:
            'records[1].time: expected an ISO timestamp, got "yesterday"; records[2].time: expected an ISO timestamp, got ""',
        },
      );
      assert.deepEqual(await state.accessLogs.query(), []);
    });

    test('prune drops records older than maxAgeMs, then all but the newest maxRows', async () => {
      const clock = manualClock(T0 + 100_000);
      const state = await dbs.open(dialect, { clock });
      // Three records share second 50, so the row cut falls inside one millisecond.
      await state.accessLogs.insertBatch([
        rec(10),
        rec(20),
        rec(50, { requestId: 'a' }),
        rec(50, { requestId: 'b' }),
        rec(50, { requestId: 'c' }),
        rec(60),
        rec(70),
      ]);
      assert.equal(await state.accessLogs.prune({ maxRows: 1000, maxAgeMs: 85_000 }), 1);
      assert.deepEqual(ids(await state.accessLogs.query()), ['r70', 'r60', 'c', 'b', 'a', 'r20']);
      assert.equal(await state.accessLogs.prune({ maxRows: 3, maxAgeMs: 85_000 }), 3);
      assert.deepEqual(ids(await state.accessLogs.query()), ['r70', 'r60', 'c']);
      assert.equal(await state.accessLogs.prune({ maxRows: 3, maxAgeMs: 85_000 }), 0);
      assert.equal(await state.accessLogs.prune({ maxRows: 0, maxAgeMs: 85_000 }), 3);
      assert.deepEqual(await state.accessLogs.query(), []);
      await assert.rejects(state.accessLogs.prune({ maxRows: -1, maxAgeMs: 0 }), {
        code: 'STATE_INVALID',
        message: 'maxRows: expected a non-negative integer, got -1',
      });
    });
  });
}
