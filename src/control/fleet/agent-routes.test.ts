import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { AgentTask, JoinResponse, NodeDesired } from '../../contracts/fleet.ts';
import { nodeTaskKind } from './agent-routes.ts';
import { stackPayload } from './stack-payload.ts';
import { fleet, observed, report, spec, storeWithStack, until, upstream } from './testing.ts';

/** GIVEN a fleet app with store "shop" applied and one joined node, polls held `holdMs`. */
async function joined(t: TestContext, holdMs = 200) {
  const f = await fleet(t, { holdMs });
  await storeWithStack(f.state, 'shop');
  const { token } = await f.state.joinTokens.create(60_000);
  const res = await f.app.inject({
    method: 'POST',
    url: '/api/agent/join',
    payload: { joinToken: token, name: 'app-1', labels: { role: 'app' } },
  });
  assert.equal(res.statusCode, 201, res.body);
  const join = JoinResponse.parse(res.json());
  const auth = { authorization: `Bearer ${join.agentToken}` };
  return { ...f, join, auth };
}

test('a join with a valid token answers 201 and the node soon has its desired state', async (t) => {
  const { app, join, auth, state } = await joined(t);
  assert.match(join.agentToken, /^tpa_/);
  assert.equal((await state.nodes.get(join.nodeId))?.labels.role, 'app');
  const res = await app.inject({ url: '/api/agent/desired?after=0', headers: auth });
  assert.equal(res.statusCode, 200);
  const desired = NodeDesired.parse(res.json());
  assert.equal(desired.nodeId, join.nodeId);
  assert.deepEqual(
    desired.stores.map((s) => [s.store, s.stackVersion, s.sourceDir]),
    [['shop', 1, '/srv/shop']],
  );
});

test('fails a join with an unknown, spent or expired token, or a bad body, with a coded error', async (t) => {
  const { app, state } = await fleet(t);
  const spent = await state.joinTokens.create(60_000);
  await state.nodes.register({ joinToken: spent.token, name: 'first' });
  const expiring = await state.joinTokens.create(1);
  await new Promise((r) => setTimeout(r, 5));
  for (const [joinToken, reason] of [
    ['tpj_nonsense', 'unknown'],
    [spent.token, 'used'],
    [expiring.token, 'expired'],
  ] as const) {
    const res = await app.inject({
      method: 'POST',
      url: '/api/agent/join',
      payload: { joinToken, name: 'n2' },
    });
    assert.equal(res.statusCode, 401, reason);
    assert.deepEqual(res.json(), {
      code: 'STATE_TOKEN_REJECTED',
      message: `join token rejected: ${reason}`,
      details: { reason },
    });
  }
  const bad = await app.inject({
    method: 'POST',
    url: '/api/agent/join',
    payload: { name: 'Bad Name!', extra: 1 },
  });
  assert.equal(bad.statusCode, 400);
  assert.equal(bad.json().code, 'TP_API_INVALID');
  assert.deepEqual(
    bad
      .json()
      .details.problems.map((p: { path: string }) => p.path)
      .sort(),
    ['(root)', 'joinToken', 'name'],
  );
});

test('fails agent requests without a known agent token with 401', async (t) => {
  const { app } = await joined(t);
  for (const headers of [{}, { authorization: 'Bearer tpa_wrong' }, { authorization: 'Basic eDp5' }]) {
    for (const req of [
      { method: 'GET' as const, url: '/api/agent/desired?after=0' },
      { method: 'POST' as const, url: '/api/agent/report', payload: report([]) },
    ]) {
      const res = await app.inject({ ...req, headers });
      assert.equal(res.statusCode, 401, `${req.url} ${JSON.stringify(headers)}`);
      assert.equal(res.json().code, 'TP_API_UNAUTHENTICATED');
    }
  }
});

test('a desired poll is answered at once when newer, when a change is set while held, and 204 after the hold', async (t) => {
  // A hold long enough that a slow machine applies well within it: the held poll below must be
  // answered by the change, and the hold's end would answer 204 instead.
  const { app, auth, reconciler, state } = await joined(t, 2000);
  await reconciler.runOnce();
  const now = await app.inject({ url: '/api/agent/desired?after=0', headers: auth });
  assert.equal(now.json().version, 1);

  // WHEN a poll for anything after 1 is held and a new stack version is applied
  const t0 = Date.now();
  const held = app.inject({ url: '/api/agent/desired?after=1', headers: { ...auth } });
  await new Promise((r) => setTimeout(r, 50));
  await state.stacks.apply(
    'shop',
    'production',
    stackPayload(spec('shop', { domains: ['shop.example'] }), '/srv/shop'),
    't',
  );
  await reconciler.runOnce();
  const res = await held;
  // THEN it is answered with version 2, so before the hold ended
  assert.equal(res.statusCode, 200, 'answered by the change, not by the end of the hold');
  assert.equal(NodeDesired.parse(res.json()).version, 2);
  assert.deepEqual(res.json().stores[0].spec.domains, ['shop.example']);
  assert.ok(Date.now() - t0 < 1990, `answered after ${Date.now() - t0} ms`);

  const t1 = Date.now();
  const idle = await app.inject({ url: '/api/agent/desired?after=2', headers: auth });
  assert.equal(idle.statusCode, 204);
  assert.ok(Date.now() - t1 >= 1990, `204 after ${Date.now() - t1} ms`);

  const bad = await app.inject({ url: '/api/agent/desired?after=-1', headers: auth });
  assert.equal(bad.statusCode, 400);
  assert.match(bad.json().message, /^desired poll: after: expected a version number like 0 or 7, got "-1"/);
});

