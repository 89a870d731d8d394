import assert from 'node:assert/strict';
import { test } from 'node:test';
import { appliedStack } from './stacks.ts';
import { apiFixture } from './testing.ts';

test('applying counts versions per environment and keeps sourceDir beside the spec', async (t) => {
  const fx = await apiFixture(t);
  const apply = (environment: string | undefined, replicas: number) =>
    fx.call('developer', 'POST', '/api/stores/demo/stacks', {
      ...(environment ? { environment } : {}),
      spec: { name: 'demo', app: { replicas: { min: replicas, max: 8 } } },
      sourceDir: `/srv/demo-${replicas}`,
    });
  assert.equal((await apply(undefined, 1)).json().version, 1);
  assert.equal((await apply('production', 2)).json().version, 2);
  assert.equal((await apply('staging', 3)).json().version, 1);

  const stored = await fx.state.stacks.latest('demo', 'production');
  const { spec, sourceDir } = appliedStack(stored!);
  assert.equal(sourceDir, '/srv/demo-2');
  assert.equal(spec.app.replicas.min, 2);
  assert.equal('sourceDir' in spec, false);

  const list = await fx.call('viewer', 'GET', '/api/stores/demo/stacks?limit=1');
  assert.deepEqual(
    list.json().map((v: { version: number }) => v.version),
    [2],
  );
  const staging = await fx.call('viewer', 'GET', '/api/stores/demo/stacks/1?environment=staging');
  assert.equal(staging.json().spec.app.replicas.min, 3);
  const store = await fx.call('viewer', 'GET', '/api/stores/demo');
  assert.deepEqual(store.json().environments, [
    { name: 'production', stackVersion: 2 },
    { name: 'staging', stackVersion: 1 },
  ]);
  const [staged, second] = await fx.state.audit.list({ limit: 2 });
  assert.equal(staged?.before, null, 'the first staging version replaced nothing');
  assert.equal((second!.before as { version: number }).version, 1, 'production version 2 replaced version 1');
});

test('fails a version that does not exist, or a store that does not, with 404', async (t) => {
  const fx = await apiFixture(t);
  const missing = await fx.call('viewer', 'GET', '/api/stores/demo/stacks/7');
  assert.deepEqual([missing.statusCode, missing.json().code], [404, 'TP_API_NOT_FOUND']);
  const before = await fx.auditCount();
  const nowhere = await fx.call('root', 'POST', '/api/stores/nowhere/stacks', {
    spec: { name: 'nowhere' },
    sourceDir: '/srv/nowhere',
  });
  assert.deepEqual([nowhere.statusCode, nowhere.json().code], [404, 'TP_API_NOT_FOUND']);
  assert.equal(await fx.auditCount(), before);
});

test('a version recorded outside the API has no sourceDir', async (t) => {
  const fx = await apiFixture(t);
  const res = await fx.call('developer', 'POST', '/api/stores/demo/stacks', {
    spec: { name: 'demo' },
    sourceDir: '/srv/demo',
  });
  const spec = appliedStack(await fx.state.stacks.latest('demo', 'production').then((v) => v!)).spec;
  await fx.state.stacks.apply('demo', 'production', spec, 'someone');
  assert.equal(res.statusCode, 201);
  const latest = await fx.call('viewer', 'GET', '/api/stores/demo/stacks/2');
  assert.equal(latest.json().sourceDir, null);
});
