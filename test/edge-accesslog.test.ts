import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import type { AccessLogRecord } from '../src/contracts/snapshot.ts';
import { ACCESS_LOG_INTAKE_PATH, AccessLog, HttpSink, toNdjson } from '../src/edge/accesslog/index.ts';
import { ids, records, tempDir, until } from '../src/edge/accesslog/testing.ts';

/** The control plane's intake, reduced to what the edge sees: NDJSON in, 204 out. */
class Intake {
  readonly received: AccessLogRecord[] = [];
  readonly problems: string[] = [];
  private server: Server | undefined;
  port = 0;

  async listen(): Promise<void> {
    const server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        if (req.method !== 'POST' || req.url !== ACCESS_LOG_INTAKE_PATH)
          this.problems.push(`${req.method} ${req.url}`);
        if (req.headers['content-type'] !== 'application/x-ndjson')
          this.problems.push(`content-type ${req.headers['content-type']}`);
        for (const line of body.split('\n')) if (line) this.received.push(JSON.parse(line));
        res.writeHead(204).end();
      });
    });
    // Port 0 the first time; the same port when it comes back, as a restarted control plane would.
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', resolve);
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}${ACCESS_LOG_INTAKE_PATH}`;
  }
}

test('spools while the intake is down, then delivers every record exactly once and in order', async () => {
  const intake = new Intake();
  await intake.listen();
  const { dir, cleanup } = await tempDir();
  const log = new AccessLog({
    sink: new HttpSink(intake.url, { timeoutMs: 2000 }),
    spoolDir: dir,
    batchSize: 50,
    flushIntervalMs: 20,
    retryMinMs: 50,
    retryMaxMs: 200,
  });
  try {
    await log.start();
    // GIVEN a log that ships to a live intake
    for (const r of records(0, 100)) log.push(r);
    await until('first 100 records at the intake', () => intake.received.length === 100);

    // WHEN the intake goes away and traffic goes on
    await intake.close();
    for (let i = 100; i < 400; i += 60) {
      for (const r of records(i, Math.min(i + 60, 400))) log.push(r);
      await new Promise((r) => setTimeout(r, 15));
    }

    // THEN the records wait on disk, as NDJSON segments, in order
    await until('300 records spooled', () => log.stats().spooled === 300);
    const names = (await readdir(dir)).filter((n) => n.endsWith('.ndjson')).sort();
    assert.ok(names.length >= 6, `expected a segment per batch, got ${names.join(', ')}`);
    const onDisk: AccessLogRecord[] = [];
    for (const n of names)
      for (const line of (await readFile(join(dir, n), 'utf8')).split('\n'))
        if (line) onDisk.push(JSON.parse(line));
    assert.deepEqual(ids(onDisk), ids(records(100, 400)));
    assert.equal(log.stats().buffered, 0);
    assert.ok(log.stats().sendFailures >= 1);
    assert.equal(log.stats().lastError?.code, 'TP_ACCESSLOG_SINK_FAILED');

    // WHEN the intake comes back on the same port
    await intake.listen();

    // THEN the spool is replayed: every record exactly once, in push order, and the spool is emptied
    await until('spool replayed', () => log.stats().spooled === 0 && intake.received.length >= 400);
    assert.deepEqual(ids(intake.received), ids(records(0, 400)));
    assert.deepEqual(
      (await readdir(dir)).filter((n) => n.startsWith('spool-')),
      [],
    );
    assert.deepEqual(intake.problems, []);
    const s = log.stats();
    assert.deepEqual(
      { shipped: s.shipped, spooledTotal: s.spooledTotal, dropped: s.dropped },
      { shipped: 400, spooledTotal: 300, dropped: 0 },
    );
  } finally {
    await log.stop();
    await intake.close();
    await cleanup();
  }
});

test('100k pushes with the intake down and a tiny spool take a few ms and are dropped, not waited on', async (t) => {
  // GIVEN an intake that is down and a spool that holds only a few kilobytes
  const spoolBytes = 4096;
  const intake = new Intake();
  await intake.listen();
  await intake.close();
  const { dir, cleanup } = await tempDir();
  const log = new AccessLog({
    sink: new HttpSink(intake.url, { timeoutMs: 500 }),
    spoolDir: dir,
    bufferCapacity: 10_000,
    batchSize: 500,
    flushIntervalMs: 10,
    maxSpoolBytes: spoolBytes,
    retryMinMs: 20,
    retryMaxMs: 50,
  });
  const spoolFits = Math.floor(spoolBytes / Buffer.byteLength(toNdjson(records(0, 1))));
  try {
    await log.start();
    for (const r of records(0, 1000)) log.push(r);
    await until('the spool to fill up', () => log.stats().spooled === spoolFits);

    // WHEN 100k more records are pushed in rounds, with the event loop free between rounds so the
    // shipper retries and tries to spool alongside, as it would between requests
    const all = records(1000, 101_000);
    let pushMs = 0;
    for (let i = 0; i < all.length; i += 1000) {
      const t0 = performance.now();
      for (let k = i; k < i + 1000; k++) log.push(all[k]!);
      pushMs += performance.now() - t0;
      await new Promise((r) => setImmediate(r));
    }

    // THEN pushing took a few milliseconds in total, and every record that found no room was
    // dropped and counted instead of being waited for
    t.diagnostic(`100k pushes: ${pushMs.toFixed(1)} ms`);
    assert.ok(pushMs < 300, `100k pushes took ${pushMs.toFixed(1)} ms`);
    const s = log.stats();
    assert.deepEqual(
      { buffered: s.buffered, spooled: s.spooled, shipped: s.shipped, dropped: s.dropped },
      { buffered: 10_000, spooled: spoolFits, shipped: 0, dropped: 101_000 - 10_000 - spoolFits },
    );
  } finally {
    await log.stop();
    await cleanup();
  }
});
