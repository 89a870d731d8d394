import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSnapshot, StorePolicy } from '../../contracts/snapshot.ts';
import { LongPollHub } from './hub.ts';
import { buildSnapshot, EDGE_KEY, SnapshotBuilder, type SnapshotSources } from './snapshots.ts';
import { stackPayload } from './stack-payload.ts';
import { observed, report, spec, storeWithStack, tempState, upstream } from './testing.ts';

const CERT = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n';

/** Two stores, shop (with a domain) and blog, and nothing observed: each case adds what it tests. */
function sources(more: Partial<SnapshotSources> = {}): SnapshotSources {
  return {
    stores: [
      { id: 'shop', spec: spec('shop', { domains: ['shop.example'], edge: { waf: { mode: 'detect' } } }) },
      { id: 'blog', spec: spec('blog') },
    ],
    domains: [],
    certificates: [],
    policies: [],
    reports: [],
    ...more,
  };
}

/** What a case checks: route hosts and pools by id, member addresses, policy WAF modes, certificate hosts. */
function summary(src: SnapshotSources) {
  const { content, problems } = buildSnapshot(src);
  const checked = parseSnapshot({ ...content, version: 1 });
  assert.ok(checked.ok, JSON.stringify(!checked.ok && checked.problems));
  const s = checked.snapshot;
  return {
    routes: Object.fromEntries(
      s.routes.map((r) => [
        r.id,
        `${r.hosts.join(',')}${r.pathPrefix} -> ${r.pool}${r.fallbackPool ? ` | ${r.fallbackPool}` : ''}`,
      ]),
    ),
    pools: Object.fromEntries(s.pools.map((p) => [p.id, p.members.map((m) => `${m.host}:${m.port}`)])),
    waf: Object.fromEntries(s.policies.map((p) => [p.store, p.waf.mode])),
    certificates: s.certificates.map((c) => c.hosts.join(',')),
    problems,
  };
}

test('builds routes, pools, policies and certificates from the state', () => {
  const table: { name: string; src: SnapshotSources; expect: Partial<ReturnType<typeof summary>> }[] = [
    {
      name: 'nothing observed: no routes, so the edge answers 404 for every store',
      src: sources(),
      expect: { routes: {}, pools: {}, waf: {}, problems: [] },
    },
    {
      name: 'observed varnish upstreams of every node, deduplicated, healthy or not',
      src: sources({
        reports: [
          report([observed('shop', [upstream('varnish', 8102, false), upstream('varnish', 8101)])]),
          report([observed('shop', [upstream('varnish', 8101)])]),
        ],
      }),
      expect: {
        routes: { shop: 'shop.localhost,shop.example/ -> shop-varnish' },
        pools: { 'shop-varnish': ['127.0.0.1:8101', '127.0.0.1:8102'] },
        waf: { shop: 'detect' },
      },
    },
    {
      name: "app upstreams give a <store>-app pool as the route's fallback; a store with only app upstreams gets no route",
      src: sources({
        reports: [
          report([
            observed('shop', [upstream('varnish', 8101), upstream('app', 9001)]),
            observed('blog', [upstream('app', 9101)]),
          ]),
        ],
      }),
      expect: {
        routes: { shop: 'shop.localhost,shop.example/ -> shop-varnish | shop-app' },
        pools: { 'shop-varnish': ['127.0.0.1:8101'], 'shop-app': ['127.0.0.1:9001'] },
      },
    },
    {
      name: 'the stored policy wins over the spec edge section; a store without either gets the defaults',
      src: sources({
        stores: [...sources().stores, { id: 'nospec', spec: null }],
        policies: [{ storeId: 'shop', policy: StorePolicy.parse({ store: 'shop', waf: { mode: 'off' } }) }],
        reports: [
          report([
            observed('shop', [upstream('varnish', 8101)]),
            observed('nospec', [upstream('varnish', 8301)]),
          ]),
        ],
      }),
      expect: { waf: { shop: 'off', nospec: 'block' } },
    },
    {
      name: 'the domains table decides who owns a host; a conflicting spec domain is left out and named',
      src: sources({
        domains: [
          { hostname: 'shop.example', storeId: 'blog' },
          { hostname: 'www.blog.example', storeId: 'blog' },
        ],
        reports: [
          report([
            observed('shop', [upstream('varnish', 8101)]),
            observed('blog', [upstream('varnish', 8201)]),
          ]),
        ],
      }),
      expect: {
        routes: {
          blog: 'blog.localhost,shop.example,www.blog.example/ -> blog-varnish',
          shop: 'shop.localhost/ -> shop-varnish',
        },
        problems: ['store shop: host shop.example belongs to store blog, not routed'],
      },
    },
    {
      name: 'a store whose policy is invalid is left out on its own',
      src: sources({
        policies: [
          {
            storeId: 'shop',
            policy: { store: 'shop', bots: { rules: [{ id: 'x', pattern: '(', action: 'deny' }] } },
          },
        ],
        reports: [
          report([
            observed('shop', [upstream('varnish', 8101)]),
            observed('blog', [upstream('varnish', 8201)]),
          ]),
        ],
      }),
      expect: {
        routes: { blog: 'blog.localhost/ -> blog-varnish' },
        problems: [
          'store shop: policies[0].bots.rules[0].pattern: invalid regex: Invalid regular expression: /(/i: Unterminated group, not routed',
        ],
      },
    },
    {
      name: 'upstreams of a store that does not exist are ignored',
      src: sources({ reports: [report([observed('gone', [upstream('varnish', 8101)])])] }),
      expect: { routes: {}, pools: {} },
    },
    {
      name: 'certificates by host; an invalid one is left out and named',
      src: sources({
        certificates: [
          { hostname: 'shop.example', certPem: CERT, keyPem: KEY },
          { hostname: 'bad.example', certPem: 'nope', keyPem: KEY },
        ],
      }),
      expect: {
        certificates: ['shop.example'],
        problems: ['certificate bad.example: certPem invalid, left out'],
      },
    },
  ];
  for (const c of table) {
    const got = summary(c.src);
    const picked = Object.fromEntries(Object.keys(c.expect).map((k) => [k, got[k as keyof typeof got]]));
    assert.deepEqual(picked, c.expect, c.name);
  }
});

