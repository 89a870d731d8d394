import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { retryDelayMs } from './jobs.ts';
import { DIALECTS, manualClock, raceNodes, useTestDatabases } from './testing.ts';

const dbs = useTestDatabases();

test('retryDelayMs doubles from one second and stops at five minutes', () => {
  assert.deepEqual(
    [1, 2, 3, 4, 9, 10, 50].map(retryDelayMs),
    [1000, 2000, 4000, 8000, 256_000, 300_000, 300_000],
  );
});

for (const dialect of DIALECTS) {
  describe(`jobs on ${dialect}`, () => {
    test('enqueue, claim, complete: the job records its lease, attempt and result', async () => {
      const clock = manualClock();
      const state = await dbs.open(dialect, { clock });
      const job = await state.jobs.enqueue({ kind: 'backup', payload: { store: 'demo' }, timeoutMs: 30_000 });
      assert.equal(job.status, 'queued');
      assert.equal(job.attempts, 0);
      assert.equal(job.maxAttempts, 3);
      clock.advance(100);
      const claimed = await state.jobs.claim('w1', ['backup']);
      assert.equal(claimed?.id, job.id);
      assert.equal(claimed?.status, 'running');
      assert.equal(claimed?.attempts, 1);
      assert.equal(claimed?.workerId, 'w1');
      assert.equal(claimed?.startedAt, clock());
      assert.equal(claimed?.leaseUntil, clock() + 30_000);
      assert.deepEqual(claimed?.payload, { store: 'demo' });
      assert.equal(await state.jobs.claim('w2', ['backup']), null, 'a running job is not claimed twice');
      clock.advance(500);
      const done = await state.jobs.complete(job.id, 'w1', { bytes: 1234 });
      assert.equal(done.status, 'succeeded');
      assert.equal(done.finishedAt, clock());
      assert.equal(done.leaseUntil, null);
      assert.deepEqual(done.result, { bytes: 1234 });
      assert.deepEqual(await state.jobs.get(job.id), done);
    });

    test('claim takes only due jobs of the given kinds, oldest due first', async () => {
      const clock = manualClock();
      const state = await dbs.open(dialect, { clock });
      const later = await state.jobs.enqueue({ kind: 'backup', runAfter: clock() + 10_000 });
      const rollup = await state.jobs.enqueue({ kind: 'rollup' });
      clock.advance(1);
      const backup = await state.jobs.enqueue({ kind: 'backup' });
      assert.equal(await state.jobs.claim('w', ['renew']), null);
      assert.equal((await state.jobs.claim('w', ['backup', 'renew']))?.id, backup.id);
      assert.equal(await state.jobs.claim('w', ['backup']), null, 'the other backup is not due yet');
      assert.equal((await state.jobs.claim('w', ['backup', 'rollup']))?.id, rollup.id);
      assert.equal((await state.jobs.claim('w', ['backup'], clock() + 10_000))?.id, later.id);
      await assert.rejects(state.jobs.claim('w', []), { code: 'STATE_INVALID' });
    });

    test('fail queues the job again after a backoff, then fails it for good after max_attempts', async () => {
      const clock = manualClock();
      const state = await dbs.open(dialect, { clock });
      const job = await state.jobs.enqueue({ kind: 'backup', maxAttempts: 2 });
      await state.jobs.claim('w1', ['backup']);
      const retry = await state.jobs.fail(job.id, 'w1', 'mysqldump exited 2');
      assert.equal(retry.status, 'queued');
      assert.equal(retry.runAfter, clock() + 1000);
      assert.equal(retry.error, 'mysqldump exited 2');
      assert.equal(retry.workerId, null);
      assert.equal(await state.jobs.claim('w1', ['backup']), null, 'not before the backoff');
      clock.advance(1000);
      const second = await state.jobs.claim('w2', ['backup']);
      assert.equal(second?.attempts, 2);
      const failed = await state.jobs.fail(job.id, 'w2', 'disk full');
      assert.equal(failed.status, 'failed');
      assert.equal(failed.finishedAt, clock());
      assert.equal(failed.error, 'disk full');
      clock.advance(600_000);
      assert.equal(await state.jobs.claim('w3', ['backup']), null);
    });

    test('fails with STATE_CONFLICT when a worker finishes a job it does not hold', async () => {
      const state = await dbs.open(dialect);
      const job = await state.jobs.enqueue({ kind: 'backup' });
      await assert.rejects(state.jobs.complete(job.id, 'w1'), { code: 'STATE_CONFLICT' });
      await state.jobs.claim('w1', ['backup']);
      await assert.rejects(state.jobs.complete(job.id, 'w2'), {
        code: 'STATE_CONFLICT',
        message: `job ${job.id} is not held by worker w2 (status running, worker w1)`,
      });
      await assert.rejects(state.jobs.fail(job.id, 'w2', 'x'), { code: 'STATE_CONFLICT' });
      await assert.rejects(state.jobs.complete('job_ghost', 'w1'), { code: 'STATE_NOT_FOUND' });
      await state.jobs.complete(job.id, 'w1');
      await assert.rejects(state.jobs.complete(job.id, 'w1'), { code: 'STATE_CONFLICT' });
    });

    test('recoverExpiredLeases takes back jobs whose worker vanished', async () => {
      const clock = manualClock();
      const state = await dbs.open(dialect, { clock });
      const retried = await state.jobs.enqueue({ kind: 'backup', timeoutMs: 1000, maxAttempts: 2 });
      const exhausted = await state.jobs.enqueue({ kind: 'rollup', timeoutMs: 1000, maxAttempts: 1 });
      const alive = await state.jobs.enqueue({ kind: 'renew', timeoutMs: 5000 });
      for (const kind of ['backup', 'rollup', 'renew']) await state.jobs.claim('w1', [kind]);
      clock.advance(1000);
      assert.deepEqual(await state.jobs.recoverExpiredLeases(), [], 'a lease ending now has not expired');
      clock.advance(1);
      const changed = await state.jobs.recoverExpiredLeases();
      assert.deepEqual(
        changed.map((j) => [j.id, j.status]),
        [
          [retried.id, 'queued'],
          [exhausted.id, 'failed'],
        ],
      );
      assert.match(changed[0]?.error ?? '', /^lease expired: worker w1 did not finish within 1000ms$/);
      assert.equal((await state.jobs.get(alive.id))?.status, 'running');
      // The vanished worker comes back too late.
      await assert.rejects(state.jobs.complete(retried.id, 'w1'), { code: 'STATE_CONFLICT' });
      clock.advance(1000);
      assert.equal((await state.jobs.claim('w2', ['backup']))?.attempts, 2);
    });

    test('history lists the jobs of one kind newest first', async () => {
      const clock = manualClock();
      const state = await dbs.open(dialect, { clock });
      const a = await state.jobs.enqueue({ kind: 'backup' });
      await state.jobs.enqueue({ kind: 'rollup' });
      clock.advance(1);
      const b = await state.jobs.enqueue({ kind: 'backup' });
      await state.jobs.claim('w', ['backup']);
      assert.deepEqual(
        (await state.jobs.history('backup')).map((j) => [j.id, j.status]),
        [
          [b.id, 'queued'],
          [a.id, 'running'],
        ],
      );
      assert.deepEqual(
        (await state.jobs.history('backup', 1)).map((j) => j.id),
        [b.id],
      );
    });

    test('fails with STATE_INVALID for a non-positive maxAttempts or timeoutMs', async () => {
      const state = await dbs.open(dialect);
      await assert.rejects(state.jobs.enqueue({ kind: 'x', maxAttempts: 0 }), { code: 'STATE_INVALID' });
      await assert.rejects(state.jobs.enqueue({ kind: 'x', timeoutMs: 1.5 }), {
        code: 'STATE_INVALID',
        message: 'timeoutMs: expected a positive integer, got 1.5',
      });
    });

    test('concurrent claimers on one State never get the same job', async () => {
      const state = await dbs.open(dialect);
      for (let i = 0; i < 40; i++) await state.jobs.enqueue({ kind: 'race' });
      const claimed: string[] = [];
      await Promise.all(
        Array.from({ length: 8 }, async (_, n) => {
          for (;;) {
            const job = await state.jobs.claim(`w${n}`, ['race']);
            if (!job) return;
            claimed.push(job.id);
          }
        }),
      );
      assert.equal(claimed.length, 40);
      assert.equal(new Set(claimed).size, 40);
    });

    test('claimers on two control nodes never get the same job', async () => {
      const opts = await dbs.fresh(dialect);
      const state = await dbs.openWith(opts);
      for (let i = 0; i < 60; i++) await state.jobs.enqueue({ kind: 'race' });
      const [a, b] = (await raceNodes(opts, [
        { kind: 'claim', worker: 'a', parallel: 4 },
        { kind: 'claim', worker: 'b', parallel: 4 },
      ])) as string[][];
      const all = [...a!, ...b!];
      assert.equal(all.length, 60);
      assert.equal(new Set(all).size, 60);
      assert.deepEqual(
        (await state.jobs.history('race', 100)).filter((j) => j.status !== 'running'),
        [],
      );
    });
  });
}
