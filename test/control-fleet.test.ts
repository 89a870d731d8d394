import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import Fastify from 'fastify';
import { JoinResponse } from '../src/contracts/fleet.ts';
import { type EdgeSnapshot, StorePolicy } from '../src/contracts/snapshot.ts';
import { fleetRoutes, LongPollHub, Reconciler, SnapshotBuilder } from '../src/control/fleet/index.ts';
import {
  codedErrors,
  logRecord,
  observed,
  openTempState,
  report,
  storeWithStack,
  until,
  upstream,
} from '../src/control/fleet/testing.ts';
import { ACCESS_LOG_INTAKE_PATH, AccessLog, HttpSink } from '../src/edge/accesslog/index.ts';
import { tempDir } from '../src/edge/accesslog/testing.ts';
import { ControlSource, SnapshotManager, silentLog } from '../src/edge/snapshot/index.ts';

const EDGE_TOKEN = 'edge-token-for-tests';

test('the real edge client gets each published snapshot within 2 s and ships its access log into the state', async (t) => {
  // GIVEN a control plane on loopback, wired as the control process wires it, with an edge token
  const { state, cleanup } = await openTempState();
  const hub = new LongPollHub();
  const reconciler = new Reconciler({ state, hub, intervalMs: 1000 });
  const snapshots = new SnapshotBuilder({ state, hub, intervalMs: 1000 });
  const app = Fastify();
  codedErrors(app);
  await app.register(fleetRoutes({ state, hub, reconciler, snapshots, edgeToken: EDGE_TOKEN }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  reconciler.start();
  snapshots.start();

  // AND an edge: the snapshot manager over a control source, and an access log over an HTTP sink
  const edgeDir = await tempDir();
  const spoolDir = await tempDir();
  const applied: EdgeSnapshot[] = [];
  const source = new ControlSource(base, { edgeId: 'edge-1', token: EDGE_TOKEN, backoff: { initialMs: 50 } });
  const manager = new SnapshotManager({
    dataDir: edgeDir.dir,
    source,
    onApply: (s) => {
      applied.push(s);
    },
    log: silentLog,
  });
  const accessLog = new AccessLog({
    sink: new HttpSink(`${base}${ACCESS_LOG_INTAKE_PATH}`, { token: EDGE_TOKEN }),
    spoolDir: spoolDir.dir,
    batchSize: 50,
    flushIntervalMs: 20,
  });
  t.after(async () => {
    await manager.stop();
    await accessLog.stop();
    await app.close();
    await reconciler.stop();
    await snapshots.stop();
    await cleanup();
    await edgeDir.cleanup();
    await spoolDir.cleanup();
  });
  await manager.start();
  await accessLog.start();
  await until('the edge runs the first snapshot', () => manager.stats().version === 1);
  assert.equal(applied[0]?.routes.length, 0);

  // WHEN a store is applied, an agent joins over HTTP and reports its Varnish
  await storeWithStack(state, 'shop');
  const { token } = await state.joinTokens.create(60_000);
  const joined = await fetch(`${base}/api/agent/join`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ joinToken: token, name: 'app-1' }),
  });
  assert.equal(joined.status, 201);
  const { agentToken } = JoinResponse.parse(await joined.json());
  const desired = await fetch(`${base}/api/agent/desired?after=0`, {
    headers: { authorization: `Bearer ${agentToken}` },
  });
  assert.equal(desired.status, 200);
  assert.deepEqual(
    ((await desired.json()) as { stores: { store: string }[] }).stores.map((s) => s.store),
    ['shop'],
  );
  const t0 = Date.now();
  const reported = await fetch(`${base}/api/agent/report`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${agentToken}` },
    body: JSON.stringify(report([observed('shop', [upstream('varnish', 8101)])])),
  });
  assert.equal(reported.status, 204);

  // THEN the edge runs a snapshot routing the store to that Varnish within 2 s
  await until('the edge routes shop', () => manager.current()?.routes[0]?.pool === 'shop-varnish', 2000);
  assert.ok(Date.now() - t0 < 2000);
  assert.deepEqual(manager.current()?.pools[0]?.members, [{ host: '127.0.0.1', port: 8101 }]);
  const routed = manager.stats().version!;

  // WHEN the store's policy changes THEN the edge runs it within 2 s too
  const t1 = Date.now();
  await state.policies.put('shop', StorePolicy.parse({ store: 'shop', waf: { mode: 'detect' } }), 'test');
  snapshots.onChange();
  await until(
    'the new policy at the edge',
    () => manager.current()?.policies[0]?.waf.mode === 'detect',
    2000,
  );
  assert.ok(Date.now() - t1 < 2000);
  assert.equal(manager.stats().version, routed + 1);

  // AND the control plane knows which version the edge runs
  await until('the ack', async () => (await state.edgeAcks.latestPerEdge())[0]?.version === routed + 1);
  const status = await fetch(`${base}/api/edge/status`, {
    headers: { authorization: `Bearer ${EDGE_TOKEN}` },
  });
  const body = (await status.json()) as { edges: { edge: string; version: number; accepted: boolean }[] };
  assert.deepEqual(
    body.edges.map((e) => [e.edge, e.version, e.accepted]),
    [['edge-1', routed + 1, true]],
  );

  // WHEN the edge logs requests THEN its batches land in the state, all of them, in order
  for (let i = 0; i < 120; i++) accessLog.push(logRecord(i));
  await until(
    '120 stored records',
    async () => (await state.accessLogs.query({ limit: 1000 })).length === 120,
  );
  const stored = await state.accessLogs.query({ limit: 1000 });
  assert.deepEqual(
    stored.map((r) => r.requestId).reverse(),
    Array.from({ length: 120 }, (_, i) => `r-${i}`),
  );
  assert.equal(accessLog.stats().dropped, 0);
  assert.equal(source.stats().ackFailures, 0);
});
