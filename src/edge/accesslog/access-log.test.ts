import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import type { AccessLogRecord } from '../../contracts/snapshot.ts';
import { AccessLog } from './access-log.ts';
import { AccessLogError } from './errors.ts';
import type { AccessLogOptions } from './options.ts';
import { toNdjson } from './sink.ts';
import { Spool } from './spool.ts';
import { ids, MemorySink, record, records, tempDir, until } from './testing.ts';

const LINE = Buffer.byteLength(toNdjson([record(0)]));
const segments = async (dir: string) => (await readdir(dir)).filter((n) => n.endsWith('.ndjson'));

/** GIVEN an access log on a fresh spool directory, WHEN `fn` runs, THEN it is stopped and cleaned up. */
async function withLog(
  options: Omit<AccessLogOptions, 'spoolDir'>,
  fn: (log: AccessLog, dir: string) => Promise<void>,
): Promise<void> {
  const { dir, cleanup } = await tempDir();
  const log = new AccessLog({ retryMinMs: 20, retryMaxMs: 40, ...options, spoolDir: dir });
  try {
    await log.start();
    await fn(log, dir);
  } finally {
    await log.stop();
    await cleanup();
  }
}

test('sends whole batches as soon as batchSize records wait, and the rest at stop', async () => {
  const sink = new MemorySink();
  await withLog({ sink, batchSize: 3, flushIntervalMs: 60_000 }, async (log) => {
    for (const r of records(0, 7)) log.push(r);
    await until('two batches', () => sink.batches.length === 2);
    assert.deepEqual(
      sink.batches.map((b) => b.length),
      [3, 3],
    );
    assert.equal(log.stats().buffered, 1);
    await log.stop();
    assert.deepEqual(ids(sink.received), ids(records(0, 7)));
    assert.deepEqual(log.stats(), {
      buffered: 0,
      shipped: 7,
      spooled: 0,
      spooledTotal: 0,
      dropped: 0,
      sendFailures: 0,
      lastError: null,
    });
  });
});

test('sends a partial batch once flushIntervalMs has passed', async () => {
  const sink = new MemorySink();
  await withLog({ sink, batchSize: 500, flushIntervalMs: 80 }, async (log) => {
    const t0 = Date.now();
    log.push(record(0));
    log.push(record(1));
    await new Promise((r) => setImmediate(r));
    assert.equal(sink.batches.length, 0, 'two records do not make a batch');
    await until('the interval flush', () => sink.batches.length === 1);
    assert.ok(Date.now() - t0 >= 60, 'sent by the interval, not at once');
    assert.deepEqual(ids(sink.received), ['r-000000', 'r-000001']);
  });
});

test('spools batches while the sink fails and replays them in order once it recovers', async () => {
  const sink = new MemorySink();
  sink.up = false;
  await withLog({ sink, batchSize: 4, flushIntervalMs: 10 }, async (log, dir) => {
    for (const r of records(0, 5)) log.push(r);
    await until('first records spooled', () => log.stats().spooled === 5);
    for (const r of records(5, 10)) log.push(r);
    await until('all records spooled', () => log.stats().spooled === 10);
    assert.ok((await segments(dir)).length >= 2, 'one segment per batch');
    const failed = log.stats();
    assert.equal(failed.buffered, 0);
    assert.ok(failed.sendFailures >= 1);
    assert.deepEqual(
      { code: failed.lastError?.code, message: failed.lastError?.message },
      { code: 'TP_ACCESSLOG_SINK_FAILED', message: 'sink down' },
    );
    sink.up = true;
    await until('spool replayed', () => log.stats().shipped === 10);
    for (const r of records(10, 12)) log.push(r);
    await until('everything shipped', () => log.stats().shipped === 12);
    assert.deepEqual(ids(sink.received), ids(records(0, 12)));
    assert.deepEqual(await segments(dir), [], 'delivered segments are deleted');
    assert.equal(log.stats().spooled, 0);
    assert.equal(log.stats().spooledTotal, 10);
  });
});

