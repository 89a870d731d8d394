import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EdgeCache } from './edge-cache.ts';
import { Clock, deferred, FakeUpstream, request, response, rules, text } from './testing.ts';

function setup() {
  const clock = new Clock();
  return { clock, cache: new EdgeCache({ maxBytes: 1024 * 1024, now: clock.now }) };
}

test('serves STALE within stale-while-revalidate and refreshes once in the background', async () => {
  const { cache, clock } = setup();
  const refreshed = deferred<ReturnType<typeof response>>();
  const up = new FakeUpstream(response('v1', { 'cache-control': 'max-age=10' }), refreshed.promise);
  const r = rules({ staleWhileRevalidateSec: 30 });
  await cache.handle(request('/static/a.js'), r, up.fetch);
  clock.advance(15);
  const stale = await Promise.all([1, 2, 3].map(() => cache.handle(request('/static/a.js'), r, up.fetch)));
  assert.deepEqual(
    stale.map((s) => [s.status, text(s.response)]),
    [
      ['STALE', 'v1'],
      ['STALE', 'v1'],
      ['STALE', 'v1'],
    ],
  );
  assert.equal(up.calls.length, 2, 'one background refresh for three stale requests');
  refreshed.resolve(response('v2', { 'cache-control': 'max-age=10' }));
  await cache.idle();
  const hit = await cache.handle(request('/static/a.js'), r, up.fetch);
  assert.deepEqual([hit.status, text(hit.response), up.calls.length], ['HIT', 'v2', 2]);
  assert.equal(cache.stats().stale, 3);
});

test('takes the stale-while-revalidate window from the response over the rules', async () => {
  const { cache, clock } = setup();
  const up = new FakeUpstream(response('v1', { 'cache-control': 'max-age=10, stale-while-revalidate=5' }));
  const r = rules({ staleWhileRevalidateSec: 300 });
  await cache.handle(request('/static/a.js'), r, up.fetch);
  clock.advance(16);
  const late = await cache.handle(request('/static/a.js'), r, up.fetch);
  assert.equal(late.status, 'MISS');
});

test('revalidates in the foreground past the stale-while-revalidate window', async () => {
  const { cache, clock } = setup();
  const up = new FakeUpstream(response('v1', { 'cache-control': 'max-age=10', etag: '"1"' }), {
    status: 304,
    headers: {},
    body: Buffer.alloc(0),
  });
  const r = rules({ staleWhileRevalidateSec: 30 });
  await cache.handle(request('/static/a.js'), r, up.fetch);
  clock.advance(41);
  const res = await cache.handle(request('/static/a.js'), r, up.fetch);
  assert.deepEqual([res.status, text(res.response)], ['REVALIDATED', 'v1']);
});

test('counts a failed background refresh and keeps serving stale', async () => {
  const { cache, clock } = setup();
  const up = new FakeUpstream(response('v1', { 'cache-control': 'max-age=10' }), new Error('reset'));
  const r = rules({ staleWhileRevalidateSec: 30 });
  await cache.handle(request('/static/a.js'), r, up.fetch);
  clock.advance(11);
  assert.equal((await cache.handle(request('/static/a.js'), r, up.fetch)).status, 'STALE');
  await cache.idle();
  assert.equal(cache.stats().refreshFailures, 1);
  assert.equal((await cache.handle(request('/static/a.js'), r, up.fetch)).status, 'STALE');
});

const FAILURES: [string, Error | ReturnType<typeof response>][] = [
  ['throws', new Error('connect ECONNREFUSED')],
  ['returns a 503', response('down', {}, 503)],
];

for (const [what, failure] of FAILURES) {
  test(`serves the stale entry when the upstream ${what}, within stale-if-error`, async () => {
    const { cache, clock } = setup();
    const up = new FakeUpstream(response('v1', { 'cache-control': 'max-age=10' }), failure);
    const r = rules({ staleWhileRevalidateSec: 0, staleIfErrorSec: 60 });
    await cache.handle(request('/static/a.js'), r, up.fetch);
    clock.advance(69);
    const res = await cache.handle(request('/static/a.js'), r, up.fetch);
    assert.deepEqual([res.status, res.response.status, text(res.response)], ['STALE', 200, 'v1']);
    assert.equal(res.response.headers.age, '69');
  });

  test(`passes the failure on when the upstream ${what} past stale-if-error`, async () => {
    const { cache, clock } = setup();
    const up = new FakeUpstream(response('v1', { 'cache-control': 'max-age=10, stale-if-error=5' }), failure);
    const r = rules({ staleWhileRevalidateSec: 0, staleIfErrorSec: 600 });
    await cache.handle(request('/static/a.js'), r, up.fetch);
    clock.advance(15);
    if (failure instanceof Error) {
      await assert.rejects(cache.handle(request('/static/a.js'), r, up.fetch), /ECONNREFUSED/);
    } else {
      const res = await cache.handle(request('/static/a.js'), r, up.fetch);
      assert.deepEqual([res.status, res.response.status], ['MISS', 503]);
    }
  });
}

test('never serves stale what must-revalidate covers', async () => {
  const { cache, clock } = setup();
  const up = new FakeUpstream(
    response('v1', { 'cache-control': 'max-age=10, must-revalidate' }),
    new Error('down'),
  );
  const r = rules({ staleWhileRevalidateSec: 30, staleIfErrorSec: 300 });
  await cache.handle(request('/static/a.js'), r, up.fetch);
  clock.advance(11);
  await assert.rejects(cache.handle(request('/static/a.js'), r, up.fetch), /down/);
});

test('keeps the stale entry for stale-if-error when the upstream answers 5xx', async () => {
  const { cache, clock } = setup();
  const up = new FakeUpstream(response('v1', { 'cache-control': 'max-age=10' }), response('down', {}, 502));
  const r = rules({ staleWhileRevalidateSec: 0, staleIfErrorSec: 60 });
  await cache.handle(request('/static/a.js'), r, up.fetch);
  clock.advance(11);
  await cache.handle(request('/static/a.js'), r, up.fetch);
  clock.advance(10);
  const again = await cache.handle(request('/static/a.js'), r, up.fetch);
  assert.deepEqual([again.status, text(again.response), cache.stats().entries], ['STALE', 'v1', 1]);
});
