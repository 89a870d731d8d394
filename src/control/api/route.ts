import { Socket } from 'node:net';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ApiError, parseOrThrow } from '../errors.ts';
import type { Repositories } from '../state/index.ts';
import type { Answerer } from './answer.ts';
import type { Change } from './audit.ts';
import type { Access, Caller } from './auth.ts';
import type { ReadBudget } from './read-budget.ts';

/** The zod schemas of a route: what it accepts and answers, for parsing and for the OpenAPI document. */
export interface RouteSchemas {
  readonly params?: z.ZodType;
  readonly query?: z.ZodType;
  readonly body?: z.ZodType;
  /** Absent: the route answers 204 without a body. */
  readonly response?: z.ZodType;
  /** Status of a successful answer. @default 200, or 204 without `response` */
  readonly status?: number;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route; every route must say (buildApi refuses a route without it). */
    access?: Access;
    /** One line for the OpenAPI document. */
    summary?: string;
    /** zod schemas the OpenAPI document describes the route with. */
    schemas?: RouteSchemas;
  }
  interface FastifyInstance {
    /** Where analytics reads wait their turn (see `ReadBudget`); buildApi provides it. */
    readBudget?: ReadBudget;
    /** Who answers analytics reads once their turn comes (see `Answerer`); buildApi provides it. */
    answerer?: Answerer;
  }
  interface FastifyRequest {
    /** The authenticated caller; null on public routes. */
    caller: Caller | null;
    /** Audit events this request wrote (a successful user mutation must write exactly one). */
    auditEvents: number;
    /**
     * Runs a state change and its audit event in one transaction, as the caller; the only way a
     * route should change state. A second call in the same request fails with TP_API_INTERNAL.
     */
    mutate<T>(change: (tx: Repositories) => Promise<Change<T>>): Promise<T>;
  }
}

/** HTTP methods of API routes. */
export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** What a handler gets: the parsed input, the caller and the request. */
export interface RouteContext<P, Q, B> {
  readonly params: P;
  readonly query: Q;
  readonly body: B;
  /** The caller; on a public route reading it fails with TP_API_UNAUTHENTICATED. */
  readonly caller: Caller;
  readonly request: FastifyRequest;
  readonly reply: FastifyReply;
  /** See `FastifyRequest.mutate`. */
  mutate<T>(change: (tx: Repositories) => Promise<Change<T>>): Promise<T>;
}

/**
 * A rule across params, query and body that their own schemas cannot state (the spec's name must be
 * the store in the URL). It is checked even when other fields fail, so every problem is listed at once.
 */
export interface CrossCheck {
  readonly path: readonly (string | number)[];
  /** Gets the raw request input: any part may be missing or of the wrong type. */
  ok(input: { params: unknown; query: unknown; body: unknown }): boolean;
  message(input: { params: unknown; query: unknown; body: unknown }): string;
}

/** One route: method, URL (fastify syntax, `:param`), who may call it, its schemas and handler. */
export interface RouteDef<
  P extends z.ZodType,
  Q extends z.ZodType,
  B extends z.ZodType,
  R extends z.ZodType,
> {
  readonly method: Method;
  readonly url: string;
  readonly summary: string;
  readonly access: Access;
  readonly params?: P;
  readonly query?: Q;
  readonly body?: B;
  readonly crossCheck?: CrossCheck;
  /** The answer's schema; the handler's result is parsed with it. Absent: 204 without a body. */
  readonly response?: R;
  /** @default 200 */
  readonly status?: 200 | 201;
  /**
   * An analytics read (lists of records a dashboard polls): answered through the API's
   * `ReadBudget`, one at a time within a share of a core, by the API's `Answerer` (the reader process
   * in the control plane), which reads and serialises it. Its handler sees params and query only.
   */
  readonly analytics?: true;
  handle(ctx: RouteContext<z.output<P>, z.output<Q>, z.output<B>>): Promise<z.input<R>>;
}

/** A route with its types erased, as route tables hold them. */
export interface Route {
  readonly method: Method;
  readonly url: string;
  readonly summary: string;
  readonly access: Access;
  readonly schemas: RouteSchemas;
  readonly crossCheck?: CrossCheck;
  readonly analytics?: true;
  handle(ctx: RouteContext<unknown, unknown, unknown>): Promise<unknown>;
}

