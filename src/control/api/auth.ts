import type { FastifyRequest } from 'fastify';
import type { StoreRole } from '../../contracts/api.ts';
import { ApiError } from '../errors.ts';
import type { Principal, State, User } from '../state/index.ts';

/**
 * What a route needs from its caller:
 * - `'public'`: nothing (health, the OpenAPI document, endpoints that check their own credentials);
 * - `'user'`: a valid API token;
 * - `'admin'`: a platform admin's token;
 * - `{ store: role }`: at least `role` in the store named by the `:store` parameter, or by `from`
 *   when the store is found another way. When `from` finds no store, only platform admins pass.
 * Platform admins pass every check.
 */
export type Access =
  | 'public'
  | 'user'
  | 'admin'
  | {
      readonly store: StoreRole;
      readonly from?: (request: FastifyRequest) => Promise<string | undefined> | string | undefined;
    };

// Each role can do everything the roles after it can.
const RANK: Record<StoreRole, number> = { owner: 3, developer: 2, viewer: 1 };

/** The user behind the presented API token, with their roles by store. */
export class Caller {
  readonly user: User;
  readonly tokenId: string;
  readonly roles: ReadonlyMap<string, StoreRole>;

  constructor(principal: Principal) {
    this.user = principal.user;
    this.tokenId = principal.tokenId;
    this.roles = new Map(principal.roles.map((g) => [g.storeId, g.role]));
  }

  /** Whether the caller is a platform admin. */
  get admin(): boolean {
    return this.user.platformAdmin;
  }

  /** Whether the caller holds `role` (or a stronger one) in `store`, or is a platform admin. */
  can(store: string, role: StoreRole): boolean {
    if (this.admin) return true;
    const held = this.roles.get(store);
    return held !== undefined && RANK[held] >= RANK[role];
  }
}

/** The caller of a request from its `Authorization: Bearer` header; TP_API_UNAUTHENTICATED otherwise. */
export async function authenticate(request: FastifyRequest, state: State): Promise<Caller> {
  const header = request.headers.authorization;
  const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) {
    throw new ApiError('TP_API_UNAUTHENTICATED', 'missing API token: send "Authorization: Bearer <token>"');
  }
  const principal = await state.users.authenticate(match[1]!);
  if (!principal) throw new ApiError('TP_API_UNAUTHENTICATED', 'API token is unknown or revoked');
  return new Caller(principal);
}

/** The store a store-scoped route is about: its `:store` parameter unless the route says otherwise. */
async function storeOf(
  request: FastifyRequest,
  access: Exclude<Access, string>,
): Promise<string | undefined> {
  if (access.from) return access.from(request);
  return (request.params as Record<string, string | undefined>).store;
}

/** Fails with TP_API_FORBIDDEN unless `caller` may use a route that needs `access`. */
export async function authorize(caller: Caller, access: Access, request: FastifyRequest): Promise<void> {
  if (access === 'public' || access === 'user' || caller.admin) return;
  if (access === 'admin') {
    throw new ApiError('TP_API_FORBIDDEN', 'only platform admins may do this', { required: 'admin' });
  }
  const store = await storeOf(request, access);
  if (store === undefined) {
    throw new ApiError(
      'TP_API_FORBIDDEN',
      `only platform admins may do this without naming a store you are ${access.store} of`,
      { required: access.store },
    );
  }
  if (!caller.can(store, access.store)) {
    throw new ApiError(
      'TP_API_FORBIDDEN',
      `this needs the ${access.store} role in store ${JSON.stringify(store)}`,
      { store, required: access.store, role: caller.roles.get(store) ?? null },
    );
  }
}

/** How an access rule reads in the OpenAPI document and in errors: `store:developer`, `admin` … */
export function describeAccess(access: Access): string {
  return typeof access === 'string' ? access : `store:${access.store}`;
}
