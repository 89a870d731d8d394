import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EdgeCache } from './edge-cache.ts';
import { CacheError } from './errors.ts';
import { Clock, FakeUpstream, request, response, rules, T0, text } from './testing.ts';

const RULES = rules();
const MiB = 1024 * 1024;

function setup() {
  const clock = new Clock();
  return { clock, cache: new EdgeCache({ maxBytes: MiB, now: clock.now }) };
}

test('serves a MISS from upstream, then a HIT without calling it', async () => {
  const { cache } = setup();
  const up = new FakeUpstream(
    response('logo', { 'cache-control': 'max-age=60', 'content-type': 'image/png' }),
  );
  const first = await cache.handle(request('/static/logo.png'), RULES, up.fetch);
  const second = await cache.handle(request('/static/logo.png'), RULES, up.fetch);
  assert.deepEqual([first.status, second.status], ['MISS', 'HIT']);
  assert.equal(text(second.response), 'logo');
  assert.equal(second.response.headers['content-type'], 'image/png');
  assert.equal(up.calls.length, 1);
  assert.deepEqual([cache.stats().hits, cache.stats().misses, cache.stats().entries], [1, 1, 1]);
});

test('keys by host, path and query', async () => {
  const { cache } = setup();
  const up = new FakeUpstream(response('x', { 'cache-control': 'max-age=60' }));
  await cache.handle(request('/static/a.css?v=1'), RULES, up.fetch);
  const other = await cache.handle(request('/static/a.css?v=2'), RULES, up.fetch);
  const otherHost = await cache.handle(
    { ...request('/static/a.css?v=1'), host: 'other.test' },
    RULES,
    up.fetch,
  );
  const sameHostUpperCase = await cache.handle(
    { ...request('/static/a.css?v=1'), host: 'SHOP.test' },
    RULES,
    up.fetch,
  );
  assert.deepEqual([other.status, otherHost.status, sameHostUpperCase.status], ['MISS', 'MISS', 'HIT']);
});

const EXPIRY: [string, Record<string, string>, number][] = [
  ['max-age', { 'cache-control': 'max-age=60' }, 60],
  ['s-maxage over max-age', { 'cache-control': 'max-age=10, s-maxage=120' }, 120],
  [
    'Expires minus Date',
    { date: new Date(T0).toUTCString(), expires: new Date(T0 + 90_000).toUTCString() },
    90,
  ],
  ['max-age minus the Age it arrived with', { 'cache-control': 'max-age=60', age: '50' }, 10],
];

for (const [what, headers, sec] of EXPIRY) {
  test(`stays fresh for ${what} (${sec}s)`, async () => {
    const { cache, clock } = setup();
    const noStale = rules({ staleWhileRevalidateSec: 0 });
    const up = new FakeUpstream(response('v1', headers), response('v2', { 'cache-control': 'max-age=60' }));
    await cache.handle(request('/static/a.js'), noStale, up.fetch);
    clock.advance(sec - 1);
    assert.equal((await cache.handle(request('/static/a.js'), noStale, up.fetch)).status, 'HIT');
    clock.advance(1);
    const expired = await cache.handle(request('/static/a.js'), noStale, up.fetch);
    assert.deepEqual([expired.status, text(expired.response)], ['MISS', 'v2']);
  });
}

test('uses the default TTL for a response without freshness information', async () => {
  const { cache, clock } = setup();
  const up = new FakeUpstream(response('x'));
  const r = rules({ defaultTtlSec: 30, staleWhileRevalidateSec: 0 });
  await cache.handle(request('/media/a.jpg'), r, up.fetch);
  clock.advance(29);
  assert.equal((await cache.handle(request('/media/a.jpg'), r, up.fetch)).status, 'HIT');
});

const NOT_STORED: [string, Record<string, string | string[]>][] = [
  ['no-store', { 'cache-control': 'no-store' }],
  ['private', { 'cache-control': 'private, max-age=60' }],
  ['Set-Cookie', { 'cache-control': 'max-age=60', 'set-cookie': 'PHPSESSID=abc' }],
];

for (const [what, headers] of NOT_STORED) {
  test(`does not store a ${what} response: every request goes upstream`, async () => {
    const { cache } = setup();
    const up = new FakeUpstream(response('personal', headers));
    const a = await cache.handle(request('/static/x'), RULES, up.fetch);
    const b = await cache.handle(request('/static/x'), RULES, up.fetch);
    assert.deepEqual([a.status, b.status, up.calls.length, cache.stats().entries], ['MISS', 'MISS', 2, 0]);
    assert.equal(text(b.response), 'personal');
  });
}

