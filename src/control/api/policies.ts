import type { FastifyPluginAsync } from 'fastify';
import type { z } from 'zod';
import { IpRulesRequest, PolicyDto, PolicyInput, RateLimitsRequest } from '../../contracts/api.ts';
import { StorePolicy } from '../../contracts/snapshot.ts';
import { ApiError } from '../errors.ts';
import type { PolicyDocument, Repositories } from '../state/index.ts';
import type { Change } from './audit.ts';
import { iso, route, routes } from './route.ts';
import type { ApiDeps } from './server.ts';
import { appliedStack } from './stacks.ts';
import { requireStore, StoreParams } from './stores.ts';

/*
 * A store's edge policy is versioned in the state store. Until one is put, the store's policy is its
 * production stack's `edge` section (or the defaults, before any stack): GET shows that as version 0,
 * and the partial routes (rate limits, IP rules) change that, so a partial update never resets the
 * rest of what the stack asked for.
 */

type Policy = z.infer<typeof PolicyInput>;

function dto(doc: PolicyDocument): PolicyDto {
  const { store: _, ...policy } = doc.policy;
  return {
    store: doc.storeId,
    version: doc.version,
    policy,
    updatedBy: doc.updatedBy,
    updatedAt: iso(doc.updatedAt),
  };
}

/** The store's policy as partial updates start from it (see the module comment). */
async function currentPolicy(r: Repositories, store: string): Promise<PolicyDto> {
  const doc = await r.policies.get(store);
  if (doc) return dto(doc);
  const stack = await r.stacks.latest(store, 'production');
  const { store: _, ...policy } = StorePolicy.parse({
    ...(stack ? appliedStack(stack).spec.edge : {}),
    store,
  });
  return { store, version: 0, policy, updatedBy: null, updatedAt: null };
}

/** Edge policies: the whole policy, or just its rate limits or IP rules, for the CLI. */
export function policies({ state }: ApiDeps): FastifyPluginAsync {
  // Each put reads the current policy and writes the next version. The version check catches a
  // concurrent put between the two (PostgreSQL does not lock the row on read): this one is rolled back
  // and answered TP_API_CONFLICT instead of silently undoing the other.
  const update =
    (store: string, actor: string, action: string, change: (current: Policy) => Policy) =>
    async (tx: Repositories): Promise<Change<PolicyDto>> => {
      await requireStore(tx, store);
      const before = await currentPolicy(tx, store);
      const saved = await tx.policies.put(
        store,
        StorePolicy.parse({ ...change(before.policy), store }),
        actor,
      );
      if (saved.version !== before.version + 1) {
        throw new ApiError(
          'TP_API_CONFLICT',
          `the policy of store ${store} changed meanwhile: read it again and retry`,
          {
            store,
          },
        );
      }
      const after = dto(saved);
      return {
        result: after,
        audit: {
          action,
          resourceType: 'policy',
          resourceId: store,
          store,
          before: before.version ? before : null,
          after,
        },
      };
    };

  return routes([
    route({
      method: 'GET',
      url: '/api/stores/:store/policy',
      summary: "The store's edge policy (version 0: none put yet, what its production stack asks for)",
      access: { store: 'viewer' },
      params: StoreParams,
      response: PolicyDto,
      handle: async ({ params }) => {
        await requireStore(state, params.store);
        return currentPolicy(state, params.store);
      },
    }),
    route({
      method: 'PUT',
      url: '/api/stores/:store/policy',
      summary: "Replace the store's edge policy (bumps its version)",
      access: { store: 'developer' },
      params: StoreParams,
      body: PolicyInput,
      response: PolicyDto,
      handle: async ({ params, body, caller, mutate }) =>
        mutate(update(params.store, caller.user.name, 'policy.put', () => body)),
    }),
    route({
      method: 'PUT',
      url: '/api/stores/:store/policy/rate-limits',
      summary: "Replace the policy's rate limits, keeping the rest",
      access: { store: 'developer' },
      params: StoreParams,
      body: RateLimitsRequest,
      response: PolicyDto,
      handle: async ({ params, body, caller, mutate }) =>
        mutate(
          update(params.store, caller.user.name, 'policy.rate-limits', (p) => ({ ...p, rateLimits: body })),
        ),
    }),
    route({
      method: 'PUT',
      url: '/api/stores/:store/policy/ip-rules',
      summary: "Replace the policy's IP allow and deny lists, keeping the rest",
      access: { store: 'developer' },
      params: StoreParams,
      body: IpRulesRequest,
      response: PolicyDto,
      handle: async ({ params, body, caller, mutate }) =>
        mutate(
          update(params.store, caller.user.name, 'policy.ip-rules', (p) => ({
            ...p,
            ipAllow: body.allow,
            ipDeny: body.deny,
          })),
        ),
    }),
  ]);
}
