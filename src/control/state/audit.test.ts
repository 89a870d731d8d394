import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DIALECTS, manualClock, useTestDatabases } from './testing.ts';

const dbs = useTestDatabases();

for (const dialect of DIALECTS) {
  describe(`audit and store events on ${dialect}`, () => {
    test('audit events keep before and after and list newest first, filtered by store and time', async () => {
      const clock = manualClock();
      const state = await dbs.open(dialect, { clock });
      const base = { actor: 'alice', resourceType: 'store' };
      await state.audit.record({
        ...base,
        action: 'store.create',
        resourceId: 'demo',
        storeId: 'demo',
        after: { a: 1 },
      });
      clock.advance(1000);
      await state.audit.record({ ...base, action: 'user.create', resourceId: 'usr_1', storeId: null });
      clock.advance(1000);
      const last = await state.audit.record({
        ...base,
        action: 'store.update',
        resourceId: 'demo',
        storeId: 'demo',
        before: { a: 1 },
        after: { a: 2, list: [1, 'x', null] },
      });
      assert.deepEqual(
        (await state.audit.list()).map((e) => e.action),
        ['store.update', 'user.create', 'store.create'],
      );
      assert.deepEqual((await state.audit.list({ limit: 1 }))[0], last);
      assert.deepEqual(last.after, { a: 2, list: [1, 'x', null] });
      assert.deepEqual(
        (await state.audit.list({ store: 'demo' })).map((e) => e.action),
        ['store.update', 'store.create'],
      );
      assert.deepEqual(
        (await state.audit.list({ since: clock() - 1000 })).map((e) => e.action),
        ['store.update', 'user.create'],
      );
      const [created] = await state.audit
        .list({ store: 'demo', since: 0, limit: 10 })
        .then((l) => l.slice(-1));
      assert.equal(created?.before, null);
      assert.deepEqual(created?.after, { a: 1 });
    });

    test('events of the same millisecond keep their order', async () => {
      const state = await dbs.open(dialect, { clock: manualClock() });
      for (let i = 0; i < 5; i++)
        await state.events.record({ storeId: 'demo', kind: 'deploy', message: `step ${i}` });
      assert.deepEqual(
        (await state.events.list({ store: 'demo' })).map((e) => e.message),
        ['step 4', 'step 3', 'step 2', 'step 1', 'step 0'],
      );
    });

    test('store events list newest first, filtered by store and time', async () => {
      const clock = manualClock();
      const state = await dbs.open(dialect, { clock });
      await state.events.record({
        storeId: 'demo',
        kind: 'deploy',
        message: 'deploy started',
        data: { version: 3 },
      });
      clock.advance(10);
      await state.events.record({ storeId: 'alpha', kind: 'backup', message: 'backup done' });
      clock.advance(10);
      await state.events.record({ storeId: 'demo', kind: 'deploy', message: 'deploy finished' });
      const demo = await state.events.list({ store: 'demo' });
      assert.deepEqual(
        demo.map((e) => [e.message, e.data]),
        [
          ['deploy finished', null],
          ['deploy started', { version: 3 }],
        ],
      );
      assert.deepEqual(
        (await state.events.list({ since: clock() - 10 })).map((e) => e.storeId),
        ['demo', 'alpha'],
      );
    });

    test('fails with STATE_INVALID for a limit out of range', async () => {
      const state = await dbs.open(dialect);
      for (const limit of [0, -1, 10_001, 1.5]) {
        await assert.rejects(state.audit.list({ limit }), { code: 'STATE_INVALID' });
        await assert.rejects(state.events.list({ limit }), { code: 'STATE_INVALID' });
      }
    });
  });
}