test('bypasses the cache for a request with Authorization', async () => {
  const { cache } = setup();
  const up = new FakeUpstream(response('x', { 'cache-control': 'max-age=60' }));
  await cache.handle(request('/static/x'), RULES, up.fetch);
  const authed = await cache.handle(request('/static/x', { authorization: 'Basic eDp5' }), RULES, up.fetch);
  assert.deepEqual([authed.status, up.calls.length, cache.stats().bypassed], ['BYPASS', 2, 1]);
});

test('bypasses the cache for a request with a bypass cookie, and only for that cookie', async () => {
  const { cache } = setup();
  const up = new FakeUpstream(response('x', { 'cache-control': 'max-age=60' }));
  await cache.handle(request('/product/1'), RULES, up.fetch);
  const other = await cache.handle(request('/product/1', { cookie: 'PHPSESSID=a; x=1' }), RULES, up.fetch);
  assert.equal(other.status, 'HIT');
  const varied = await cache.handle(
    request('/product/1', { cookie: 'PHPSESSID=a; X-Magento-Vary=9f1c' }),
    RULES,
    up.fetch,
  );
  assert.deepEqual([varied.status, up.calls.length, cache.stats().bypassed], ['BYPASS', 2, 1]);
  const none = rules({ bypassCookies: [] });
  const plain = await cache.handle(request('/product/1', { cookie: 'X-Magento-Vary=9f1c' }), none, up.fetch);
  assert.equal(plain.status, 'HIT');
});

test('bypasses the cache when the rules disable it', async () => {
  const { cache } = setup();
  const up = new FakeUpstream(response('x', { 'cache-control': 'max-age=60' }));
  const off = rules({ enabled: false });
  await cache.handle(request('/static/x'), off, up.fetch);
  const again = await cache.handle(request('/static/x'), off, up.fetch);
  assert.deepEqual([again.status, up.calls.length, cache.stats().entries], ['BYPASS', 2, 0]);
});

test('keeps one entry per value of the Vary headers', async () => {
  const { cache } = setup();
  const up = new FakeUpstream(
    response('gzip', { 'cache-control': 'max-age=60', vary: 'Accept-Encoding' }),
    response('br', { 'cache-control': 'max-age=60', vary: 'Accept-Encoding' }),
  );
  const gz = { 'accept-encoding': 'gzip' };
  const br = { 'accept-encoding': 'br' };
  await cache.handle(request('/static/app.js', gz), RULES, up.fetch);
  const brMiss = await cache.handle(request('/static/app.js', br), RULES, up.fetch);
  const gzHit = await cache.handle(request('/static/app.js', gz), RULES, up.fetch);
  const brHit = await cache.handle(request('/static/app.js', br), RULES, up.fetch);
  assert.deepEqual(
    [brMiss.status, gzHit.status, text(gzHit.response), brHit.status, text(brHit.response)],
    ['MISS', 'HIT', 'gzip', 'HIT', 'br'],
  );
  assert.equal(cache.stats().entries, 2);
});

test('keys a request without a varied header apart from one with it empty', async () => {
  const { cache } = setup();
  const up = new FakeUpstream(
    response('a', { 'cache-control': 'max-age=60', vary: 'Accept-Encoding, Origin' }),
  );
  await cache.handle(request('/static/f.woff', { 'accept-encoding': '' }), RULES, up.fetch);
  const absent = await cache.handle(request('/static/f.woff'), RULES, up.fetch);
  const same = await cache.handle(request('/static/f.woff', { 'accept-encoding': '' }), RULES, up.fetch);
  assert.deepEqual([absent.status, same.status], ['MISS', 'HIT']);
});

const CLIENT_CONDITIONALS: [string, Record<string, string>, number][] = [
  ['a matching If-None-Match', { 'if-none-match': '"v1"' }, 304],
  ['a weak If-None-Match (weak comparison)', { 'if-none-match': 'W/"v1"' }, 304],
  ['a list containing the tag', { 'if-none-match': '"v0", "v1"' }, 304],
  ['If-None-Match: *', { 'if-none-match': '*' }, 304],
  [
    'an If-Modified-Since at Last-Modified',
    { 'if-modified-since': new Date(T0 - 60_000).toUTCString() },
    304,
  ],
  ['an If-Modified-Since after Last-Modified', { 'if-modified-since': new Date(T0).toUTCString() }, 304],
  ['another tag', { 'if-none-match': '"v0"' }, 200],
  ['an older If-Modified-Since', { 'if-modified-since': new Date(T0 - 120_000).toUTCString() }, 200],
  [
    'a non-matching If-None-Match even with a matching If-Modified-Since',
    { 'if-none-match': '"v0"', 'if-modified-since': new Date(T0).toUTCString() },
    200,
  ],
  ['an unparseable If-Modified-Since', { 'if-modified-since': 'yesterday' }, 200],
];

