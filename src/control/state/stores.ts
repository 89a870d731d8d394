import { StoreName } from '../../contracts/stack.ts';
import { constraintError, StateError } from './errors.ts';
import type { Executor } from './executor.ts';
import { EnvironmentName } from './schema.ts';

/** A store: the unit of tenancy (its stack, domains, policy, roles and events hang off it). */
export interface Store {
  readonly id: string;
  readonly displayName: string;
  readonly createdAt: number;
}

/** One environment of a store and the last stack version applied to it (0 = none yet). */
export interface Environment {
  readonly storeId: string;
  readonly name: EnvironmentName;
  readonly stackVersion: number;
  readonly createdAt: number;
}

/** Stores. Removing a store removes its environments, stacks, domains, policy and roles with it. */
export class StoresRepository {
  constructor(private readonly x: Executor) {}

  /** Creates a store; fails with STATE_CONFLICT when the id is taken. */
  async create(input: { id: string; displayName: string }): Promise<Store> {
    const id = StoreName.safeParse(input.id);
    if (!id.success) {
      throw new StateError('STATE_INVALID', `store.id: ${id.error.issues[0]?.message}`, { id: input.id });
    }
    const row = { id: input.id, display_name: input.displayName, created_at: this.x.clock() };
    try {
      await this.x.db.insertInto('stores').values(row).execute();
    } catch (e) {
      throw constraintError(e, {
        unique: () =>
          new StateError('STATE_CONFLICT', `store.id: store ${JSON.stringify(input.id)} already exists`, {
            id: input.id,
          }),
      });
    }
    return { id: row.id, displayName: row.display_name, createdAt: row.created_at };
  }

  /** The store, or null. */
  async get(id: string): Promise<Store | null> {
    const row = await this.x.db.selectFrom('stores').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? { id: row.id, displayName: row.display_name, createdAt: row.created_at } : null;
  }

  /** Every store, by id. */
  async list(): Promise<Store[]> {
    const rows = await this.x.db.selectFrom('stores').selectAll().orderBy('id').execute();
    return rows.map((r) => ({ id: r.id, displayName: r.display_name, createdAt: r.created_at }));
  }

  /** Removes a store and everything that belongs to it; fails with STATE_NOT_FOUND. */
  async remove(id: string): Promise<void> {
    const r = await this.x.db.deleteFrom('stores').where('id', '=', id).executeTakeFirst();
    if (r.numDeletedRows === 0n) {
      throw new StateError('STATE_NOT_FOUND', `store ${JSON.stringify(id)} does not exist`, { id });
    }
  }
}

/** The environments of stores. */
export class EnvironmentsRepository {
  constructor(private readonly x: Executor) {}

  /** Adds an environment to a store; STATE_NOT_FOUND for an unknown store, STATE_CONFLICT if it exists. */
  async create(storeId: string, name: EnvironmentName): Promise<Environment> {
    const parsed = EnvironmentName.safeParse(name);
    if (!parsed.success) {
      throw new StateError(
        'STATE_INVALID',
        `environment: expected "production" or "staging", got ${JSON.stringify(name)}`,
        { environment: name },
      );
    }
    const row = { store_id: storeId, name, stack_version: 0, created_at: this.x.clock() };
    try {
      await this.x.db.insertInto('environments').values(row).execute();
    } catch (e) {
      throw constraintError(e, {
        unique: () =>
          new StateError('STATE_CONFLICT', `store ${storeId} already has a ${name} environment`, {
            storeId,
            environment: name,
          }),
        foreignKey: () =>
          new StateError('STATE_NOT_FOUND', `store ${JSON.stringify(storeId)} does not exist`, { storeId }),
      });
    }
    return { storeId, name, stackVersion: 0, createdAt: row.created_at };
  }

  /** The environments of a store, production first. */
  async list(storeId: string): Promise<Environment[]> {
    const rows = await this.x.db
      .selectFrom('environments')
      .selectAll()
      .where('store_id', '=', storeId)
      .orderBy('name')
      .execute();
    return rows.map((r) => ({
      storeId: r.store_id,
      name: r.name,
      stackVersion: r.stack_version,
      createdAt: r.created_at,
    }));
  }
}
