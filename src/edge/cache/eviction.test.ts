import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EdgeCache } from './edge-cache.ts';
import { Clock, FakeUpstream, request, response, rules } from './testing.ts';

const RULES = rules();
const KB = 1000;

/** An upstream answering a cacheable body of `bytes` bytes. */
const sized = (bytes: number) =>
  new FakeUpstream(response('x'.repeat(bytes), { 'cache-control': 'max-age=600' }));

test('evicts the least recently used entries to stay within maxBytes', async () => {
  const cache = new EdgeCache({ maxBytes: 35 * KB, now: new Clock().now });
  const up = sized(10 * KB);
  for (const p of ['/static/a', '/static/b', '/static/c']) await cache.handle(request(p), RULES, up.fetch);
  cache.lookup(request('/static/a'), RULES); // a is now more recent than b
  await cache.handle(request('/static/d'), RULES, up.fetch);
  const kept = ['/static/a', '/static/b', '/static/c', '/static/d'].filter((p) =>
    cache.lookup(request(p), RULES),
  );
  assert.deepEqual(kept, ['/static/a', '/static/c', '/static/d']);
  const s = cache.stats();
  assert.deepEqual([s.entries, s.evictions], [3, 1]);
  assert.ok(s.bytes <= 35 * KB && s.bytes > 30 * KB, `bytes ${s.bytes}`);
});

test('serves but does not store a response larger than the whole memory budget', async () => {
  const cache = new EdgeCache({ maxBytes: 10 * KB, now: new Clock().now });
  const small = sized(1 * KB);
  await cache.handle(request('/static/small'), RULES, small.fetch);
  const big = await cache.handle(request('/static/big'), RULES, sized(20 * KB).fetch);
  assert.equal(big.response.body.length, 20 * KB);
  assert.deepEqual([cache.stats().entries, cache.stats().evictions], [1, 0]);
  assert.ok(cache.lookup(request('/static/small'), RULES));
});

test('frees the bytes of purged and replaced entries', async () => {
  const clock = new Clock();
  const cache = new EdgeCache({ maxBytes: 100 * KB, now: clock.now });
  await cache.handle(request('/static/a'), RULES, sized(10 * KB).fetch);
  const one = cache.stats().bytes;
  clock.advance(700);
  await cache.handle(request('/static/a'), RULES, sized(10 * KB).fetch);
  assert.equal(cache.stats().bytes, one);
  cache.purgeUrl('shop.test', '/static/a');
  assert.deepEqual([cache.stats().bytes, cache.stats().entries], [0, 0]);
});
