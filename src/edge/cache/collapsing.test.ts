import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EdgeCache } from './edge-cache.ts';
import { Clock, deferred, FakeUpstream, request, response, rules, text } from './testing.ts';
import type { StoredResponse } from './types.ts';

const RULES = rules();

function setup() {
  const clock = new Clock();
  return { clock, cache: new EdgeCache({ maxBytes: 1024 * 1024, now: clock.now }) };
}

const tenOf = <T>(f: (i: number) => Promise<T>) => Promise.all(Array.from({ length: 10 }, (_, i) => f(i)));

test('makes one upstream fetch for ten concurrent misses of one URL', async () => {
  const { cache } = setup();
  const reply = deferred<StoredResponse>();
  const up = new FakeUpstream(reply.promise);
  const all = tenOf(() => cache.handle(request('/static/big.js'), RULES, up.fetch));
  reply.resolve(response('js', { 'cache-control': 'max-age=60' }));
  const results = await all;
  assert.equal(up.calls.length, 1);
  assert.deepEqual(new Set(results.map((r) => `${r.status} ${text(r.response)}`)), new Set(['MISS js']));
  assert.deepEqual([cache.stats().collapsed, cache.stats().misses], [9, 10]);
});

test('gives every waiter the error when the one fetch fails', async () => {
  const { cache } = setup();
  const reply = deferred<StoredResponse>();
  const up = new FakeUpstream(reply.promise);
  const all = tenOf(() =>
    cache.handle(request('/static/x'), RULES, up.fetch).then(
      () => 'ok',
      (e: Error) => e.message,
    ),
  );
  reply.reject(new Error('upstream timeout'));
  assert.deepEqual(new Set(await all), new Set(['upstream timeout']));
  assert.equal(up.calls.length, 1);
});

test('gives every waiter the one 5xx instead of fetching again', async () => {
  const { cache } = setup();
  const reply = deferred<StoredResponse>();
  const up = new FakeUpstream(reply.promise);
  const all = tenOf(() => cache.handle(request('/static/x'), RULES, up.fetch));
  reply.resolve(response('busy', {}, 503));
  const results = await all;
  assert.deepEqual(new Set(results.map((r) => r.response.status)), new Set([503]));
  assert.equal(up.calls.length, 1);
});

test('serves every waiter the stale entry when the one revalidation fails', async () => {
  const { cache, clock } = setup();
  const reply = deferred<StoredResponse>();
  const up = new FakeUpstream(response('v1', { 'cache-control': 'max-age=10' }), reply.promise);
  const r = rules({ staleWhileRevalidateSec: 0, staleIfErrorSec: 60 });
  await cache.handle(request('/static/x'), r, up.fetch);
  clock.advance(11);
  const all = tenOf(() => cache.handle(request('/static/x'), r, up.fetch));
  reply.reject(new Error('reset'));
  const results = await all;
  assert.deepEqual(new Set(results.map((x) => `${x.status} ${text(x.response)}`)), new Set(['STALE v1']));
  assert.equal(up.calls.length, 2);
});

test('lets waiters fetch their own when the response is not shareable (Set-Cookie)', async () => {
  const { cache } = setup();
  const first = deferred<StoredResponse>();
  let n = 0;
  const fetch = async () => {
    n++;
    return n === 1 ? first.promise : response(`own ${n}`, { 'set-cookie': `s=${n}` });
  };
  const all = Promise.all([0, 1, 2].map(() => cache.handle(request('/static/x'), RULES, fetch)));
  first.resolve(response('leader', { 'set-cookie': 's=1', 'cache-control': 'max-age=60' }));
  const bodies = (await all).map((r) => text(r.response));
  assert.equal(bodies[0], 'leader');
  assert.deepEqual(bodies.slice(1).sort(), ['own 2', 'own 3']);
  assert.equal(n, 3);
});

test('lets a waiter of another variant fetch its own once the Vary is known', async () => {
  const { cache } = setup();
  const first = deferred<StoredResponse>();
  const up = new FakeUpstream(
    first.promise,
    response('br', { 'cache-control': 'max-age=60', vary: 'accept-encoding' }),
  );
  const gz = cache.handle(request('/static/a.js', { 'accept-encoding': 'gzip' }), RULES, up.fetch);
  const br = cache.handle(request('/static/a.js', { 'accept-encoding': 'br' }), RULES, up.fetch);
  const gz2 = cache.handle(request('/static/a.js', { 'accept-encoding': 'gzip' }), RULES, up.fetch);
  first.resolve(response('gzip', { 'cache-control': 'max-age=60', vary: 'accept-encoding' }));
  assert.deepEqual(
    (await Promise.all([gz, br, gz2])).map((r) => text(r.response)),
    ['gzip', 'br', 'gzip'],
  );
  assert.equal(up.calls.length, 2);
});

test('collapses misses onto a background refresh in flight', async () => {
  const { cache, clock } = setup();
  const refresh = deferred<StoredResponse>();
  const up = new FakeUpstream(
    response('v1', { 'cache-control': 'max-age=10, stale-while-revalidate=5' }),
    refresh.promise,
  );
  const r = rules();
  await cache.handle(request('/static/x'), r, up.fetch);
  clock.advance(12);
  assert.equal((await cache.handle(request('/static/x'), r, up.fetch)).status, 'STALE');
  clock.advance(10);
  const late = cache.handle(request('/static/x'), r, up.fetch);
  refresh.resolve(response('v2', { 'cache-control': 'max-age=10' }));
  assert.deepEqual([text((await late).response), up.calls.length, cache.stats().collapsed], ['v2', 2, 1]);
});
