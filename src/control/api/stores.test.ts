import assert from 'node:assert/strict';
import { test } from 'node:test';
import { apiFixture } from './testing.ts';

test('lists every store to admins and only their own to others', async (t) => {
  const fx = await apiFixture(t);
  const ids = async (who: 'root' | 'outsider' | 'developer') =>
    (await fx.call(who, 'GET', '/api/stores')).json().map((s: { id: string }) => s.id);
  assert.deepEqual(await ids('root'), ['demo', 'other']);
  assert.deepEqual(await ids('outsider'), ['other']);
  assert.deepEqual(await ids('developer'), ['demo']);
});

test('fails to create a store that exists (409) and to read or remove one that does not (404)', async (t) => {
  const fx = await apiFixture(t);
  const before = await fx.auditCount();
  const taken = await fx.call('root', 'POST', '/api/stores', { id: 'demo' });
  assert.deepEqual([taken.statusCode, taken.json().code], [409, 'STATE_CONFLICT']);
  const missing = await fx.call('root', 'GET', '/api/stores/nowhere');
  assert.deepEqual([missing.statusCode, missing.json().code], [404, 'TP_API_NOT_FOUND']);
  const gone = await fx.call('root', 'DELETE', '/api/stores/nowhere');
  assert.equal(gone.statusCode, 404);
  assert.equal(await fx.auditCount(), before);
});
