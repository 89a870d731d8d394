import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { NodeReport } from '../../contracts/fleet.ts';
import { accessRecord, apiFixture } from '../api/testing.ts';
import { opsRoutes } from './routes.ts';

test('every ops route: 401 without a token, 403 for the wrong caller, 400 on bad input', async (t) => {
  const f = await apiFixture(t, { plugins: (state) => [opsRoutes(state)] });
  const cases: [string, string, unknown, 'outsider' | 'owner', string[]][] = [
    ['POST', '/api/join-tokens', { ttlSeconds: 1 }, 'owner', ['body.ttlSeconds']],
    ['GET', '/api/nodes', undefined, 'owner', []],
    ['GET', '/api/stores/demo/status', undefined, 'outsider', []],
    [
      'GET',
      '/api/stores/demo/requests?status=99&path=nope',
      undefined,
      'outsider',
      ['query.status', 'query.path'],
    ],
  ];
  for (const [method, url, body, wrong, problems] of cases) {
    const before = await f.auditCount();
    assert.equal((await f.call(null, method, url, body)).statusCode, 401, `${method} ${url}`);
    assert.equal((await f.call(wrong, method, url, body)).statusCode, 403, `${method} ${url} as ${wrong}`);
    if (problems.length > 0) {
      const r = await f.call('root', method, url, body);
      assert.equal(r.statusCode, 400, `${method} ${url}: ${r.body}`);
      const paths = (r.json().details.problems as { path: string }[]).map((p) => p.path);
      assert.deepEqual(paths.sort(), [...problems].sort());
    }
    assert.equal(await f.auditCount(), before, 'refused calls leave no audit event');
  }
});

test('an admin creates a join token (one audit event) and lists nodes with what they reported', async (t) => {
  const f = await apiFixture(t, { plugins: (state) => [opsRoutes(state)] });
  const before = await f.auditCount();
  const r = await f.call('root', 'POST', '/api/join-tokens', {});
  assert.equal(r.statusCode, 201, r.body);
  assert.match(r.json().token, /^tpj_/);
  assert.equal(await f.auditCount(), before + 1);
  const node = await f.state.nodes.register({
    joinToken: r.json().token,
    name: 'n1',
    labels: { role: 'app' },
  });
  const report: NodeReport = {
    desiredVersion: 3,
    at: new Date().toISOString(),
    stores: [
      {
        store: 'demo',
        stackVersion: 2,
        converged: true,
        containers: [],
        upstreams: [{ role: 'varnish', host: '127.0.0.1', port: 8180, healthy: true }],
        error: null,
      },
    ],
  };
  await f.state.nodes.recordObserved(node.node.id, report);
  const nodes = await f.call('root', 'GET', '/api/nodes');
  assert.equal(nodes.statusCode, 200, nodes.body);
  assert.deepEqual(
    nodes
      .json()
      .map((n: { name: string; reportedVersion: number; stores: string[] }) => [
        n.name,
        n.reportedVersion,
        n.stores,
      ]),
    [['n1', 3, ['demo']]],
  );
});

test("a store's status joins the stack version asked for with what its node runs", async (t) => {
  const f = await apiFixture(t, { plugins: (state) => [opsRoutes(state)] });
  const empty = await f.call('viewer', 'GET', '/api/stores/demo/status');
  assert.equal(empty.statusCode, 200, empty.body);
  assert.equal(empty.json().desiredVersion, null);
  assert.equal(empty.json().converged, false);
  assert.equal((await f.call('root', 'GET', '/api/stores/nope/status')).statusCode, 404);
  const applied = await f.call('developer', 'POST', '/api/stores/demo/stacks', {
    spec: { name: 'demo' },
    sourceDir: '/srv/demo',
  });
  assert.equal(applied.statusCode, 201, applied.body);
  const { token } = await f.state.joinTokens.create(60_000);
  const node = await f.state.nodes.register({ joinToken: token, name: 'n1', labels: {} });
  const store = (stackVersion: number) => ({
    desiredVersion: 1,
    at: new Date().toISOString(),
    stores: [
      {
        store: 'demo',
        stackVersion,
        converged: true,
        containers: [],
        upstreams: [{ role: 'varnish' as const, host: '127.0.0.1', port: 8180, healthy: true }],
        error: null,
      },
    ],
  });
  await f.state.nodes.recordObserved(node.node.id, store(1));
  const s = (await f.call('viewer', 'GET', '/api/stores/demo/status')).json();
  assert.deepEqual([s.desiredVersion, s.appliedVersion, s.converged, s.node], [1, 1, true, 'n1']);
  await f.call('developer', 'POST', '/api/stores/demo/stacks', {
    spec: { name: 'demo' },
    sourceDir: '/srv/demo',
  });
  const s2 = (await f.call('viewer', 'GET', '/api/stores/demo/status')).json();
  assert.deepEqual(
    [s2.desiredVersion, s2.appliedVersion, s2.converged],
    [2, 1, false],
    'not converged on the new version',
  );
});

