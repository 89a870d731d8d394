import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import type { AccessLogRecord } from '../../src/contracts/snapshot.ts';
import { EdgeProcess, shopSnapshot, Upstream, writeSnapshot } from './harness.ts';

const SQLI = "/catalogsearch/result/?q=1'+or+'1'='1";

describe('the WAF in the edge (CRS 3.3.4)', { timeout: 300_000 }, () => {
  const up = new Upstream();
  let edge: EdgeProcess;
  let snapFile = '';
  let logFile = '';
  let version = 1;

  const publish = async (waf: Record<string, unknown>) => {
    version++;
    writeSnapshot(snapFile, shopSnapshot(version, [up.port], { waf }));
    const deadline = Date.now() + 20_000;
    while ((await edge.metric('triplane_edge_snapshot_version')) < version) {
      assert.ok(Date.now() < deadline, `snapshot ${version} not applied:\n${edge.output.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const send = async (
    path: string,
    init: { method?: string; body?: string; headers?: Record<string, string> } = {},
  ) => {
    const id = `waf-${Math.random().toString(36).slice(2)}`;
    const r = await request(`http://127.0.0.1:${edge.http}${path}`, {
      method: (init.method ?? 'GET') as 'GET',
      body: init.body,
      headers: {
        host: 'shop.localhost',
        'user-agent': 'Mozilla/5.0',
        accept: 'text/html',
        'x-request-id': id,
        ...init.headers,
      },
    });
    return { status: r.statusCode, body: await r.body.text(), id };
  };
  const logged = async (id: string): Promise<AccessLogRecord> => {
    for (let i = 0; i < 100; i++) {
      // The log is written in batches, so the file appears with the first one.
      const text = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
      const rec = text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as AccessLogRecord)
        .find((r) => r.requestId === id);
      if (rec) return rec;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`request ${id} is not in the access log`);
  };

  before(async () => {
    await up.start();
    edge = new EdgeProcess([]);
    snapFile = join(edge.dataDir, 'snapshot.json');
    logFile = join(edge.dataDir, 'access.ndjson');
    // The default policy: the WAF on, blocking, paranoia 1.
    writeSnapshot(snapFile, shopSnapshot(1, [up.port]));
    edge.args.push('--snapshot', snapFile, '--access-log', logFile);
    await edge.start();
  });
  after(async () => {
    await edge.stop();
    edge.cleanup();
    await up.kill();
  });

  test('by default it blocks an SQL injection with 403 and a request id, never echoing the payload', async () => {
    const seen = () => up.requests.filter((q) => q.url?.startsWith('/catalogsearch/')).length;
    const before = seen();
    const r = await send(SQLI);
    assert.equal(r.status, 403);
    assert.match(r.body, new RegExp(`request ${r.id}`));
    assert.doesNotMatch(r.body, /'1'|or\+/);
    assert.equal(seen(), before, 'the store never saw it');
    const rec = await logged(r.id);
    assert.equal(rec.blockedBy, 'waf:949110');
    assert.equal(rec.waf?.action, 'blocked');
    assert.equal(rec.waf?.paranoia, 1);
    assert.ok((rec.waf?.anomalyScore ?? 0) >= 5);
    const m942100 = rec.waf?.matches.find((m) => m.id === 942100);
    assert.equal(m942100?.variable, 'ARGS:q');
    assert.match(m942100?.msg ?? '', /SQL Injection Attack Detected via libinjection/);
    assert.equal(
      await edge.metric('triplane_edge_waf_matches_total', '{store="shop",rule="942100",action="blocked"}'),
      1,
    );
  });

  test('lets shop traffic through: search terms with quotes, JSON and form posts', async () => {
    assert.equal((await send("/catalogsearch/result/?q=O'Neill+red+dress")).status, 200);
    const json = await send('/rest/V1/carts/mine/items', {
      method: 'POST',
      body: JSON.stringify({ cartItem: { sku: 'MJ01-XS-Orange', qty: 2, quote_id: '7' } }),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(json.status, 200);
    const form = await send('/customer/account/loginPost/', {
      method: 'POST',
      body: 'form_key=abc123&login%5Busername%5D=jane%40example.com&login%5Bpassword%5D=s3cret%21',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(form.status, 200);
    assert.equal((await logged(form.id)).waf, undefined, 'nothing matched');
  });

  test('inspects bodies: an attack in a JSON body is blocked and the store does not see it', async () => {
    const r = await send('/rest/V1/products', {
      method: 'POST',
      body: JSON.stringify({ product: { name: '<script>alert(document.cookie)</script>' } }),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(r.status, 403);
    const rec = await logged(r.id);
    assert.ok(rec.waf?.matches.some((m) => m.id === 941100 && m.variable === 'ARGS:json.product.name'));
  });

  test('detection-only mode passes the request on and records the same rules', async () => {
    const blocked = await logged((await send(SQLI)).id);
    await publish({ mode: 'detect' });
    const r = await send(SQLI);
    assert.equal(r.status, 200);
    const rec = await logged(r.id);
    assert.equal(rec.blockedBy, null);
    assert.equal(rec.waf?.action, 'detected');
    assert.deepEqual(
      rec.waf?.matches.map((m) => m.id),
      blocked.waf?.matches.map((m) => m.id),
    );
  });

  test('an exclusion under a path lets one field through there and nowhere else', async () => {
    await publish({
      exclusions: [{ ruleIds: ['942100', '942190'], targets: ['ARGS:q'], pathPrefix: '/catalogsearch/' }],
    });
    const there = await send(SQLI);
    assert.equal(there.status, 200, 'excluded under /catalogsearch/');
    assert.equal((await send("/search/?q=1'+or+'1'='1")).status, 403, 'still blocked elsewhere');
    assert.equal(
      (await send("/catalogsearch/result/?other=1'+or+'1'='1")).status,
      403,
      'other fields still checked',
    );
  });

  test('the WAF switched off passes what it blocked', async () => {
    await publish({ mode: 'off' });
    const r = await send(SQLI);
    assert.equal(r.status, 200);
    assert.equal((await logged(r.id)).waf, undefined);
  });
});

describe('the WAF and a 1 MB pathological body', { timeout: 120_000 }, () => {
  const up = new Upstream();
  let edge: EdgeProcess;

  before(async () => {
    await up.start();
    edge = new EdgeProcess([]);
    const file = join(edge.dataDir, 'snapshot.json');
    writeSnapshot(file, shopSnapshot(1, [up.port]));
    edge.args.push('--snapshot', file);
    // One worker: every request meets the same event loop the big one is inspected beside.
    await edge.start({ workers: 1 });
  });
  after(async () => {
    await edge.stop();
    edge.cleanup();
    await up.kill();
  });

  test('is refused within a bounded time while other requests keep being served', async () => {
    // A megabyte of quotes: some CRS patterns backtrack on it for minutes in a regex engine without
    // a match limit.
    const body = `q=${"'".repeat(1 << 20)}`;
    const t0 = Date.now();
    const big = request(`http://127.0.0.1:${edge.http}/catalogsearch/result/`, {
      method: 'POST',
      body,
      headers: { host: 'shop.localhost', 'content-type': 'application/x-www-form-urlencoded' },
    }).then(async (r) => ({ status: r.statusCode, text: await r.body.text(), ms: Date.now() - t0 }));
    // Meanwhile, small requests on the same worker answer quickly.
    const small: number[] = [];
    for (let i = 0; i < 10; i++) {
      const s0 = Date.now();
      const r = await request(`http://127.0.0.1:${edge.http}/p/${i}`, {
        headers: { host: 'shop.localhost' },
      });
      await r.body.dump();
      assert.equal(r.statusCode, 200);
      small.push(Date.now() - s0);
      await new Promise((res) => setTimeout(res, 100));
    }
    const b = await big;
    assert.equal(b.status, 403, b.text);
    assert.match(b.text, /could not be inspected in time|blocked by the web application firewall/);
    assert.ok(b.ms < 10_000, `the big request took ${b.ms} ms`);
    assert.ok(Math.max(...small) < 1000, `small requests took ${small.join(', ')} ms meanwhile`);
    assert.equal(await edge.metric('triplane_edge_waf_timeouts_total', '{store="shop"}'), 1);
  });
});
