import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiError } from '../errors.ts';
import { bootstrapAdmin } from './bootstrap.ts';
import { apiFixture } from './testing.ts';

test('bootstrapAdmin creates the admin once and hands out a new working token each time', async (t) => {
  const fx = await apiFixture(t);
  const first = await bootstrapAdmin(fx.state, 'ops');
  const second = await bootstrapAdmin(fx.state, 'ops');
  assert.notEqual(first, second);
  for (const secret of [first, second]) {
    const res = await fx.app.inject({ url: '/api/whoami', headers: { authorization: `Bearer ${secret}` } });
    assert.deepEqual([res.json().user.name, res.json().admin], ['ops', true]);
  }
  assert.equal((await fx.state.users.list()).filter((u) => u.name === 'ops').length, 1);
  const [audit] = await fx.state.audit.list({ limit: 1 });
  assert.deepEqual([audit?.actor, audit?.action], ['triplane', 'admin.bootstrap']);
});

test('bootstrapAdmin fails for an existing user who is not a platform admin', async (t) => {
  const fx = await apiFixture(t);
  await assert.rejects(bootstrapAdmin(fx.state, 'viewer'), (e: unknown) => {
    assert.ok(e instanceof ApiError);
    assert.equal(e.code, 'TP_API_CONFLICT');
    return true;
  });
});

test("admins create and revoke other users' tokens; others only their own", async (t) => {
  const fx = await apiFixture(t);
  const created = await fx.call('root', 'POST', '/api/tokens', { name: 'ci', user: 'developer' });
  assert.equal(created.statusCode, 201);
  const { token, secret } = created.json();
  assert.equal(token.user, 'developer');
  const as = await fx.app.inject({ url: '/api/whoami', headers: { authorization: `Bearer ${secret}` } });
  assert.equal(as.json().user.name, 'developer');

  const listed = await fx.call('root', 'GET', '/api/tokens?user=developer');
  assert.deepEqual(
    listed
      .json()
      .map((t: { name: string }) => t.name)
      .sort(),
    ['ci', 'test'],
  );

  const stranger = await fx.call('viewer', 'DELETE', `/api/tokens/${token.id}`);
  assert.deepEqual([stranger.statusCode, stranger.json().code], [404, 'TP_API_NOT_FOUND']);
  assert.equal((await fx.call('root', 'DELETE', `/api/tokens/${token.id}`)).statusCode, 204);
  const after = await fx.app.inject({ url: '/api/whoami', headers: { authorization: `Bearer ${secret}` } });
  assert.equal(after.statusCode, 401);
  const again = await fx.call('root', 'DELETE', `/api/tokens/${token.id}`);
  assert.equal(again.statusCode, 404);
});

test('owners manage roles in their own store only', async (t) => {
  const fx = await apiFixture(t);
  const grant = await fx.call('owner', 'PUT', '/api/stores/demo/members/viewer', { role: 'developer' });
  assert.equal(grant.statusCode, 200);
  const [audit] = await fx.state.audit.list({ limit: 1 });
  assert.deepEqual(
    [(audit!.before as { role: string }).role, (audit!.after as { role: string }).role],
    ['viewer', 'developer'],
  );
  const foreign = await fx.call('owner', 'PUT', '/api/stores/other/members/viewer', { role: 'owner' });
  assert.equal(foreign.statusCode, 403);
  const nobody = await fx.call('owner', 'PUT', '/api/stores/demo/members/nobody', { role: 'viewer' });
  assert.deepEqual([nobody.statusCode, nobody.json().code], [404, 'TP_API_NOT_FOUND']);
  const none = await fx.call('owner', 'DELETE', '/api/stores/demo/members/outsider');
  assert.equal(none.statusCode, 404);
});