test("a store's recent requests, filtered by status and path, newest first, and only its own", async (t) => {
  const f = await apiFixture(t, { plugins: (state) => [opsRoutes(state)] });
  const t0 = Date.now() - 10_000;
  await f.state.accessLogs.insertBatch([
    accessRecord('demo', 200, '/a', t0),
    accessRecord('demo', 404, '/b/x', t0 + 1),
    accessRecord('demo', 200, '/b/y', t0 + 2),
    accessRecord('other', 200, '/b/z', t0 + 3),
  ]);
  const all = (await f.call('viewer', 'GET', '/api/stores/demo/requests')).json();
  assert.deepEqual(
    all.map((r: { path: string }) => r.path),
    ['/b/y', '/b/x', '/a'],
  );
  const some = (await f.call('viewer', 'GET', '/api/stores/demo/requests?status=200&path=/b')).json();
  assert.deepEqual(
    some.map((r: { path: string }) => r.path),
    ['/b/y'],
  );
});

test("a store's staging environment: its status and requests are those of its own instance", async (t) => {
  const f = await apiFixture(t, { plugins: (state) => [opsRoutes(state)] });
  const applied = await f.call('developer', 'POST', '/api/stores/demo/stacks', {
    environment: 'staging',
    spec: { name: 'demo' },
    sourceDir: '/srv/demo',
  });
  assert.equal(applied.statusCode, 201, applied.body);
  const { token } = await f.state.joinTokens.create(60_000);
  const node = await f.state.nodes.register({ joinToken: token, name: 'n1', labels: {} });
  const observed = (store: string, stackVersion: number) => ({
    store,
    stackVersion,
    converged: true,
    containers: [],
    upstreams: [],
    error: null,
  });
  await f.state.nodes.recordObserved(node.node.id, {
    desiredVersion: 1,
    at: new Date().toISOString(),
    stores: [observed('demo', 7), observed('demo--staging', 1)],
  });
  const staging = (await f.call('viewer', 'GET', '/api/stores/demo/status?environment=staging')).json();
  assert.deepEqual(
    [staging.environment, staging.desiredVersion, staging.appliedVersion, staging.converged, staging.node],
    ['staging', 1, 1, true, 'n1'],
  );
  const production = (await f.call('viewer', 'GET', '/api/stores/demo/status')).json();
  assert.deepEqual([production.environment, production.appliedVersion], ['production', 7]);

  const t0 = Date.now() - 10_000;
  await f.state.accessLogs.insertBatch([
    accessRecord('demo', 200, '/prod', t0),
    accessRecord('demo--staging', 200, '/stage', t0 + 1),
  ]);
  const logs = (await f.call('viewer', 'GET', '/api/stores/demo/requests?environment=staging')).json();
  assert.deepEqual(
    logs.map((r: { path: string }) => r.path),
    ['/stage'],
  );
  const bad = await f.call('viewer', 'GET', '/api/stores/demo/requests?environment=qa');
  assert.equal(bad.statusCode, 400);
  assert.match(bad.json().message, /query\.environment/);
});
