import assert from 'node:assert/strict';
import { get } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { EdgeSnapshot } from '../../contracts/snapshot.ts';
import { fleet, logRecord, observed, report, storeWithStack, until, upstream } from './testing.ts';

const ndjson = (lines: unknown[]) =>
  lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n');

test('a snapshot poll gets the newest at once, a held poll gets the next publish, and 204 after the hold', async (t) => {
  // A hold long enough that a slow machine publishes well within it: the held poll below must be
  // answered by the publish, and the hold's end would answer 204 instead.
  const { app, state, snapshots } = await fleet(t, { holdMs: 2000 });
  const t0 = Date.now();
  const empty = await app.inject({ url: '/api/edge/snapshot?after=0&edge=edge-1' });
  assert.equal(empty.statusCode, 204, 'nothing published yet');
  assert.ok(Date.now() - t0 >= 1990, `204 after ${Date.now() - t0} ms`);

  await snapshots.runOnce();
  const first = await app.inject({ url: '/api/edge/snapshot?after=0&edge=edge-1' });
  assert.equal(first.statusCode, 200);
  assert.equal(first.headers['content-type'], 'application/json; charset=utf-8');
  assert.equal(EdgeSnapshot.parse(first.json()).version, 1);

  // WHEN a poll after 1 is held and a report changes the snapshot
  const t1 = Date.now();
  const held = app.inject({ url: '/api/edge/snapshot?after=1&edge=edge-1' });
  await new Promise((r) => setTimeout(r, 50));
  await storeWithStack(state, 'shop');
  const { token } = await state.joinTokens.create(60_000);
  const { node } = await state.nodes.register({ joinToken: token, name: 'app-1' });
  await state.nodes.recordObserved(node.id, report([observed('shop', [upstream('varnish', 8101)])]));
  await snapshots.runOnce();
  // THEN it is answered with version 2, so before the hold ended
  const res = await held;
  assert.equal(res.statusCode, 200, 'answered by the publish, not by the end of the hold');
  const v2 = EdgeSnapshot.parse(res.json());
  assert.equal(v2.version, 2);
  assert.deepEqual(v2.routes[0]?.hosts, ['shop.localhost']);
  assert.ok(Date.now() - t1 < 1990, `answered after ${Date.now() - t1} ms`);

  // An edge that restarted with version 1 on disk gets version 2 at once.
  assert.equal((await app.inject({ url: '/api/edge/snapshot?after=1' })).json().version, 2);
  for (const after of ['-1', 'x', '1.5']) {
    const bad = await app.inject({ url: `/api/edge/snapshot?after=${after}` });
    assert.equal(bad.statusCode, 400, after);
    assert.equal(bad.json().code, 'TP_API_INVALID');
  }
});

test('a client that disconnects from a held poll frees its hub slot at once', async (t) => {
  const { app, hub } = await fleet(t, { holdMs: 60_000 });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  // A plain one-off connection: a pooled client could keep another one open and slow down close().
  const poll = get(`http://127.0.0.1:${port}/api/edge/snapshot?after=0`, { agent: false });
  const failed = new Promise((resolve) => poll.once('error', resolve));
  await until('the held poll', () => hub.held === 1);
  poll.destroy();
  await failed;
  await until('the slot freed', () => hub.held === 0, 1000);
});

test('records accepted and rejected acks, and shows each edge with its last rejection', async (t) => {
  const { app, state, snapshots } = await fleet(t);
  await snapshots.runOnce();
  const ack = (payload: object) => app.inject({ method: 'POST', url: '/api/edge/ack', payload });
  assert.equal((await ack({ edge: 'edge-1', version: 1, accepted: true })).statusCode, 204);
  const rejected = {
    edge: 'edge-2',
    version: 1,
    accepted: false,
    problems: [{ path: 'routes[0].pool', message: 'route demo names unknown pool "nope"' }],
  };
  assert.equal((await ack(rejected)).statusCode, 204);
  assert.equal((await ack({ edge: 'edge-3', version: null, accepted: false, problems: [] })).statusCode, 204);
  await new Promise((r) => setTimeout(r, 2));
  assert.equal((await ack({ edge: 'edge-2', version: 1, accepted: true })).statusCode, 204);

  const acks = await state.edgeAcks.latestPerEdge();
  assert.deepEqual(
    acks.map((a) => [a.edgeId, a.version, a.accepted]),
    [
      ['edge-1', 1, true],
      ['edge-2', 1, true],
      ['edge-3', 0, false],
    ],
  );
  const status = (await app.inject({ url: '/api/edge/status' })).json();
  assert.equal(status.snapshot.version, 1);
  assert.deepEqual(
    status.edges.map(
      (e: { edge: string; version: number | null; accepted: boolean; lastRejection: unknown }) => [
        e.edge,
        e.version,
        e.accepted,
        e.lastRejection && (e.lastRejection as { errors: string[] }).errors,
      ],
    ),
    [
      ['edge-1', 1, true, null],
      ['edge-2', 1, true, ['routes[0].pool: route demo names unknown pool "nope"']],
      ['edge-3', null, false, []],
    ],
  );

  const bad = await ack({ edge: '', version: 0, accepted: 'yes' });
  assert.equal(bad.statusCode, 400);
  assert.deepEqual(
    bad.json().details.problems.map((p: { path: string }) => p.path),
    ['edge', 'version', 'accepted'],
  );
});

