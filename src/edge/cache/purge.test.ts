import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EdgeCache } from './edge-cache.ts';
import { Clock, deferred, FakeUpstream, request, response, rules } from './testing.ts';
import type { StoredResponse } from './types.ts';

const RULES = rules();

/** A cache holding the given paths, each response carrying the given headers. */
async function filled(entries: [string, Record<string, string>][]) {
  const cache = new EdgeCache({ maxBytes: 1024 * 1024, now: new Clock().now });
  for (const [path, headers] of entries) {
    const up = new FakeUpstream(response(path, { 'cache-control': 'max-age=600', ...headers }));
    await cache.handle(request(path), RULES, up.fetch);
  }
  return cache;
}

/** Which of the paths are still hits. */
function cached(cache: EdgeCache, paths: string[]): string[] {
  return paths.filter((p) => cache.lookup(request(p), RULES) !== undefined);
}

test('purges one URL, query included, with every variant', async () => {
  const cache = await filled([
    ['/static/a.css?v=1', {}],
    ['/static/a.css?v=2', {}],
  ]);
  const up = new FakeUpstream(response('br', { 'cache-control': 'max-age=600', vary: 'accept-encoding' }));
  const gz = new FakeUpstream(response('gz', { 'cache-control': 'max-age=600', vary: 'accept-encoding' }));
  await cache.handle(request('/static/b.css', { 'accept-encoding': 'br' }), RULES, up.fetch);
  await cache.handle(request('/static/b.css', { 'accept-encoding': 'gzip' }), RULES, gz.fetch);
  assert.equal(cache.purgeUrl('SHOP.test', '/static/a.css?v=1'), 1);
  assert.equal(cache.purgeUrl('shop.test', '/static/b.css'), 2);
  assert.deepEqual(cached(cache, ['/static/a.css?v=1', '/static/a.css?v=2']), ['/static/a.css?v=2']);
  assert.equal(cache.stats().entries, 1);
});

test('purges by path prefix on one host', async () => {
  const cache = await filled([
    ['/media/catalog/a.jpg', {}],
    ['/media/catalog/b.jpg', {}],
    ['/media/wysiwyg/c.jpg', {}],
  ]);
  assert.equal(cache.purgePrefix('other.test', '/media/'), 0);
  assert.equal(cache.purgePrefix('shop.test', '/media/catalog/'), 2);
  assert.deepEqual(cached(cache, ['/media/catalog/a.jpg', '/media/catalog/b.jpg', '/media/wysiwyg/c.jpg']), [
    '/media/wysiwyg/c.jpg',
  ]);
});

test('purges by tag from X-Magento-Tags and Cache-Tag, comma or space separated', async () => {
  const cache = await filled([
    ['/static/p1', { 'x-magento-tags': 'cat_p_1,cat_c_3' }],
    ['/static/p2', { 'x-magento-tags': 'cat_p_2 cat_c_3' }],
    ['/static/p3', { 'cache-tag': 'cat_p_3, cat_c_4' }],
    ['/static/p4', {}],
  ]);
  const all = ['/static/p1', '/static/p2', '/static/p3', '/static/p4'];
  assert.equal(cache.purgeTag('cat_c_3'), 2);
  assert.deepEqual(cached(cache, all), ['/static/p3', '/static/p4']);
  assert.equal(cache.purgeTag('cat_p_3'), 1);
  assert.equal(cache.purgeTag('cat_p_1'), 0, 'an entry purged by one tag is gone from its other tags');
  assert.deepEqual(cached(cache, all), ['/static/p4']);
});

test('serves but does not store a response whose fetch overlapped a purge', async () => {
  const cache = new EdgeCache({ maxBytes: 1024 * 1024, now: new Clock().now });
  const reply = deferred<StoredResponse>();
  const up = new FakeUpstream(reply.promise, response('new', { 'cache-control': 'max-age=600' }));
  const inFlight = cache.handle(request('/static/a.css'), RULES, up.fetch);
  cache.purgeUrl('shop.test', '/static/a.css');
  reply.resolve(response('old', { 'cache-control': 'max-age=600' }));
  assert.equal((await inFlight).response.body.toString(), 'old');
  const next = await cache.handle(request('/static/a.css'), RULES, up.fetch);
  assert.deepEqual([next.status, next.response.body.toString()], ['MISS', 'new']);
});
