import type { z } from 'zod';
import type { ErrorBody, FieldProblem } from '../contracts/api.ts';

/** Stable codes of API errors; each has one HTTP status. */
export const API_ERRORS = {
  TP_API_UNAUTHENTICATED: 401,
  TP_API_FORBIDDEN: 403,
  TP_API_NOT_FOUND: 404,
  TP_API_INVALID: 400,
  TP_API_CONFLICT: 409,
  TP_API_BUSY: 429,
  TP_API_UNAVAILABLE: 503,
  TP_API_INTERNAL: 500,
} as const;
export type ApiErrorCode = keyof typeof API_ERRORS;

/** An error that reaches an API client as `{code, message, details}` with its status. */
export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = API_ERRORS[code];
  }

  /** The JSON body the client gets. */
  body(): ErrorBody {
    return { code: this.code, message: this.message, details: this.details };
  }
}

/** Every problem of a failed zod parse, with dotted paths and the values found there. */
export function problemsOf(error: z.ZodError, input: unknown, prefix = ''): FieldProblem[] {
  return error.issues.map((i) => {
    const path = i.path.reduce<string>(
      (acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)),
      prefix,
    );
    let value: unknown = input;
    for (const p of i.path) value = value == null ? undefined : (value as Record<PropertyKey, unknown>)[p];
    return { path: path || '(root)', message: i.message, value };
  });
}

/** Parses `input` with `schema` or throws TP_API_INVALID listing every problem at once. */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown, what: string): z.infer<S> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const problems = problemsOf(r.error, input);
  throw new ApiError(
    'TP_API_INVALID',
    `${what}: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`,
    { problems },
  );
}
