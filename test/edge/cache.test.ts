import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { EdgeProcess, get, shopSnapshot, Upstream, writeSnapshot } from './harness.ts';

// The edge cache as clients see it: static assets under /static/ are cached per HTTP rules.
describe('edge cache', { timeout: 120_000 }, () => {
  const up = new Upstream();
  let edge: EdgeProcess;
  let version = 'v1';
  let slowMs = 0;

  before(async () => {
    await up.start();
    up.handler = (req, res) => {
      if (req.url === '/health') return void res.end('ok');
      const send = () => {
        if (req.url?.startsWith('/static/etag') && req.headers['if-none-match'] === `"${version}"`) {
          res
            .writeHead(304, { etag: `"${version}"`, 'cache-control': 'public, max-age=1, must-revalidate' })
            .end();
          return;
        }
        const cc = req.url?.startsWith('/static/swr')
          ? 'public, max-age=1, stale-while-revalidate=30'
          : req.url?.startsWith('/static/etag')
            ? 'public, max-age=1, must-revalidate'
            : req.url?.startsWith('/static/private')
              ? 'private, max-age=60'
              : 'public, max-age=60';
        res.writeHead(200, {
          'content-type': 'text/css',
          'cache-control': cc,
          etag: `"${version}"`,
          'x-magento-tags': 'cat_p_1',
        });
        res.end(`body ${version} ${req.url}`);
      };
      if (slowMs) setTimeout(send, slowMs);
      else send();
    };
    edge = new EdgeProcess([]);
    const file = join(edge.dataDir, 'snapshot.json');
    // One worker: the cache lives per worker, and these tests look at one cache.
    writeSnapshot(file, shopSnapshot(1, [up.port]));
    edge.args.push('--snapshot', file);
    await edge.start({ workers: 1 });
  });
  after(async () => {
    await edge.stop();
    edge.cleanup();
    await up.kill();
  });

  const fetched = (path: string) => up.requests.filter((r) => r.url === path).length;

  test('a cacheable asset is a MISS, then a HIT without asking the upstream', async () => {
    const a = await get(edge.http, '/static/a.css');
    const b = await get(edge.http, '/static/a.css');
    assert.deepEqual([a.headers['x-cache'], b.headers['x-cache']], ['MISS', 'HIT']);
    assert.equal(b.body, a.body);
    assert.equal(fetched('/static/a.css'), 1);
    assert.ok(Number(b.headers.age) >= 0);
  });

  test('private responses and paths outside the cache rules are not cached', async () => {
    await get(edge.http, '/static/private.css');
    await get(edge.http, '/static/private.css');
    assert.equal(fetched('/static/private.css'), 2);
    const page = await get(edge.http, '/product/1');
    assert.equal(page.headers['x-cache'], undefined);
  });

  test("a client's conditional request never reaches the upstream as the cache's own fetch", async () => {
    const r = await get(edge.http, '/static/cond.css', 'shop.localhost', { 'if-none-match': `"${version}"` });
    assert.equal(fetched('/static/cond.css'), 1);
    assert.equal(up.requests.find((q) => q.url === '/static/cond.css')?.headers['if-none-match'], undefined);
    assert.equal(r.status, 304, 'the client still gets its 304, from the stored entry');
    const full = await get(edge.http, '/static/cond.css');
    assert.equal(full.status, 200);
    assert.match(full.body, /body v1 \/static\/cond\.css/);
  });

  test('a client with a matching ETag gets 304 from the cache', async () => {
    await get(edge.http, '/static/b.css');
    const r = await get(edge.http, '/static/b.css', 'shop.localhost', { 'if-none-match': `"${version}"` });
    assert.equal(r.status, 304);
    assert.equal(r.body, '');
  });

  test('an expired entry is revalidated with the upstream (304 refreshes it)', async () => {
    await get(edge.http, '/static/etag.css');
    await new Promise((r) => setTimeout(r, 2100));
    const r = await get(edge.http, '/static/etag.css');
    assert.equal(r.headers['x-cache'], 'REVALIDATED');
    assert.match(r.body, /body v1/);
    assert.equal(
      up.requests.filter((q) => q.url === '/static/etag.css' && q.headers['if-none-match'] === '"v1"').length,
      1,
    );
  });

  test('stale-while-revalidate serves the stale copy at once and refreshes in the background', async () => {
    await get(edge.http, '/static/swr.css');
    await new Promise((r) => setTimeout(r, 1100));
    version = 'v2';
    const stale = await get(edge.http, '/static/swr.css');
    assert.equal(stale.headers['x-cache'], 'STALE');
    assert.match(stale.body, /body v1/);
    await new Promise((r) => setTimeout(r, 300));
    const fresh = await get(edge.http, '/static/swr.css');
    assert.match(fresh.body, /body v2/);
    version = 'v1';
  });

  test('concurrent misses make one upstream request', async () => {
    slowMs = 300;
    const all = await Promise.all(Array.from({ length: 10 }, () => get(edge.http, '/static/collapse.css')));
    slowMs = 0;
    assert.ok(all.every((r) => r.status === 200));
    assert.equal(fetched('/static/collapse.css'), 1);
  });

  test('purge by URL, prefix and tag through the admin endpoint', async () => {
    const purge = (what: Record<string, string>) =>
      fetch(`http://127.0.0.1:${edge.metricsPort}/purge`, { method: 'POST', body: JSON.stringify(what) });
    for (const p of ['/static/p1.css', '/static/dir/p2.css', '/static/p3.css']) await get(edge.http, p);
    assert.equal((await purge({ host: 'shop.localhost', url: '/static/p1.css' })).status, 202);
    assert.equal((await purge({ host: 'shop.localhost', prefix: '/static/dir/' })).status, 202);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal((await get(edge.http, '/static/p1.css')).headers['x-cache'], 'MISS');
    assert.equal((await get(edge.http, '/static/dir/p2.css')).headers['x-cache'], 'MISS');
    assert.equal((await get(edge.http, '/static/p3.css')).headers['x-cache'], 'HIT');
    await purge({ tag: 'cat_p_1' });
    await new Promise((r) => setTimeout(r, 100));
    const again = await get(edge.http, '/static/p3.css');
    assert.equal(again.headers['x-cache'], 'MISS');
    assert.equal(again.headers['x-magento-tags'], undefined, 'purge tags stay in the cache');
    assert.equal((await get(edge.http, '/static/p3.css')).headers['x-magento-tags'], undefined);
    assert.equal((await get(edge.http, '/product/tagged')).headers['x-magento-tags'], undefined);
    // The edge asks the store's Varnish for tags with its mark; a client's own mark is not passed on.
    await get(edge.http, '/product/marked', 'shop.localhost', { 'x-triplane-edge': 'forged' });
    assert.equal(up.requests.find((q) => q.url === '/product/marked')?.headers['x-triplane-edge'], '1');
    assert.equal(await purge({ host: 'x' }).then((r) => r.status), 202);
    const bad = await fetch(`http://127.0.0.1:${edge.metricsPort}/purge`, { method: 'POST', body: 'nope' });
    assert.equal(bad.status, 400);
  });
});
