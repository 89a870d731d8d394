import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError } from '../errors.ts';
import { type BudgetClock, ReadBudget } from './read-budget.ts';

/** A clock the test moves by hand; timers fire when it passes them. */
class FakeClock implements BudgetClock {
  t = 0;
  private timers: { at: number; fn: () => void }[] = [];
  now(): number {
    return this.t;
  }
  after(ms: number, fn: () => void): () => void {
    const timer = { at: this.t + ms, fn };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((x) => x !== timer);
    };
  }
  /** Moves to `t`, firing due timers in order, and lets promise callbacks run. */
  async advance(to: number): Promise<void> {
    for (;;) {
      await settle();
      const due = this.timers.filter((x) => x.at <= to).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.t = due.at;
      this.timers = this.timers.filter((x) => x !== due);
      due.fn();
    }
    this.t = to;
    await settle();
  }
  pending(): number {
    return this.timers.length;
  }
}

const settle = () => new Promise<void>((r) => setImmediate(r));

/** A read that takes `ms` on the fake clock: it records when it started and ends when told. */
function readOf(clock: FakeClock, log: string[], name: string, ms: number) {
  return async () => {
    log.push(`${name}@${clock.now()}`);
    const end = clock.now() + ms;
    // The test advances the clock; the read "works" until the clock has reached its end.
    while (clock.now() < end) await settle();
    return name;
  };
}

describe('ReadBudget', () => {
  it('runs reads one at a time and rests after each so they average the share of a core', async () => {
    // GIVEN a budget of a quarter core and three 10 ms reads asked for at once
    const clock = new FakeClock();
    const budget = new ReadBudget({ share: 0.25 }, clock);
    const log: string[] = [];
    const answers = ['a', 'b', 'c'].map((n) => budget.run('ops', readOf(clock, log, n, 10)));
    // WHEN time passes
    for (let t = 0; t <= 100; t += 5) await clock.advance(t);
    // THEN each starts 10 ms of work plus 30 ms of rest after the one before
    assert.deepEqual(await Promise.all(answers), ['a', 'b', 'c']);
    assert.deepEqual(log, ['a@0', 'b@40', 'c@80']);
    assert.deepEqual(budget.stats(), { answered: 3, refused: 0, abandoned: 0, spentMs: 30 });
  });

  it('with a share of 1 starts the next read as soon as the last one ends', async () => {
    const clock = new FakeClock();
    const budget = new ReadBudget({ share: 1 }, clock);
    const log: string[] = [];
    const answers = ['a', 'b'].map((n) => budget.run('ops', readOf(clock, log, n, 10)));
    for (let t = 0; t <= 30; t += 5) await clock.advance(t);
    await Promise.all(answers);
    assert.deepEqual(log, ['a@0', 'b@10']);
  });

  it('does not hold a read that comes after the rest is over', async () => {
    const clock = new FakeClock();
    const budget = new ReadBudget({ share: 0.5 }, clock);
    const log: string[] = [];
    const first = budget.run('ops', readOf(clock, log, 'a', 10));
    await clock.advance(10);
    await first;
    await clock.advance(500);
    const second = budget.run('ops', readOf(clock, log, 'b', 1));
    await clock.advance(501);
    await second;
    assert.deepEqual(log, ['a@0', 'b@500']);
  });

  it('fails with TP_API_BUSY and a Retry-After estimate when the line is full, and serves the line', async () => {
    // GIVEN a line of two, one read running and two waiting
    const clock = new FakeClock();
    const budget = new ReadBudget({ share: 0.5, queue: 2 }, clock);
    const log: string[] = [];
    const first = budget.run('a', readOf(clock, log, 'first', 1000));
    await clock.advance(1000);
    await first;
    const waiting = [
      budget.run('b', readOf(clock, log, 'w1', 1000)),
      budget.run('c', readOf(clock, log, 'w2', 1)),
    ];
    // WHEN a third caller asks
    const refused = await budget.run('d', readOf(clock, log, 'refused', 1)).catch((e: unknown) => e);
    // THEN it is refused at once with a code, status and a wait in seconds, and never runs
    assert.ok(refused instanceof ApiError);
    assert.equal(refused.code, 'TP_API_BUSY');
    assert.equal(refused.status, 429);
    // two waiting plus this one, at 1 s of work and 1 s of rest each
    assert.equal(refused.details.retryAfterSeconds, 6);
    for (let t = 1000; t <= 6000; t += 100) await clock.advance(t);
    assert.deepEqual(await Promise.all(waiting), ['w1', 'w2']);
    assert.deepEqual(log, ['first@0', 'w1@2000', 'w2@4000']);
    assert.equal(budget.stats().refused, 1);
  });

  it("refuses a caller's read beyond its part of the line while other callers still get in", async () => {
    const clock = new FakeClock();
    const budget = new ReadBudget({ share: 1, queue: 10, perCaller: 2 }, clock);
    const log: string[] = [];
    const greedy = [1, 2].map((i) => budget.run('greedy', readOf(clock, log, `g${i}`, 5)));
    const third = await budget.run('greedy', readOf(clock, log, 'g3', 5)).catch((e: ApiError) => e.code);
    const other = budget.run('other', readOf(clock, log, 'o1', 5));
    assert.equal(third, 'TP_API_BUSY');
    for (let t = 0; t <= 20; t += 5) await clock.advance(t);
    assert.deepEqual(await Promise.all([...greedy, other]), ['g1', 'g2', 'o1']);
    // A caller's count goes down as its reads are answered: it may ask again.
    const again = budget.run('greedy', readOf(clock, log, 'g4', 1));
    await clock.advance(21);
    assert.equal(await again, 'g4');
  });

  it('drops a waiting read whose client has gone without running it', async () => {
    const clock = new FakeClock();
    const budget = new ReadBudget({ share: 0.5 }, clock);
    const log: string[] = [];
    let gone = false;
    const first = budget.run('ops', readOf(clock, log, 'first', 10));
    const dropped = budget
      .run('ops', readOf(clock, log, 'dropped', 10), () => gone)
      .catch((e: ApiError) => e.code);
    const last = budget.run('ops', readOf(clock, log, 'last', 10));
    gone = true;
    for (let t = 0; t <= 40; t += 5) await clock.advance(t);
    assert.equal(await first, 'first');
    assert.equal(await dropped, 'TP_API_UNAVAILABLE');
    assert.equal(await last, 'last');
    assert.deepEqual(log, ['first@0', 'last@20']);
    assert.equal(budget.stats().abandoned, 1);
  });

  it('hands a failed read its error and goes on with the line', async () => {
    const clock = new FakeClock();
    const budget = new ReadBudget({ share: 1 }, clock);
    const boom = budget
      .run('ops', async () => {
        throw new Error('state store gone');
      })
      .catch((e: Error) => e.message);
    const thrown = budget
      .run('ops', () => {
        throw new Error('synchronous');
      })
      .catch((e: Error) => e.message);
    const after = budget.run('ops', async () => 'after');
    await clock.advance(1);
    assert.equal(await boom, 'state store gone');
    assert.equal(await thrown, 'synchronous');
    assert.equal(await after, 'after');
    assert.equal(clock.pending(), 0);
  });

  it('fails on options out of range, naming each field and value', () => {
    assert.throws(
      () => new ReadBudget({ share: 0, queue: 0 }),
      (e: unknown) =>
        e instanceof ApiError &&
        e.code === 'TP_API_INVALID' &&
        /share/.test(e.message) &&
        /queue/.test(e.message) &&
        JSON.stringify(e.details.problems).includes('"value":0'),
    );
  });
});
