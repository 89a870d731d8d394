import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import type { FieldProblem, StoreRole } from '../../contracts/api.ts';
import { StackSpec } from '../../contracts/stack.ts';
import { applyStack } from './stacks.ts';
import { type ApiFixture, apiFixture, SHOP_CERT, SHOP_KEY, type Who } from './testing.ts';

// Every route, four ways: without a token (401), as callers without the needed role (403), with
// input that breaks several rules at once (400, every problem listed with its path) and as the
// weakest caller that may (success). Around every request the audit trail is counted: a successful
// mutation adds exactly one event, anything else none.

interface RouteCase {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly url: string;
  /** The weakest access that may call the route. */
  readonly access: 'public' | 'user' | 'admin' | StoreRole;
  /** Refused callers beyond the defaults (outsider and the role below, for store routes). */
  readonly forbidden?: readonly { who: Who; url?: string; body?: unknown }[];
  readonly setup?: (fx: ApiFixture) => Promise<void>;
  readonly body?: unknown;
  readonly status: number;
  /** The audit action a successful mutation records. */
  readonly action?: string;
  /**
   * A request breaking the rules at `paths` (each must be reported), sent by the happy caller or `who`
   * (a platform admin, where only the store name can be wrong: anyone else is refused first).
   */
  readonly invalid?: { who?: Who; url?: string; body?: unknown; paths: readonly string[] };
  readonly expect?: (res: LightMyRequestResponse, fx: ApiFixture) => Promise<void> | void;
}

const HAPPY_CALLER: Record<RouteCase['access'], Who | null> = {
  public: null,
  user: 'viewer',
  admin: 'root',
  viewer: 'viewer',
  developer: 'developer',
  owner: 'owner',
};
const WEAKER: Partial<Record<RouteCase['access'], Who[]>> = {
  admin: ['owner'],
  viewer: ['outsider'],
  developer: ['outsider', 'viewer'],
  owner: ['outsider', 'developer'],
};

const spec = (replicas = 1) =>
  StackSpec.parse({ name: 'demo', app: { replicas: { min: replicas, max: 4 } } });

async function applied(fx: ApiFixture): Promise<void> {
  await fx.state.transaction((tx) =>
    applyStack(tx, {
      store: 'demo',
      environment: 'production',
      spec: spec(),
      sourceDir: '/srv/demo',
      actor: 'seed',
    }),
  );
  await fx.state.events.record({ storeId: 'demo', kind: 'seeded', message: 'seeded' });
}

async function withBackup(fx: ApiFixture): Promise<void> {
  await applied(fx);
  await fx.state.backups.create({
    id: 'bak_test',
    storeId: 'demo',
    environment: 'production',
    reason: 'manual',
    verify: true,
  });
  await fx.state.backups.taken('bak_test', {
    snapshotId: 'a'.repeat(64),
    takenAt: '2026-11-30T03:30:00.000Z',
    sizeBytes: 10,
    addedBytes: 10,
    durationMs: 1,
    dumpSha256: 'b'.repeat(64),
    tables: 1,
    mediaFiles: 0,
  });
  await fx.state.jobs.enqueue({
    id: 'job_test',
    kind: 'backup.create',
    payload: { backupId: 'bak_test', store: 'demo' },
  });
}
async function withDomain(fx: ApiFixture): Promise<void> {
  await fx.state.domains.add('shop.example.com', 'demo');
}

async function withCertificate(fx: ApiFixture): Promise<void> {
  await withDomain(fx);
  await fx.state.certificates.put({
    hostname: 'shop.example.com',
    certPem: SHOP_CERT,
    keyPem: SHOP_KEY,
    notAfter: 1,
  });
}

async function tokenIdOf(fx: ApiFixture, user: string, name: string): Promise<string> {
  const u = await fx.state.users.byName(user);
  const token = (await fx.state.users.listTokens(u!.id)).find((t) => t.name === name);
  return token!.id;
}

