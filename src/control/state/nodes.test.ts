import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DIALECTS, manualClock, raceNodes, useTestDatabases } from './testing.ts';

const dbs = useTestDatabases();

for (const dialect of DIALECTS) {
  describe(`nodes on ${dialect}`, () => {
    test('a join token registers one node, whose agent token then authenticates it', async () => {
      const clock = manualClock();
      const state = await dbs.open(dialect, { clock });
      const { token, expiresAt } = await state.joinTokens.create(60_000);
      assert.match(token, /^tpj_[A-Za-z0-9_-]{43}$/);
      assert.equal(expiresAt, clock() + 60_000);
      const { node, agentToken } = await state.nodes.register({
        joinToken: token,
        name: 'app-1',
        labels: { zone: 'a', role: 'app' },
      });
      assert.match(agentToken, /^tpa_/);
      assert.deepEqual(node.labels, { role: 'app', zone: 'a' });
      assert.equal(node.lastSeen, clock());
      assert.equal(node.observed, null);
      assert.deepEqual(await state.nodes.authenticate(agentToken), node);
      assert.equal(await state.nodes.authenticate(`${agentToken}x`), null);
      assert.deepEqual(await state.nodes.get(node.id), node);
      assert.deepEqual(
        (await state.nodes.list()).map((n) => n.name),
        ['app-1'],
      );
    });

    test('fails with STATE_TOKEN_REJECTED for an unknown, used or expired join token', async () => {
      const clock = manualClock();
      const state = await dbs.open(dialect, { clock });
      const used = await state.joinTokens.create(60_000);
      await state.nodes.register({ joinToken: used.token, name: 'app-1' });
      const expiring = await state.joinTokens.create(1000);
      clock.advance(1000);
      for (const [joinToken, reason] of [
        ['tpj_nonsense', 'unknown'],
        [used.token, 'used'],
        [expiring.token, 'expired'],
      ] as const) {
        await assert.rejects(state.nodes.register({ joinToken, name: `n-${reason}` }), (e: Error) => {
          assert.equal((e as { code?: string }).code, 'STATE_TOKEN_REJECTED');
          assert.equal(e.message, `join token rejected: ${reason}`);
          return true;
        });
      }
      assert.equal((await state.nodes.list()).length, 1);
    });

    test('fails with STATE_CONFLICT for a taken node name, and leaves the join token unspent', async () => {
      const state = await dbs.open(dialect);
      const first = await state.joinTokens.create(60_000);
      await state.nodes.register({ joinToken: first.token, name: 'app-1' });
      const second = await state.joinTokens.create(60_000);
      await assert.rejects(state.nodes.register({ joinToken: second.token, name: 'app-1' }), {
        code: 'STATE_CONFLICT',
      });
      // The failed registration rolled back, so the token still works.
      const { node } = await state.nodes.register({ joinToken: second.token, name: 'app-2' });
      assert.equal(node.name, 'app-2');
    });

    test('of two nodes racing with one join token exactly one registers', async () => {
      const opts = await dbs.fresh(dialect);
      const state = await dbs.openWith(opts);
      const { token } = await state.joinTokens.create(60_000);
      const results = (await raceNodes(opts, [
        { kind: 'register', joinToken: token, name: 'left' },
        { kind: 'register', joinToken: token, name: 'right' },
      ])) as string[];
      assert.equal(results.filter((r) => r.startsWith('node_')).length, 1, JSON.stringify(results));
      assert.deepEqual(
        results.filter((r) => !r.startsWith('node_')),
        ['STATE_TOKEN_REJECTED'],
      );
      assert.equal((await state.nodes.list()).length, 1);
    });

    test('recordObserved stores the report and marks the node seen', async () => {
      const clock = manualClock();
      const state = await dbs.open(dialect, { clock });
      const { token } = await state.joinTokens.create(60_000);
      const { node } = await state.nodes.register({ joinToken: token, name: 'app-1' });
      clock.advance(5000);
      await state.nodes.recordObserved(node.id, {
        containers: [{ name: 'tp-demo-app-1', health: 'healthy' }],
      });
      const seen = await state.nodes.get(node.id);
      assert.deepEqual(seen?.observed, { containers: [{ health: 'healthy', name: 'tp-demo-app-1' }] });
      assert.equal(seen?.observedAt, clock());
      assert.equal(seen?.lastSeen, clock());
      await assert.rejects(state.nodes.recordObserved('node_ghost', {}), { code: 'STATE_NOT_FOUND' });
    });

    test('setDesired bumps the version only when the document changes, key order aside', async () => {
      const state = await dbs.open(dialect);
      const { token } = await state.joinTokens.create(60_000);
      const { node } = await state.nodes.register({ joinToken: token, name: 'app-1' });
      assert.equal(await state.nodes.getDesired(node.id), null);
      assert.deepEqual(await state.nodes.setDesired(node.id, { stores: ['demo'], replicas: 2 }), {
        version: 1,
        changed: true,
      });
      assert.deepEqual(await state.nodes.setDesired(node.id, { replicas: 2, stores: ['demo'] }), {
        version: 1,
        changed: false,
      });
      assert.deepEqual(await state.nodes.setDesired(node.id, { replicas: 3, stores: ['demo'] }), {
        version: 2,
        changed: true,
      });
      const desired = await state.nodes.getDesired(node.id);
      assert.equal(desired?.version, 2);
      assert.deepEqual(desired?.desired, { replicas: 3, stores: ['demo'] });
      await assert.rejects(state.nodes.setDesired('node_ghost', {}), { code: 'STATE_NOT_FOUND' });
    });

    test('removing a node revokes its agent token and drops its desired state', async () => {
      const state = await dbs.open(dialect);
      const { token } = await state.joinTokens.create(60_000);
      const { node, agentToken } = await state.nodes.register({ joinToken: token, name: 'app-1' });
      await state.nodes.setDesired(node.id, { stores: [] });
      await state.nodes.remove(node.id);
      assert.equal(await state.nodes.authenticate(agentToken), null);
      assert.equal(await state.nodes.getDesired(node.id), null);
      await assert.rejects(state.nodes.remove(node.id), { code: 'STATE_NOT_FOUND' });
    });
  });
}
