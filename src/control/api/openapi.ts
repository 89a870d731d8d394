import { z } from 'zod';
import { ErrorBody } from '../../contracts/api.ts';
import { type Access, describeAccess } from './auth.ts';
import type { RouteSchemas } from './route.ts';

/** A route as fastify registered it, with what its config declares. */
export interface RegisteredRoute {
  readonly method: string;
  readonly url: string;
  readonly access: Access;
  readonly summary?: string;
  readonly schemas?: RouteSchemas;
}

type JsonSchema = Record<string, unknown>;

const STATUS_TEXT: Record<number, string> = { 200: 'OK', 201: 'Created', 202: 'Accepted', 204: 'No Content' };

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

// Params and query strings become OpenAPI parameters, one per property of their (object) schema.
function parameters(schema: z.ZodType | undefined, where: 'path' | 'query'): unknown[] {
  if (!schema) return [];
  const s = jsonSchema(schema, 'input') as { properties?: Record<string, JsonSchema>; required?: string[] };
  return Object.entries(s.properties ?? {}).map(([name, p]) => ({
    name,
    in: where,
    required: where === 'path' || (s.required?.includes(name) ?? false),
    ...(typeof p.description === 'string' ? { description: p.description } : {}),
    schema: p,
  }));
}

function pathParameterNames(url: string): string[] {
  return [...url.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!);
}

function operation(r: RegisteredRoute): Record<string, unknown> {
  const s = r.schemas ?? {};
  const status = s.status ?? (s.response ? 200 : 204);
  const error = {
    description: 'coded error',
    content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorBody' } } },
  };
  const declared = new Set(
    Object.keys((s.params && (jsonSchema(s.params, 'input').properties as object)) ?? {}),
  );
  // A path parameter of a route without a params schema (an outside plugin's) is still listed.
  const undeclared = pathParameterNames(r.url)
    .filter((n) => !declared.has(n))
    .map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } }));
  const params = [...parameters(s.params, 'path'), ...undeclared, ...parameters(s.query, 'query')];
  return {
    summary: r.summary ?? '',
    'x-triplane-access': describeAccess(r.access),
    security: r.access === 'public' ? [] : [{ bearerAuth: [] }],
    ...(params.length > 0 ? { parameters: params } : {}),
    ...(s.body
      ? {
          requestBody: {
            required: true,
            content: { 'application/json': { schema: jsonSchema(s.body, 'input') } },
          },
        }
      : {}),
    responses: {
      [String(status)]: {
        description: STATUS_TEXT[status] ?? 'success',
        ...(s.response
          ? { content: { 'application/json': { schema: jsonSchema(s.response, 'output') } } }
          : {}),
      },
      ...(r.access === 'public' ? {} : { 401: { ...error, description: 'TP_API_UNAUTHENTICATED' } }),
      ...(r.access === 'public' || r.access === 'user'
        ? {}
        : { 403: { ...error, description: 'TP_API_FORBIDDEN' } }),
      default: error,
    },
  };
}

/**
 * The OpenAPI 3.1 document of every registered route (generated from the routes fastify holds, so a
 * route cannot be missing from it). Schemas come from the routes' zod schemas: request bodies as
 * clients may write them (defaults optional), responses as the API answers them.
 */
export function openApiDocument(registered: readonly RegisteredRoute[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const sorted = [...registered].sort(
    (a, b) => a.url.localeCompare(b.url) || a.method.localeCompare(b.method),
  );
  for (const r of sorted) {
    const path = r.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    paths[path] ??= {};
    paths[path][r.method.toLowerCase()] = operation(r);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Triplane control plane API',
      version: '1',
      description:
        'Stores, stacks, edge policies, domains, users and tokens. Errors are `{code, message, details}`; ' +
        'validation errors list every problem in `details.problems` with its path and value.',
    },
    components: {
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'API token (`tp_…`)' } },
      schemas: { ErrorBody: jsonSchema(ErrorBody, 'output') },
    },
    paths,
  };
}
