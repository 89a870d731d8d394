import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type TestContext, test } from 'node:test';
import { backoffDelay } from '../../contracts/long-poll.ts';
import { ControlSource } from './control-source.ts';
import { recordingLog, snapshotInput, waitFor } from './testing.ts';
import { TestingControlServer } from './testing-control-server.ts';

test('backs off from 0.5 s doubling to 10 s, with at most 20 % jitter below', () => {
  const table = [0, 1, 2, 3, 4, 5, 6, 50, 5000];
  assert.deepEqual(
    table.map((a) => backoffDelay(a, {}, () => 0)),
    [500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000, 10_000],
  );
  assert.deepEqual(
    table.slice(0, 3).map((a) => backoffDelay(a, {}, () => 1)),
    [400, 800, 1600],
  );
  assert.equal(
    backoffDelay(3, { initialMs: 10, maxMs: 50 }, () => 0),
    50,
  );
});

/** GIVEN a test control server and a started control source pointed at it, recording deliveries. */
async function given(t: TestContext, o: { token?: string; sourceToken?: string; holdMs?: number } = {}) {
  const server = new TestingControlServer({ holdMs: o.holdMs ?? 25_000, token: o.token });
  await server.start();
  // Also on failure: a source left polling would keep the test process alive.
  t.after(async () => {
    await source.stop();
    await server.stop();
  });
  const { log, records } = recordingLog();
  const source = new ControlSource(`${server.url}/`, {
    edgeId: 'edge-a',
    token: o.sourceToken ?? o.token,
    backoff: { initialMs: 20, maxMs: 100 },
    log,
  });
  const got: { raw: unknown; origin: string }[] = [];
  source.start((raw, origin) => got.push({ raw, origin }));
  const versions = () => got.map((g) => (g.raw as { version: number }).version);
  return { server, source, got, versions, records };
}

test('long-polls with after, edge and token, and a publish answers the held poll at once', async (t) => {
  const { server, source, got, versions } = await given(t, { token: 's3cret' });
  server.publish(snapshotInput(1));
  await waitFor('v1', () => versions().length === 1);
  assert.equal(got[0]!.origin, `control:${server.url}`);
  await waitFor('a held poll', () => server.heldPolls === 1);
  const t0 = Date.now();
  server.publish(snapshotInput(2));
  await waitFor('v2', () => versions().length === 2);
  assert.ok(Date.now() - t0 < 1_000, 'the held poll was answered, not a new one');
  await waitFor('the poll after v2', () => server.polls.length === 3);
  assert.deepEqual(
    server.polls.slice(0, 3),
    [0, 1, 2].map((after) => ({ edge: 'edge-a', after, authorization: 'Bearer s3cret' })),
  );
  assert.equal(source.stats().after, 2);
  assert.equal(source.stats().pollErrors, 0);
});

test('polls again after a 204 without counting an error', async (t) => {
  const { server, source } = await given(t, { holdMs: 50 });
  await waitFor('three polls', () => server.polls.length >= 3);
  assert.equal(source.stats().pollErrors, 0);
  assert.deepEqual(
    server.polls.map((p) => p.after),
    server.polls.map(() => 0),
  );
});

test('counts a refused token as a poll error with a coded reason and keeps retrying', async (t) => {
  const { source, records } = await given(t, { token: 'right', sourceToken: 'wrong' });
  await waitFor('three failed polls', () => source.stats().pollErrors >= 3);
  const st = source.stats();
  assert.equal(st.lastError?.code, 'TP_EDGE_SNAPSHOT_CONTROL_STATUS');
  assert.match(st.lastError!.message, /answered 401/);
  assert.equal(records.filter((r) => r.level === 'warn').length, 1, 'one warning per outage');
});

test('keeps retrying an unreachable control plane without throwing, and stops promptly', async (t) => {
  const server = new TestingControlServer();
  await server.start();
  const url = server.url;
  await server.stop();
  const source = new ControlSource(url, { edgeId: 'e', backoff: { initialMs: 20, maxMs: 40 } });
  t.after(() => source.stop());
  source.start(() => assert.fail('nothing to deliver'));
  await waitFor('retries', () => source.stats().consecutiveErrors >= 4);
  assert.equal(source.stats().lastError?.code, 'ECONNREFUSED');
  source.ack({ version: 1, accepted: true });
  await waitFor('the lost ack', () => source.stats().ackFailures === 1);
  const t0 = Date.now();
  await source.stop();
  assert.ok(Date.now() - t0 < 500);
});

test('backs off instead of spinning when the control plane resends a version it already sent', async (t) => {
  // A misbehaving control plane that answers every poll with version 1, whatever `after` says.
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(snapshotInput(1)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const source = new ControlSource(url, { edgeId: 'e', backoff: { initialMs: 20, maxMs: 100 } });
  t.after(async () => {
    await source.stop();
    server.closeAllConnections();
    server.close();
  });
  let delivered = 0;
  source.start(() => delivered++);
  await new Promise((r) => setTimeout(r, 500));
  const st = source.stats();
  assert.equal(st.after, 1);
  assert.equal(st.lastError?.code, 'TP_EDGE_SNAPSHOT_CONTROL_BODY');
  assert.match(st.lastError!.message, /sent version 1 for a poll after 1/);
  // 20 + 40 + 80 + 100 + 100… ms: a handful of polls in half a second, not hundreds.
  assert.ok(st.polls >= 3 && st.polls <= 10, `polls: ${st.polls}`);
  assert.equal(
    delivered,
    st.snapshots,
    'each answer is still delivered, so the manager can judge and ack it',
  );
  assert.ok(delivered >= 3);
});

test('sends acks in order with the edge id and problems', async (t) => {
  const { server, source } = await given(t);
  source.ack({ version: 1, accepted: true });
  source.ack({
    version: 2,
    accepted: false,
    problems: [{ path: 'routes[0].pool', message: 'unknown pool' }],
  });
  await source.stop(); // stop() drains queued acks
  assert.deepEqual(server.acks, [
    { edge: 'edge-a', version: 1, accepted: true },
    {
      edge: 'edge-a',
      version: 2,
      accepted: false,
      problems: [{ path: 'routes[0].pool', message: 'unknown pool' }],
    },
  ]);
  assert.equal(source.stats().acksSent, 2);
});
