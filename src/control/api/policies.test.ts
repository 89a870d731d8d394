import assert from 'node:assert/strict';
import { test } from 'node:test';
import { apiFixture } from './testing.ts';

test("partial updates start from the production stack's edge section and keep the rest", async (t) => {
  const fx = await apiFixture(t);
  await fx.call('developer', 'POST', '/api/stores/demo/stacks', {
    spec: { name: 'demo', edge: { waf: { mode: 'detect', paranoia: 2 }, ipDeny: ['192.0.2.1'] } },
    sourceDir: '/srv/demo',
  });
  const shown = await fx.call('viewer', 'GET', '/api/stores/demo/policy');
  assert.deepEqual([shown.json().version, shown.json().policy.waf.mode], [0, 'detect']);

  const limits = await fx.call('developer', 'PUT', '/api/stores/demo/policy/rate-limits', [
    { class: 'api', pathPrefixes: ['/rest'], ratePerSec: 10, burst: 20 },
  ]);
  assert.equal(limits.json().version, 1);
  assert.equal(limits.json().policy.waf.paranoia, 2);
  assert.deepEqual(limits.json().policy.ipDeny, ['192.0.2.1']);

  const ip = await fx.call('developer', 'PUT', '/api/stores/demo/policy/ip-rules', {
    allow: ['10.0.0.0/8'],
    deny: [],
  });
  assert.equal(ip.json().version, 2);
  assert.equal(ip.json().policy.rateLimits[0].class, 'api');
  assert.deepEqual(ip.json().policy.ipDeny, []);

  const stored = await fx.state.policies.get('demo');
  assert.deepEqual([stored?.version, stored?.policy.store, stored?.updatedBy], [2, 'demo', 'developer']);
  const [audit] = await fx.state.audit.list({ limit: 1 });
  assert.equal((audit!.before as { version: number }).version, 1);
});

test('PUT replaces the whole policy: what the body leaves out takes its default', async (t) => {
  const fx = await apiFixture(t);
  await fx.call('developer', 'PUT', '/api/stores/demo/policy/ip-rules', { allow: [], deny: ['192.0.2.1'] });
  const res = await fx.call('developer', 'PUT', '/api/stores/demo/policy', { waf: { mode: 'off' } });
  assert.equal(res.statusCode, 200);
  assert.deepEqual(
    [res.json().version, res.json().policy.ipDeny, res.json().policy.waf.mode],
    [2, [], 'off'],
  );
});
