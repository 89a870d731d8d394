import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { WafSettings } from '../../contracts/snapshot.ts';
import { WafExchange } from './exchange.ts';
import { type WafRequest, type WafResponse, WafRules } from './index.ts';
import { type Inspection, WafOffload } from './offload.ts';
import { PRODUCT_GET, SQL_ERROR_TEXT } from './testing.ts';

/** The inspection thread, with a count of what was asked of it. */
class CountingOffload extends WafOffload {
  calls: string[] = [];
  /** Makes the next `respond` find its transaction gone, as after eviction or a replaced thread. */
  forget = false;
  override async inspect(s: WafSettings, r: WafRequest, body: string, keep = false, long = false) {
    this.calls.push('inspect');
    return super.inspect(s, r, body, keep, long);
  }
  override async respond(s: WafSettings, txId: number, response: WafResponse, long = false) {
    this.calls.push('respond');
    if (this.forget) super.release(txId);
    return super.respond(s, txId, response, long);
  }
  override async replay(
    s: WafSettings,
    r: WafRequest,
    body: string,
    response: WafResponse,
    long = false,
  ): Promise<Inspection> {
    this.calls.push('replay');
    return super.replay(s, r, body, response, long);
  }
}

const rules = new WafRules();
const settings = WafSettings.parse({});
const ruleSet = rules.forSettings(settings);
const GET = PRODUCT_GET;
// Magento's cookies easily pass 512 bytes.
const LARGE: WafRequest = {
  ...GET,
  headers: [...GET.headers, ['Cookie', `mage-cache-storage=${'x'.repeat(600)}`]],
};
const SQL_ERROR = SQL_ERROR_TEXT;
const html = { 'content-type': 'text/html; charset=UTF-8' };
const page = (inner: string) =>
  Buffer.from(`<html><body>${'<p>Red dress</p>'.repeat(100)}${inner}</body></html>`);

describe('WafExchange: request and response phases wherever the transaction is', () => {
  const offload = new CountingOffload({ timeoutMs: 5000 });
  // As the edge does when it applies a snapshot: a thread that is still starting takes no short job.
  before(async () => {
    offload.prepare([settings]);
    const until = Date.now() + 60_000;
    while (!offload.hasFreeThread() && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  });
  after(() => offload.close());

  const exchange = async (r: WafRequest) => {
    offload.calls = [];
    return WafExchange.request(ruleSet, settings, r, undefined, offload);
  };
  const respond = (x: WafExchange, body: Buffer, headers: Record<string, string> = html, status = 200) =>
    x.response('GET', status, headers, body.subarray(0, x.peekBytes('GET', status, headers)), true);

  test('the thread that ran the request phases runs the response phases on its transaction', async () => {
    const x = await exchange(GET);
    const r = await respond(x, Buffer.from(`<p>${SQL_ERROR}</p>`));
    assert.equal(r.interrupted?.ruleId, 959100);
    assert.ok(r.event?.matches.some((m) => m.phase === 4 && m.id >= 951000 && m.id < 952000));
    assert.deepEqual(offload.calls, ['inspect', 'respond']);
  });

  test('a large request and a large response: the same', async () => {
    const x = await exchange(LARGE);
    const leak = await respond(x, page(SQL_ERROR));
    assert.equal(leak.interrupted?.ruleId, 959100);
    assert.deepEqual(offload.calls, ['inspect', 'respond']);
    const fine = await respond(await exchange(LARGE), page(''));
    assert.deepEqual([fine.interrupted, fine.event], [undefined, undefined]);
  });

  test('while no thread is free of large jobs, small requests and responses stay on the event loop', async () => {
    // 950130's lazy quantifiers on a page of "<TITLE>Index of" hold the thread for seconds at 450 KB
    // (their time grows with the square of the page); whether it ends in time does not matter here.
    const listing = { ...html, 'content-type': 'text/html' };
    const hold = (await exchange(GET)).response(
      'GET',
      200,
      listing,
      Buffer.from('<TITLE>Index of'.repeat(30_000)),
      true,
    );
    const until = Date.now() + 5000;
    while (offload.hasFreeThread() && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    assert.equal(offload.hasFreeThread(), false);
    offload.calls = [];
    const x = await WafExchange.request(ruleSet, settings, GET, undefined, offload);
    const r = await respond(x, Buffer.from(`<p>${SQL_ERROR}</p>`));
    assert.equal(r.interrupted?.ruleId, 959100);
    assert.deepEqual(offload.calls, [], 'nothing went to the thread');
    // A response too large for the event loop still goes to a thread: the request phases run again.
    const y = await WafExchange.request(ruleSet, settings, GET, undefined, offload);
    const leak = await respond(y, page(SQL_ERROR));
    assert.equal(leak.interrupted?.ruleId, 959100);
    assert.deepEqual(offload.calls, ['replay']);
    await hold;
  });

  test('a transaction the thread no longer holds is replayed, with the same verdict', async () => {
    offload.forget = true;
    try {
      const x = await exchange(LARGE);
      const r = await respond(x, Buffer.from(`<p>${SQL_ERROR}</p>`));
      assert.equal(r.interrupted?.ruleId, 959100);
      assert.deepEqual(offload.calls, ['inspect', 'respond', 'replay']);
    } finally {
      offload.forget = false;
    }
  });

  test('a released exchange still answers a late response (a cache refresh), by replay', async () => {
    const x = await exchange(LARGE);
    x.release();
    const r = await respond(x, Buffer.from('ok'), { 'content-type': 'text/plain' });
    assert.equal(r.interrupted, undefined);
    assert.deepEqual(offload.calls, ['inspect', 'replay']);
  });

  test('a gzipped page is inspected decompressed', async () => {
    const x = await exchange(GET);
    const body = gzipSync(page(SQL_ERROR));
    const r = await respond(x, body, { ...html, 'content-encoding': 'gzip' });
    assert.equal(r.interrupted?.ruleId, 959100);
  });

  test('reads no body where phase 4 has none to look at', async () => {
    const x = await exchange(GET);
    const limit = ruleSet.config.responseBodyLimit;
    assert.equal(x.peekBytes('GET', 200, html), limit);
    assert.equal(x.peekBytes('GET', 200, { 'content-type': 'image/png' }), 0);
    assert.equal(x.peekBytes('GET', 200, {}), 0, 'no content type');
    assert.equal(x.peekBytes('HEAD', 200, html), 0);
    for (const status of [204, 304]) assert.equal(x.peekBytes('GET', status, html), 0);
    const off = WafSettings.parse({ responseBody: { enabled: false } });
    const y = await WafExchange.request(rules.forSettings(off), off, GET, undefined, offload);
    assert.equal(y.peekBytes('GET', 200, html), 0);
  });
});

test('a response the thread cannot inspect in time is reported as timed out', async () => {
  // Time for the request phases of a GET on a fresh thread, not for the page below.
  const offload = new WafOffload({ timeoutMs: 300 });
  try {
    const x = await WafExchange.request(ruleSet, settings, GET, undefined, offload);
    // 950130's lazy quantifiers on a page of "<TITLE>Index of" hold the thread for seconds at 450 KB
    // (their time grows with the square of the page); whether it ends in time does not matter here.
    const body = Buffer.from('<TITLE>Index of'.repeat(30_000));
    const r = await x.response('GET', 200, html, body, false);
    assert.equal(r.timedOut, true);
  } finally {
    await offload.close();
  }
});