for (const [what, headers, status] of CLIENT_CONDITIONALS) {
  test(`answers a client sending ${what} with ${status}`, async () => {
    const { cache } = setup();
    const up = new FakeUpstream(
      response('body', {
        'cache-control': 'max-age=60',
        etag: '"v1"',
        'last-modified': new Date(T0 - 60_000).toUTCString(),
        'content-type': 'text/css',
      }),
    );
    await cache.handle(request('/static/a.css'), RULES, up.fetch);
    const r = await cache.handle(request('/static/a.css', headers), RULES, up.fetch);
    assert.deepEqual([r.status, r.response.status], ['HIT', status]);
    if (status === 304) {
      assert.equal(r.response.body.length, 0);
      assert.equal(r.response.headers.etag, '"v1"');
      assert.equal(r.response.headers['content-type'], undefined);
      assert.equal(r.response.headers['last-modified'], new Date(T0 - 60_000).toUTCString());
    }
  });
}

test('revalidates a stale entry with its validators and refreshes it on a 304', async () => {
  const { cache, clock } = setup();
  const noStale = rules({ staleWhileRevalidateSec: 0 });
  const lastModified = new Date(T0 - 60_000).toUTCString();
  const up = new FakeUpstream(
    response('body', {
      'cache-control': 'max-age=10',
      etag: '"v1"',
      'last-modified': lastModified,
      'x-v': '1',
    }),
    {
      status: 304,
      headers: { 'cache-control': 'max-age=20', etag: '"v1"', 'x-v': '2' },
      body: Buffer.alloc(0),
    },
  );
  await cache.handle(request('/static/a.css'), noStale, up.fetch);
  clock.advance(10);
  const r = await cache.handle(request('/static/a.css'), noStale, up.fetch);
  assert.deepEqual(up.calls[1], { 'if-none-match': '"v1"', 'if-modified-since': lastModified });
  assert.deepEqual([r.status, r.response.status, text(r.response)], ['REVALIDATED', 200, 'body']);
  assert.equal(r.response.headers['x-v'], '2');
  assert.equal(r.response.headers['content-length'], '4');
  clock.advance(19);
  assert.equal((await cache.handle(request('/static/a.css'), noStale, up.fetch)).status, 'HIT');
  assert.equal(cache.stats().revalidated, 1);
});

test('replaces a stale entry when revalidation returns a new 200', async () => {
  const { cache, clock } = setup();
  const noStale = rules({ staleWhileRevalidateSec: 0 });
  const up = new FakeUpstream(
    response('old', { 'cache-control': 'max-age=10', etag: '"v1"' }),
    response('new', { 'cache-control': 'max-age=10', etag: '"v2"' }),
  );
  await cache.handle(request('/static/a.css'), noStale, up.fetch);
  clock.advance(11);
  const r = await cache.handle(request('/static/a.css'), noStale, up.fetch);
  const hit = await cache.handle(request('/static/a.css'), noStale, up.fetch);
  assert.deepEqual(
    [r.status, text(r.response), hit.status, text(hit.response)],
    ['MISS', 'new', 'HIT', 'new'],
  );
});

test('drops a stale entry when the upstream now forbids storing it', async () => {
  const { cache, clock } = setup();
  const noStale = rules({ staleWhileRevalidateSec: 0 });
  const up = new FakeUpstream(
    response('old', { 'cache-control': 'max-age=10' }),
    response('new', { 'cache-control': 'no-store' }),
  );
  await cache.handle(request('/static/a.css'), noStale, up.fetch);
  clock.advance(11);
  const r = await cache.handle(request('/static/a.css'), noStale, up.fetch);
  assert.deepEqual([r.status, text(r.response), cache.stats().entries], ['MISS', 'new', 0]);
});

test('revalidates a no-cache entry on every request', async () => {
  const { cache } = setup();
  const notModified = { status: 304, headers: { etag: '"v1"' }, body: Buffer.alloc(0) };
  const up = new FakeUpstream(response('body', { 'cache-control': 'no-cache', etag: '"v1"' }), notModified);
  await cache.handle(request('/static/a.css'), RULES, up.fetch);
  const a = await cache.handle(request('/static/a.css'), RULES, up.fetch);
  const b = await cache.handle(request('/static/a.css'), RULES, up.fetch);
  assert.deepEqual([a.status, b.status, up.calls.length], ['REVALIDATED', 'REVALIDATED', 3]);
  assert.deepEqual(up.calls[2], { 'if-none-match': '"v1"' });
});

test('sets Age from the time the entry has been cached plus the Age it arrived with', async () => {
  const { cache, clock } = setup();
  const up = new FakeUpstream(response('x', { 'cache-control': 'max-age=600', age: '100' }));
  const miss = await cache.handle(request('/static/x'), RULES, up.fetch);
  clock.advance(42.5);
  const hit = await cache.handle(request('/static/x'), RULES, up.fetch);
  assert.deepEqual([miss.response.headers.age, hit.response.headers.age], ['100', '142']);
  assert.deepEqual(hit.response.rawHeaders.slice(-2), ['age', '142']);
});

