import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import {
  ApplyStackRequest,
  StackListQuery,
  StackQuery,
  StackVersionDto,
  StackVersionSummaryDto,
} from '../../contracts/api.ts';
import type { EnvironmentName } from '../../contracts/fleet.ts';
import type { StackSpec } from '../../contracts/stack.ts';
import type { Repositories, StackVersion } from '../state/index.ts';
import { iso, notFound, route, routes } from './route.ts';
import type { ApiDeps } from './server.ts';
import { requireStore, StoreParams } from './stores.ts';

/*
 * Where `sourceDir` lives: the state store keeps one JSON document per stack version (`spec`), so the
 * API stores the stack spec with one extra top-level key, `sourceDir` (the absolute directory of the
 * stack file on the nodes, which `app.code` is relative to). StackSpec has no such key, so it cannot
 * clash with a field of the spec. Write versions with `applyStack` and read them with `appliedStack`,
 * which splits the two again: the reconciler hands `{spec, sourceDir}` to agents as a DesiredStore.
 */

/** A stack version split into the spec and the directory its relative paths start from. */
export interface AppliedStack {
  readonly spec: StackSpec;
  /** Null only for versions recorded without the API (straight through `state.stacks.apply`). */
  readonly sourceDir: string | null;
}

/** Splits a stored stack version into its spec and its `sourceDir`. */
export function appliedStack(version: StackVersion): AppliedStack {
  const { sourceDir, ...spec } = version.spec as StackSpec & { sourceDir?: unknown };
  return { spec, sourceDir: typeof sourceDir === 'string' ? sourceDir : null };
}

/** Records `spec` (with `sourceDir`) as the environment's next stack version; use inside `tx`. */
export function applyStack(
  tx: Repositories,
  input: { store: string; environment: EnvironmentName; spec: StackSpec; sourceDir: string; actor: string },
): Promise<StackVersion> {
  const stored = { ...input.spec, sourceDir: input.sourceDir } as StackSpec;
  return tx.stacks.apply(input.store, input.environment, stored, input.actor);
}

function summaryDto(v: StackVersion): z.input<typeof StackVersionSummaryDto> {
  return {
    store: v.storeId,
    environment: v.environment,
    version: v.version,
    sourceDir: appliedStack(v).sourceDir,
    createdBy: v.createdBy,
    createdAt: iso(v.createdAt),
  };
}

function versionDto(v: StackVersion): StackVersionDto {
  return { ...summaryDto(v), spec: appliedStack(v).spec };
}

/** Stacks: applying one records the next version of an environment; versions are never rewritten. */
export function stacks({ state }: ApiDeps): FastifyPluginAsync {
  return routes([
    route({
      method: 'POST',
      url: '/api/stores/:store/stacks',
      summary: "Apply a stack: validate the spec and record it as the environment's next version",
      access: { store: 'developer' },
      params: StoreParams,
      body: ApplyStackRequest,
      crossCheck: {
        path: ['body', 'spec', 'name'],
        ok: ({ params, body }) => {
          const name = (body as { spec?: { name?: unknown } } | null)?.spec?.name;
          return typeof name !== 'string' || name === (params as { store?: unknown }).store;
        },
        message: ({ params, body }) =>
          `expected ${JSON.stringify((params as { store?: unknown }).store)} (the store in the URL), got ${JSON.stringify(
            (body as { spec: { name: unknown } }).spec.name,
          )}`,
      },
      response: StackVersionDto,
      status: 201,
      handle: async ({ params, body, caller, mutate }) =>
        mutate(async (tx) => {
          await requireStore(tx, params.store);
          const previous = await tx.stacks.latest(params.store, body.environment);
          const applied = await applyStack(tx, {
            store: params.store,
            environment: body.environment,
            spec: body.spec,
            sourceDir: body.sourceDir,
            actor: caller.user.name,
          });
          await tx.events.record({
            storeId: params.store,
            kind: 'stack.applied',
            message: `${applied.environment} stack version ${applied.version} applied by ${caller.user.name}`,
            data: { environment: applied.environment, version: applied.version },
          });
          const dto = versionDto(applied);
          return {
            result: dto,
            audit: {
              action: 'stack.apply',
              resourceType: 'stack',
              resourceId: `${params.store}/${applied.environment}`,
              store: params.store,
              before: previous ? versionDto(previous) : null,
              after: dto,
            },
          };
        }),
    }),
    route({
      method: 'GET',
      url: '/api/stores/:store/stacks',
      summary: "An environment's stack versions, newest first (without their specs)",
      access: { store: 'viewer' },
      params: StoreParams,
      query: StackListQuery,
      response: z.array(StackVersionSummaryDto),
      handle: async ({ params, query }) => {
        await requireStore(state, params.store);
        const versions = await state.stacks.list(params.store, query.environment, query.limit);
        return versions.map(summaryDto);
      },
    }),
    route({
      method: 'GET',
      url: '/api/stores/:store/stacks/:version',
      summary: 'One stack version with its spec',
      access: { store: 'viewer' },
      params: StoreParams.extend({ version: z.coerce.number().int().min(1) }),
      query: StackQuery,
      response: StackVersionDto,
      handle: async ({ params, query }) => {
        const v = await state.stacks.get(params.store, query.environment, params.version);
        if (!v) {
          throw notFound(
            `${query.environment} stack version ${params.version} of store ${JSON.stringify(params.store)}`,
            {
              store: params.store,
              environment: query.environment,
              version: params.version,
            },
          );
        }
        return versionDto(v);
      },
    }),
  ]);
}