test('stores a good NDJSON access-log batch and rejects a batch with a bad line, naming line and field', async (t) => {
  const { app, state } = await fleet(t);
  const post = (payload: string, contentType = 'application/x-ndjson') =>
    app.inject({
      method: 'POST',
      url: '/api/edge/access-log',
      headers: { 'content-type': contentType },
      payload,
    });

  const good = await post(`${ndjson([logRecord(1), logRecord(2)])}\n`);
  assert.equal(good.statusCode, 204, good.body);
  assert.deepEqual(
    (await state.accessLogs.query()).map((r) => r.requestId),
    ['r-2', 'r-1'],
  );

  const bad = await post(
    ndjson([logRecord(3), { ...logRecord(4), status: 'ok' }, '{oops', { ...logRecord(6), time: 'soon' }]),
  );
  assert.equal(bad.statusCode, 400);
  assert.equal(bad.json().code, 'TP_API_INVALID');
  assert.deepEqual(
    bad.json().details.problems.map((p: { path: string }) => p.path),
    ['line 2.status', 'line 3', 'line 4.time'],
  );
  assert.match(bad.json().message, /^access-log batch rejected: line 2\.status: /);
  assert.equal((await state.accessLogs.query()).length, 2, 'no record of the bad batch is stored');

  assert.equal((await post('')).statusCode, 204, 'an empty batch');
  const json = await post(JSON.stringify([logRecord(7)]), 'application/json');
  assert.equal(json.statusCode, 400);
  assert.match(json.json().message, /expected an application\/x-ndjson body/);
});

test('with an edge token, every edge endpoint answers 401 with a coded body unless the token is sent', async (t) => {
  const { app } = await fleet(t, { edgeToken: 'edge-s3cret', holdMs: 50 });
  const requests = [
    { method: 'GET' as const, url: '/api/edge/snapshot?after=0' },
    { method: 'POST' as const, url: '/api/edge/ack', payload: { edge: 'e', version: 1, accepted: true } },
    {
      method: 'POST' as const,
      url: '/api/edge/access-log',
      headers: { 'content-type': 'application/x-ndjson' },
      payload: JSON.stringify(logRecord(1)),
    },
  ];
  for (const req of requests) {
    for (const authorization of [undefined, 'Bearer wrong']) {
      const headers = { ...req.headers, ...(authorization ? { authorization } : {}) };
      const res = await app.inject({ ...req, headers });
      assert.equal(res.statusCode, 401, `${req.url} ${authorization}`);
      assert.equal(res.json().code, 'TP_API_UNAUTHENTICATED');
    }
    const ok = await app.inject({ ...req, headers: { ...req.headers, authorization: 'Bearer edge-s3cret' } });
    assert.ok([200, 204].includes(ok.statusCode), `${req.url}: ${ok.statusCode} ${ok.body}`);
  }
  // The status view is for people: the API server guards it with API tokens (access "admin").
  const status = await app.inject({ url: '/api/edge/status' });
  assert.equal(status.statusCode, 200);
});

test('closing the server answers held polls with 204 instead of waiting out the hold', async (t) => {
  const { app, hub } = await fleet(t, { holdMs: 60_000 });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  const status = new Promise<number | undefined>((resolve, reject) =>
    get(`http://127.0.0.1:${port}/api/edge/snapshot?after=0`, { agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode);
    }).once('error', reject),
  );
  await until('the held poll', () => hub.held === 1);
  const t0 = Date.now();
  await app.close();
  assert.equal(await status, 204);
  assert.ok(Date.now() - t0 < 1000, `closed after ${Date.now() - t0} ms`);
});