test('replays stored headers without hop-by-hop fields and with the stored body length', async () => {
  const { cache } = setup();
  const up = new FakeUpstream(
    response('12345', {
      'Cache-Control': 'max-age=60',
      connection: 'keep-alive, x-hop',
      'x-hop': '1',
      'keep-alive': 'timeout=5',
      'transfer-encoding': 'chunked',
      link: ['</a.css>; rel=preload', '</b.js>; rel=preload'],
    }),
  );
  await cache.handle(request('/static/x'), RULES, up.fetch);
  const hit = await cache.handle(request('/static/x'), RULES, up.fetch);
  assert.deepEqual(hit.response.headers, {
    'cache-control': 'max-age=60',
    link: ['</a.css>; rel=preload', '</b.js>; rel=preload'],
    'content-length': '5',
    age: '0',
  });
  assert.deepEqual(hit.response.rawHeaders, [
    'cache-control',
    'max-age=60',
    'link',
    '</a.css>; rel=preload',
    'link',
    '</b.js>; rel=preload',
    'content-length',
    '5',
    'age',
    '0',
  ]);
});

test('answers HEAD from the GET entry, without a body', async () => {
  const { cache } = setup();
  const up = new FakeUpstream(response('hello', { 'cache-control': 'max-age=60' }));
  await cache.handle(request('/static/x'), RULES, up.fetch);
  const head = await cache.handle(request('/static/x', {}, 'HEAD'), RULES, up.fetch);
  assert.deepEqual(
    [head.status, head.response.body.length, head.response.headers['content-length']],
    ['HIT', 0, '5'],
  );
  assert.equal(up.calls.length, 1);
});

test('stores the GET a HEAD miss fetched, so the next GET is a hit', async () => {
  const { cache } = setup();
  const up = new FakeUpstream(response('hello', { 'cache-control': 'max-age=60' }));
  const head = await cache.handle(request('/static/x', {}, 'HEAD'), RULES, up.fetch);
  const get = await cache.handle(request('/static/x'), RULES, up.fetch);
  assert.deepEqual(
    [head.status, head.response.body.length, get.status, text(get.response)],
    ['MISS', 0, 'HIT', 'hello'],
  );
});

test('answers hits synchronously through lookup, and not misses or stale entries', async () => {
  const { cache, clock } = setup();
  const up = new FakeUpstream(response('x', { 'cache-control': 'max-age=10' }));
  assert.equal(cache.lookup(request('/static/x'), RULES), undefined);
  await cache.handle(request('/static/x'), RULES, up.fetch);
  assert.equal(cache.lookup(request('/static/x'), RULES)?.status, 'HIT');
  clock.advance(10);
  assert.equal(cache.lookup(request('/static/x'), RULES), undefined);
  assert.equal(cache.stats().hits, 1);
});

test('reuses the same frozen answer for hits within one second of age', async () => {
  const { cache, clock } = setup();
  const up = new FakeUpstream(response('x', { 'cache-control': 'max-age=60' }));
  await cache.handle(request('/static/x'), RULES, up.fetch);
  const a = cache.lookup(request('/static/x'), RULES);
  clock.advance(0.5);
  const b = cache.lookup(request('/static/x'), RULES);
  clock.advance(0.5);
  const c = cache.lookup(request('/static/x'), RULES);
  assert.equal(a, b);
  assert.notEqual(b, c);
  assert.ok(Object.isFrozen(a?.response.headers));
  assert.throws(() => {
    (a!.response.headers as Record<string, string>)['x-cache'] = 'HIT';
  }, TypeError);
});

test('passes an upstream error through when nothing is cached', async () => {
  const { cache } = setup();
  const up = new FakeUpstream(new Error('connect ECONNREFUSED'));
  await assert.rejects(cache.handle(request('/static/x'), RULES, up.fetch), /ECONNREFUSED/);
  const fiveHundred = new FakeUpstream(response('oops', {}, 503));
  const r = await cache.handle(request('/static/x'), RULES, fiveHundred.fetch);
  assert.deepEqual([r.status, r.response.status], ['MISS', 503]);
});

test('fails to construct with every invalid option listed', () => {
  assert.throws(
    () => new EdgeCache({ maxBytes: 0, diskDir: '/tmp/x', maxDiskBytes: -1 }),
    (e: unknown) =>
      e instanceof CacheError &&
      e.code === 'TP_CACHE_OPTIONS' &&
      e.message ===
        'edge cache: maxBytes: expected a positive integer, got 0; maxDiskBytes: expected a positive integer with diskDir, got -1',
  );
  assert.throws(() => new EdgeCache({ maxBytes: 1, maxDiskBytes: 1 }), /maxDiskBytes: given without diskDir/);
});
