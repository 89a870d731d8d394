import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ApiError, parseOrThrow } from '../errors.ts';
import type { LongPollHub } from './hub.ts';

/** The query of a poll: `after` is the highest version the poller has received (0 at start). */
export const PollQuery = z.object({
  after: z
    .string()
    .regex(/^\d{1,15}$/, {
      error: (i) => `expected a version number like 0 or 7, got ${JSON.stringify(i.input)}`,
    })
    .default('0')
    .transform(Number),
});

/** `after` from a poll's query string; TP_API_INVALID when it is not a non-negative integer. */
export function readAfter(query: unknown, what: string): number {
  return parseOrThrow(PollQuery, query, what).after;
}

/**
 * The newest version above `after`: at once when the state has one, otherwise the one published
 * while the request is held, otherwise null after the hold (204) or when the client went away. The
 * state is read again after the hold, because another control node may have published meanwhile
 * (its publish reaches this process's hub only through the state).
 */
export async function holdPoll<T extends { readonly version: number }>(
  request: FastifyRequest,
  o: {
    readonly hub: LongPollHub;
    readonly key: string;
    readonly after: number;
    readonly holdMs: number | undefined;
    readonly read: () => Promise<T | null>;
  },
): Promise<T | null> {
  const first = await o.read();
  if (first && first.version > o.after) return first;
  if (request.raw.destroyed) return null;
  const gone = new AbortController();
  const onClose = () => gone.abort();
  // A poller that disconnects frees its timer and hub slot now, not at the end of the hold.
  request.raw.once('close', onClose);
  try {
    const outcome = await o.hub.wait(o.key, o.after, { signal: gone.signal, holdMs: o.holdMs });
    if (outcome === 'aborted') return null;
  } finally {
    request.raw.off('close', onClose);
  }
  const again = await o.read();
  return again && again.version > o.after ? again : null;
}

/** The secret of an `Authorization: Bearer <secret>` header; TP_API_UNAUTHENTICATED when there is none. */
export function bearer(request: FastifyRequest): string {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
  if (!m) throw new ApiError('TP_API_UNAUTHENTICATED', 'expected an Authorization: Bearer <token> header');
  return m[1]!;
}

/** Compares secrets in constant time (hashing first makes the lengths equal). */
export function sameSecret(a: string, b: string): boolean {
  const h = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(h(a), h(b));
}

/**
 * Route config for the API server (src/control/api): `public` there means "no API token", because
 * these endpoints check their own agent or edge token; `summary` goes into its OpenAPI document.
 */
export function selfAuthenticated(summary: string): { access: 'public'; summary: string } {
  return { access: 'public', summary };
}