const CASES: readonly RouteCase[] = [
  {
    method: 'GET',
    url: '/api/health',
    access: 'public',
    status: 200,
    expect: (res) => assert.deepEqual(res.json(), { ok: true }),
  },
  {
    method: 'GET',
    url: '/api/openapi.json',
    access: 'public',
    status: 200,
    expect: (res) => assert.equal(res.json().openapi, '3.1.0'),
  },
  {
    method: 'GET',
    url: '/api/whoami',
    access: 'user',
    status: 200,
    expect: (res) =>
      assert.deepEqual(res.json(), {
        user: { id: res.json().user.id, name: 'viewer' },
        roles: [{ store: 'demo', role: 'viewer' }],
        admin: false,
      }),
  },
  {
    method: 'GET',
    url: '/api/stores',
    access: 'user',
    status: 200,
    expect: (res) =>
      assert.deepEqual(
        res.json().map((s: { id: string }) => s.id),
        ['demo'],
      ),
  },
  {
    method: 'POST',
    url: '/api/stores',
    access: 'admin',
    body: { id: 'shop', displayName: 'Shop' },
    status: 201,
    action: 'store.create',
    invalid: {
      body: { id: 'Shop!', displayName: '', color: 'red' },
      paths: ['body.id', 'body.displayName', 'body'],
    },
    expect: async (res, fx) => {
      assert.deepEqual(res.json().environments, [
        { name: 'production', stackVersion: 0 },
        { name: 'staging', stackVersion: 0 },
      ]);
      const root = await fx.state.users.byName('root');
      assert.deepEqual(await fx.state.users.roles(root!.id), [{ storeId: 'shop', role: 'owner' }]);
    },
  },
  {
    method: 'GET',
    url: '/api/stores/demo',
    access: 'viewer',
    invalid: { who: 'root', url: '/api/stores/Demo!', paths: ['params.store'] },
    status: 200,
    expect: (res) => assert.equal(res.json().displayName, 'Demo'),
  },
  {
    method: 'DELETE',
    url: '/api/stores/demo',
    access: 'admin',
    setup: withCertificate,
    status: 204,
    action: 'store.delete',
    invalid: { url: '/api/stores/Demo!', paths: ['params.store'] },
    expect: async (_res, fx) => {
      assert.equal(await fx.state.stores.get('demo'), null);
      assert.equal(await fx.state.certificates.get('shop.example.com'), null);
    },
  },
  {
    method: 'POST',
    url: '/api/stores/demo/stacks',
    access: 'developer',
    body: { spec: { name: 'demo' }, sourceDir: '/srv/demo' },
    status: 201,
    action: 'stack.apply',
    invalid: {
      body: {
        environment: 'prod',
        spec: { name: 'other', app: { replicas: { min: 0 } } },
        sourceDir: 'demo',
      },
      paths: ['body.environment', 'body.spec.app.replicas.min', 'body.sourceDir', 'body.spec.name'],
    },
    expect: async (res, fx) => {
      assert.equal(res.json().version, 1);
      assert.equal(res.json().environment, 'production');
      assert.equal(res.json().sourceDir, '/srv/demo');
      assert.equal(res.json().spec.app.replicas.min, 1);
      const events = await fx.state.events.list({ store: 'demo' });
      assert.equal(events[0]?.kind, 'stack.applied');
    },
  },
  {
    method: 'GET',
    url: '/api/stores/demo/stacks',
    access: 'viewer',
    setup: applied,
    status: 200,
    invalid: {
      url: '/api/stores/demo/stacks?environment=prod&limit=0',
      paths: ['query.environment', 'query.limit'],
    },
    expect: (res) =>
      assert.deepEqual(
        res.json().map((v: { version: number; sourceDir: string }) => [v.version, v.sourceDir]),
        [[1, '/srv/demo']],
      ),
  },
  {
    method: 'GET',
    url: '/api/stores/demo/stacks/1',
    access: 'viewer',
    setup: applied,
    status: 200,
    invalid: {
      url: '/api/stores/demo/stacks/0?environment=qa',
      paths: ['params.version', 'query.environment'],
    },
    expect: (res) => {
      assert.equal(res.json().spec.name, 'demo');
      assert.equal(res.json().spec.sourceDir, undefined);
      assert.equal(res.json().sourceDir, '/srv/demo');
    },
  },
  {
    method: 'GET',
    url: '/api/stores/demo/policy',
    access: 'viewer',
    invalid: { who: 'root', url: '/api/stores/Demo!/policy', paths: ['params.store'] },
    status: 200,
    expect: (res) => {
      assert.equal(res.json().version, 0);
      assert.equal(res.json().policy.waf.mode, 'block');
    },
  },
  {
    method: 'PUT',
    url: '/api/stores/demo/policy',
    access: 'developer',
    body: { ipDeny: ['192.0.2.0/24'], waf: { mode: 'detect' } },
    status: 200,
    action: 'policy.put',
    invalid: {
      body: { rateLimits: [{ class: 'api', ratePerSec: -1, burst: 0 }], waf: { mode: 'loud' } },
      paths: ['body.rateLimits[0].ratePerSec', 'body.rateLimits[0].burst', 'body.waf.mode'],
    },
    expect: async (res, fx) => {
      assert.equal(res.json().version, 1);
      assert.equal((await fx.state.policies.get('demo'))?.policy.waf.mode, 'detect');
    },
  },
  {
    method: 'PUT',
    url: '/api/stores/demo/policy/rate-limits',
    access: 'developer',
    body: [{ class: 'checkout', pathPrefixes: ['/checkout'], ratePerSec: 5, burst: 10 }],
    status: 200,
    action: 'policy.rate-limits',
    invalid: {
      body: [{ class: 'x', ratePerSec: 0, burst: 0 }],
      paths: ['body[0].ratePerSec', 'body[0].burst'],
    },
    expect: (res) => assert.equal(res.json().policy.rateLimits[0].class, 'checkout'),
  },
  {
    method: 'PUT',
    url: '/api/stores/demo/policy/ip-rules',
    access: 'developer',
    body: { allow: [], deny: ['198.51.100.7'] },
    status: 200,
    action: 'policy.ip-rules',
    invalid: { body: { allow: ['not-an-ip'], deny: 'x' }, paths: ['body.allow[0]', 'body.deny'] },
    expect: (res) => assert.deepEqual(res.json().policy.ipDeny, ['198.51.100.7']),
  },
  {
    method: 'GET',
    url: '/api/stores/demo/domains',
    access: 'viewer',
    setup: withDomain,
    invalid: { who: 'root', url: '/api/stores/Demo!/domains', paths: ['params.store'] },
    status: 200,
    expect: (res) =>
      assert.deepEqual(
        res.json().map((d: { hostname: string }) => d.hostname),
        ['shop.example.com'],
      ),
  },
  {
    method: 'POST',
    url: '/api/stores/demo/domains',
    access: 'owner',
    body: { hostname: 'Shop.Example.com' },
    status: 201,
    action: 'domain.add',
    invalid: { body: { hostname: 'not a host', port: 443 }, paths: ['body.hostname', 'body'] },
    expect: async (res, fx) => {
      assert.equal(res.json().hostname, 'shop.example.com');
      assert.equal((await fx.state.domains.lookup('shop.example.com'))?.storeId, 'demo');
    },
  },
  {
    method: 'DELETE',
    url: '/api/stores/demo/domains/shop.example.com',
    access: 'owner',
    setup: withCertificate,
    status: 204,
    action: 'domain.remove',
    invalid: { url: '/api/stores/demo/domains/not%20a%20host', paths: ['params.hostname'] },
    expect: async (_res, fx) => {
      assert.equal(await fx.state.domains.lookup('shop.example.com'), null);
      assert.equal(await fx.state.certificates.get('shop.example.com'), null);
    },
  },
  {
    method: 'PUT',
    url: '/api/certificates/shop.example.com',
    access: 'owner',
    setup: withDomain,
    body: { certPem: SHOP_CERT, keyPem: SHOP_KEY },
    status: 200,
    action: 'certificate.put',
    invalid: { body: { certPem: 'x', keyPem: 'y' }, paths: ['body.certPem', 'body.keyPem'] },
    expect: async (res, fx) => {
      assert.deepEqual(Object.keys(res.json()).sort(), ['hostname', 'notAfter', 'store', 'updatedAt']);
      assert.equal(res.json().notAfter, '2126-11-05T22:54:44.000Z');
      assert.equal((await fx.state.certificates.get('shop.example.com'))?.keyPem, SHOP_KEY);
      const [event] = await fx.state.audit.list({ limit: 1 });
      assert.doesNotMatch(JSON.stringify(event), /PRIVATE KEY/);
    },
  },
  {
    method: 'GET',
    url: '/api/stores/demo/certificates',
    access: 'viewer',
    setup: withCertificate,
    invalid: { who: 'root', url: '/api/stores/Demo!/certificates', paths: ['params.store'] },
    status: 200,
    expect: (res) => {
      assert.equal(res.json()[0].hostname, 'shop.example.com');
      assert.doesNotMatch(res.body, /PRIVATE KEY/);
    },
  },
  {
    method: 'POST',
    url: '/api/stores/demo/purge',
    access: 'developer',
    body: { prefix: '/media/' },
    status: 200,
    action: 'cache.purge',
    invalid: { body: { url: 'no spaces allowed', prefix: 'media' }, paths: ['body.url', 'body.prefix'] },
    expect: async (res, fx) => {
      assert.deepEqual(res.json(), { edges: 2, varnishes: 1 });
      assert.deepEqual(fx.purges, [{ store: 'demo', what: { prefix: '/media/' } }]);
      assert.equal((await fx.state.events.list({ store: 'demo' }))[0]?.kind, 'cache.purged');
    },
  },
  {
    method: 'POST',
    url: '/api/stores/demo/backups',
    access: 'developer',
    setup: applied,
    body: {},
    status: 201,
    action: 'backup.create',
    invalid: { body: { environment: 'qa' }, paths: ['body.environment'] },
    expect: async (res, fx) => {
      assert.equal(res.json().backup.status, 'queued');
      assert.equal((await fx.state.jobs.get(res.json().operation))?.kind, 'backup.create');
    },
  },
  {
    method: 'GET',
    url: '/api/stores/demo/backups',
    access: 'viewer',
    setup: withBackup,
    status: 200,
    invalid: {
      url: '/api/stores/demo/backups?environment=qa&pruned=maybe',
      paths: ['query.environment', 'query.pruned'],
    },
    expect: (res) =>
      assert.deepEqual(
        res.json().map((b: { id: string }) => b.id),
        ['bak_test'],
      ),
  },
  {
    method: 'GET',
    url: '/api/stores/demo/backups/bak_test',
    access: 'viewer',
    setup: withBackup,
    status: 200,
    invalid: { who: 'root', url: '/api/stores/Demo!/backups/bak_test', paths: ['params.store'] },
    expect: (res) => assert.equal(res.json().snapshot.tables, 1),
  },
  {
    method: 'POST',
    url: '/api/stores/demo/backups/bak_test/verify',
    access: 'developer',
    setup: withBackup,
    status: 201,
    action: 'backup.verify',
    invalid: { who: 'root', url: '/api/stores/Demo!/backups/bak_test/verify', paths: ['params.store'] },
  },
  {
    method: 'POST',
    url: '/api/stores/demo/backups/bak_test/restore',
    access: 'owner',
    setup: withBackup,
    body: {},
    status: 201,
    action: 'backup.restore',
    invalid: { body: { to: 'Not A Store', more: 1 }, paths: ['body.to', 'body'] },
  },
  {
    method: 'GET',
    url: '/api/stores/demo/operations/job_test',
    access: 'viewer',
    setup: withBackup,
    status: 200,
    invalid: { who: 'root', url: '/api/stores/Demo!/operations/job_test', paths: ['params.store'] },
    expect: (res) => assert.equal(res.json().status, 'queued'),
  },
  {
    method: 'POST',
    url: '/api/users',
    access: 'admin',
    body: { name: 'carol' },
    status: 201,
    action: 'user.create',
    invalid: {
      body: { name: 'Carol Smith', platformAdmin: 'yes' },
      paths: ['body.name', 'body.platformAdmin'],
    },
    expect: (res) =>
      assert.deepEqual([res.json().name, res.json().platformAdmin, res.json().roles], ['carol', false, []]),
  },
  {
    method: 'GET',
    url: '/api/users',
    access: 'admin',
    status: 200,
    expect: (res) => {
      const owner = res.json().find((u: { name: string }) => u.name === 'owner');
      assert.deepEqual(owner.roles, [{ store: 'demo', role: 'owner' }]);
    },
  },
  {
    method: 'PUT',
    url: '/api/stores/demo/members/outsider',
    access: 'owner',
    body: { role: 'viewer' },
    status: 200,
    action: 'member.set',
    invalid: {
      url: '/api/stores/demo/members/Not%20A%20User',
      body: { role: 'boss' },
      paths: ['params.user', 'body.role'],
    },
    expect: async (res, fx) => {
      assert.deepEqual(res.json(), { store: 'demo', user: 'outsider', role: 'viewer' });
      assert.equal((await fx.call('outsider', 'GET', '/api/stores/demo')).statusCode, 200);
    },
  },
  {
    method: 'DELETE',
    url: '/api/stores/demo/members/viewer',
    access: 'owner',
    status: 204,
    action: 'member.remove',
    invalid: { url: '/api/stores/demo/members/Not%20A%20User', paths: ['params.user'] },
    expect: async (_res, fx) =>
      assert.equal((await fx.call('viewer', 'GET', '/api/stores/demo')).statusCode, 403),
  },
  {
    method: 'POST',
    url: '/api/tokens',
    access: 'user',
    forbidden: [{ who: 'viewer', body: { name: 'ci', user: 'owner' } }],
    body: { name: 'ci' },
    status: 201,
    action: 'token.create',
    invalid: { body: { name: '', user: 'Not A User' }, paths: ['body.name', 'body.user'] },
    expect: async (res, fx) => {
      const { token, secret } = res.json();
      assert.deepEqual([token.user, token.name], ['viewer', 'ci']);
      const whoami = await fx.app.inject({
        url: '/api/whoami',
        headers: { authorization: `Bearer ${secret}` },
      });
      assert.equal(whoami.json().user.name, 'viewer');
      const [event] = await fx.state.audit.list({ limit: 1 });
      assert.ok(!JSON.stringify(event).includes(secret), 'the secret is not in the audit trail');
    },
  },
  {
    method: 'GET',
    url: '/api/tokens',
    access: 'user',
    forbidden: [{ who: 'viewer', url: '/api/tokens?user=owner' }],
    status: 200,
    invalid: { url: '/api/tokens?user=Not%20A%20User&all=1', paths: ['query.user', 'query'] },
    expect: (res) => {
      assert.deepEqual(
        res.json().map((t: { name: string }) => t.name),
        ['test'],
      );
      assert.equal(res.json()[0].secret, undefined);
    },
  },
  {
    method: 'DELETE',
    url: '/api/tokens/:viewer-ci',
    access: 'user',
    setup: async (fx) => {
      const viewer = await fx.state.users.byName('viewer');
      await fx.state.users.createToken(viewer!.id, 'ci');
    },
    status: 204,
    action: 'token.revoke',
    invalid: { url: '/api/tokens/ci', paths: ['params.id'] },
    expect: async (_res, fx) => {
      const viewer = await fx.state.users.byName('viewer');
      const [ci] = await fx.state.users.listTokens(viewer!.id);
      assert.equal(ci?.name, 'ci');
      assert.notEqual(ci?.revokedAt, null);
    },
  },
  {
    method: 'GET',
    url: '/api/stores/demo/events',
    access: 'viewer',
    setup: applied,
    status: 200,
    invalid: {
      url: '/api/stores/demo/events?since=yesterday&limit=lots',
      paths: ['query.since', 'query.limit'],
    },
    expect: (res) =>
      assert.deepEqual(
        res.json().map((e: { kind: string }) => e.kind),
        ['seeded'],
      ),
  },
  {
    method: 'GET',
    url: '/api/audit?store=demo',
    access: 'owner',
    forbidden: [{ who: 'owner', url: '/api/audit' }],
    setup: async (fx) => {
      await fx.call('developer', 'PUT', '/api/stores/demo/policy/ip-rules', { allow: [], deny: [] });
      await fx.call('outsider', 'POST', '/api/stores/other/domains', { hostname: 'other.example.com' });
    },
    status: 200,
    invalid: { url: '/api/audit?store=demo&since=x&limit=0', paths: ['query.since', 'query.limit'] },
    expect: (res) =>
      assert.deepEqual(
        res.json().map((e: { actor: string; action: string }) => [e.actor, e.action]),
        [['developer', 'policy.ip-rules']],
      ),
  },
];

