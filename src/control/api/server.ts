import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyPluginAsync,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { Logger } from 'pino';
import { z } from 'zod';
import { type ErrorBody, HealthDto } from '../../contracts/api.ts';
import { ApiError } from '../errors.ts';
import { type State, StateError } from '../state/index.ts';
import { type Answerer, answerInProcess } from './answer.ts';
import { audited } from './audit.ts';
import { authenticate, authorize } from './auth.ts';
import { backups } from './backups.ts';
import { domains } from './domains.ts';
import { events } from './events.ts';
import { openApiDocument, type RegisteredRoute } from './openapi.ts';
import { policies } from './policies.ts';
import { purge } from './purge.ts';
import { ReadBudget } from './read-budget.ts';
import { route, routes } from './route.ts';
import { stacks } from './stacks.ts';
import { stores } from './stores.ts';
import { users } from './users.ts';

/** Fans a cache purge out to a store's edges and Varnish instances. */
export interface Purger {
  /** Purges one URL, a path prefix or a cache tag; resolves with how many of each confirmed. */
  purge(
    store: string,
    what: { url?: string; prefix?: string; tag?: string },
  ): Promise<{ edges: number; varnishes: number }>;
}

/** What the API runs on. */
export interface ApiDeps {
  readonly state: State;
  /** Where requests and 5xx errors are logged. @default false (nothing is logged) */
  readonly log?: Logger | false;
  /** Used by `POST /api/stores/:store/purge`; without it that route answers TP_API_UNAVAILABLE. */
  readonly purger?: Purger;
  /**
   * More routes (the fleet's agent and edge endpoints). They share the error handling, and every
   * route must declare `config.access` (see `Access`); build them with `routes([...])` to also get
   * zod parsing, `ctx.mutate` and full OpenAPI entries.
   */
  readonly plugins?: readonly FastifyPluginAsync[];
  /** Where analytics reads wait their turn. @default a ReadBudget with its default options */
  readonly readBudget?: ReadBudget;
  /** Who answers analytics reads. @default answerInProcess (this process) */
  readonly answerer?: Answerer;
}

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function errorReply(request: FastifyRequest, e: unknown): { status: number; body: ErrorBody } {
  if (e instanceof ApiError) return { status: e.status, body: e.body() };
  if (e instanceof StateError) {
    return { status: e.status, body: { code: e.code, message: e.message, details: e.details } };
  }
  const fe = e as Partial<FastifyError>;
  // fastify's own 4xx errors: unparseable JSON, wrong content type, body too large, schema validation
  // by a plugin that uses fastify's validator.
  if (fe.validation || (fe.code?.startsWith('FST_') && (fe.statusCode ?? 500) < 500)) {
    return {
      status: 400,
      body: {
        code: 'TP_API_INVALID',
        message: fe.message ?? 'invalid request',
        details: { cause: fe.code ?? null },
      },
    };
  }
  return {
    status: 500,
    body: { code: 'TP_API_INTERNAL', message: 'internal error', details: { requestId: request.id } },
  };
}

function sendError(e: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const { status, body } = errorReply(request, e);
  if (status >= 500) request.log.error({ err: e, code: body.code }, 'request failed');
  if (status === 401) void reply.header('www-authenticate', 'Bearer');
  if (status === 429 || (status === 503 && body.details.retryAfterSeconds !== undefined)) {
    void reply.header('retry-after', String(body.details.retryAfterSeconds ?? 1));
  }
  return reply.code(status).send(body);
}

/**
 * The control plane's REST API: stores, stacks, policies, domains and certificates, purges, users and
 * tokens, events and audit, plus `plugins`. Every route declares its access; one `onRequest` hook
 * authenticates and authorises before the body is even read, so an unauthenticated or forbidden
 * caller never learns whether its input was valid. Successful user mutations must write exactly one
 * audit event (`request.mutate`); a route that does not is answered TP_API_INTERNAL, so a test of it
 * fails.
 */
export function buildApi(deps: ApiDeps): FastifyInstance {
  // frameworkErrors: fastify answers malformed URLs and over-long parameters before routing, outside
  // the error handler, unless told to hand them over.
  const options = { exposeHeadRoutes: false, frameworkErrors: sendError };
  const app = (
    deps.log ? Fastify({ ...options, loggerInstance: deps.log }) : Fastify(options)
  ) as FastifyInstance;
  const registered: RegisteredRoute[] = [];

  app.addHook('onRoute', (r) => {
    const config = r.config ?? {};
    const access = config.access;
    if (access === undefined) {
      throw new ApiError('TP_API_INTERNAL', `route ${String(r.method)} ${r.url} declares no config.access`, {
        url: r.url,
      });
    }
    if (typeof access === 'object' && !access.from && !r.url.includes(':store')) {
      throw new ApiError(
        'TP_API_INTERNAL',
        `route ${String(r.method)} ${r.url} is store-scoped but names no store`,
        {
          url: r.url,
        },
      );
    }
    for (const method of [r.method].flat()) {
      registered.push({ method, url: r.url, access, summary: config.summary, schemas: config.schemas });
    }
  });

  app.decorate('readBudget', deps.readBudget ?? new ReadBudget());
  app.decorate('answerer', deps.answerer ?? answerInProcess);
  app.decorateRequest('caller', null);
  app.decorateRequest('auditEvents', 0);
  app.decorateRequest('mutate', function mutate(this: FastifyRequest, change) {
    const caller = this.caller;
    if (!caller) throw new ApiError('TP_API_INTERNAL', 'a public route cannot change state as a user');
    if (this.auditEvents > 0) {
      throw new ApiError('TP_API_INTERNAL', 'a request may make one audited change, not several');
    }
    this.auditEvents += 1;
    return audited(deps.state, caller.user.name, change);
  });

  app.addHook('onRequest', async (request) => {
    if (request.is404) return;
    const access = request.routeOptions.config.access ?? 'user';
    if (access === 'public') return;
    request.caller = await authenticate(request, deps.state);
    await authorize(request.caller, access, request);
  });

  app.addHook('onSend', async (request, reply, payload) => {
    const access = request.routeOptions.config.access;
    const mutation = !READ_METHODS.has(request.method) && access !== undefined && access !== 'public';
    if (mutation && reply.statusCode < 400 && request.auditEvents !== 1) {
      throw new ApiError(
        'TP_API_INTERNAL',
        `${request.method} ${request.routeOptions.url} wrote no audit event`,
      );
    }
    return payload;
  });

  app.setErrorHandler((e, request, reply) => sendError(e, request, reply));
  app.setNotFoundHandler((request, reply) =>
    sendError(
      new ApiError('TP_API_NOT_FOUND', `no route ${request.method} ${request.url}`, {
        method: request.method,
        url: request.url,
      }),
      request,
      reply,
    ),
  );

  let document: Record<string, unknown> | undefined;
  app.register(
    routes([
      route({
        method: 'GET',
        url: '/api/health',
        summary: 'Whether the API answers',
        access: 'public',
        response: HealthDto,
        handle: async () => ({ ok: true as const }),
      }),
      route({
        method: 'GET',
        url: '/api/openapi.json',
        summary: 'This OpenAPI document',
        access: 'public',
        response: z.record(z.string(), z.unknown()),
        handle: async () => {
          document ??= openApiDocument(registered);
          return document;
        },
      }),
    ]),
  );
  for (const plugin of [stores, stacks, policies, domains, purge, users, events, backups])
    app.register(plugin(deps));
  for (const plugin of deps.plugins ?? []) app.register(plugin);
  return app;
}
