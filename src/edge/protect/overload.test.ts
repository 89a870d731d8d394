import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { OverloadQueue, type Release } from './overload.ts';

/** Resolves to what a promise settled with, or "pending" if it has not settled by the next macrotask. */
async function state<T>(p: Promise<T>): Promise<T | 'pending' | { rejected: unknown }> {
  return Promise.race([
    p.then(
      (v) => v,
      (e: unknown) => ({ rejected: e }),
    ),
    sleep(0).then(() => 'pending' as const),
  ]);
}

describe('OverloadQueue', () => {
  it('grants slots at once below maxConcurrent', async () => {
    const q = new OverloadQueue({ maxConcurrent: 2, maxQueue: 10, maxQueueMs: 1000 });
    await q.acquire();
    await q.acquire();
    assert.deepEqual(q.stats(), { active: 2, queued: 0, queuedTotal: 0, rejectedTotal: 0 });
  });

  it('hands slots to waiters first in, first out', async () => {
    const q = new OverloadQueue({ maxConcurrent: 1, maxQueue: 10, maxQueueMs: 10_000 });
    const first = await q.acquire();
    const order: number[] = [];
    const waiting = [1, 2, 3].map((n) =>
      q.acquire().then((release) => {
        order.push(n);
        return release;
      }),
    );
    assert.deepEqual(q.stats(), { active: 1, queued: 3, queuedTotal: 3, rejectedTotal: 0 });
    first();
    (await waiting[0]!)();
    (await waiting[1]!)();
    (await waiting[2]!)();
    assert.deepEqual(order, [1, 2, 3]);
    assert.deepEqual(q.stats(), { active: 0, queued: 0, queuedTotal: 3, rejectedTotal: 0 });
  });

  it('keeps a waiter waiting until a slot is released', async () => {
    const q = new OverloadQueue({ maxConcurrent: 1, maxQueue: 10, maxQueueMs: 10_000 });
    const first = await q.acquire();
    const second = q.acquire();
    assert.equal(await state(second), 'pending');
    first();
    assert.equal(typeof (await state(second)), 'function');
  });

  it('fails with TP_EDGE_OVERLOADED when the queue is full', async () => {
    const q = new OverloadQueue({ maxConcurrent: 1, maxQueue: 2, maxQueueMs: 2500 });
    const release = await q.acquire();
    const waiting = [q.acquire(), q.acquire()];
    await assert.rejects(q.acquire(), {
      code: 'TP_EDGE_OVERLOADED',
      reason: 'queue-full',
      retryAfterSec: 3,
      status: 503,
    });
    assert.deepEqual(q.stats(), { active: 1, queued: 2, queuedTotal: 2, rejectedTotal: 1 });
    release();
    for (const w of waiting) (await w)();
  });

  it('fails at once when requests may not wait', async () => {
    const q = new OverloadQueue({ maxConcurrent: 1, maxQueue: 10, maxQueueMs: 0 });
    await q.acquire();
    await assert.rejects(q.acquire(), { code: 'TP_EDGE_OVERLOADED', reason: 'queue-full', retryAfterSec: 1 });
  });

  it('fails with TP_EDGE_OVERLOADED when the wait exceeds maxQueueMs', async () => {
    const q = new OverloadQueue({ maxConcurrent: 1, maxQueue: 10, maxQueueMs: 30 });
    const release = await q.acquire();
    const started = performance.now();
    const results = await Promise.allSettled([q.acquire(), q.acquire()]);
    assert.ok(performance.now() - started >= 29, 'waited for maxQueueMs');
    for (const r of results) {
      assert.equal(r.status, 'rejected');
      assert.deepEqual([r.reason.code, r.reason.reason], ['TP_EDGE_OVERLOADED', 'queue-timeout']);
    }
    assert.deepEqual(q.stats(), { active: 1, queued: 0, queuedTotal: 2, rejectedTotal: 2 });
    release();
    assert.deepEqual(q.stats(), { active: 0, queued: 0, queuedTotal: 2, rejectedTotal: 2 });
  });

  it('times out only the waiters past their deadline', async () => {
    const q = new OverloadQueue({ maxConcurrent: 1, maxQueue: 10, maxQueueMs: 60 });
    const release = await q.acquire();
    const early = q.acquire();
    await sleep(30);
    const late = q.acquire();
    await assert.rejects(early, { reason: 'queue-timeout' });
    assert.equal(await state(late), 'pending');
    release();
    const next = await late;
    assert.equal(typeof next, 'function');
    next();
    assert.deepEqual(q.stats(), { active: 0, queued: 0, queuedTotal: 2, rejectedTotal: 1 });
  });

  it('ignores a second release of the same slot', async () => {
    const q = new OverloadQueue({ maxConcurrent: 2, maxQueue: 10, maxQueueMs: 1000 });
    const a = await q.acquire();
    const b: Release = await q.acquire();
    const c = q.acquire();
    a();
    a();
    a();
    const cRelease = await c;
    assert.deepEqual(q.stats(), { active: 2, queued: 0, queuedTotal: 1, rejectedTotal: 0 });
    b();
    cRelease();
    cRelease();
    assert.deepEqual(q.stats(), { active: 0, queued: 0, queuedTotal: 1, rejectedTotal: 0 });
  });
});
