import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { pino } from 'pino';
import { z } from 'zod';
import { hostLowestPriority } from '../../contracts/priority.ts';
import { route, routeKey } from '../api/index.ts';
import { accessRecord, apiFixture } from '../api/testing.ts';
import { opsRoutes } from '../ops/routes.ts';
import { answerHead, answerOnConnection, readerCommand, readHandler } from './reader.ts';
import { analyticsRoutes } from './table.ts';

function logInto(lines: string[]) {
  return pino(
    { level: 'info' },
    new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    }),
  );
}

/** A reply with its body as text. */
const asText = (r: { id: number; status: number; body: Uint8Array }) => ({
  ...r,
  body: Buffer.from(r.body).toString('utf8'),
});

test('the reader knows exactly the analytics reads of the API: requests, events, audit', async (t) => {
  const f = await apiFixture(t);
  assert.deepEqual([...analyticsRoutes(f.state).keys()].sort(), [
    'GET /api/audit',
    'GET /api/stores/:store/events',
    'GET /api/stores/:store/requests',
  ]);
});

test('the reader answers each read with the bytes the API answers it with in its own process', async (t) => {
  const f = await apiFixture(t, { plugins: (state) => [opsRoutes(state)] });
  const t0 = Date.now() - 10_000;
  await f.state.accessLogs.insertBatch([
    accessRecord('demo', 200, '/a', t0),
    accessRecord('demo', 404, '/b/x', t0 + 1),
    accessRecord('other', 200, '/c', t0 + 2),
  ]);
  await f.state.events.record({
    storeId: 'demo',
    kind: 'backup.succeeded',
    message: 'taken',
    data: { n: 1 },
  });
  const handle = readHandler(analyticsRoutes(f.state), logInto([]));
  const cases = [
    {
      url: '/api/stores/demo/requests?status=404',
      route: 'GET /api/stores/:store/requests',
      query: { status: '404' },
    },
    { url: '/api/stores/demo/requests', route: 'GET /api/stores/:store/requests', query: {} },
    { url: '/api/stores/demo/events', route: 'GET /api/stores/:store/events', query: {} },
    { url: '/api/audit?store=demo', route: 'GET /api/audit', query: { store: 'demo' } },
  ];
  for (const [id, c] of cases.entries()) {
    const api = await f.call('root', 'GET', c.url);
    assert.equal(api.statusCode, 200, api.body);
    const params = c.route.includes(':store') ? { store: 'demo' } : {};
    const reply = asText(await handle({ id, route: c.route, params, query: c.query }));
    assert.deepEqual(reply, { id, status: 200, body: api.body }, c.url);
  }
  const read = async (id: number, route: string) =>
    JSON.parse(asText(await handle({ id, route, params: { store: 'demo' }, query: {} })).body);
  const events = await read(8, cases[2]!.route);
  assert.deepEqual(
    events.map((e: { kind: string }) => e.kind),
    ['backup.succeeded'],
  );
  const requests = await read(9, cases[1]!.route);
  assert.deepEqual(
    requests.map((r: { path: string }) => r.path),
    ['/b/x', '/a'],
  );
});

test("a route's coded error is answered with its status and body, as the API answers it", async (t) => {
  const f = await apiFixture(t, { plugins: (state) => [opsRoutes(state)] });
  const handle = readHandler(analyticsRoutes(f.state), logInto([]));
  const api = await f.call('root', 'GET', '/api/stores/nosuch/events');
  assert.equal(api.statusCode, 404);
  const reply = asText(
    await handle({ id: 1, route: 'GET /api/stores/:store/events', params: { store: 'nosuch' }, query: {} }),
  );
  assert.deepEqual({ ...reply, body: JSON.parse(reply.body) }, { id: 1, status: 404, body: api.json() });
});

