import type { Socket } from 'node:net';
import { ApiError, parseOrThrow } from '../errors.ts';
import { StateError } from '../state/index.ts';
import { inputSchema, type Route, type RouteContext } from './route.ts';

/** An analytics read's answer as it goes on the wire: its status and JSON text. */
export interface Answer {
  readonly status: number;
  /** JSON: the route's response on success, `{code, message, details}` otherwise. */
  readonly body: string | Buffer;
}

/** An answer the answerer wrote on the client's connection itself: what went out. */
export interface Written {
  readonly status: number;
  /** The body's bytes. */
  readonly bytes: number;
  /** Whether all of it went out (false: the connection failed first). */
  readonly written: boolean;
}

/** The request as the client sent it; the answerer parses it with the route's own schemas. */
export interface RawInput {
  readonly params: unknown;
  readonly query: unknown;
}

/**
 * Who answers the API's analytics reads. The API checks the caller and the input and keeps the line
 * (`ReadBudget`); reading the records and serialising them is the answerer's. In the control plane
 * that is the reader process at the idle priority (src/control/reads), so the reads take only
 * what the storefront leaves; alone (tests of the API), the API process itself.
 */
export interface Answerer {
  /** Whether this answerer can answer `r`; buildApi refuses an analytics route it cannot. */
  knows(r: Route): boolean;
  /** Answers `r` for `input`; a failure the route raises comes back as an Answer with its status. */
  answer(r: Route, input: RawInput): Promise<Answer>;
  /**
   * Answers `r` on the client's `connection` itself, when it can: the API process then never holds
   * the answer's bytes, and lets go of the connection once it has `Written`. It may still return an
   * `Answer` for the API to send. A failure before anything was written rejects, as `answer` does.
   */
  answerOn?(r: Route, input: RawInput, connection: Socket): Promise<Answer | Written>;
  /**
   * Resolves when the answerer can take a read (a reader that is starting has started), rejects when
   * it cannot in time. Awaited before the read takes its place in the line, so the read budget charges
   * the answering, not the wait for an answerer.
   */
  ready?(): Promise<void>;
}

/** How the answerer names a route, the same in every process. */
export function routeKey(r: Pick<Route, 'method' | 'url'>): string {
  return `${r.method} ${r.url}`;
}

function absent(what: string): never {
  throw new ApiError(
    'TP_API_INTERNAL',
    `an analytics read has no ${what}: it is answered away from the request`,
  );
}

/**
 * Runs an analytics route's handler and serialises its answer. The handler gets its parsed params
 * and query only: an analytics read may be answered in another process, where there is no request,
 * caller or reply, so a handler that reaches for one fails here too, in every test of the API.
 */
export async function answerHere(r: Route, input: RawInput): Promise<string> {
  const parsed = parseOrThrow(inputSchema(r), input, 'invalid request') as {
    params: unknown;
    query: unknown;
  };
  const ctx: RouteContext<unknown, unknown, unknown> = {
    params: parsed.params,
    query: parsed.query,
    body: undefined,
    get caller() {
      return absent('caller');
    },
    get request() {
      return absent('request');
    },
    get reply() {
      return absent('reply');
    },
    mutate: () => absent('way to change state'),
  };
  const response = r.schemas.response;
  if (!response) absent('response schema');
  return JSON.stringify(response.parse(await r.handle(ctx)));
}

/** The status and body a coded error reaches a client with; null for an error that is not coded. */
export function codedAnswer(e: unknown): Answer | null {
  if (e instanceof ApiError) return { status: e.status, body: JSON.stringify(e.body()) };
  if (e instanceof StateError) {
    return {
      status: e.status,
      body: JSON.stringify({ code: e.code, message: e.message, details: e.details }),
    };
  }
  return null;
}

/** Answers in this process: the API alone, without a reader process. */
export const answerInProcess: Answerer = {
  knows: () => true,
  answer: async (r, input) => ({ status: r.schemas.status ?? 200, body: await answerHere(r, input) }),
};
