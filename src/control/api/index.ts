/**
 * The control plane's REST API (`/api/...`), a fastify app built by `buildApi`.
 *
 * - Errors: every failure answers `{code, message, details}`: ApiError with its status, StateError
 *   with its own, fastify's 4xx (bad JSON, wrong content type …) as 400 TP_API_INVALID, unknown routes
 *   as 404 TP_API_NOT_FOUND, anything else as 500 TP_API_INTERNAL (logged). Validation lists every
 *   problem in `details.problems` with its path (`body.spec.name`, `query.limit`) and value.
 * - Auth: `Authorization: Bearer <API token>`. Every route declares its `Access` (`public`, `user`,
 *   `admin`, or a minimum store role: viewer < developer < owner); platform admins pass every check.
 *   One `onRequest` hook checks it before the body is parsed, so unauthenticated (401) and forbidden
 *   (403) callers learn nothing about their input (400).
 * - Audit: every successful user mutation writes exactly one audit event, in the transaction of the
 *   change, through `ctx.mutate` / `request.mutate`; a mutation route that writes none answers 500.
 * - OpenAPI: `GET /api/openapi.json` is generated from the routes fastify registered and their zod
 *   schemas (`src/contracts/api.ts`), so it lists every route.
 * - Outside plugins (`ApiDeps.plugins`, e.g. the fleet's agent and edge endpoints) are plain
 *   `FastifyPluginAsync`s: build them with `routes([route({...})])` to get zod parsing, access checks,
 *   `ctx.mutate` and full OpenAPI entries, or register raw fastify routes that set
 *   `config: { access, summary }` (buildApi refuses a route without `config.access`).
 * - Analytics reads (routes declared `analytics: true`: a store's requests and events, the audit
 *   trail) are answered one at a time within a share of a core (`ReadBudget`); a full line answers
 *   429 TP_API_BUSY with Retry-After. The API checks caller and input; the `Answerer` reads and
 *   serialises (in the control plane, the reader process at the idle priority: src/control/reads).
 * - Stack versions keep their `sourceDir` inside the stored spec JSON, as an extra top-level key:
 *   write them with `applyStack` and read them with `appliedStack` (see stacks.ts).
 */
export {
  type Answer,
  type Answerer,
  answerHere,
  answerInProcess,
  codedAnswer,
  type RawInput,
  routeKey,
  type Written,
} from './answer.ts';
export { type AuditEntry, audited, type Change } from './audit.ts';
export { type Access, Caller } from './auth.ts';
export { bootstrapAdmin, SYSTEM_ACTOR } from './bootstrap.ts';
export { eventRoutes } from './events.ts';
export { ReadBudget, ReadBudgetOptions } from './read-budget.ts';
export { type Route, type RouteContext, type RouteDef, route, routes } from './route.ts';
export { type ApiDeps, buildApi, type Purger } from './server.ts';
export { type AppliedStack, appliedStack, applyStack } from './stacks.ts';