test('fails a report with every invalid field listed, and stores a valid one', async (t) => {
  const { app, auth, state, join } = await joined(t);
  const bad = await app.inject({
    method: 'POST',
    url: '/api/agent/report',
    headers: auth,
    payload: {
      desiredVersion: -1,
      at: 'yesterday',
      stores: [{ ...observed('shop', [{ ...upstream('varnish', 8101), port: 0 }]), converged: 'yes' }],
    },
  });
  assert.equal(bad.statusCode, 400);
  assert.deepEqual(
    bad.json().details.problems.map((p: { path: string }) => p.path),
    ['desiredVersion', 'at', 'stores[0].converged', 'stores[0].upstreams[0].port'],
  );
  assert.equal((await state.nodes.get(join.nodeId))?.observed, null, 'nothing stored');

  const good = report([observed('shop', [upstream('varnish', 8101)])]);
  const res = await app.inject({ method: 'POST', url: '/api/agent/report', headers: auth, payload: good });
  assert.equal(res.statusCode, 204);
  assert.deepEqual((await state.nodes.get(join.nodeId))?.observed, good);
  // The report triggers a snapshot pass that routes the store to the reported Varnish.
  await until('a snapshot routing shop', async () => (await state.snapshots.latest())?.routes.length === 1);
  assert.deepEqual((await state.snapshots.latest())?.pools[0]?.members, [{ host: '127.0.0.1', port: 8101 }]);
});

test('a node claims its own tasks only, and reports how each ended', async (t) => {
  const f = await fleet(t, { holdMs: 200, taskHoldMs: 300 });
  const tokens: Record<string, { nodeId: string; auth: { authorization: string } }> = {};
  for (const name of ['app-1', 'app-2']) {
    const { token } = await f.state.joinTokens.create(60_000);
    const res = await f.app.inject({
      method: 'POST',
      url: '/api/agent/join',
      payload: { joinToken: token, name },
    });
    const join = JoinResponse.parse(res.json());
    tokens[name] = { nodeId: join.nodeId, auth: { authorization: `Bearer ${join.agentToken}` } };
  }
  const one = tokens['app-1']!;
  const two = tokens['app-2']!;
  const task = {
    op: 'backup.prune',
    repositoryKey: 'k'.repeat(32),
    target: { store: 'shop', databaseName: 'store', databaseImage: 'localhost/triplane/mariadb:latest' },
    now: '2026-11-30T03:30:00.000Z',
    retentionDays: 7,
  };
  const job = await f.state.jobs.enqueue({ kind: nodeTaskKind(one.nodeId), payload: task, maxAttempts: 1 });

  const t0 = Date.now();
  const other = await f.app.inject({ method: 'POST', url: '/api/agent/tasks/claim', headers: two.auth });
  assert.equal(other.statusCode, 204, 'app-2 has no task: its claim is held, then empty');
  assert.ok(Date.now() - t0 >= 250);

  const mine = await f.app.inject({ method: 'POST', url: '/api/agent/tasks/claim', headers: one.auth });
  assert.equal(mine.statusCode, 200);
  assert.deepEqual(AgentTask.parse(mine.json()), { ...task, id: job.id });
  assert.equal((await f.state.jobs.get(job.id))?.status, 'running');

  const stolen = await f.app.inject({
    method: 'POST',
    url: `/api/agent/tasks/${job.id}/outcome`,
    headers: two.auth,
    payload: { ok: true, result: { removed: [] } },
  });
  assert.equal(stolen.statusCode, 409, 'a node cannot end another node’s task');
  const bad = await f.app.inject({
    method: 'POST',
    url: `/api/agent/tasks/${job.id}/outcome`,
    headers: one.auth,
    payload: { ok: 'yes' },
  });
  assert.equal(bad.statusCode, 400);
  const done = await f.app.inject({
    method: 'POST',
    url: `/api/agent/tasks/${job.id}/outcome`,
    headers: one.auth,
    payload: { ok: false, error: 'TP_CMD_FAILED: restic exited 1' },
  });
  assert.equal(done.statusCode, 204);
  const ended = await f.state.jobs.get(job.id);
  assert.deepEqual([ended?.status, ended?.error], ['failed', 'TP_CMD_FAILED: restic exited 1']);
  const anon = await f.app.inject({ method: 'POST', url: '/api/agent/tasks/claim' });
  assert.equal(anon.statusCode, 401);
});
