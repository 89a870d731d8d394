/** Stable codes of the state store's errors; the API maps them to HTTP statuses. */
export type StateErrorCode =
  | 'STATE_NOT_FOUND'
  | 'STATE_CONFLICT'
  | 'STATE_INVALID'
  | 'STATE_TOKEN_REJECTED'
  | 'STATE_BAD_URL'
  | 'STATE_UNAVAILABLE'
  | 'STATE_MIGRATION'
  | 'STATE_NESTED_TRANSACTION';

const STATUS: Record<StateErrorCode, number> = {
  STATE_NOT_FOUND: 404,
  STATE_CONFLICT: 409,
  STATE_INVALID: 400,
  STATE_TOKEN_REJECTED: 401,
  STATE_BAD_URL: 500,
  STATE_UNAVAILABLE: 503,
  STATE_MIGRATION: 500,
  STATE_NESTED_TRANSACTION: 500,
};

/** A coded error from the state store: `code` is stable, `details` names the field and value. */
export class StateError extends Error {
  readonly code: StateErrorCode;
  readonly details: Record<string, unknown>;
  constructor(code: StateErrorCode, message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'StateError';
    this.code = code;
    this.details = details;
  }

  /** The HTTP status an API answers with when this error reaches a client. */
  get status(): number {
    return STATUS[this.code];
  }
}

/** Whether `e` is a unique or primary-key violation, on SQLite or PostgreSQL. */
export function isUniqueViolation(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** Whether `e` is a foreign-key violation, on SQLite or PostgreSQL. */
export function isForeignKeyViolation(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return code === '23503' || code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}

/**
 * The coded error for a constraint violation, or `e` itself when it is not one the caller expected:
 * `throw constraintError(e, { unique: () => new StateError(...) })`.
 */
export function constraintError(
  e: unknown,
  map: { unique?: () => StateError; foreignKey?: () => StateError },
): unknown {
  if (map.unique && isUniqueViolation(e)) return map.unique();
  if (map.foreignKey && isForeignKeyViolation(e)) return map.foreignKey();
  return e;
}

/** Checks a list limit: a typo must not turn into a full-table read. */
export function checkLimit(limit: number | undefined, fallback = 100): number {
  const n = limit ?? fallback;
  if (!Number.isInteger(n) || n < 1 || n > 10_000) {
    throw new StateError('STATE_INVALID', `limit: expected an integer from 1 to 10000, got ${limit}`, {
      limit,
    });
  }
  return n;
}
