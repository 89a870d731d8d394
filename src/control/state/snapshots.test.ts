import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SnapshotContent } from './snapshots.ts';
import { DIALECTS, manualClock, raceNodes, useTestDatabases } from './testing.ts';

const dbs = useTestDatabases();

function content(port: number): SnapshotContent {
  return {
    routes: [{ id: 'demo', store: 'demo', hosts: ['demo.localhost'], pool: 'demo-app' }],
    pools: [{ id: 'demo-app', members: [{ host: '127.0.0.1', port }] }],
  };
}

for (const dialect of DIALECTS) {
  describe(`edge snapshots on ${dialect}`, () => {
    test('publish assigns versions 1, 2 … and fills in defaults', async () => {
      const clock = manualClock();
      const state = await dbs.open(dialect, { clock });
      assert.equal(await state.snapshots.latest(), null);
      const first = await state.snapshots.publish(content(9000));
      assert.equal(first.changed, true);
      assert.equal(first.snapshot.version, 1);
      assert.equal(first.snapshot.createdAt, new Date(clock()).toISOString());
      assert.equal(first.snapshot.routes[0]?.pathPrefix, '/');
      assert.equal(first.snapshot.settings.maxConnections, 10_000);
      const second = await state.snapshots.publish(content(9001));
      assert.equal(second.snapshot.version, 2);
      assert.deepEqual(await state.snapshots.latest(), second.snapshot);
      assert.deepEqual(await state.snapshots.get(1), first.snapshot);
      assert.equal(await state.snapshots.get(3), null);
    });

    test('publishing unchanged content returns the latest snapshot and no new version', async () => {
      const clock = manualClock();
      const state = await dbs.open(dialect, { clock });
      const first = await state.snapshots.publish(content(9000));
      clock.advance(60_000);
      // The same content written differently: key order changed, a default spelled out.
      const again = await state.snapshots.publish({
        pools: [{ members: [{ port: 9000, host: '127.0.0.1' }], id: 'demo-app' }],
        routes: [{ pool: 'demo-app', hosts: ['demo.localhost'], store: 'demo', id: 'demo', pathPrefix: '/' }],
      });
      assert.deepEqual(again, { snapshot: first.snapshot, changed: false });
      // Going back to earlier content after a change is a change.
      await state.snapshots.publish(content(9001));
      assert.equal((await state.snapshots.publish(content(9000))).snapshot.version, 3);
    });

    test('fails with STATE_INVALID listing every problem, and publishes nothing', async () => {
      const state = await dbs.open(dialect);
      await assert.rejects(
        state.snapshots.publish({
          routes: [
            { id: 'a', store: 'demo', hosts: ['a.localhost'], pool: 'missing' },
            { id: 'b', store: 'demo', hosts: ['b.localhost'], pool: 'also-missing' },
          ],
        }),
        (e: Error & { code?: string; details?: { problems?: unknown[] } }) => {
          assert.equal(e.code, 'STATE_INVALID');
          assert.equal(e.details?.problems?.length, 2);
          assert.match(e.message, /routes\[0\]\.pool: route a names unknown pool "missing"/);
          assert.match(e.message, /routes\[1\]\.pool: route b names unknown pool "also-missing"/);
          return true;
        },
      );
      assert.equal(await state.snapshots.latest(), null);
    });

    test('concurrent publishes of different content get consecutive versions', async () => {
      const state = await dbs.open(dialect);
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => state.snapshots.publish(content(9000 + i))),
      );
      assert.deepEqual(
        results.map((r) => r.snapshot.version).sort((a, b) => a - b),
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
      );
    });

    test('two control nodes publishing the same content at once make one version', async () => {
      const opts = await dbs.fresh(dialect);
      const results = (await raceNodes(opts, [
        { kind: 'publish', pool: 'same' },
        { kind: 'publish', pool: 'same' },
      ])) as { version: number; changed: boolean }[];
      assert.deepEqual(
        results.map((r) => r.version),
        [1, 1],
      );
      assert.deepEqual(results.map((r) => r.changed).sort(), [false, true]);
      const racing = (await raceNodes(opts, [
        { kind: 'publish', pool: 'left' },
        { kind: 'publish', pool: 'right' },
      ])) as { version: number; changed: boolean }[];
      assert.deepEqual(racing.map((r) => r.version).sort(), [2, 3]);
    });
  });

  describe(`edge acknowledgements on ${dialect}`, () => {
    test('latestPerEdge gives the newest answer of each edge', async () => {
      const clock = manualClock();
      const state = await dbs.open(dialect, { clock });
      await state.edgeAcks.record({ edgeId: 'edge-b', version: 1, accepted: true });
      await state.edgeAcks.record({ edgeId: 'edge-a', version: 1, accepted: true });
      clock.advance(1000);
      await state.edgeAcks.record({
        edgeId: 'edge-a',
        version: 2,
        accepted: false,
        errors: ['certificates[0].keyPem: does not match the certificate'],
      });
      // Same millisecond: the later record wins.
      await state.edgeAcks.record({ edgeId: 'edge-b', version: 2, accepted: true });
      await state.edgeAcks.record({ edgeId: 'edge-b', version: 3, accepted: true });
      assert.deepEqual(await state.edgeAcks.latestPerEdge(), [
        {
          edgeId: 'edge-a',
          version: 2,
          accepted: false,
          errors: ['certificates[0].keyPem: does not match the certificate'],
          at: clock(),
        },
        { edgeId: 'edge-b', version: 3, accepted: true, errors: [], at: clock() },
      ]);
    });
  });
}
