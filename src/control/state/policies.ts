import type { StorePolicy } from '../../contracts/snapshot.ts';
import { constraintError, StateError } from './errors.ts';
import type { Executor } from './executor.ts';
import { canonicalJson } from './json.ts';
import type { PoliciesTable } from './schema.ts';

/** A store's edge policy and its version (1 for the first `put`, +1 for every later one). */
export interface PolicyDocument {
  readonly storeId: string;
  readonly version: number;
  readonly policy: StorePolicy;
  readonly updatedBy: string;
  readonly updatedAt: number;
}

function toPolicy(r: PoliciesTable): PolicyDocument {
  return {
    storeId: r.store_id,
    version: r.version,
    policy: JSON.parse(r.document) as StorePolicy,
    updatedBy: r.updated_by,
    updatedAt: r.updated_at,
  };
}

/** The edge policy of each store (rate limits, IP lists, bot rules, cache rules, overload, WAF). */
export class PoliciesRepository {
  constructor(private readonly x: Executor) {}

  /** The store's policy, or null when none was put. */
  async get(storeId: string): Promise<PolicyDocument | null> {
    const row = await this.x.db
      .selectFrom('policies')
      .selectAll()
      .where('store_id', '=', storeId)
      .executeTakeFirst();
    return row ? toPolicy(row) : null;
  }

  /** Every store's policy, by store: what the snapshot builder reads. */
  async list(): Promise<PolicyDocument[]> {
    const rows = await this.x.db.selectFrom('policies').selectAll().orderBy('store_id').execute();
    return rows.map(toPolicy);
  }

  /**
   * Replaces the store's policy and bumps its version, in one upsert: concurrent puts are serialised
   * by the row (PostgreSQL) or database (SQLite) lock and each gets its own version.
   */
  async put(storeId: string, policy: StorePolicy, actor: string): Promise<PolicyDocument> {
    if (policy.store !== storeId) {
      throw new StateError(
        'STATE_INVALID',
        `policy.store: expected ${JSON.stringify(storeId)}, got ${JSON.stringify(policy.store)}`,
        { storeId, store: policy.store },
      );
    }
    const row = { store_id: storeId, version: 1, document: canonicalJson(policy), updated_by: actor };
    try {
      const saved = await this.x.db
        .insertInto('policies')
        .values({ ...row, updated_at: this.x.clock() })
        .onConflict((oc) =>
          oc.column('store_id').doUpdateSet((eb) => ({
            version: eb('policies.version', '+', 1),
            document: eb.ref('excluded.document'),
            updated_by: eb.ref('excluded.updated_by'),
            updated_at: eb.ref('excluded.updated_at'),
          })),
        )
        .returningAll()
        .executeTakeFirstOrThrow();
      return toPolicy(saved);
    } catch (e) {
      throw constraintError(e, {
        foreignKey: () =>
          new StateError('STATE_NOT_FOUND', `store ${JSON.stringify(storeId)} does not exist`, { storeId }),
      });
    }
  }
}
