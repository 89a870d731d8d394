/** Stable codes of everything that can go wrong between `AccessLog.push` and the sink. */
export type AccessLogErrorCode =
  /** The constructor options break one or more rules; `details.problems` lists them all. */
  | 'TP_ACCESSLOG_INVALID_OPTIONS'
  /** `start()` was called twice, or after `stop()`. */
  | 'TP_ACCESSLOG_STATE'
  /** The sink could not be reached or threw (connection refused, reset, disk error…). */
  | 'TP_ACCESSLOG_SINK_FAILED'
  /** The intake answered with a status that is not 2xx and may succeed later (5xx, 401, 429…). */
  | 'TP_ACCESSLOG_SINK_STATUS'
  /** The intake refused the batch itself (400, 413, 422): retrying cannot help, so it is dropped. */
  | 'TP_ACCESSLOG_SINK_REJECTED'
  /** The sink did not answer within the send timeout. */
  | 'TP_ACCESSLOG_SEND_TIMEOUT'
  /** `stop()` ran out of time while a send was in flight; the batch goes to the spool. */
  | 'TP_ACCESSLOG_STOP_DEADLINE'
  /** A spool segment could not be written, read or deleted. */
  | 'TP_ACCESSLOG_SPOOL_IO'
  /** A spool segment held lines that are not JSON; those records are dropped. */
  | 'TP_ACCESSLOG_SPOOL_CORRUPT'
  /** A bug in the shipper loop; the loop keeps running. */
  | 'TP_ACCESSLOG_INTERNAL';

/** A coded access-log error; `retryable` says whether sending the same batch again may succeed. */
export class AccessLogError extends Error {
  readonly code: AccessLogErrorCode;
  readonly details: Record<string, unknown>;
  constructor(
    code: AccessLogErrorCode,
    message: string,
    details: Record<string, unknown> = {},
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
    this.name = 'AccessLogError';
    this.code = code;
    this.details = details;
  }

  /** Whether the same batch may be delivered by a later attempt. */
  get retryable(): boolean {
    return this.code !== 'TP_ACCESSLOG_SINK_REJECTED';
  }
}

/** The message of anything thrown. */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** `e` as an AccessLogError: coded errors pass through, anything else is wrapped with `code`. */
export function asAccessLogError(e: unknown, code: AccessLogErrorCode): AccessLogError {
  return e instanceof AccessLogError ? e : new AccessLogError(code, messageOf(e), {}, { cause: e });
}
