import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import {
  CreatedTokenDto,
  CreateTokenRequest,
  CreateUserRequest,
  MemberDto,
  MemberRequest,
  TokenDto,
  TokenListQuery,
  UserDto,
  UserName,
  WhoamiDto,
} from '../../contracts/api.ts';
import { ApiError } from '../errors.ts';
import type { ApiToken, Repositories, User } from '../state/index.ts';
import type { Caller } from './auth.ts';
import { iso, notFound, route, routes } from './route.ts';
import type { ApiDeps } from './server.ts';
import { requireStore, StoreParams } from './stores.ts';

async function userDto(r: Repositories, u: User): Promise<UserDto> {
  const roles = await r.users.roles(u.id);
  return {
    id: u.id,
    name: u.name,
    platformAdmin: u.platformAdmin,
    createdAt: iso(u.createdAt),
    roles: roles.map((g) => ({ store: g.storeId, role: g.role })),
  };
}

/** A token as listed, never its secret. */
export function tokenDto(t: ApiToken, userName: string): z.input<typeof TokenDto> {
  return {
    id: t.id,
    user: userName,
    name: t.name,
    createdAt: iso(t.createdAt),
    lastUsedAt: t.lastUsedAt === null ? null : iso(t.lastUsedAt),
    revokedAt: t.revokedAt === null ? null : iso(t.revokedAt),
  };
}

async function requireUser(r: Repositories, name: string): Promise<User> {
  const user = await r.users.byName(name);
  if (!user) throw notFound(`user ${JSON.stringify(name)}`, { user: name });
  return user;
}

/** The user whose tokens a request is about: the caller, or (platform admins only) the one named. */
async function tokenOwner(r: Repositories, caller: Caller, name: string | undefined): Promise<User> {
  if (name === undefined || name === caller.user.name) return caller.user;
  if (!caller.admin) {
    throw new ApiError('TP_API_FORBIDDEN', "only platform admins may manage another user's tokens", {
      user: name,
    });
  }
  return requireUser(r, name);
}

/** Users, their roles in stores (members) and their API tokens; `whoami`. */
export function users({ state }: ApiDeps): FastifyPluginAsync {
  const MemberParams = StoreParams.extend({ user: UserName });
  return routes([
    route({
      method: 'GET',
      url: '/api/whoami',
      summary: 'The caller: user, roles by store and whether it is a platform admin',
      access: 'user',
      response: WhoamiDto,
      handle: async ({ caller }) => ({
        user: { id: caller.user.id, name: caller.user.name },
        roles: [...caller.roles].map(([store, role]) => ({ store, role })),
        admin: caller.admin,
      }),
    }),
    route({
      method: 'GET',
      url: '/api/users',
      summary: 'Every user with their roles',
      access: 'admin',
      response: z.array(UserDto),
      handle: async () => Promise.all((await state.users.list()).map((u) => userDto(state, u))),
    }),
    route({
      method: 'POST',
      url: '/api/users',
      summary: 'Create a user (give it roles with the members routes, a token with POST /api/tokens)',
      access: 'admin',
      body: CreateUserRequest,
      response: UserDto,
      status: 201,
      handle: async ({ body, mutate }) =>
        mutate(async (tx) => {
          const dto = await userDto(tx, await tx.users.create(body));
          return {
            result: dto,
            audit: {
              action: 'user.create',
              resourceType: 'user',
              resourceId: dto.id,
              store: null,
              after: dto,
            },
          };
        }),
    }),
    route({
      method: 'PUT',
      url: '/api/stores/:store/members/:user',
      summary: 'Give a user a role in the store, replacing the role it had there',
      access: { store: 'owner' },
      params: MemberParams,
      body: MemberRequest,
      response: MemberDto,
      handle: async ({ params, body, mutate }) =>
        mutate(async (tx) => {
          await requireStore(tx, params.store);
          const user = await requireUser(tx, params.user);
          const held = (await tx.users.roles(user.id)).find((g) => g.storeId === params.store);
          await tx.users.grant(user.id, params.store, body.role);
          const dto = { store: params.store, user: user.name, role: body.role };
          return {
            result: dto,
            audit: {
              action: 'member.set',
              resourceType: 'member',
              resourceId: `${params.store}/${user.name}`,
              store: params.store,
              before: held ? { ...dto, role: held.role } : null,
              after: dto,
            },
          };
        }),
    }),
    route({
      method: 'DELETE',
      url: '/api/stores/:store/members/:user',
      summary: "Take a user's role in the store away",
      access: { store: 'owner' },
      params: MemberParams,
      handle: async ({ params, mutate }) =>
        mutate(async (tx) => {
          const user = await requireUser(tx, params.user);
          const held = (await tx.users.roles(user.id)).find((g) => g.storeId === params.store);
          if (!held) throw notFound(`role of user ${user.name} in store ${params.store}`, params);
          await tx.users.revoke(user.id, params.store);
          return {
            result: undefined,
            audit: {
              action: 'member.remove',
              resourceType: 'member',
              resourceId: `${params.store}/${user.name}`,
              store: params.store,
              before: { store: params.store, user: user.name, role: held.role },
            },
          };
        }),
    }),
    route({
      method: 'POST',
      url: '/api/tokens',
      summary: 'Create an API token for the caller (platform admins: for any user); the secret is shown once',
      access: 'user',
      body: CreateTokenRequest,
      response: CreatedTokenDto,
      status: 201,
      handle: async ({ body, caller, mutate }) =>
        mutate(async (tx) => {
          const owner = await tokenOwner(tx, caller, body.user);
          const { token, secret } = await tx.users.createToken(owner.id, body.name);
          const dto = tokenDto(token, owner.name);
          return {
            result: { token: dto, secret },
            audit: {
              action: 'token.create',
              resourceType: 'token',
              resourceId: token.id,
              store: null,
              after: dto,
            },
          };
        }),
    }),
    route({
      method: 'GET',
      url: '/api/tokens',
      summary: "The caller's API tokens (platform admins: any user's), newest first, without secrets",
      access: 'user',
      query: TokenListQuery,
      response: z.array(TokenDto),
      handle: async ({ query, caller }) => {
        const owner = await tokenOwner(state, caller, query.user);
        return (await state.users.listTokens(owner.id)).map((t) => tokenDto(t, owner.name));
      },
    }),
    route({
      method: 'DELETE',
      url: '/api/tokens/:id',
      summary: "Revoke one of the caller's tokens (platform admins: anyone's)",
      access: 'user',
      params: z.strictObject({
        id: z.string().regex(/^tok_[a-z0-9]+$/, {
          error: (iss) => `expected a token id like "tok_0m3x9k2a…", got ${JSON.stringify(iss.input)}`,
        }),
      }),
      handle: async ({ params, caller, mutate }) =>
        mutate(async (tx) => {
          // Someone else's token is reported missing to a non-admin: its existence is not theirs to learn.
          const candidates = caller.admin ? await tx.users.list() : [caller.user];
          for (const user of candidates) {
            const token = (await tx.users.listTokens(user.id)).find((t) => t.id === params.id);
            if (!token) continue;
            await tx.users.revokeToken(token.id);
            return {
              result: undefined,
              audit: {
                action: 'token.revoke',
                resourceType: 'token',
                resourceId: token.id,
                store: null,
                before: tokenDto(token, user.name),
              },
            };
          }
          throw notFound(`token ${JSON.stringify(params.id)}`, { id: params.id });
        }),
    }),
  ]);
}
