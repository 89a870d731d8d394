import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { hashSecret } from './ids.ts';
import { DIALECTS, manualClock, useTestDatabases } from './testing.ts';

const dbs = useTestDatabases();

for (const dialect of DIALECTS) {
  describe(`users on ${dialect}`, () => {
    test('creates users with unique names', async () => {
      const state = await dbs.open(dialect);
      const alice = await state.users.create({ name: 'alice', platformAdmin: true });
      const bob = await state.users.create({ name: 'bob' });
      assert.equal(alice.platformAdmin, true);
      assert.equal(bob.platformAdmin, false);
      assert.deepEqual(await state.users.get(alice.id), alice);
      assert.deepEqual(await state.users.byName('bob'), bob);
      assert.deepEqual(
        (await state.users.list()).map((u) => u.name),
        ['alice', 'bob'],
      );
      await assert.rejects(state.users.create({ name: 'bob' }), {
        code: 'STATE_CONFLICT',
        message: 'user.name: a user named "bob" exists',
      });
    });

    test('grant sets one role per user and store; revoke takes it away', async () => {
      const state = await dbs.open(dialect);
      await state.stores.create({ id: 'demo', displayName: 'Demo' });
      await state.stores.create({ id: 'alpha', displayName: 'Alpha' });
      const bob = await state.users.create({ name: 'bob' });
      await state.users.grant(bob.id, 'demo', 'viewer');
      await state.users.grant(bob.id, 'demo', 'developer');
      await state.users.grant(bob.id, 'alpha', 'owner');
      assert.deepEqual(await state.users.roles(bob.id), [
        { storeId: 'alpha', role: 'owner' },
        { storeId: 'demo', role: 'developer' },
      ]);
      await state.users.revoke(bob.id, 'alpha');
      assert.deepEqual(await state.users.roles(bob.id), [{ storeId: 'demo', role: 'developer' }]);
      await assert.rejects(state.users.revoke(bob.id, 'alpha'), { code: 'STATE_NOT_FOUND' });
      await assert.rejects(state.users.grant(bob.id, 'ghost', 'owner'), { code: 'STATE_NOT_FOUND' });
      await assert.rejects(state.users.grant('usr_ghost', 'demo', 'owner'), { code: 'STATE_NOT_FOUND' });
      await assert.rejects(state.users.grant(bob.id, 'demo', 'admin' as 'owner'), { code: 'STATE_INVALID' });
    });

    test('an API token is returned once, stored as its hash, and authenticates its user with roles', async () => {
      const clock = manualClock();
      const state = await dbs.open(dialect, { clock });
      await state.stores.create({ id: 'demo', displayName: 'Demo' });
      const bob = await state.users.create({ name: 'bob' });
      await state.users.grant(bob.id, 'demo', 'developer');
      const { token, secret } = await state.users.createToken(bob.id, 'laptop');
      assert.match(secret, /^tp_[A-Za-z0-9_-]{43}$/);
      assert.equal(token.name, 'laptop');
      // GIVEN the token; WHEN it is presented; THEN its user, roles and token id come back.
      const who = await state.users.authenticate(secret);
      assert.deepEqual(who, {
        user: bob,
        roles: [{ storeId: 'demo', role: 'developer' }],
        tokenId: token.id,
      });
      assert.equal(await state.users.authenticate(`${secret}x`), null);
      assert.equal(
        await state.users.authenticate(hashSecret(secret)),
        null,
        'the hash itself is no credential',
      );
      const [listed] = await state.users.listTokens(bob.id);
      assert.equal(listed?.lastUsedAt, clock());
      assert.ok(!JSON.stringify(listed).includes(secret));
    });

    test('authenticate refreshes last_used_at at most once a minute', async () => {
      const clock = manualClock();
      const state = await dbs.open(dialect, { clock });
      const bob = await state.users.create({ name: 'bob' });
      const { secret } = await state.users.createToken(bob.id, 'ci');
      const start = clock();
      await state.users.authenticate(secret);
      clock.advance(30_000);
      await state.users.authenticate(secret);
      assert.equal((await state.users.listTokens(bob.id))[0]?.lastUsedAt, start);
      clock.advance(30_000);
      await state.users.authenticate(secret);
      assert.equal((await state.users.listTokens(bob.id))[0]?.lastUsedAt, start + 60_000);
    });

    test('a revoked token no longer authenticates', async () => {
      const clock = manualClock();
      const state = await dbs.open(dialect, { clock });
      const bob = await state.users.create({ name: 'bob' });
      const { token, secret } = await state.users.createToken(bob.id, 'old');
      const other = await state.users.createToken(bob.id, 'new');
      await state.users.revokeToken(token.id);
      assert.equal(await state.users.authenticate(secret), null);
      assert.notEqual(await state.users.authenticate(other.secret), null);
      const tokens = await state.users.listTokens(bob.id);
      assert.deepEqual(
        tokens.map((t) => [t.name, t.revokedAt]),
        [
          ['new', null],
          ['old', clock()],
        ],
      );
      await assert.rejects(state.users.revokeToken(token.id), { code: 'STATE_NOT_FOUND' });
      await assert.rejects(state.users.createToken('usr_ghost', 'x'), { code: 'STATE_NOT_FOUND' });
    });
  });
}
