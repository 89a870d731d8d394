import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { AuditEventDto, AuditQuery, EventDto, EventQuery } from '../../contracts/api.ts';
import type { State } from '../state/index.ts';
import { epochMs, iso, type Route, route, routes } from './route.ts';
import type { ApiDeps } from './server.ts';
import { requireStore, StoreParams } from './stores.ts';

/** Store timelines and the audit trail. */
export function events({ state }: ApiDeps): FastifyPluginAsync {
  return routes(eventRoutes(state));
}

/** The routes of {@link events}: analytics reads, which the reader process answers too. */
export function eventRoutes(state: State): Route[] {
  return [
    route({
      method: 'GET',
      url: '/api/stores/:store/events',
      summary: "The store's timeline (applies, purges, restarts …), newest first",
      access: { store: 'viewer' },
      params: StoreParams,
      query: EventQuery,
      response: z.array(EventDto),
      analytics: true,
      handle: async ({ params, query }) => {
        await requireStore(state, params.store);
        const list = await state.events.list({
          store: params.store,
          since: epochMs(query.since),
          limit: query.limit,
        });
        return list.map((e) => ({
          id: e.id,
          at: iso(e.at),
          store: e.storeId,
          kind: e.kind,
          message: e.message,
          data: e.data,
        }));
      },
    }),
    route({
      method: 'GET',
      url: '/api/audit',
      summary: "Who changed what, newest first; a store's owners may read that store's",
      access: {
        store: 'owner',
        from: (request) => {
          const store = (request.query as { store?: unknown }).store;
          return typeof store === 'string' ? store : undefined;
        },
      },
      query: AuditQuery,
      response: z.array(AuditEventDto),
      analytics: true,
      handle: async ({ query }) => {
        const list = await state.audit.list({
          store: query.store,
          since: epochMs(query.since),
          limit: query.limit,
        });
        return list.map((e) => ({
          id: e.id,
          at: iso(e.at),
          actor: e.actor,
          action: e.action,
          resourceType: e.resourceType,
          resourceId: e.resourceId,
          store: e.storeId,
          before: e.before,
          after: e.after,
        }));
      },
    }),
  ];
}
