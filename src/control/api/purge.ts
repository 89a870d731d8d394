import type { FastifyPluginAsync } from 'fastify';
import { PurgeRequest, PurgeResultDto } from '../../contracts/api.ts';
import { ApiError } from '../errors.ts';
import { route, routes } from './route.ts';
import type { ApiDeps } from './server.ts';
import { requireStore, StoreParams } from './stores.ts';

/** Cache purges: fanned out by the `Purger`, then recorded in the store's timeline and the audit trail. */
export function purge({ state, purger }: ApiDeps): FastifyPluginAsync {
  return routes([
    route({
      method: 'POST',
      url: '/api/stores/:store/purge',
      summary: "Purge one URL, a path prefix or a cache tag from the store's edge caches and Varnish",
      access: { store: 'developer' },
      params: StoreParams,
      body: PurgeRequest,
      response: PurgeResultDto,
      handle: async ({ params, body, caller, mutate }) => {
        if (!purger) throw new ApiError('TP_API_UNAVAILABLE', 'this control plane cannot purge caches');
        await requireStore(state, params.store);
        // The fan-out runs outside the transaction: it waits on the network, and a transaction held
        // that long would stall every other write (SQLite has one writer).
        const counts = await purger.purge(params.store, body);
        const what = Object.entries(body).map(([k, v]) => `${k} ${v}`)[0] ?? '';
        return mutate(async (tx) => {
          await tx.events.record({
            storeId: params.store,
            kind: 'cache.purged',
            message: `${what} purged by ${caller.user.name} (${counts.edges} edges, ${counts.varnishes} Varnish)`,
            data: { ...body, ...counts },
          });
          return {
            result: counts,
            audit: {
              action: 'cache.purge',
              resourceType: 'cache',
              resourceId: params.store,
              store: params.store,
              after: { ...body, ...counts },
            },
          };
        });
      },
    }),
  ]);
}
