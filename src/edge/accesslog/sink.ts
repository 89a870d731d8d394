import type { AccessLogRecord } from '../../contracts/snapshot.ts';

/**
 * Where batches of access-log records go. `send` resolves once the batch is stored for good and
 * rejects otherwise; the shipper then spools the batch and retries. A sink should stop work when
 * `signal` aborts (timeout or `stop()` deadline); the shipper stops waiting for it either way.
 */
export interface LogSink {
  send(batch: readonly AccessLogRecord[], signal?: AbortSignal): Promise<void>;
  /** Releases sockets or files; called once by `AccessLog.stop()`, which owns its sink. */
  close?(): Promise<void>;
}

/** Records as NDJSON: one JSON object per line, each line ending in "\n". */
export function toNdjson(batch: readonly AccessLogRecord[]): string {
  let out = '';
  for (const r of batch) out += `${JSON.stringify(r)}\n`;
  return out;
}
