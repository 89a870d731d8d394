/** Coded errors raised by the edge cache: each has a stable `code` that callers can match. */
export class CacheError extends Error {
  readonly code: string;
  readonly details: Record<string, unknown>;
  constructor(code: 'TP_CACHE_OPTIONS', message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'CacheError';
    this.code = code;
    this.details = details;
  }
}