test('drops new records once buffer and spool are full, while push stays fast', async () => {
  const sink = new MemorySink();
  sink.up = false;
  await withLog(
    { sink, bufferCapacity: 100, batchSize: 10, flushIntervalMs: 5, maxSpoolBytes: LINE * 25 + 5 },
    async (log) => {
      let pushed = 0;
      let pushMs = 0;
      const round = () => {
        const batch = records(pushed, pushed + 1000);
        const t0 = performance.now();
        for (const r of batch) log.push(r);
        pushMs += performance.now() - t0;
        pushed += batch.length;
      };
      // Rounds of pushes go on until the spool is full, and one more follows, so that the buffer is
      // full as well however slowly the spool was written.
      const end = Date.now() + 30_000;
      while (log.stats().spooled < 25) {
        assert.ok(Date.now() < end, `spool still holds ${log.stats().spooled} records after 30 s`);
        round();
        // Lets the shipper fail, spool and fill up between rounds, as it would between requests.
        await new Promise((r) => setTimeout(r, 2));
      }
      round();
      assert.ok(pushMs / pushed < 0.005, `${pushed} pushes took ${pushMs.toFixed(1)} ms`);
      assert.equal(log.stats().spooled, 25);
      assert.equal(log.stats().buffered, 100);
      assert.equal(log.stats().dropped, pushed - 125);
      sink.up = true;
      await until('buffer and spool drained', () => log.stats().shipped === 125);
      // A full buffer drops the record being pushed, never one already kept: the first 100 all
      // arrive, and what arrives is in push order without repeats.
      const got = ids(sink.received);
      assert.deepEqual(got.slice(0, 100), ids(records(0, 100)));
      assert.deepEqual(got, [...new Set(got)].sort());
    },
  );
});

test('replays segments left by a previous run before new records, removing a half-written temp file', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const down = new MemorySink();
    down.up = false;
    const first = new AccessLog({ sink: down, spoolDir: dir, batchSize: 3, flushIntervalMs: 60_000 });
    await first.start();
    for (const r of records(0, 7)) first.push(r);
    await until('whole batches spooled', () => first.stats().spooled === 6);
    await first.stop();
    assert.equal(first.stats().spooled, 7, 'stop spools the partial batch too');
    // What a crash in the middle of a spool write leaves behind.
    await writeFile(join(dir, 'spool-000000000099-3.ndjson.tmp'), '{"time":"2025');

    const sink = new MemorySink();
    const second = new AccessLog({ sink, spoolDir: dir, batchSize: 3, flushIntervalMs: 10 });
    for (const r of records(7, 9)) second.push(r);
    await second.start();
    await until('all shipped', () => second.stats().shipped === 9);
    await second.stop();
    assert.deepEqual(ids(sink.received), ids(records(0, 9)));
    assert.deepEqual(await readdir(dir), []);
  } finally {
    await cleanup();
  }
});

test('keeps taking records during a long replay by spooling them behind it', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const previous = new Spool(dir, 1 << 20);
    await previous.open();
    for (let i = 0; i < 100; i += 10) await previous.append(records(i, i + 10));
    // The replay takes as long as the test says: each send waits for the test to let it through,
    // so no timer decides whether the buffer fills up before a segment is sent.
    const sink = new MemorySink();
    const waiting: (() => void)[] = [];
    let open = false;
    const gated = {
      async send(batch: readonly AccessLogRecord[]) {
        if (!open) await new Promise<void>((r) => waiting.push(r));
        await sink.send(batch);
      },
    };
    const letOneThrough = async () => {
      await until('a send waiting', () => waiting.length > 0);
      waiting.shift()!();
    };
    const log = new AccessLog({
      sink: gated,
      spoolDir: dir,
      bufferCapacity: 20,
      batchSize: 10,
      flushIntervalMs: 5,
    });
    await log.start();
    // Five full buffers while only five of the ten old segments are sent: five times what it holds.
    for (let i = 100; i < 200; i += 20) {
      for (const r of records(i, i + 20)) log.push(r);
      assert.equal(log.stats().buffered, 20);
      await letOneThrough();
      await until('the buffer moved behind the replay', () => log.stats().buffered === 0);
    }
    assert.equal(log.stats().dropped, 0);
    assert.equal(log.stats().shipped, 50);
    open = true;
    for (const release of waiting.splice(0)) release();
    await until('all shipped', () => log.stats().shipped === 200);
    await log.stop();
    assert.equal(log.stats().dropped, 0);
    assert.deepEqual(ids(sink.received), ids(records(0, 200)));
  } finally {
    await cleanup();
  }
});

