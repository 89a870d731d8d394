import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AccessLogRecord } from '../../contracts/snapshot.ts';
import type { LogSink } from './sink.ts';

// Helpers shared by the access-log tests (unit and process level); not used by the edge itself.

/** Record number `i`: every field set, `requestId` "r-000042" so that all records have the same size. */
export function record(i: number): AccessLogRecord {
  return {
    time: '2025-01-01T00:00:00.000Z',
    store: 'shop',
    client: '203.0.113.7',
    method: 'GET',
    host: 'shop.example',
    path: `/p/${String(i).padStart(6, '0')}`,
    status: 200,
    bytesIn: 0,
    bytesOut: 512,
    durationMs: 1.5,
    upstreamMs: 1.2,
    cache: 'MISS',
    upstream: '127.0.0.1:9000',
    blockedBy: null,
    requestId: `r-${String(i).padStart(6, '0')}`,
  };
}

/** Records `from` … `to - 1`. */
export const records = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, k) => record(from + k));

/** The request ids of records, to compare order. */
export const ids = (rs: readonly AccessLogRecord[]) => rs.map((r) => r.requestId);

/** A sink that keeps every batch in memory, and fails while `up` is false. */
export class MemorySink implements LogSink {
  up = true;
  readonly batches: AccessLogRecord[][] = [];

  async send(batch: readonly AccessLogRecord[]): Promise<void> {
    if (!this.up) throw new Error('sink down');
    this.batches.push([...batch]);
  }

  /** Every record received, in order. */
  get received(): AccessLogRecord[] {
    return this.batches.flat();
  }
}

/** Waits until `cond` holds, polling; fails with `what` after `timeoutMs`. */
export async function until(what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A fresh temporary directory and its cleanup. */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'tp-accesslog-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
