import { AccessLogError } from './errors.ts';
import type { LogSink } from './sink.ts';

/** How an AccessLog buffers, batches, spools and retries. */
export interface AccessLogOptions {
  /** Where batches go (HttpSink, FileSink or a test double). The log owns it and closes it on stop. */
  readonly sink: LogSink;
  /** Directory of the disk spool; created on `start()`. One AccessLog per directory. */
  readonly spoolDir: string;
  /** Records held in memory; when full, `push` drops the new record. @default 10_000 */
  readonly bufferCapacity?: number;
  /** Records per send and per spool segment; this many waiting wakes the shipper. @default 500 */
  readonly batchSize?: number;
  /** Longest a record waits in the buffer when traffic is too low to fill a batch. @default 1000 */
  readonly flushIntervalMs?: number;
  /** Bytes the spool may hold on disk; past it, records stay in the buffer, then are dropped. @default 64 MiB */
  readonly maxSpoolBytes?: number;
  /** First wait before retrying a failed sink; doubles on every failure. @default 1000 */
  readonly retryMinMs?: number;
  /** Longest wait between retries. @default 30_000 */
  readonly retryMaxMs?: number;
  /** A send that has not settled by then counts as failed (the batch is spooled). @default 10_000 */
  readonly sendTimeoutMs?: number;
  /** How long `stop()` keeps sending before it spools what is left. @default 5000 */
  readonly stopTimeoutMs?: number;
}

/** The options with every default filled in. */
export type ResolvedAccessLogOptions = Required<AccessLogOptions>;

/** Defaults of the optional AccessLog options. */
export const ACCESS_LOG_DEFAULTS = Object.freeze({
  bufferCapacity: 10_000,
  batchSize: 500,
  flushIntervalMs: 1000,
  maxSpoolBytes: 64 * 1024 * 1024,
  retryMinMs: 1000,
  retryMaxMs: 30_000,
  sendTimeoutMs: 10_000,
  stopTimeoutMs: 5000,
});

/** Fills defaults and checks every rule, throwing one TP_ACCESSLOG_INVALID_OPTIONS error that lists all problems. */
export function resolveAccessLogOptions(input: AccessLogOptions): ResolvedAccessLogOptions {
  // Cast before checking: `sink` and `spoolDir` may be missing at run time, and the checks below say so.
  const o = Object.freeze({ ...ACCESS_LOG_DEFAULTS, ...withoutUndefined(input) }) as ResolvedAccessLogOptions;
  const problems: string[] = [];
  const check = (key: keyof ResolvedAccessLogOptions, ok: boolean, expected: string) => {
    if (!ok) problems.push(`accessLog.${key}: expected ${expected}, got ${JSON.stringify(o[key])}`);
  };
  const isInt = (v: unknown, min: number, max = Number.POSITIVE_INFINITY) =>
    Number.isInteger(v) && (v as number) >= min && (v as number) <= max;
  if (typeof o.sink?.send !== 'function')
    problems.push('accessLog.sink: expected an object with a send(batch) method');
  check('spoolDir', typeof o.spoolDir === 'string' && o.spoolDir !== '', 'a directory path');
  check('bufferCapacity', isInt(o.bufferCapacity, 1), 'a positive integer');
  check(
    'batchSize',
    isInt(o.batchSize, 1, o.bufferCapacity),
    `an integer from 1 to bufferCapacity (${o.bufferCapacity})`,
  );
  check('flushIntervalMs', isInt(o.flushIntervalMs, 1), 'a positive integer');
  check('maxSpoolBytes', isInt(o.maxSpoolBytes, 0), 'an integer >= 0 (0 turns the spool off)');
  check('retryMinMs', isInt(o.retryMinMs, 1), 'a positive integer');
  check('retryMaxMs', isInt(o.retryMaxMs, o.retryMinMs), `an integer >= retryMinMs (${o.retryMinMs})`);
  check('sendTimeoutMs', isInt(o.sendTimeoutMs, 1), 'a positive integer');
  check('stopTimeoutMs', isInt(o.stopTimeoutMs, 0), 'an integer >= 0');
  if (problems.length > 0)
    throw new AccessLogError('TP_ACCESSLOG_INVALID_OPTIONS', problems.join('; '), { problems });
  return o;
}

/** An explicit `undefined` means "use the default", as it does for an absent key. */
function withoutUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
