import assert from 'node:assert/strict';
import { test } from 'node:test';
import { apiFixture } from './testing.ts';

test('fails a purge naming no target, or two, with 400', async (t) => {
  const fx = await apiFixture(t);
  for (const body of [{}, { url: '/a', tag: 'cat_p_1' }]) {
    const res = await fx.call('developer', 'POST', '/api/stores/demo/purge', body);
    assert.equal(res.statusCode, 400);
    assert.match(res.json().message, /body: expected exactly one of url, prefix or tag/);
  }
  assert.deepEqual(fx.purges, []);
});

test('fails a purge with 503 when the control plane has no purger', async (t) => {
  const fx = await apiFixture(t, { purger: null });
  const before = await fx.auditCount();
  const res = await fx.call('developer', 'POST', '/api/stores/demo/purge', { tag: 'cat_p_1' });
  assert.deepEqual([res.statusCode, res.json().code], [503, 'TP_API_UNAVAILABLE']);
  assert.equal(await fx.auditCount(), before);
});