/** Declares a route; the types of the handler's input and result come from the schemas. */
export function route<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType, R extends z.ZodType>(
  def: RouteDef<P, Q, B, R>,
): Route {
  return {
    method: def.method,
    url: def.url,
    summary: def.summary,
    access: def.access,
    schemas: {
      params: def.params,
      query: def.query,
      body: def.body,
      response: def.response,
      status: def.response ? (def.status ?? 200) : 204,
    },
    crossCheck: def.crossCheck,
    analytics: def.analytics,
    handle: def.handle as Route['handle'],
  };
}

// Params, query and body are parsed as one object so that one answer lists every problem, with paths
// that say where each is (`body.spec.name`, `query.limit`). Parts a route declares no schema for are
// not looked at.
export function inputSchema(r: Route): z.ZodType {
  const parts: Record<string, z.ZodType> = {};
  for (const key of ['params', 'query', 'body'] as const) {
    const schema = r.schemas[key];
    if (schema) parts[key] = schema;
  }
  const whole = z.object(parts);
  const check = r.crossCheck;
  if (!check) return whole;
  return whole.refine((v) => check.ok(v as Parameters<CrossCheck['ok']>[0]), {
    path: [...check.path],
    error: (iss) => check.message(iss.input as Parameters<CrossCheck['ok']>[0]),
    when: () => true,
  });
}

/** A fastify plugin that registers a route table; how resource files (and outside plugins) add routes. */
export function routes(table: readonly Route[]): FastifyPluginAsync {
  return async (app) => {
    const budget = app.readBudget;
    const answerer = app.answerer;
    for (const r of table) {
      if (r.analytics && (!budget || !answerer || !r.schemas.response)) {
        throw new ApiError(
          'TP_API_INTERNAL',
          `${r.method} ${r.url}: an analytics read needs a response schema and an API with a read budget and an answerer`,
        );
      }
      if (r.analytics && !answerer!.knows(r)) {
        throw new ApiError(
          'TP_API_INTERNAL',
          `${r.method} ${r.url}: the analytics reader does not know this route`,
        );
      }
      const input = inputSchema(r);
      app.route({
        method: r.method,
        url: r.url,
        config: { access: r.access, summary: r.summary, schemas: r.schemas },
        handler: async (request, reply) => {
          const raw = { params: request.params, query: request.query, body: request.body };
          // Checked here, before the line, so a bad request is told at once and costs the budget nothing.
          const parsed = parseOrThrow(input, raw, 'invalid request') as {
            params: unknown;
            query: unknown;
            body: unknown;
          };
          if (r.analytics) {
            await answerer!.ready?.();
            // A request made up in process (tests' inject) has no connection to give.
            const connection = request.raw.socket;
            const a = await budget!.run(
              request.caller?.user.name ?? request.ip,
              () =>
                answerer!.answerOn && connection instanceof Socket
                  ? answerer!.answerOn(r, raw, connection)
                  : answerer!.answer(r, raw),
              () => request.socket.destroyed,
            );
            if ('body' in a) return reply.code(a.status).type('application/json; charset=utf-8').send(a.body);
            // The answerer has answered on the connection, and closed it on its side.
            reply.hijack();
            request.log.info(
              { statusCode: a.status, bytes: a.bytes, written: a.written },
              'answered by the reader',
            );
            connection.destroy();
            return reply;
          }
          const result = await r.handle({
            params: parsed.params,
            query: parsed.query,
            body: parsed.body,
            get caller() {
              if (!request.caller) throw new ApiError('TP_API_UNAUTHENTICATED', 'this route has no caller');
              return request.caller;
            },
            request,
            reply,
            mutate: (change) => request.mutate(change),
          });
          const { response, status } = r.schemas;
          if (!response) return reply.code(204).send();
          return reply.code(status ?? 200).send(response.parse(result));
        },
      });
    }
  };
}

/** Epoch milliseconds as the API shows times: UTC ISO 8601. */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** Epoch milliseconds of an ISO 8601 time from a query, or undefined. */
export function epochMs(time: string | undefined): number | undefined {
  return time === undefined ? undefined : Date.parse(time);
}

/** TP_API_NOT_FOUND for `what`, e.g. `store "demo"`. */
export function notFound(what: string, details: Record<string, unknown> = {}): ApiError {
  return new ApiError('TP_API_NOT_FOUND', `${what} does not exist`, details);
}
