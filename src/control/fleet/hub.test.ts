import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LongPollHub } from './hub.ts';

const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

test('answers a wait at once when a newer version was already published for the key', async () => {
  const hub = new LongPollHub({ holdMs: 10_000 });
  hub.publish('node-a', 3);
  assert.equal(await hub.wait('node-a', 2), 'published');
  assert.equal(hub.held, 0);
});

test('a publish releases exactly the waiters of its key that asked for something older', async () => {
  const hub = new LongPollHub({ holdMs: 10_000 });
  const outcomes: Record<string, string> = {};
  const track = (name: string, p: Promise<string>) => p.then((o) => (outcomes[name] = o));
  const waits = [
    track('a-after-1', hub.wait('a', 1)),
    track('a-after-2', hub.wait('a', 2, { holdMs: 50 })),
    track('b-after-1', hub.wait('b', 1, { holdMs: 50 })),
  ];
  assert.equal(hub.held, 3);
  hub.publish('a', 2);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(outcomes, { 'a-after-1': 'published' });
  await Promise.all(waits);
  assert.deepEqual(outcomes, { 'a-after-1': 'published', 'a-after-2': 'timeout', 'b-after-1': 'timeout' });
  assert.equal(hub.held, 0);
});

test('times out after the hold and leaves no timer or waiter behind', async () => {
  const hub = new LongPollHub({ holdMs: 40 });
  const before = timers();
  const t0 = Date.now();
  const outcome = hub.wait('edge', 0);
  assert.equal(timers(), before + 1);
  assert.equal(await outcome, 'timeout');
  assert.ok(Date.now() - t0 >= 35, `held ${Date.now() - t0} ms`);
  assert.equal(hub.held, 0);
  assert.equal(timers(), before);
});

test('an aborted wait ends at once and clears its timer', async () => {
  const hub = new LongPollHub({ holdMs: 60_000 });
  const before = timers();
  const gone = new AbortController();
  const outcome = hub.wait('edge', 0, { signal: gone.signal });
  assert.equal(hub.held, 1);
  gone.abort();
  assert.equal(await outcome, 'aborted');
  assert.equal(hub.held, 0);
  assert.equal(timers(), before);
  assert.equal(await hub.wait('edge', 0, { signal: gone.signal }), 'aborted', 'already aborted');
});

test('releaseAll ends every held wait as timed out', async () => {
  const hub = new LongPollHub({ holdMs: 60_000 });
  const waits = [hub.wait('a', 0), hub.wait('b', 4)];
  hub.releaseAll();
  assert.deepEqual(await Promise.all(waits), ['timeout', 'timeout']);
  assert.equal(hub.held, 0);
});

test('fails with TP_FLEET_INVALID_OPTIONS for a hold that is not a positive integer', () => {
  for (const holdMs of [0, -1, 1.5]) {
    assert.throws(() => new LongPollHub({ holdMs }), {
      code: 'TP_FLEET_INVALID_OPTIONS',
      message: `hub.holdMs: expected a positive integer, got ${holdMs}`,
    });
  }
});
