import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type DesiredStore, NodeDesired } from '../../contracts/fleet.ts';
import { LongPollHub } from './hub.ts';
import { type FleetNode, Reconciler, reconcile } from './reconciler.ts';
import { stackPayload } from './stack-payload.ts';
import { spec, storeWithStack, tempState } from './testing.ts';

const node = (id: string, createdAt: number, labels: Record<string, string> = {}): FleetNode => ({
  id,
  labels,
  createdAt,
});
const stack = (store: string): DesiredStore => ({
  store,
  environment: 'production',
  stackVersion: 1,
  spec: spec(store),
  sourceDir: `/srv/${store}`,
});

test('places stores by the one-machine default and keeps them where they are', () => {
  const table: {
    name: string;
    nodes: FleetNode[];
    placement?: Record<string, string>;
    expect: Record<string, string[]>;
    unplaced?: string[];
  }[] = [
    {
      name: 'every store goes to the first registered node when none has role=app',
      nodes: [node('n-late', 20), node('n-early', 10)],
      expect: { 'n-early': ['alpha', 'beta'], 'n-late': [] },
    },
    {
      name: 'a role=app node wins over an older node without it',
      nodes: [node('n-old', 10, { role: 'db' }), node('n-app', 20, { role: 'app' })],
      expect: { 'n-old': [], 'n-app': ['alpha', 'beta'] },
    },
    {
      name: 'the first registered of several role=app nodes',
      nodes: [node('n-b', 30, { role: 'app' }), node('n-a', 20, { role: 'app' })],
      expect: { 'n-b': [], 'n-a': ['alpha', 'beta'] },
    },
    {
      name: 'a placed store stays on its node even when a better default appears',
      nodes: [node('n-first', 10), node('n-app', 20, { role: 'app' })],
      placement: { alpha: 'n-first' },
      expect: { 'n-first': ['alpha'], 'n-app': ['beta'] },
    },
    {
      name: 'a store whose node was removed moves to the default node',
      nodes: [node('n-first', 10)],
      placement: { alpha: 'n-gone' },
      expect: { 'n-first': ['alpha', 'beta'] },
    },
    {
      name: 'no nodes: nothing is placed',
      nodes: [],
      expect: {},
      unplaced: ['alpha', 'beta'],
    },
  ];
  for (const c of table) {
    const out = reconcile({
      stacks: [stack('beta'), stack('alpha')],
      nodes: c.nodes,
      placement: new Map(Object.entries(c.placement ?? {})),
    });
    const got = Object.fromEntries(out.plans.map((p) => [p.nodeId, p.stores.map((s) => s.store)]));
    assert.deepEqual(got, c.expect, c.name);
    assert.deepEqual(out.unplaced, c.unplaced ?? [], c.name);
  }
});

test('writes each node a NodeDesired document and answers its poll only when it changes', async (t) => {
  const state = await tempState(t);
  const hub = new LongPollHub({ holdMs: 5000 });
  const reconciler = new Reconciler({ state, hub });
  // GIVEN two nodes and one store with a stack
  const join = async (name: string, labels: Record<string, string> = {}) => {
    const { token } = await state.joinTokens.create(60_000);
    return (await state.nodes.register({ joinToken: token, name, labels })).node;
  };
  const first = await join('app-1');
  const second = await join('app-2');
  await storeWithStack(state, 'shop');

  // WHEN the reconciler runs
  const held = hub.wait(first.id, 0);
  const r1 = await reconciler.runOnce();

  // THEN the first node runs the store and its poll is answered; the second gets an empty document
  assert.deepEqual(r1.changed, [
    { nodeId: first.id, version: 1 },
    { nodeId: second.id, version: 1 },
  ]);
  assert.equal(await held, 'published');
  const desired = (await state.nodes.getDesired(first.id))!;
  const doc = NodeDesired.parse({
    nodeId: first.id,
    version: desired.version,
    ...(desired.desired as object),
  });
  assert.deepEqual(
    doc.stores.map((s) => [s.store, s.environment, s.stackVersion, s.sourceDir, s.spec.name]),
    [['shop', 'production', 1, '/srv/shop', 'shop']],
  );
  assert.deepEqual((await state.nodes.getDesired(second.id))!.desired, { stores: [] });

  // WHEN nothing changed THEN no version moves
  assert.deepEqual((await reconciler.runOnce()).changed, []);

  // WHEN a new stack version is applied and a role=app node joins THEN only the first node changes
  await join('app-3', { role: 'app' });
  await state.stacks.apply(
    'shop',
    'production',
    stackPayload(spec('shop', { domains: ['shop.example'] }), '/srv/shop'),
    'test',
  );
  const r3 = await reconciler.runOnce();
  assert.deepEqual(
    r3.changed.filter((c) => c.nodeId !== first.id).map((c) => c.version),
    [1],
    'only the new node gets its first (empty) document',
  );
  assert.deepEqual(r3.changed.find((c) => c.nodeId === first.id)?.version, 2);
});

test('reports a stack stored without a source directory and places the others', async (t) => {
  const state = await tempState(t);
  const reconciler = new Reconciler({ state, hub: new LongPollHub() });
  const { token } = await state.joinTokens.create(60_000);
  const { node } = await state.nodes.register({ joinToken: token, name: 'app-1' });
  await storeWithStack(state, 'good');
  await state.stores.create({ id: 'bare', displayName: 'bare' });
  await state.environments.create('bare', 'production');
  await state.stacks.apply('bare', 'production', spec('bare'), 'test');

  const r = await reconciler.runOnce();
  assert.equal(r.problems.length, 1);
  assert.match(r.problems[0]!, /^store bare production stack version 1: stored without a sourceDir/);
  const doc = (await state.nodes.getDesired(node.id))!.desired as { stores: DesiredStore[] };
  assert.deepEqual(
    doc.stores.map((s) => s.store),
    ['good'],
  );
});

test("places a store's staging environment as an instance of its own, on the store's node", async (t) => {
  const state = await tempState(t);
  const reconciler = new Reconciler({ state, hub: new LongPollHub() });
  const { token } = await state.joinTokens.create(60_000);
  const { node } = await state.nodes.register({ joinToken: token, name: 'app-1' });
  // GIVEN a store with production and staging stacks, and one whose name leaves no room for staging
  await storeWithStack(state, 'shop');
  await state.environments.create('shop', 'staging');
  await state.stacks.apply(
    'shop',
    'staging',
    stackPayload(spec('shop', { domains: ['staging.shop.example'] }), '/srv/shop-staging'),
    'test',
  );
  const long = 'a-store-name-of-twenty-five';
  await storeWithStack(state, long);
  await state.environments.create(long, 'staging');
  await state.stacks.apply(long, 'staging', stackPayload(spec(long), '/srv/long'), 'test');

  // WHEN the reconciler runs
  const r = await reconciler.runOnce();

  // THEN staging runs as `shop--staging`, named so in its spec, beside production
  const doc = (await state.nodes.getDesired(node.id))!.desired as { stores: DesiredStore[] };
  assert.deepEqual(
    doc.stores.map((s) => [s.store, s.environment, s.spec.name, s.spec.domains, s.sourceDir]),
    [
      [long, 'production', long, [], `/srv/${long}`],
      ['shop', 'production', 'shop', [], '/srv/shop'],
      ['shop--staging', 'staging', 'shop--staging', ['staging.shop.example'], '/srv/shop-staging'],
    ],
  );
  // AND the staging environment that cannot be named is reported, not silently dropped
  assert.deepEqual(r.problems, [
    `store ${long} staging: the instance name ${long}--staging is over 30 characters, so it cannot run`,
  ]);
});
