import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { EnvironmentName, instanceName, NodeReport, Upstream } from '../../contracts/fleet.ts';
import { AccessLogRecord } from '../../contracts/snapshot.ts';
import { StoreName } from '../../contracts/stack.ts';
import { ContainerStatus } from '../../contracts/status.ts';
import { type Route, route, routes } from '../api/index.ts';
import { ApiError } from '../errors.ts';
import type { State } from '../state/index.ts';

const StoreParams = z.strictObject({ store: StoreName });

/** A node as operators see it. */
export const NodeDto = z.strictObject({
  id: z.string(),
  name: z.string(),
  labels: z.record(z.string(), z.string()),
  lastSeen: z.string().nullable(),
  desiredVersion: z.int().nullable(),
  reportedVersion: z.int().nullable(),
  stores: z.array(z.string()),
});

/** Where a store stands: the version asked for, the one running, and what the edge was told. */
export const StoreStatusDto = z.strictObject({
  store: z.string(),
  environment: EnvironmentName,
  desiredVersion: z.int().nullable(),
  appliedVersion: z.int().nullable(),
  converged: z.boolean(),
  node: z.string().nullable(),
  error: z.string().nullable(),
  containers: z.array(ContainerStatus),
  upstreams: z.array(Upstream),
  snapshotVersion: z.int().nullable(),
  edges: z.array(z.strictObject({ edge: z.string(), version: z.int(), accepted: z.boolean() })),
});

/** Which environment of the store: production runs under the store's name, staging as `<store>--staging`. */
const EnvironmentQuery = z.strictObject({ environment: EnvironmentName.default('production') });

/** The instance name of the store environment a query names, or TP_API_INVALID naming the field. */
function instanceOrThrow(store: string, environment: EnvironmentName): string {
  const name = instanceName(store, environment);
  if (name === null)
    throw new ApiError(
      'TP_API_INVALID',
      `environment: store ${store} has no room for a ${environment} instance name`,
      {
        problems: [
          { path: 'query.environment', message: 'instance name over 30 characters', value: environment },
        ],
      },
    );
  return name;
}

const RequestsQuery = z.strictObject({
  environment: EnvironmentName.default('production'),
  status: z.coerce.number().int().min(100).max(599).optional(),
  path: z.string().startsWith('/').optional(),
  since: z.iso.datetime().optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

/** A node's last report, if it parses; an unreadable one counts as no report. */
function reportOf(observed: unknown): NodeReport | null {
  const r = NodeReport.safeParse(observed);
  return r.success ? r.data : null;
}

/**
 * Operator routes over the fleet: join tokens for new nodes, the node list, a store's status as the
 * agents report it, and the store's recent requests from the edges' access logs.
 */
export function opsRoutes(state: State): FastifyPluginAsync {
  return routes(opsRouteTable(state));
}

/** The routes of {@link opsRoutes}; the reader process answers the analytics reads among them. */
export function opsRouteTable(state: State): Route[] {
  return [
    route({
      method: 'POST',
      url: '/api/join-tokens',
      summary: 'A one-time token a new node joins with (`triplane agent --join-token`)',
      access: 'admin',
      body: z
        .strictObject({
          ttlSeconds: z
            .int()
            .min(60)
            .max(7 * 24 * 3600)
            .default(3600),
        })
        .prefault({}),
      response: z.strictObject({ token: z.string(), expiresAt: z.string() }),
      status: 201,
      handle: async ({ body, mutate }) =>
        mutate(async (tx) => {
          const t = await tx.joinTokens.create(body.ttlSeconds * 1000);
          return {
            result: { token: t.token, expiresAt: new Date(t.expiresAt).toISOString() },
            audit: {
              action: 'join-token.create',
              resourceType: 'join-token',
              resourceId: new Date(t.expiresAt).toISOString(),
              store: null,
              after: { expiresAt: t.expiresAt },
            },
          };
        }),
    }),
    route({
      method: 'GET',
      url: '/api/nodes',
      summary: 'Every node: when it was last seen, what it should run and what it reported',
      access: 'admin',
      response: z.array(NodeDto),
      handle: async () => {
        const out = [];
        for (const n of await state.nodes.list()) {
          const desired = await state.nodes.getDesired(n.id);
          const report = reportOf(n.observed);
          out.push({
            id: n.id,
            name: n.name,
            labels: { ...n.labels },
            lastSeen: n.lastSeen === null ? null : new Date(n.lastSeen).toISOString(),
            desiredVersion: desired?.version ?? null,
            reportedVersion: report?.desiredVersion ?? null,
            stores: report?.stores.map((s) => s.store) ?? [],
          });
        }
        return out;
      },
    }),
    route({
      method: 'GET',
      url: '/api/stores/:store/status',
      summary: "The store's stack version asked for and running, its containers, and the edges' snapshot",
      access: { store: 'viewer' },
      params: StoreParams,
      query: EnvironmentQuery,
      response: StoreStatusDto,
      handle: async ({ params, query }) => {
        if (!(await state.stores.get(params.store))) {
          throw new ApiError('TP_API_NOT_FOUND', `store ${JSON.stringify(params.store)} does not exist`, {
            store: params.store,
          });
        }
        const instance = instanceOrThrow(params.store, query.environment);
        const latest = await state.stacks.latest(params.store, query.environment);
        let observed = null;
        let node: string | null = null;
        for (const n of await state.nodes.list()) {
          const s = reportOf(n.observed)?.stores.find((x) => x.store === instance);
          if (s) {
            observed = s;
            node = n.name;
            break;
          }
        }
        const snap = await state.snapshots.latest();
        const acks = await state.edgeAcks.latestPerEdge();
        return {
          store: params.store,
          environment: query.environment,
          desiredVersion: latest?.version ?? null,
          appliedVersion: observed?.stackVersion ?? null,
          converged: Boolean(observed?.converged && observed.stackVersion === latest?.version),
          node,
          error: observed?.error ?? null,
          containers: observed?.containers ?? [],
          upstreams: observed?.upstreams ?? [],
          snapshotVersion: snap?.version ?? null,
          edges: acks.map((a) => ({ edge: a.edgeId, version: a.version, accepted: a.accepted })),
        };
      },
    }),
    route({
      method: 'GET',
      url: '/api/stores/:store/requests',
      summary: "The store's recent requests from the edges' access logs, newest first",
      access: { store: 'viewer' },
      params: StoreParams,
      query: RequestsQuery,
      response: z.array(AccessLogRecord),
      analytics: true,
      handle: async ({ params, query }) =>
        state.accessLogs.query({
          store: instanceOrThrow(params.store, query.environment),
          status: query.status,
          pathPrefix: query.path,
          since: query.since ? Date.parse(query.since) : undefined,
          limit: query.limit,
        }),
    }),
  ];
}
