import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { WafSettings } from '../../contracts/snapshot.ts';
import type { WafResponse } from './index.ts';
import { WafOffload, WafOffloadError } from './offload.ts';
import { PRODUCT_GET, SQL_ERROR_TEXT } from './testing.ts';

const settings = WafSettings.parse({});
const GET = PRODUCT_GET;
// 950130's lazy quantifiers on a page of "<TITLE>Index of" grow with the square of its length: on
// the 2-core dev machine about 0.3 s at 75 KB and 10 s at 450 KB.
const listing = (repeats: number): WafResponse => ({
  status: 200,
  headers: [['content-type', 'text/html']],
  body: '<TITLE>Index of'.repeat(repeats),
  partial: false,
});
const DIRECTORY_LISTING = listing(30_000);
// Five times shorter than the listing takes, and long enough that a short job on a new thread, its
// code still cold, meets it on a machine busy with other work.
const DEADLINE_MS = 2_000;
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
  // No job here should time out, however slow the machine: the deadline is far past the slow job.
  const offload = new WafOffload({ timeoutMs: 60_000, threads: 2 });
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
    const slow = offload.replay(settings, GET, '', listing(5_000)).then((r) => {
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
  const offload = new WafOffload({ timeoutMs: DEADLINE_MS });
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

describe('a thread that is starting', () => {
  const offload = new WafOffload({ timeoutMs: DEADLINE_MS });
  after(() => offload.close());
  /** Waits until the thread can take a short job (it has loaded and compiled), up to a minute. */
  const untilFree = async () => {
    const deadline = Date.now() + 60_000;
    while (!offload.hasFreeThread()) {
      assert.ok(Date.now() < deadline, 'the thread never became free');
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  test('is not free until it has loaded and compiled the prepared rules', async () => {
    assert.equal(offload.hasFreeThread(), false, 'a thread not started is not free');
    offload.prepare([settings]);
    assert.equal(offload.hasFreeThread(), false, 'a thread loading its code is not free');
    await untilFree();
    assert.equal((await offload.inspect(settings, GET, '')).timedOut, false);
  });

  test('replaces a timed-out thread at once, and is not free until the new one has compiled', async () => {
    const slow = await offload.replay(settings, GET, '', DIRECTORY_LISTING);
    assert.equal(slow.timedOut, true);
    // The successor is starting already, with nothing posted to it.
    assert.equal(offload.hasFreeThread(), false);
    await untilFree();
    const next = await offload.inspect(settings, { ...GET, uri: "/?q=1' or '1'='1" }, '');
    assert.equal(next.interrupted?.ruleId, 949110);
  });
});
