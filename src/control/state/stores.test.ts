import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { StorePolicy } from '../../contracts/snapshot.ts';
import { DIALECTS, manualClock, raceNodes, testSpec, useTestDatabases } from './testing.ts';

const dbs = useTestDatabases();

function policy(store: string, mode: 'off' | 'detect' | 'block'): StorePolicy {
  return {
    store,
    rateLimits: [{ class: 'default', pathPrefixes: [], methods: [], ratePerSec: 10, burst: 20 }],
    ipAllow: [],
    ipDeny: ['10.0.0.0/8'],
    bots: { rules: [], verifiedBots: [] },
    cache: {
      enabled: true,
      pathPrefixes: ['/static/'],
      bypassCookies: ['X-Magento-Vary'],
      defaultTtlSec: 0,
      staleWhileRevalidateSec: 30,
      staleIfErrorSec: 300,
      maxObjectBytes: 1024,
    },
    overload: { maxConcurrent: 10, maxQueue: 10, maxQueueMs: 1000 },
    limits: { maxBodyBytes: 1024, bodyTimeoutMs: 1000, maxConnectionsPerIp: 10 },
    waf: {
      mode,
      paranoia: 1,
      inboundThreshold: 5,
      outboundThreshold: 4,
      exclusions: [],
      responseBody: { enabled: true, limitBytes: 524_288, mimeTypes: ['text/html'] },
    },
    maintenance: false,
  };
}

