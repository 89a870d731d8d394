import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { AccessLogRecord } from '../../contracts/snapshot.ts';
import { AccessLogError, messageOf } from './errors.ts';
import { type LogSink, toNdjson } from './sink.ts';

/** Appends batches as NDJSON lines to a local file; rotation is left to the operator (e.g. logrotate copytruncate). */
export class FileSink implements LogSink {
  readonly path: string;

  constructor(path: string) {
    this.path = path;
  }

  /** Appends the batch in one write, creating the file and its directory when missing. */
  async send(batch: readonly AccessLogRecord[]): Promise<void> {
    try {
      // Created on every send, not once: the directory may be removed while the edge runs.
      await mkdir(dirname(this.path), { recursive: true });
      // One append per batch: a local disk that hangs is cut short by the shipper's send timeout.
      await appendFile(this.path, toNdjson(batch), { mode: 0o640 });
    } catch (e) {
      throw new AccessLogError(
        'TP_ACCESSLOG_SINK_FAILED',
        `cannot append to ${this.path}: ${messageOf(e)}`,
        {},
        { cause: e },
      );
    }
  }
}
