import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { WafSettings } from '../../contracts/snapshot.ts';
import type { WafResponse } from './index.ts';
import { WafOffload, WafOffloadError } from './offload.ts';
import { PRODUCT_GET, SQL_ERROR_TEXT } from './testing.ts';

const settings = WafSettings.parse({});
const GET = PRODUCT_GET;
// 950130's lazy quantifiers on a page of "<TITLE>Index of" take about a second at 512 KiB.
const DIRECTORY_LISTING: WafResponse = {
  status: 200,
  headers: [['content-type', 'text/html']],
  body: '<TITLE>Index of'.repeat(30_000),
  partial: false,
};
const SQL_ERROR: WafResponse = {
  status: 200,
  headers: [['content-type', 'text/html']],
  body: `<p>${SQL_ERROR_TEXT}</p>`,
  partial: false,
};

test('the number of threads is checked, naming the field and the value', () => {
  for (const threads of [0, -1, 1.5]) {
    assert.throws(
      () => new WafOffload({ timeoutMs: 1000, threads }),
      (e: unknown) =>
        e instanceof WafOffloadError &&
        e.code === 'TP_EDGE_WAF_OFFLOAD' &&
        e.message === `threads: expected a positive integer, got ${threads}`,
    );
  }
});

describe('a pool of two inspection threads', () => {
  const offload = new WafOffload({ timeoutMs: 5000, threads: 2 });
  after(() => offload.close());

  test('each response phase finds its transaction on the thread that kept it', async () => {
    offload.prepare([settings]);
    // Four requests at once go to both threads; each response must reach the right one, or the
    // thread would answer "missing" and respond() undefined.
    const requests = await Promise.all(
      [1, 2, 3, 4].map((n) => offload.inspect(settings, { ...GET, id: `req-${n}` }, '', true)),
    );
    const responses = await Promise.all(
      requests.map((r) => {
        assert.notEqual(r.kept, undefined);
        return offload.respond(settings, r.kept!, SQL_ERROR);
      }),
    );
    for (const r of responses) assert.equal(r?.interrupted?.ruleId, 959100);
    // A transaction is answered for once: a second response finds nothing and is replayed instead.
    assert.equal(await offload.respond(settings, requests[0]!.kept!, SQL_ERROR), undefined);
  });

  test('a job goes to the thread with the fewest unfinished jobs', async () => {
    const order: string[] = [];
    const slow = offload.replay(settings, GET, '', DIRECTORY_LISTING).then((r) => {
      order.push('slow');
      return r;
    });
    const quick = offload.inspect(settings, GET, '').then((r) => {
      order.push('quick');
      return r;
    });
    const [s, q] = await Promise.all([slow, quick]);
    assert.deepEqual(order, ['quick', 'slow'], 'the quick job did not wait behind the slow one');
    assert.equal(s.timedOut, false);
    assert.equal(q.timedOut, false);
  });
});

test('a job over its deadline is timed out and the jobs posted behind it still run', async () => {
  const offload = new WafOffload({ timeoutMs: 300 });
  try {
    // Compiled first, so the deadline below is the pathological request's alone.
    await offload.inspect(settings, GET, '');
    const slow = offload.replay(settings, GET, '', DIRECTORY_LISTING);
    const next = offload.inspect(settings, { ...GET, uri: "/?q=1' or '1'='1" }, '');
    const [s, n] = await Promise.all([slow, next]);
    assert.equal(s.timedOut, true);
    assert.equal(n.timedOut, false);
    assert.equal(n.interrupted?.ruleId, 949110);
  } finally {
    await offload.close();
  }
});