for (const dialect of DIALECTS) {
  describe(`stores and environments on ${dialect}`, () => {
    test('creates, lists, gets and removes stores', async () => {
      const clock = manualClock();
      const state = await dbs.open(dialect, { clock });
      const demo = await state.stores.create({ id: 'demo', displayName: 'Demo shop' });
      await state.stores.create({ id: 'alpha', displayName: 'Alpha' });
      assert.deepEqual(demo, { id: 'demo', displayName: 'Demo shop', createdAt: clock() });
      assert.deepEqual(await state.stores.get('demo'), demo);
      assert.deepEqual(
        (await state.stores.list()).map((s) => s.id),
        ['alpha', 'demo'],
      );
      await state.stores.remove('alpha');
      assert.equal(await state.stores.get('alpha'), null);
    });

    test('fails with STATE_CONFLICT for a taken store id and STATE_INVALID for a malformed one', async () => {
      const state = await dbs.open(dialect);
      await state.stores.create({ id: 'demo', displayName: 'Demo' });
      await assert.rejects(state.stores.create({ id: 'demo', displayName: 'Again' }), {
        code: 'STATE_CONFLICT',
        message: 'store.id: store "demo" already exists',
      });
      await assert.rejects(state.stores.create({ id: 'Bad Id', displayName: 'x' }), (e: Error) => {
        assert.equal((e as { code?: string }).code, 'STATE_INVALID');
        assert.match(e.message, /^store\.id: .*got "Bad Id"/);
        return true;
      });
      await assert.rejects(state.stores.remove('ghost'), { code: 'STATE_NOT_FOUND' });
    });

    test('environments: one of each name per store, unknown stores and names refused', async () => {
      const state = await dbs.open(dialect);
      await state.stores.create({ id: 'demo', displayName: 'Demo' });
      await state.environments.create('demo', 'staging');
      await state.environments.create('demo', 'production');
      assert.deepEqual(
        (await state.environments.list('demo')).map((e) => [e.name, e.stackVersion]),
        [
          ['production', 0],
          ['staging', 0],
        ],
      );
      await assert.rejects(state.environments.create('demo', 'staging'), { code: 'STATE_CONFLICT' });
      await assert.rejects(state.environments.create('ghost', 'staging'), { code: 'STATE_NOT_FOUND' });
      await assert.rejects(state.environments.create('demo', 'qa' as 'staging'), { code: 'STATE_INVALID' });
    });

    test('removing a store removes its environments, stacks, domains, policy and roles', async () => {
      const state = await dbs.open(dialect);
      await state.stores.create({ id: 'demo', displayName: 'Demo' });
      await state.environments.create('demo', 'production');
      await state.stacks.apply('demo', 'production', testSpec('demo'), 'alice');
      await state.domains.add('shop.example.com', 'demo');
      await state.policies.put('demo', policy('demo', 'block'), 'alice');
      const user = await state.users.create({ name: 'alice' });
      await state.users.grant(user.id, 'demo', 'owner');
      await state.stores.remove('demo');
      assert.deepEqual(await state.environments.list('demo'), []);
      assert.equal(await state.stacks.latest('demo', 'production'), null);
      assert.equal(await state.domains.lookup('shop.example.com'), null);
      assert.equal(await state.policies.get('demo'), null);
      assert.deepEqual(await state.users.roles(user.id), []);
      // Re-creating the store starts its history over.
      await state.stores.create({ id: 'demo', displayName: 'Demo' });
      await state.environments.create('demo', 'production');
      assert.equal((await state.stacks.apply('demo', 'production', testSpec('demo'), 'a')).version, 1);
    });
  });

  describe(`stacks on ${dialect}`, () => {
    test('apply numbers versions from 1 per store and environment and keeps every one', async () => {
      const clock = manualClock();
      const state = await dbs.open(dialect, { clock });
      await state.stores.create({ id: 'demo', displayName: 'Demo' });
      await state.environments.create('demo', 'production');
      await state.environments.create('demo', 'staging');
      const v1 = await state.stacks.apply('demo', 'production', testSpec('demo', 1), 'alice');
      clock.advance(1000);
      const v2 = await state.stacks.apply('demo', 'production', testSpec('demo', 2), 'bob');
      const s1 = await state.stacks.apply('demo', 'staging', testSpec('demo', 3), 'carol');
      assert.deepEqual([v1.version, v2.version, s1.version], [1, 2, 1]);
      assert.deepEqual(await state.stacks.latest('demo', 'production'), v2);
      assert.deepEqual(await state.stacks.get('demo', 'production', 1), v1);
      assert.equal(v1.spec.app.replicas.min, 1);
      assert.equal(v2.createdBy, 'bob');
      assert.equal(v2.createdAt, v1.createdAt + 1000);
      assert.equal(await state.stacks.get('demo', 'production', 3), null);
      assert.deepEqual(
        (await state.stacks.list('demo', 'production')).map((v) => v.version),
        [2, 1],
      );
      assert.deepEqual(
        (await state.environments.list('demo')).map((e) => e.stackVersion),
        [2, 1],
      );
    });

    test('fails with STATE_NOT_FOUND for a missing environment and STATE_INVALID for another store’s spec', async () => {
      const state = await dbs.open(dialect);
      await state.stores.create({ id: 'demo', displayName: 'Demo' });
      await assert.rejects(state.stacks.apply('demo', 'staging', testSpec('demo'), 'a'), {
        code: 'STATE_NOT_FOUND',
        message: 'store "demo" has no "staging" environment',
      });
      await state.environments.create('demo', 'staging');
      await assert.rejects(state.stacks.apply('demo', 'staging', testSpec('other'), 'a'), {
        code: 'STATE_INVALID',
      });
      assert.equal(await state.stacks.latest('demo', 'staging'), null);
    });

    test('concurrent applies on one State get distinct consecutive versions', async () => {
      const state = await dbs.open(dialect);
      await state.stores.create({ id: 'demo', displayName: 'Demo' });
      await state.environments.create('demo', 'production');
      const applied = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          state.stacks.apply('demo', 'production', testSpec('demo'), `u${i}`),
        ),
      );
      const versions = applied.map((v) => v.version).sort((a, b) => a - b);
      assert.deepEqual(
        versions,
        Array.from({ length: 20 }, (_, i) => i + 1),
      );
    });

    test('applies racing from two control nodes get distinct versions', async () => {
      const opts = await dbs.fresh(dialect);
      const state = await dbs.openWith(opts);
      await state.stores.create({ id: 'demo', displayName: 'Demo' });
      await state.environments.create('demo', 'production');
      const [a, b] = (await raceNodes(opts, [
        { kind: 'apply', count: 15 },
        { kind: 'apply', count: 15 },
      ])) as number[][];
      assert.equal(a!.length, 15);
      assert.equal(b!.length, 15);
      const all = [...a!, ...b!].sort((x, y) => x - y);
      assert.deepEqual(
        all,
        Array.from({ length: 30 }, (_, i) => i + 1),
      );
      assert.equal((await state.stacks.latest('demo', 'production'))?.version, 30);
    });
  });

  describe(`policies on ${dialect}`, () => {
    test('put stores the document and bumps its version; get and list read it back', async () => {
      const state = await dbs.open(dialect);
      await state.stores.create({ id: 'demo', displayName: 'Demo' });
      await state.stores.create({ id: 'alpha', displayName: 'Alpha' });
      assert.equal(await state.policies.get('demo'), null);
      const first = await state.policies.put('demo', policy('demo', 'detect'), 'alice');
      const second = await state.policies.put('demo', policy('demo', 'block'), 'bob');
      await state.policies.put('alpha', policy('alpha', 'off'), 'alice');
      assert.deepEqual([first.version, second.version], [1, 2]);
      const got = await state.policies.get('demo');
      assert.equal(got?.version, 2);
      assert.equal(got?.updatedBy, 'bob');
      assert.deepEqual(got?.policy, policy('demo', 'block'));
      assert.deepEqual(
        (await state.policies.list()).map((p) => [p.storeId, p.version, p.policy.waf.mode]),
        [
          ['alpha', 1, 'off'],
          ['demo', 2, 'block'],
        ],
      );
    });

    test('concurrent puts each get their own version', async () => {
      const state = await dbs.open(dialect);
      await state.stores.create({ id: 'demo', displayName: 'Demo' });
      const docs = await Promise.all(
        Array.from({ length: 10 }, () => state.policies.put('demo', policy('demo', 'block'), 'a')),
      );
      assert.deepEqual(
        docs.map((d) => d.version).sort((x, y) => x - y),
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
      );
    });

    test('fails with STATE_NOT_FOUND for an unknown store and STATE_INVALID for another store’s policy', async () => {
      const state = await dbs.open(dialect);
      await state.stores.create({ id: 'demo', displayName: 'Demo' });
      await assert.rejects(state.policies.put('ghost', policy('ghost', 'block'), 'a'), {
        code: 'STATE_NOT_FOUND',
      });
      await assert.rejects(state.policies.put('demo', policy('other', 'block'), 'a'), {
        code: 'STATE_INVALID',
        message: 'policy.store: expected "demo", got "other"',
      });
    });
  });

  describe(`domains and certificates on ${dialect}`, () => {
    test('a host name belongs to one store; lookups ignore case', async () => {
      const state = await dbs.open(dialect);
      await state.stores.create({ id: 'demo', displayName: 'Demo' });
      await state.stores.create({ id: 'alpha', displayName: 'Alpha' });
      await state.domains.add('Shop.Example.com', 'demo');
      await state.domains.add('www.example.com', 'demo');
      await state.domains.add('alpha.example.com', 'alpha');
      assert.equal((await state.domains.lookup('SHOP.example.COM'))?.storeId, 'demo');
      assert.deepEqual(
        (await state.domains.list('demo')).map((d) => d.hostname),
        ['shop.example.com', 'www.example.com'],
      );
      assert.equal((await state.domains.list()).length, 3);
      await assert.rejects(state.domains.add('shop.example.com', 'alpha'), {
        code: 'STATE_CONFLICT',
        message: 'domain shop.example.com is already attached to a store',
      });
      await assert.rejects(state.domains.add('x.example.com', 'ghost'), { code: 'STATE_NOT_FOUND' });
      await state.domains.remove('www.example.com');
      await assert.rejects(state.domains.remove('www.example.com'), { code: 'STATE_NOT_FOUND' });
      assert.equal(await state.domains.lookup('www.example.com'), null);
    });

    test('putting a certificate again replaces it; list filters by expiry', async () => {
      const clock = manualClock();
      const state = await dbs.open(dialect, { clock });
      const day = 86_400_000;
      await state.certificates.put({
        hostname: 'a.example.com',
        certPem: 'C1',
        keyPem: 'K1',
        notAfter: clock() + day,
      });
      await state.certificates.put({
        hostname: 'b.example.com',
        certPem: 'C2',
        keyPem: 'K2',
        notAfter: clock() + 90 * day,
      });
      clock.advance(1000);
      const renewed = await state.certificates.put({
        hostname: 'A.example.com',
        certPem: 'C3',
        keyPem: 'K3',
        notAfter: clock() + 90 * day,
      });
      assert.deepEqual(await state.certificates.get('a.example.com'), renewed);
      assert.equal(renewed.certPem, 'C3');
      assert.deepEqual(
        (await state.certificates.list({ expiringBefore: clock() + 30 * day })).map((c) => c.hostname),
        [],
      );
      await state.certificates.put({
        hostname: 'c.example.com',
        certPem: 'C',
        keyPem: 'K',
        notAfter: clock() + day,
      });
      assert.deepEqual(
        (await state.certificates.list({ expiringBefore: clock() + 30 * day })).map((c) => c.hostname),
        ['c.example.com'],
      );
      assert.equal((await state.certificates.list()).length, 3);
      await state.certificates.remove('c.example.com');
      await assert.rejects(state.certificates.remove('c.example.com'), { code: 'STATE_NOT_FOUND' });
    });
  });
}
