import type { StackSpec } from '../../contracts/stack.ts';
import { checkLimit, StateError } from './errors.ts';
import type { Executor } from './executor.ts';
import { canonicalJson } from './json.ts';
import type { EnvironmentName, StackVersionsTable } from './schema.ts';

/** One applied stack: versions count up from 1 per store and environment and are never rewritten. */
export interface StackVersion {
  readonly storeId: string;
  readonly environment: EnvironmentName;
  readonly version: number;
  readonly spec: StackSpec;
  readonly createdBy: string;
  readonly createdAt: number;
}

function toStackVersion(r: StackVersionsTable): StackVersion {
  return {
    storeId: r.store_id,
    environment: r.environment,
    version: r.version,
    spec: JSON.parse(r.spec) as StackSpec,
    createdBy: r.created_by,
    createdAt: r.created_at,
  };
}

/** The history of stacks applied to each store environment. */
export class StacksRepository {
  constructor(private readonly x: Executor) {}

  /**
   * Records `spec` as the next version of the environment's stack. The version comes from bumping the
   * environment row, which PostgreSQL locks until commit (SQLite holds its write lock), so concurrent
   * applies from several control nodes get distinct, gap-free versions.
   */
  async apply(
    storeId: string,
    environment: EnvironmentName,
    spec: StackSpec,
    actor: string,
  ): Promise<StackVersion> {
    if (spec.name !== storeId) {
      throw new StateError(
        'STATE_INVALID',
        `spec.name: expected ${JSON.stringify(storeId)} (the store it is applied to), got ${JSON.stringify(spec.name)}`,
        { storeId, name: spec.name },
      );
    }
    return this.x.atomic(async (db) => {
      const env = await db
        .updateTable('environments')
        .set((eb) => ({ stack_version: eb('stack_version', '+', 1) }))
        .where('store_id', '=', storeId)
        .where('name', '=', environment)
        .returning('stack_version')
        .executeTakeFirst();
      if (!env) {
        throw new StateError(
          'STATE_NOT_FOUND',
          `store ${JSON.stringify(storeId)} has no ${JSON.stringify(environment)} environment`,
          { storeId, environment },
        );
      }
      const row: StackVersionsTable = {
        store_id: storeId,
        environment,
        version: env.stack_version,
        spec: canonicalJson(spec),
        created_by: actor,
        created_at: this.x.clock(),
      };
      await db.insertInto('stack_versions').values(row).execute();
      return toStackVersion(row);
    });
  }

  /** The newest version, or null when nothing was applied yet. */
  async latest(storeId: string, environment: EnvironmentName): Promise<StackVersion | null> {
    const row = await this.x.db
      .selectFrom('stack_versions')
      .selectAll()
      .where('store_id', '=', storeId)
      .where('environment', '=', environment)
      .orderBy('version', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row ? toStackVersion(row) : null;
  }

  /** One version, or null. */
  async get(storeId: string, environment: EnvironmentName, version: number): Promise<StackVersion | null> {
    const row = await this.x.db
      .selectFrom('stack_versions')
      .selectAll()
      .where('store_id', '=', storeId)
      .where('environment', '=', environment)
      .where('version', '=', version)
      .executeTakeFirst();
    return row ? toStackVersion(row) : null;
  }

  /** Versions newest first, at most `limit`. */
  async list(storeId: string, environment: EnvironmentName, limit = 50): Promise<StackVersion[]> {
    const rows = await this.x.db
      .selectFrom('stack_versions')
      .selectAll()
      .where('store_id', '=', storeId)
      .where('environment', '=', environment)
      .orderBy('version', 'desc')
      .limit(checkLimit(limit))
      .execute();
    return rows.map(toStackVersion);
  }
}
