import { constraintError, StateError } from './errors.ts';
import type { Executor } from './executor.ts';
import { hashSecret, newId, newSecret } from './ids.ts';
import { StoreRole, type UsersTable } from './schema.ts';

/** A person or automation that calls the API. */
export interface User {
  readonly id: string;
  readonly name: string;
  readonly platformAdmin: boolean;
  readonly createdAt: number;
}

/** A user's role in one store. */
export interface StoreGrant {
  readonly storeId: string;
  readonly role: StoreRole;
}

/** An API token as listed: never its secret. */
export interface ApiToken {
  readonly id: string;
  readonly userId: string;
  readonly name: string;
  readonly createdAt: number;
  readonly lastUsedAt: number | null;
  readonly revokedAt: number | null;
}

/** Who a presented API token belongs to. */
export interface Principal {
  readonly user: User;
  readonly roles: readonly StoreGrant[];
  readonly tokenId: string;
}

// `last_used_at` is refreshed at most this often, so that authenticating every API request does not
// turn every read into a write.
const LAST_USED_PRECISION_MS = 60_000;

function toUser(r: UsersTable): User {
  return { id: r.id, name: r.name, platformAdmin: r.platform_admin === 1, createdAt: r.created_at };
}

/** Users, their roles in stores and their API tokens. */
export class UsersRepository {
  constructor(private readonly x: Executor) {}

  /** Creates a user; fails with STATE_CONFLICT when the name is taken. */
  async create(input: { name: string; platformAdmin?: boolean }): Promise<User> {
    const now = this.x.clock();
    const row: UsersTable = {
      id: newId('usr', now),
      name: input.name,
      platform_admin: input.platformAdmin ? 1 : 0,
      created_at: now,
    };
    try {
      await this.x.db.insertInto('users').values(row).execute();
    } catch (e) {
      throw constraintError(e, {
        unique: () =>
          new StateError('STATE_CONFLICT', `user.name: a user named ${JSON.stringify(input.name)} exists`, {
            name: input.name,
          }),
      });
    }
    return toUser(row);
  }

  /** The user, or null. */
  async get(id: string): Promise<User | null> {
    const row = await this.x.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toUser(row) : null;
  }

  /** The user with this name, or null. */
  async byName(name: string): Promise<User | null> {
    const row = await this.x.db.selectFrom('users').selectAll().where('name', '=', name).executeTakeFirst();
    return row ? toUser(row) : null;
  }

  /** Every user, by name. */
  async list(): Promise<User[]> {
    const rows = await this.x.db.selectFrom('users').selectAll().orderBy('name').execute();
    return rows.map(toUser);
  }

  /** Gives a user a role in a store, replacing the role it had there. */
  async grant(userId: string, storeId: string, role: StoreRole): Promise<void> {
    if (!StoreRole.safeParse(role).success) {
      throw new StateError(
        'STATE_INVALID',
        `role: expected one of ${StoreRole.options.join(', ')}, got ${JSON.stringify(role)}`,
        { role },
      );
    }
    try {
      await this.x.db
        .insertInto('store_roles')
        .values({ user_id: userId, store_id: storeId, role })
        .onConflict((oc) => oc.columns(['user_id', 'store_id']).doUpdateSet({ role }))
        .execute();
    } catch (e) {
      throw constraintError(e, {
        foreignKey: () =>
          new StateError(
            'STATE_NOT_FOUND',
            `user ${JSON.stringify(userId)} or store ${JSON.stringify(storeId)} does not exist`,
            { userId, storeId },
          ),
      });
    }
  }

  /** Takes a user's role in a store away; fails with STATE_NOT_FOUND when it had none. */
  async revoke(userId: string, storeId: string): Promise<void> {
    const r = await this.x.db
      .deleteFrom('store_roles')
      .where('user_id', '=', userId)
      .where('store_id', '=', storeId)
      .executeTakeFirst();
    if (r.numDeletedRows === 0n) {
      throw new StateError('STATE_NOT_FOUND', `user ${userId} has no role in store ${storeId}`, {
        userId,
        storeId,
      });
    }
  }

  /** A user's roles, by store. */
  async roles(userId: string): Promise<StoreGrant[]> {
    const rows = await this.x.db
      .selectFrom('store_roles')
      .select(['store_id', 'role'])
      .where('user_id', '=', userId)
      .orderBy('store_id')
      .execute();
    return rows.map((r) => ({ storeId: r.store_id, role: r.role }));
  }

  /**
   * Creates an API token for a user. The secret (`tp_…`) is returned here once; only its SHA-256 is
   * stored, so a leaked database does not leak working tokens.
   */
  async createToken(userId: string, name: string): Promise<{ token: ApiToken; secret: string }> {
    const secret = newSecret('tp');
    const now = this.x.clock();
    const token: ApiToken = {
      id: newId('tok', now),
      userId,
      name,
      createdAt: now,
      lastUsedAt: null,
      revokedAt: null,
    };
    try {
      await this.x.db
        .insertInto('api_tokens')
        .values({
          id: token.id,
          user_id: userId,
          name,
          token_hash: hashSecret(secret),
          created_at: now,
          last_used_at: null,
          revoked_at: null,
        })
        .execute();
    } catch (e) {
      throw constraintError(e, {
        foreignKey: () =>
          new StateError('STATE_NOT_FOUND', `user ${JSON.stringify(userId)} does not exist`, { userId }),
      });
    }
    return { token, secret };
  }

  /**
   * The user and roles behind a presented secret, or null when it is unknown or revoked. The lookup is
   * by hash, so no secret-dependent comparison happens in this process.
   */
  async authenticate(secret: string): Promise<Principal | null> {
    const row = await this.x.db
      .selectFrom('api_tokens')
      .innerJoin('users', 'users.id', 'api_tokens.user_id')
      .select([
        'api_tokens.id as token_id',
        'api_tokens.last_used_at',
        'users.id',
        'users.name',
        'users.platform_admin',
        'users.created_at',
      ])
      .where('api_tokens.token_hash', '=', hashSecret(secret))
      .where('api_tokens.revoked_at', 'is', null)
      .executeTakeFirst();
    if (!row) return null;
    const now = this.x.clock();
    if (row.last_used_at === null || row.last_used_at <= now - LAST_USED_PRECISION_MS) {
      await this.x.db
        .updateTable('api_tokens')
        .set({ last_used_at: now })
        .where('id', '=', row.token_id)
        .execute();
    }
    return { user: toUser(row), roles: await this.roles(row.id), tokenId: row.token_id };
  }

  /** A user's tokens, newest first. */
  async listTokens(userId: string): Promise<ApiToken[]> {
    const rows = await this.x.db
      .selectFrom('api_tokens')
      .selectAll()
      .where('user_id', '=', userId)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .execute();
    return rows.map((r) => ({
      id: r.id,
      userId: r.user_id,
      name: r.name,
      createdAt: r.created_at,
      lastUsedAt: r.last_used_at,
      revokedAt: r.revoked_at,
    }));
  }

  /** Revokes a token for good; fails with STATE_NOT_FOUND when no live token has this id. */
  async revokeToken(tokenId: string): Promise<void> {
    const r = await this.x.db
      .updateTable('api_tokens')
      .set({ revoked_at: this.x.clock() })
      .where('id', '=', tokenId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    if (r.numUpdatedRows === 0n) {
      throw new StateError(
        'STATE_NOT_FOUND',
        `token ${JSON.stringify(tokenId)} does not exist or is revoked`,
        {
          tokenId,
        },
      );
    }
  }
}