// In the table, `:viewer-ci` in a URL is filled in with the id of the viewer's token named "ci" (known only once the fixture runs).
async function resolveUrl(fx: ApiFixture, url: string): Promise<string> {
  return url.includes(':viewer-ci') ? url.replace(':viewer-ci', await tokenIdOf(fx, 'viewer', 'ci')) : url;
}

/** Sends a request and checks the audit trail grew by `audits`. */
async function send(
  fx: ApiFixture,
  who: Who | null,
  c: RouteCase,
  over: { url?: string; body?: unknown },
  audits: number,
): Promise<LightMyRequestResponse> {
  const before = await fx.auditCount();
  const res = await fx.call(
    who,
    c.method,
    await resolveUrl(fx, over.url ?? c.url),
    'body' in over ? over.body : c.body,
  );
  assert.equal(
    await fx.auditCount(),
    before + audits,
    `audit events written by ${c.method} ${c.url}: ${res.body}`,
  );
  return res;
}

for (const c of CASES) {
  test(`${c.method} ${c.url}`, async (t) => {
    const fx = await apiFixture(t);
    await c.setup?.(fx);

    if (c.access !== 'public') {
      await t.test('fails without a token (401)', async () => {
        const res = await send(fx, null, c, {}, 0);
        assert.equal(res.statusCode, 401, res.body);
        assert.equal(res.json().code, 'TP_API_UNAUTHENTICATED');
      });
    }

    const refused = [...(WEAKER[c.access] ?? []).map((who) => ({ who })), ...(c.forbidden ?? [])] as {
      who: Who;
      url?: string;
      body?: unknown;
    }[];
    for (const f of refused) {
      await t.test(`fails for ${f.who}${f.url ? ` at ${f.url}` : ''} (403)`, async () => {
        const res = await send(fx, f.who, c, f, 0);
        assert.equal(res.statusCode, 403, res.body);
        assert.equal(res.json().code, 'TP_API_FORBIDDEN');
      });
    }

    const invalid = c.invalid;
    if (invalid) {
      await t.test(`fails on invalid input, listing ${invalid.paths.join(', ')} (400)`, async () => {
        const res = await send(fx, invalid.who ?? HAPPY_CALLER[c.access], c, invalid, 0);
        assert.equal(res.statusCode, 400, res.body);
        assert.equal(res.json().code, 'TP_API_INVALID');
        const reported = (res.json().details.problems as FieldProblem[]).map((p) => p.path);
        for (const path of invalid.paths)
          assert.ok(reported.includes(path), `${path} is reported in ${reported}`);
        for (const path of invalid.paths)
          assert.match(res.json().message, new RegExp(`${path.replace(/[[\]]/g, '\\$&')}: `));
      });
    }

    await t.test(`succeeds as ${HAPPY_CALLER[c.access] ?? 'anyone'} (${c.status})`, async () => {
      const res = await send(fx, HAPPY_CALLER[c.access], c, {}, c.action ? 1 : 0);
      assert.equal(res.statusCode, c.status, res.body);
      if (c.action) {
        const [event] = await fx.state.audit.list({ limit: 1 });
        assert.deepEqual([event?.actor, event?.action], [HAPPY_CALLER[c.access], c.action]);
      }
      await c.expect?.(res, fx);
    });
  });
}

test('the table covers every route of the OpenAPI document', async (t) => {
  const fx = await apiFixture(t);
  const doc = (await fx.call(null, 'GET', '/api/openapi.json')).json() as { paths: Record<string, object> };
  const documented = Object.entries(doc.paths)
    .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`))
    .sort();
  const covered = [
    ...new Set(
      CASES.map(
        (c) =>
          `${c.method} ${c.url
            .split('?')[0]!
            .replace(/\/stores\/demo/, '/stores/{store}')
            .replace(/\/stacks\/1$/, '/stacks/{version}')
            .replace(/\/(domains|certificates)\/shop\.example\.com$/, '/$1/{hostname}')
            .replace(/\/members\/\w+$/, '/members/{user}')
            .replace(/\/tokens\/:viewer-ci$/, '/tokens/{id}')
            .replace(/\/backups\/bak_test/, '/backups/{backup}')
            .replace(/\/operations\/job_test$/, '/operations/{operation}')}`,
      ),
    ),
  ].sort();
  assert.deepEqual(covered, documented);
});