test('a read the reader cannot answer is told 500 naming why; one without an id stops it', async (t) => {
  const f = await apiFixture(t);
  const lines: string[] = [];
  const broken = route({
    method: 'GET',
    url: '/api/broken',
    summary: 'fails',
    access: 'user',
    response: z.array(z.string()),
    analytics: true,
    handle: async () => {
      throw new Error('disk on fire');
    },
  });
  const handle = readHandler(
    new Map([...analyticsRoutes(f.state), [routeKey(broken), broken]]),
    logInto(lines),
  );

  const unknown = asText(await handle({ id: 1, route: 'GET /api/nope', params: {}, query: {} }));
  assert.equal(unknown.status, 500);
  assert.deepEqual(JSON.parse(unknown.body), {
    code: 'TP_API_INTERNAL',
    message: 'the analytics reader does not know GET /api/nope',
    details: { route: 'GET /api/nope' },
  });

  const malformed = asText(await handle({ id: 2, route: 'GET /api/audit', params: 'x' }));
  assert.equal(malformed.status, 500);
  const problems = JSON.parse(malformed.body).details.problems.map((p: { path: string }) => p.path);
  assert.deepEqual(problems.sort(), ['params', 'query']);

  const failed = asText(await handle({ id: 3, route: 'GET /api/broken', params: {}, query: {} }));
  assert.equal(failed.status, 500);
  assert.deepEqual(JSON.parse(failed.body).code, 'TP_API_INTERNAL');
  assert.match(lines.join(''), /disk on fire/);

  await assert.rejects(handle({ route: 'GET /api/audit' }), { code: 'TP_READER_PROTOCOL' });
});

test('the reader is started as management work: lowest niceness, idle I/O, idle scheduling', () => {
  assert.deepEqual(
    readerCommand({
      node: ['/usr/bin/node', '--import', 'tsx'],
      entry: '/opt/tp/main.ts',
      dataDir: '/var/lib/tp',
    }),
    [
      ...hostLowestPriority(),
      '/usr/bin/node',
      '--import',
      'tsx',
      '/opt/tp/main.ts',
      'analytics-reader',
      '--data-dir',
      '/var/lib/tp',
    ],
  );
  assert.deepEqual(
    readerCommand({ node: ['node'], entry: 'm.ts', dataDir: '/d', databaseUrl: 'postgres://h/db' }).slice(-4),
    ['--data-dir', '/d', '--database-url', 'postgres://h/db'],
  );
  assert.deepEqual(hostLowestPriority().slice(-3), ['chrt', '--idle', '0']);
});

test("the answer written on a connection is the API's: status, JSON type, length, date, then the close", () => {
  assert.equal(
    answerHead(404, 57, new Date(Date.UTC(2026, 11, 1, 2, 3, 4))),
    'HTTP/1.1 404 Not Found\r\n' +
      'content-type: application/json; charset=utf-8\r\n' +
      'content-length: 57\r\n' +
      'date: Tue, 01 Dec 2026 02:03:04 GMT\r\n' +
      'connection: close\r\n\r\n',
  );
});

test('a reply goes out whole on the connection, which is then let go; a dead connection is told', async (t) => {
  // GIVEN a loopback connection, its server side in the reader's hands
  const server = createServer();
  t.after(() => server.close());
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
  const [side] = await accepted;
  const received: Buffer[] = [];
  client.on('data', (d) => received.push(d));
  const ended = once(client, 'end');
  // WHEN the reader answers on it
  const body = Buffer.from(JSON.stringify([{ path: '/é' }]));
  const w = await answerOnConnection(side, { id: 7, status: 200, body });
  await ended;
  // THEN the client has the head and the body, byte for byte, and then the end of the connection
  const text = Buffer.concat(received).toString('latin1');
  const [head, rest] = text.split('\r\n\r\n');
  assert.match(head!, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(head!, new RegExp(`\r\ncontent-length: ${body.length}\r\n`));
  assert.equal(Buffer.from(rest!, 'latin1').toString('utf8'), body.toString('utf8'));
  assert.deepEqual(w, { id: 7, status: 200, bytes: body.length, written: true });
  assert.equal(side.destroyed, true);
  client.destroy();

  // AND on a connection the client has reset, the reply is reported as not written
  const accepted2 = once(server, 'connection') as Promise<[Socket]>;
  const gone = connect((server.address() as AddressInfo).port, '127.0.0.1');
  const [side2] = await accepted2;
  gone.resetAndDestroy();
  await once(side2, 'error', { signal: AbortSignal.timeout(5000) }).catch(() => undefined);
  const big = Buffer.alloc(8 * 1024 * 1024, 0x20);
  const w2 = await answerOnConnection(side2, { id: 8, status: 200, body: big });
  assert.deepEqual(w2, { id: 8, status: 200, bytes: big.length, written: false });
});
