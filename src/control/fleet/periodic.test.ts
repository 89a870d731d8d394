import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PeriodicTask } from './periodic.ts';
import { until } from './testing.ts';

/** GIVEN a task whose passes wait until released, counting starts. */
function gated() {
  let starts = 0;
  let release: () => void = () => {};
  const work = async () => {
    starts++;
    await new Promise<void>((r) => {
      release = r;
    });
    return starts;
  };
  return { work, starts: () => starts, release: () => release() };
}

test('requests during a pass coalesce into one more pass that starts after it', async () => {
  const g = gated();
  const task = new PeriodicTask('t', g.work, 60_000);
  const first = task.runOnce();
  await until('first pass', () => g.starts() === 1);
  const second = task.runOnce();
  task.trigger();
  const third = task.runOnce();
  assert.equal(second, third, 'one queued pass shared by every request made during the first');
  g.release();
  assert.equal(await first, 1);
  await until('second pass', () => g.starts() === 2);
  g.release();
  assert.equal(await second, 2);
  assert.equal(task.stats().runs, 2);
});

test('counts a failed triggered pass and hands it to onError instead of throwing', async () => {
  const seen: unknown[] = [];
  const boom = Object.assign(new Error('db down'), { code: 'STATE_UNAVAILABLE' });
  const task = new PeriodicTask(
    't',
    () => Promise.reject(boom),
    60_000,
    (e) => seen.push(e),
  );
  task.trigger();
  await until('the failure', () => task.stats().failures === 1);
  assert.deepEqual(seen, [boom]);
  assert.equal(task.stats().lastError?.code, 'STATE_UNAVAILABLE');
  assert.equal(task.stats().lastError?.message, 'db down');
  await assert.rejects(task.runOnce(), boom, 'runOnce hands the error to its caller');
});

test('start runs at once and then every interval; stop waits for the pass and ends the timer', async () => {
  let passes = 0;
  const task = new PeriodicTask('t', async () => ++passes, 30);
  task.start();
  await until('three passes', () => passes >= 3);
  await task.stop();
  const after = passes;
  await new Promise((r) => setTimeout(r, 80));
  assert.equal(passes, after);
  task.trigger();
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(passes, after, 'triggers are ignored once stopped');
});

test('fails with TP_FLEET_INVALID_OPTIONS for an interval that is not a positive integer', () => {
  assert.throws(() => new PeriodicTask('reconciler', async () => 0, 0), {
    code: 'TP_FLEET_INVALID_OPTIONS',
    message: 'reconciler.intervalMs: expected a positive integer, got 0',
  });
});
