import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { pino } from 'pino';
import { request } from 'undici';
import { MANAGEMENT_NICENESS } from '../src/contracts/priority.ts';
import { bootstrapAdmin, buildApi, ReadBudget } from '../src/control/api/index.ts';
import { accessRecord } from '../src/control/api/testing.ts';
import { opsRoutes } from '../src/control/ops/routes.ts';
import { AnalyticsReader, analyticsRoutes, readerCommand } from '../src/control/reads/index.ts';
import { openState, type State } from '../src/control/state/index.ts';
import {
  childrenOf,
  cpusAllowed,
  managementCpuList,
  running,
  SCHED_IDLE,
  statField,
} from './control-harness.ts';
import { ROOT, triplaneAsync } from './helpers.ts';

/** A platform data directory with a state, one store with requests, and an admin token. */
async function platform(t: TestContext) {
  const dataDir = mkdtempSync(join(tmpdir(), 'tp-reads-'));
  const state = await openState({ dataDir: join(dataDir, 'control') });
  const token = await bootstrapAdmin(state, 'root');
  await state.stores.create({ id: 'demo', displayName: 'Demo' });
  await state.environments.create('demo', 'production');
  const t0 = Date.now() - 60_000;
  await state.accessLogs.insertBatch(
    Array.from({ length: 50 }, (_, i) => accessRecord('demo', i % 5 === 0 ? 404 : 200, `/p/${i}`, t0 + i)),
  );
  t.after(async () => {
    await state.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  return { dataDir, state, token };
}

function reader(state: State, dataDir: string, o: { waitMs?: number; timeoutMs?: number } = {}) {
  return new HandingReader({
    argv: readerCommand({
      node: [process.execPath, '--import', join(ROOT, 'node_modules/tsx/dist/loader.mjs')],
      entry: join(ROOT, 'src/cli/main.ts'),
      dataDir,
    }),
    routes: new Set(analyticsRoutes(state).keys()),
    log: pino({ level: 'silent' }),
    ...o,
  });
}

/** A reader for the platform, started now and stopped after the test. */
function startedReader(t: TestContext, p: { state: State; dataDir: string }, o: { timeoutMs?: number } = {}) {
  const r = reader(p.state, p.dataDir, o);
  r.start();
  t.after(() => r.stop());
  return r;
}

/** The analytics reads every test of the answers asks, each answered by the reader. */
const READS = [
  '/api/stores/demo/requests?limit=1000',
  '/api/stores/demo/requests?status=404&path=/p/',
  '/api/stores/demo/events',
  '/api/audit',
  '/api/stores/nosuch/requests',
];

/** The reader, counting the reads it answered on the client's connection itself. */
class HandingReader extends AnalyticsReader {
  onConnection = 0;
  override async answerOn(...a: Parameters<AnalyticsReader['answerOn']>) {
    const answer = await super.answerOn(...a);
    if (!('body' in answer)) this.onConnection++;
    return answer;
  }
}

/** An API listening on loopback, as the control plane serves it. */
async function listening(t: TestContext, app: ReturnType<typeof buildApi>): Promise<string> {
  t.after(() => app.close());
  await app.listen({ host: '127.0.0.1', port: 0 });
  const a = app.server.address() as AddressInfo;
  return `http://127.0.0.1:${a.port}`;
}

test('over a real connection the reader answers on it itself, as the API would, and closes it', {
  timeout: 120_000,
}, async (t) => {
  // GIVEN two APIs listening on loopback: one whose reads go to a reader, one answering them itself
  const p = await platform(t);
  const r = startedReader(t, p);
  const viaReader = await listening(
    t,
    buildApi({ state: p.state, answerer: r, plugins: [opsRoutes(p.state)] }),
  );
  const here = await listening(t, buildApi({ state: p.state, plugins: [opsRoutes(p.state)] }));
  // A read the API refuses itself (its input does not parse) never reaches the reader.
  const urls: [string, 'reader' | 'api'][] = [
    ...READS.map((u) => [u, 'reader'] as [string, 'reader']),
    ['/api/stores/demo/requests?limit=0', 'api'],
  ];
  // WHEN each read is asked of both, on the client's usual pool of kept-alive connections
  for (const [url, by] of urls) {
    const get = async (base: string) => {
      const res = await request(`${base}${url}`, { headers: { authorization: `Bearer ${p.token}` } });
      return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
    };
    const [a, b] = [await get(viaReader), await get(here)];
    // THEN the answers are the same: status, type, length and bytes
    assert.equal(a.status, b.status, `${url}: ${a.body}`);
    for (const h of ['content-type', 'content-length'])
      assert.equal(a.headers[h], b.headers[h], `${url} ${h}`);
    assert.equal(a.body, b.body, url);
    // AND the reader's answer ends its connection, so the client opens a new one for the next read
    assert.equal(a.headers.connection, by === 'reader' ? 'close' : 'keep-alive', url);
  }
  // AND every read the reader answered it wrote itself: none passed through the API process (the
  // API hears that the last one went out a moment after the client has it)
  const expected = urls.filter(([, by]) => by === 'reader').length;
  const until = Date.now() + 10_000;
  while (r.onConnection < expected && Date.now() < until) await new Promise((res) => setTimeout(res, 10));
  assert.equal(r.onConnection, expected);
});

test('a reader that holds a connection past the deadline is restarted, and the API answers 503', {
  timeout: 120_000,
}, async (t) => {
  const p = await platform(t);
  const r = startedReader(t, p, { timeoutMs: 1000 });
  const api = await listening(t, buildApi({ state: p.state, answerer: r, plugins: [opsRoutes(p.state)] }));
  const get = async () => {
    const res = await request(`${api}/api/audit`, { headers: { authorization: `Bearer ${p.token}` } });
    return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
  };
  assert.equal((await get()).status, 200);
  // The client has its answer before the API hears that it went out; stopped in between, the reader
  // would hold that read, not the next.
  while (r.onConnection < 1) await new Promise((res) => setTimeout(res, 10));
  // WHEN the reader stops answering, with a read and its connection in hand
  const stuck = r.pid!;
  process.kill(stuck, 'SIGSTOP');
  t.after(() => running(stuck) && process.kill(stuck, 'SIGKILL'));
  const refused = await get();
  // THEN the client is told to come back, by the API, and the reader is replaced: it cannot answer
  // on that connection later
  assert.equal(refused.status, 503, refused.body);
  assert.equal(JSON.parse(refused.body).code, 'TP_API_UNAVAILABLE');
  assert.equal(refused.headers['retry-after'], '2');
  const until = Date.now() + 5000;
  while (running(stuck) && Date.now() < until) await new Promise((res) => setTimeout(res, 20));
  assert.equal(running(stuck), false, 'the stuck reader was killed');
  // AND the next reads are answered by its successor
  const deadline = Date.now() + 60_000;
  let again = await get();
  while (again.status === 503 && Date.now() < deadline) {
    await new Promise((res) => setTimeout(res, 200));
    again = await get();
  }
  assert.equal(again.status, 200, again.body);
  assert.notEqual(r.pid, stuck);
});

test('the reader process answers the API at the idle priority, byte for byte as the API would itself', {
  timeout: 120_000,
}, async (t) => {
  // GIVEN an API whose analytics reads go to a reader process, and one that answers them itself
  const p = await platform(t);
  const r = startedReader(t, p);
  const viaReader = buildApi({ state: p.state, answerer: r, plugins: [opsRoutes(p.state)] });
  const here = buildApi({ state: p.state, plugins: [opsRoutes(p.state)] });
  t.after(() => Promise.all([viaReader.close(), here.close()]));
  const get = (app: typeof here, url: string) =>
    app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${p.token}` } });
  // WHEN each analytics read is asked of both (the first waits for the reader to start)
  for (const url of READS) {
    const [a, b] = [await get(viaReader, url), await get(here, url)];
    // THEN the answers are the same, status, type and bytes
    assert.equal(a.statusCode, b.statusCode, `${url}: ${a.body}`);
    assert.equal(a.headers['content-type'], b.headers['content-type'], url);
    assert.equal(a.body, b.body, url);
  }
  assert.equal((await get(viaReader, '/api/stores/demo/requests?limit=1000')).json().length, 50);
  // AND the reader runs as management work, in a process of its own
  const pid = r.pid!;
  assert.notEqual(pid, process.pid);
  assert.deepEqual([statField(pid, 19), statField(pid, 41)], [MANAGEMENT_NICENESS, SCHED_IDLE]);
  // on the CPUs set apart for management work
  assert.equal(cpusAllowed(pid), managementCpuList());
});

test('a reader that dies is started again; reads wait for it, or are told 503 with Retry-After', {
  timeout: 120_000,
}, async (t) => {
  const p = await platform(t);
  const patient = reader(p.state, p.dataDir);
  const hasty = reader(p.state, p.dataDir, { waitMs: 200 });
  for (const x of [patient, hasty]) {
    x.start();
    t.after(() => x.stop());
  }
  const apps = [patient, hasty].map((answerer) =>
    buildApi({ state: p.state, answerer, plugins: [opsRoutes(p.state)] }),
  );
  t.after(() => Promise.all(apps.map((a) => a.close())));
  const get = (i: number) =>
    apps[i]!.inject({
      method: 'GET',
      url: '/api/stores/demo/requests',
      headers: { authorization: `Bearer ${p.token}` },
    });
  // The hasty API waits only 200 ms for its reader: both have started before the readers are asked.
  const deadline = Date.now() + 60_000;
  while (
    !(await hasty.ready().then(
      () => true,
      () => false,
    )) &&
    Date.now() < deadline
  );
  assert.equal((await get(0)).statusCode, 200);
  assert.equal((await get(1)).statusCode, 200);
  // WHEN both readers are killed
  const before = [patient.pid!, hasty.pid!];
  for (const pid of before) process.kill(pid, 'SIGKILL');
  while (before.some(running)) await new Promise((r) => setTimeout(r, 20));
  // THEN the patient API's read waits for the new reader and is answered by it; the hasty one's is
  // told to come back, with the time to wait
  const [late, refused] = await Promise.all([get(0), get(1)]);
  assert.equal(late.statusCode, 200, late.body);
  assert.equal(late.json().length, 50);
  assert.ok(patient.pid && !before.includes(patient.pid), 'answered by a new reader');
  assert.equal(refused.statusCode, 503, refused.body);
  assert.equal(refused.json().code, 'TP_API_UNAVAILABLE');
  assert.equal(refused.headers['retry-after'], '2');
  // AND once the hasty one's reader is back, its reads are answered again
  const until = Date.now() + 60_000;
  let again = await get(1);
  while (again.statusCode === 503 && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 200));
    again = await get(1);
  }
  assert.equal(again.statusCode, 200, again.body);
});

test('the wait for a starting reader is not charged to the read budget', { timeout: 120_000 }, async (t) => {
  // GIVEN an API with the default budget (a tenth of a core) whose reader has only just been started
  const p = await platform(t);
  const r = reader(p.state, p.dataDir);
  const budget = new ReadBudget();
  const app = buildApi({ state: p.state, answerer: r, readBudget: budget, plugins: [opsRoutes(p.state)] });
  t.after(() => app.close());
  r.start();
  t.after(() => r.stop());
  const get = () =>
    app.inject({ method: 'GET', url: '/api/audit', headers: { authorization: `Bearer ${p.token}` } });
  // WHEN the first read waits for the reader to start
  const t0 = performance.now();
  assert.equal((await get()).statusCode, 200);
  const waited = performance.now() - t0;
  // THEN the budget charged the answer, not the start-up: charged the whole wait, the line would stay
  // closed nine times as long
  const spent = budget.stats().spentMs;
  assert.ok(spent < waited / 2, `charged ${spent.toFixed(0)} ms of a ${waited.toFixed(0)} ms wait`);
  const t1 = performance.now();
  assert.equal((await get()).statusCode, 200);
  assert.ok(performance.now() - t1 < waited, 'the next read did not wait out the start-up');
});

test('stopped, the reader exits; a reader started without a control plane refuses, naming why', {
  timeout: 120_000,
}, async (t) => {
  const p = await platform(t);
  const r = reader(p.state, p.dataDir);
  r.start();
  const app = buildApi({ state: p.state, answerer: r, plugins: [opsRoutes(p.state)] });
  t.after(() => app.close());
  const res = await app.inject({
    method: 'GET',
    url: '/api/audit',
    headers: { authorization: `Bearer ${p.token}` },
  });
  assert.equal(res.statusCode, 200);
  const pid = r.pid!;
  assert.ok(childrenOf(process.pid).some((c) => c.pid === pid && c.argv.includes('analytics-reader')));
  await r.stop();
  assert.equal(running(pid), false);
  assert.equal(r.pid, undefined);

  const alone = await triplaneAsync(['analytics-reader', '--data-dir', p.dataDir], { timeoutMs: 60_000 });
  assert.notEqual(alone.code, 0);
  assert.equal(
    alone.stderr,
    'error TP_READER_NO_CHANNEL: the analytics reader takes its requests from the control plane that starts it (`triplane control`); it has no IPC channel\n',
  );
});