test('push never throws, even with a sink that throws synchronously, before start or after stop', async () => {
  const sink = {
    send(_batch: readonly AccessLogRecord[]): Promise<void> {
      throw new TypeError('boom');
    },
  };
  const { dir, cleanup } = await tempDir();
  const log = new AccessLog({ sink, spoolDir: dir, batchSize: 2, flushIntervalMs: 10, retryMinMs: 20 });
  try {
    assert.doesNotThrow(() => log.push(record(0)));
    await log.start();
    assert.doesNotThrow(() => {
      for (const r of records(1, 5)) log.push(r);
    });
    await until('spooled', () => log.stats().spooled === 5);
    assert.equal(log.stats().lastError?.message, 'boom');
    await log.stop();
    assert.doesNotThrow(() => log.push(record(5)));
    assert.equal(log.stats().dropped, 1, 'a record pushed after stop is counted as dropped');
  } finally {
    await cleanup();
  }
});

test('stop() gives up on a sink that hangs at its deadline and spools the batch', async () => {
  const sink = { send: () => new Promise<void>(() => {}) };
  const { dir, cleanup } = await tempDir();
  const log = new AccessLog({ sink, spoolDir: dir, flushIntervalMs: 60_000, stopTimeoutMs: 100 });
  try {
    await log.start();
    for (const r of records(0, 3)) log.push(r);
    const t0 = Date.now();
    await log.stop();
    assert.ok(Date.now() - t0 < 1000, `stop took ${Date.now() - t0} ms`);
    assert.equal(log.stats().spooled, 3);
    assert.equal(log.stats().lastError?.code, 'TP_ACCESSLOG_STOP_DEADLINE');
    assert.equal((await segments(dir)).length, 1);
  } finally {
    await cleanup();
  }
});

test('counts a send that never settles as failed after sendTimeoutMs and spools its batch', async () => {
  const sink = { send: () => new Promise<void>(() => {}) };
  await withLog({ sink, flushIntervalMs: 10, sendTimeoutMs: 50, stopTimeoutMs: 0 }, async (log) => {
    for (const r of records(0, 3)) log.push(r);
    await until('spooled', () => log.stats().spooled === 3);
    assert.equal(log.stats().lastError?.code, 'TP_ACCESSLOG_SEND_TIMEOUT');
  });
});

test('drops a batch the intake refuses for good and goes on with the next', async () => {
  const sink = new MemorySink();
  let calls = 0;
  const refusing = {
    async send(batch: readonly AccessLogRecord[]) {
      if (calls++ === 0) throw new AccessLogError('TP_ACCESSLOG_SINK_REJECTED', 'intake answered 400');
      await sink.send(batch);
    },
  };
  await withLog({ sink: refusing, batchSize: 2, flushIntervalMs: 60_000 }, async (log) => {
    for (const r of records(0, 4)) log.push(r);
    await until('second batch shipped', () => log.stats().shipped === 2);
    assert.deepEqual(ids(sink.received), ['r-000002', 'r-000003']);
    assert.equal(log.stats().dropped, 2);
    assert.equal(log.stats().spooled, 0, 'a refused batch is not spooled');
    assert.equal(log.stats().lastError?.code, 'TP_ACCESSLOG_SINK_REJECTED');
  });
});

test('fails options that break the rules, listing every problem at once', () => {
  assert.throws(
    () =>
      new AccessLog({
        sink: {} as never,
        spoolDir: '',
        bufferCapacity: 10,
        batchSize: 20,
        retryMinMs: 500,
        retryMaxMs: 100,
        maxSpoolBytes: -1,
      }),
    (e: unknown) => {
      assert.ok(e instanceof AccessLogError);
      assert.equal(e.code, 'TP_ACCESSLOG_INVALID_OPTIONS');
      assert.deepEqual(e.details.problems, [
        'accessLog.sink: expected an object with a send(batch) method',
        'accessLog.spoolDir: expected a directory path, got ""',
        'accessLog.batchSize: expected an integer from 1 to bufferCapacity (10), got 20',
        'accessLog.maxSpoolBytes: expected an integer >= 0 (0 turns the spool off), got -1',
        'accessLog.retryMaxMs: expected an integer >= retryMinMs (500), got 100',
      ]);
      return true;
    },
  );
});

test('fails a second start with TP_ACCESSLOG_STATE', async () => {
  await withLog({ sink: new MemorySink() }, async (log) => {
    await assert.rejects(log.start(), { code: 'TP_ACCESSLOG_STATE' });
  });
});
