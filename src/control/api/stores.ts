import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { CreateStoreRequest, StoreDto } from '../../contracts/api.ts';
import { StoreName } from '../../contracts/stack.ts';
import type { Repositories, Store } from '../state/index.ts';
import { iso, notFound, route, routes } from './route.ts';
import type { ApiDeps } from './server.ts';

/** `:store` of store-scoped URLs. */
export const StoreParams = z.strictObject({ store: StoreName });

/** A store as the API shows it, with its environments. */
export async function storeDto(r: Repositories, store: Store): Promise<StoreDto> {
  const environments = await r.environments.list(store.id);
  return {
    id: store.id,
    displayName: store.displayName,
    createdAt: iso(store.createdAt),
    environments: environments.map((e) => ({ name: e.name, stackVersion: e.stackVersion })),
  };
}

/** The store, or TP_API_NOT_FOUND. */
export async function requireStore(r: Repositories, id: string): Promise<Store> {
  const store = await r.stores.get(id);
  if (!store) throw notFound(`store ${JSON.stringify(id)}`, { store: id });
  return store;
}

/** Stores: listing what the caller may see, creating (with both environments) and removing. */
export function stores({ state }: ApiDeps): FastifyPluginAsync {
  return routes([
    route({
      method: 'GET',
      url: '/api/stores',
      summary: 'Stores the caller has a role in (every store for platform admins)',
      access: 'user',
      response: z.array(StoreDto),
      handle: async ({ caller }) => {
        const all = await state.stores.list();
        const visible = caller.admin ? all : all.filter((s) => caller.roles.has(s.id));
        return Promise.all(visible.map((s) => storeDto(state, s)));
      },
    }),
    route({
      method: 'POST',
      url: '/api/stores',
      summary: 'Create a store with production and staging environments; the creator becomes its owner',
      access: 'admin',
      body: CreateStoreRequest,
      response: StoreDto,
      status: 201,
      handle: async ({ body, caller, mutate }) =>
        mutate(async (tx) => {
          const store = await tx.stores.create({ id: body.id, displayName: body.displayName ?? body.id });
          await tx.environments.create(store.id, 'production');
          await tx.environments.create(store.id, 'staging');
          await tx.users.grant(caller.user.id, store.id, 'owner');
          const dto = await storeDto(tx, store);
          return {
            result: dto,
            audit: {
              action: 'store.create',
              resourceType: 'store',
              resourceId: store.id,
              store: store.id,
              after: dto,
            },
          };
        }),
    }),
    route({
      method: 'GET',
      url: '/api/stores/:store',
      summary: 'One store and its environments',
      access: { store: 'viewer' },
      params: StoreParams,
      response: StoreDto,
      handle: async ({ params }) => storeDto(state, await requireStore(state, params.store)),
    }),
    route({
      method: 'DELETE',
      url: '/api/stores/:store',
      summary: 'Remove a store with its environments, stacks, policy, domains, certificates and roles',
      access: 'admin',
      params: StoreParams,
      handle: async ({ params, mutate }) =>
        mutate(async (tx) => {
          const before = await storeDto(tx, await requireStore(tx, params.store));
          // Certificates are keyed by host name, not by store, so the database does not remove them
          // with the store's domains; a key must not outlive the store that uploaded it.
          for (const d of await tx.domains.list(params.store)) {
            if (await tx.certificates.get(d.hostname)) await tx.certificates.remove(d.hostname);
          }
          await tx.stores.remove(params.store);
          return {
            result: undefined,
            audit: {
              action: 'store.delete',
              resourceType: 'store',
              resourceId: params.store,
              store: params.store,
              before,
            },
          };
        }),
    }),
  ]);
}