test('routes a store to its Varnish pool with the health check the local snapshot uses', () => {
  const { content } = buildSnapshot(
    sources({ reports: [report([observed('blog', [upstream('varnish', 8201)])])] }),
  );
  const checked = parseSnapshot({ ...content, version: 1 });
  assert.ok(checked.ok);
  assert.deepEqual(checked.snapshot.routes, [
    { id: 'blog', store: 'blog', hosts: ['blog.localhost'], pathPrefix: '/', pool: 'blog-varnish' },
  ]);
  assert.equal(checked.snapshot.pools[0]!.healthCheck.path, '/health_check.php');
  assert.deepEqual(checked.snapshot.policies[0], StorePolicy.parse({ store: 'blog', ...spec('blog').edge }));
});

test('publishes a new version only when the content changes, and wakes held edge polls', async (t) => {
  const state = await tempState(t);
  const hub = new LongPollHub({ holdMs: 5000 });
  const builder = new SnapshotBuilder({ state, hub });
  await storeWithStack(state, 'shop');
  const { token } = await state.joinTokens.create(60_000);
  const { node } = await state.nodes.register({ joinToken: token, name: 'app-1' });

  const held = hub.wait(EDGE_KEY, 0);
  const first = await builder.runOnce();
  assert.deepEqual([first.snapshot.version, first.changed, first.snapshot.routes.length], [1, true, 0]);
  assert.equal(await held, 'published');

  const same = await builder.runOnce();
  assert.deepEqual([same.snapshot.version, same.changed], [1, false]);

  await state.nodes.recordObserved(node.id, report([observed('shop', [upstream('varnish', 8101)])]));
  const next = await builder.runOnce();
  assert.deepEqual([next.snapshot.version, next.changed], [2, true]);
  assert.deepEqual(
    next.snapshot.routes.map((r) => r.pool),
    ['shop-varnish'],
  );
  assert.equal((await state.snapshots.latest())?.version, 2);
});

test('a store in maintenance has its policy say so; the others are untouched', () => {
  const { content } = buildSnapshot(
    sources({
      reports: [
        report([
          observed('shop', [upstream('varnish', 8101)]),
          observed('blog', [upstream('varnish', 8102)]),
        ]),
      ],
      maintenance: ['shop'],
    }),
  );
  assert.deepEqual(
    (content.policies ?? []).map((p) => [p.store, p.maintenance]),
    [
      ['blog', false],
      ['shop', true],
    ],
  );
});

test("routes a store's staging environment to its own instance, under its own name and domains", async (t) => {
  const state = await tempState(t);
  const builder = new SnapshotBuilder({ state, hub: new LongPollHub() });
  // GIVEN a store whose staging stack names the production domain too, and both instances running
  await storeWithStack(state, 'shop', spec('shop', { domains: ['shop.example'] }));
  await state.environments.create('shop', 'staging');
  await state.stacks.apply(
    'shop',
    'staging',
    stackPayload(spec('shop', { domains: ['staging.shop.example', 'shop.example'] }), '/srv/shop'),
    'test',
  );
  const { token } = await state.joinTokens.create(60_000);
  const { node } = await state.nodes.register({ joinToken: token, name: 'app-1' });
  await state.nodes.recordObserved(
    node.id,
    report([
      observed('shop', [upstream('varnish', 8101)]),
      observed('shop--staging', [upstream('varnish', 8201)]),
    ]),
  );

  // WHEN the snapshot is built
  const r = await builder.runOnce();

  // THEN staging answers its own hosts from its own pool, with a policy of its own
  assert.deepEqual(
    r.snapshot.routes.map((x) => [x.store, x.hosts, x.pool]),
    [
      ['shop', ['shop.localhost', 'shop.example'], 'shop-varnish'],
      ['shop--staging', ['shop--staging.localhost', 'staging.shop.example'], 'shop--staging-varnish'],
    ],
  );
  assert.deepEqual(
    r.snapshot.policies.map((p) => p.store),
    ['shop', 'shop--staging'],
  );
  // AND the production domain stays production's: staging's claim on it is a problem, not a takeover
  assert.deepEqual(r.problems, ['store shop--staging: host shop.example belongs to store shop, not routed']);
});
