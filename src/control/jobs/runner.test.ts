import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import pino from 'pino';
import { hostLowestPriority } from '../../contracts/priority.ts';
import { openState, type State } from '../state/index.ts';
import { jobsCommand } from './process.ts';
import { type JobHandler, JobRunner } from './runner.ts';
import { Scheduler } from './schedule.ts';

const log = pino({ level: 'silent' });

describe('job runner', () => {
  let dir = '';
  let state: State;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tp-jobs-'));
    state = await openState({ dataDir: dir });
  });
  afterEach(async () => {
    await state.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const runner = (handlers: Record<string, JobHandler>) =>
    new JobRunner({ state, workerId: 'w1', handlers, log, drainMs: 2000 });

  test('runs a due job and keeps its result in the history', async () => {
    await state.jobs.enqueue({ kind: 'echo', payload: { n: 2 } });
    const r = runner({ echo: async ({ payload }) => ({ doubled: (payload as { n: number }).n * 2 }) });
    const done = await r.runOnce();
    assert.equal(done?.status, 'succeeded');
    assert.deepEqual(done?.result, { doubled: 4 });
    assert.equal((await state.jobs.history('echo'))[0]?.status, 'succeeded');
    assert.equal(await r.runOnce(), null, 'nothing left to do');
  });

  test('a failed attempt is queued again with backoff, and fails for good when attempts run out', async () => {
    const job = await state.jobs.enqueue({ kind: 'flaky', maxAttempts: 2 });
    const r = runner({
      flaky: async () => {
        throw Object.assign(new Error('disk full'), { code: 'TP_BACKUP_DISK' });
      },
    });
    const first = await r.runOnce();
    assert.equal(first?.status, 'queued');
    assert.equal(first?.error, 'TP_BACKUP_DISK: disk full');
    assert.ok((first?.runAfter ?? 0) > Date.now(), 'the retry waits');
    assert.equal(await r.runOnce(), null, 'not due yet');
    // Claim the retry as if its backoff had passed, and fail it for the last time.
    const forced = await state.jobs.claim('w1', ['flaky'], Date.now() + 3_600_000);
    assert.equal(forced?.id, job.id);
    const final = await state.jobs.fail(job.id, 'w1', 'TP_BACKUP_DISK: disk full');
    assert.equal(final.status, 'failed');
    assert.equal(r.counts.failed, 1);
  });

  test('an attempt past its timeout is cut off even when the handler ignores its signal', async () => {
    await state.jobs.enqueue({ kind: 'hang', timeoutMs: 150, maxAttempts: 1 });
    let aborted = false;
    const r = runner({
      hang: ({ signal }) => {
        signal.addEventListener('abort', () => {
          aborted = true;
        });
        return new Promise(() => {});
      },
    });
    const t0 = Date.now();
    const done = await r.runOnce();
    assert.ok(Date.now() - t0 < 2000);
    assert.equal(done?.status, 'failed');
    assert.match(done?.error ?? '', /^TP_JOB_TIMEOUT: hang .*no result within 150 ms/);
    assert.equal(aborted, true, 'the handler was told to stop');
    assert.equal(r.counts.timedOut, 1);
  });

  test('stop() lets the running attempt finish', async () => {
    await state.jobs.enqueue({ kind: 'slow' });
    let finished = false;
    const r = runner({
      slow: async () => {
        await new Promise((res) => setTimeout(res, 300));
        finished = true;
        return null;
      },
    });
    r.start();
    while (!(await state.jobs.history('slow'))[0]?.startedAt) await new Promise((res) => setTimeout(res, 20));
    await r.stop();
    assert.equal(finished, true);
    assert.equal((await state.jobs.history('slow'))[0]?.status, 'succeeded');
  });

  test('the scheduler enqueues a job when due, never while one is pending, and again after its period', async () => {
    let now = 1_000_000;
    const s = new Scheduler({ state, log, clock: () => now, jobs: [{ kind: 'rollup', everyMs: 60_000 }] });
    assert.deepEqual(await s.tick(), ['rollup']);
    now += 120_000;
    assert.deepEqual(await s.tick(), [], 'the first one is still queued');
    const r = runner({ rollup: async () => null });
    assert.equal((await r.runOnce())?.status, 'succeeded');
    const last = (await state.jobs.history('rollup'))[0]!;
    now = last.createdAt + 30_000;
    assert.deepEqual(await s.tick(), [], 'within its period');
    now = last.createdAt + 61_000;
    assert.deepEqual(await s.tick(), ['rollup']);
  });
});

test('the jobs process starts at the lowest priority, CPU and disk', () => {
  assert.deepEqual(
    jobsCommand({
      node: ['/usr/bin/node', '--import', 'tsx'],
      entry: '/app/main.ts',
      dataDir: '/var/lib/tp',
    }),
    [
      ...hostLowestPriority(),
      '/usr/bin/node',
      '--import',
      'tsx',
      '/app/main.ts',
      'jobs',
      '--data-dir',
      '/var/lib/tp',
    ],
  );
  assert.deepEqual(
    jobsCommand({ node: ['node'], entry: 'm.ts', dataDir: '/d', databaseUrl: 'postgres://x/y' }).slice(-2),
    ['--database-url', 'postgres://x/y'],
  );
});
