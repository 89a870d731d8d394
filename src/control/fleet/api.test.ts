import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JoinResponse } from '../../contracts/fleet.ts';
import { bootstrapAdmin, buildApi } from '../api/index.ts';
import { LongPollHub } from './hub.ts';
import { Reconciler } from './reconciler.ts';
import { fleetRoutes } from './routes.ts';
import { SnapshotBuilder } from './snapshots.ts';
import { logRecord, tempState } from './testing.ts';

test('inside the API server, fleet routes use their own tokens and the status view needs an admin', async (t) => {
  // GIVEN the API server with the fleet routes as a plugin, as the control process builds it
  const state = await tempState(t);
  const hub = new LongPollHub();
  const reconciler = new Reconciler({ state, hub });
  const snapshots = new SnapshotBuilder({ state, hub });
  const fleet = fleetRoutes({ state, hub, reconciler, snapshots, edgeToken: 'edge-token', holdMs: 50 });
  const app = buildApi({ state, plugins: [fleet] });
  t.after(async () => {
    await app.close();
    await reconciler.stop();
    await snapshots.stop();
  });
  const edge = { authorization: 'Bearer edge-token' };

  // THEN agents and edges get in with their own tokens, no API token needed
  const { token } = await state.joinTokens.create(60_000);
  const join = await app.inject({
    method: 'POST',
    url: '/api/agent/join',
    payload: { joinToken: token, name: 'n1' },
  });
  assert.equal(join.statusCode, 201, join.body);
  const agent = { authorization: `Bearer ${JoinResponse.parse(join.json()).agentToken}` };
  assert.equal((await app.inject({ url: '/api/agent/desired?after=0', headers: agent })).statusCode, 200);
  const log = await app.inject({
    method: 'POST',
    url: '/api/edge/access-log',
    headers: { ...edge, 'content-type': 'application/x-ndjson' },
    payload: JSON.stringify(logRecord(1)),
  });
  assert.equal(log.statusCode, 204, log.body);
  const ack = { edge: 'e', version: 1, accepted: true };
  assert.equal(
    (await app.inject({ method: 'POST', url: '/api/edge/ack', headers: edge, payload: ack })).statusCode,
    204,
  );

  // AND the status view takes an admin's API token, not the edge token
  assert.equal((await app.inject({ url: '/api/edge/status', headers: edge })).statusCode, 401);
  const admin = await bootstrapAdmin(state, 'root');
  const status = await app.inject({ url: '/api/edge/status', headers: { authorization: `Bearer ${admin}` } });
  assert.equal(status.statusCode, 200, status.body);
  assert.deepEqual(
    status.json().edges.map((e: { edge: string; version: number }) => [e.edge, e.version]),
    [['e', 1]],
  );

  // AND every fleet route is in the OpenAPI document
  const paths = Object.keys((await app.inject({ url: '/api/openapi.json' })).json().paths);
  assert.deepEqual(paths.filter((p) => /^\/api\/(agent|edge)\//.test(p)).sort(), [
    '/api/agent/desired',
    '/api/agent/join',
    '/api/agent/report',
    '/api/agent/tasks/claim',
    '/api/agent/tasks/{id}/outcome',
    '/api/edge/access-log',
    '/api/edge/ack',
    '/api/edge/snapshot',
    '/api/edge/status',
  ]);
});
