import { constraintError, StateError } from './errors.ts';
import type { Executor } from './executor.ts';
import { hashSecret, newId, newSecret } from './ids.ts';
import { canonicalJson, type JsonValue, parseJson } from './json.ts';
import type { NodesTable } from './schema.ts';

/** An app host running `triplane agent`. */
export interface Node {
  readonly id: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** What the agent last reported (containers, health); null until its first report. */
  readonly observed: JsonValue | null;
  readonly observedAt: number | null;
  readonly lastSeen: number | null;
  readonly createdAt: number;
}

/** What a node should run; `version` changes exactly when `desired` does. */
export interface NodeDesired {
  readonly nodeId: string;
  readonly version: number;
  readonly desired: JsonValue;
  readonly updatedAt: number;
}

function toNode(r: NodesTable): Node {
  return {
    id: r.id,
    name: r.name,
    labels: JSON.parse(r.labels) as Record<string, string>,
    observed: parseJson<JsonValue>(r.observed),
    observedAt: r.observed_at,
    lastSeen: r.last_seen,
    createdAt: r.created_at,
  };
}

/** One-time secrets that let a new host register as a node. */
export class JoinTokensRepository {
  constructor(private readonly x: Executor) {}

  /** A new join token valid for `ttlMs`; the secret is returned once and only its hash is kept. */
  async create(ttlMs: number): Promise<{ token: string; expiresAt: number }> {
    if (!Number.isInteger(ttlMs) || ttlMs <= 0) {
      throw new StateError('STATE_INVALID', `ttlMs: expected a positive integer, got ${ttlMs}`, { ttlMs });
    }
    const token = newSecret('tpj');
    const now = this.x.clock();
    await this.x.db
      .insertInto('join_tokens')
      .values({ hash: hashSecret(token), created_at: now, expires_at: now + ttlMs, used_by: null })
      .execute();
    return { token, expiresAt: now + ttlMs };
  }
}

/** Nodes, their agents' credentials, what they report and what they should run. */
export class NodesRepository {
  constructor(private readonly x: Executor) {}

  /**
   * Registers a node with a join token and returns its agent token (shown once). The token is spent
   * by a conditional update, so of two hosts racing with the same token exactly one gets in.
   * Fails with STATE_TOKEN_REJECTED (details.reason: unknown | used | expired) or STATE_CONFLICT (name).
   */
  async register(input: {
    joinToken: string;
    name: string;
    labels?: Record<string, string>;
  }): Promise<{ node: Node; agentToken: string }> {
    const hash = hashSecret(input.joinToken);
    const now = this.x.clock();
    const id = newId('node', now);
    return this.x.atomic(async (db) => {
      const spent = await db
        .updateTable('join_tokens')
        .set({ used_by: id })
        .where('hash', '=', hash)
        .where('used_by', 'is', null)
        .where('expires_at', '>', now)
        .returning('hash')
        .executeTakeFirst();
      if (!spent) {
        const token = await db
          .selectFrom('join_tokens')
          .selectAll()
          .where('hash', '=', hash)
          .executeTakeFirst();
        const reason = !token ? 'unknown' : token.used_by !== null ? 'used' : 'expired';
        throw new StateError('STATE_TOKEN_REJECTED', `join token rejected: ${reason}`, { reason });
      }
      const agentToken = newSecret('tpa');
      const row: NodesTable = {
        id,
        name: input.name,
        labels: canonicalJson(input.labels ?? {}),
        token_hash: hashSecret(agentToken),
        observed: null,
        observed_at: null,
        last_seen: now,
        created_at: now,
      };
      try {
        await db.insertInto('nodes').values(row).execute();
      } catch (e) {
        throw constraintError(e, {
          unique: () =>
            new StateError('STATE_CONFLICT', `node.name: a node named ${JSON.stringify(input.name)} exists`, {
              name: input.name,
            }),
        });
      }
      return { node: toNode(row), agentToken };
    });
  }

  /** The node an agent token belongs to, or null. */
  async authenticate(agentToken: string): Promise<Node | null> {
    const row = await this.x.db
      .selectFrom('nodes')
      .selectAll()
      .where('token_hash', '=', hashSecret(agentToken))
      .executeTakeFirst();
    return row ? toNode(row) : null;
  }

  /** The node, or null. */
  async get(id: string): Promise<Node | null> {
    const row = await this.x.db.selectFrom('nodes').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toNode(row) : null;
  }

  /** Every node, by name. */
  async list(): Promise<Node[]> {
    const rows = await this.x.db.selectFrom('nodes').selectAll().orderBy('name').execute();
    return rows.map(toNode);
  }

  /** Removes a node (its agent token stops working); fails with STATE_NOT_FOUND. */
  async remove(id: string): Promise<void> {
    const r = await this.x.db.deleteFrom('nodes').where('id', '=', id).executeTakeFirst();
    if (r.numDeletedRows === 0n) {
      throw new StateError('STATE_NOT_FOUND', `node ${JSON.stringify(id)} does not exist`, { nodeId: id });
    }
  }

  /** Stores what the agent reports and marks the node as seen now; fails with STATE_NOT_FOUND. */
  async recordObserved(nodeId: string, observed: JsonValue): Promise<void> {
    const now = this.x.clock();
    const r = await this.x.db
      .updateTable('nodes')
      .set({ observed: canonicalJson(observed), observed_at: now, last_seen: now })
      .where('id', '=', nodeId)
      .executeTakeFirst();
    if (r.numUpdatedRows === 0n) {
      throw new StateError('STATE_NOT_FOUND', `node ${JSON.stringify(nodeId)} does not exist`, { nodeId });
    }
  }

  /**
   * Sets what the node should run. The version goes up only when the document differs (compared as
   * canonical JSON, so key order does not count): an agent polling by version sees no change when the
   * reconciler recomputes the same state. The compare-and-bump is one upsert, atomic on both databases.
   */
  async setDesired(nodeId: string, desired: JsonValue): Promise<{ version: number; changed: boolean }> {
    const text = canonicalJson(desired);
    return this.x.atomic(async (db) => {
      let bumped: { version: number } | undefined;
      try {
        bumped = await db
          .insertInto('node_desired')
          .values({ node_id: nodeId, version: 1, desired: text, updated_at: this.x.clock() })
          .onConflict((oc) =>
            oc
              .column('node_id')
              .doUpdateSet((eb) => ({
                version: eb('node_desired.version', '+', 1),
                desired: eb.ref('excluded.desired'),
                updated_at: eb.ref('excluded.updated_at'),
              }))
              .where((eb) => eb('node_desired.desired', '<>', eb.ref('excluded.desired'))),
          )
          .returning('version')
          .executeTakeFirst();
      } catch (e) {
        throw constraintError(e, {
          foreignKey: () =>
            new StateError('STATE_NOT_FOUND', `node ${JSON.stringify(nodeId)} does not exist`, { nodeId }),
        });
      }
      if (bumped) return { version: bumped.version, changed: true };
      const same = await db
        .selectFrom('node_desired')
        .select('version')
        .where('node_id', '=', nodeId)
        .executeTakeFirstOrThrow();
      return { version: same.version, changed: false };
    });
  }

  /** What the node should run, or null when nothing was set yet. */
  async getDesired(nodeId: string): Promise<NodeDesired | null> {
    const row = await this.x.db
      .selectFrom('node_desired')
      .selectAll()
      .where('node_id', '=', nodeId)
      .executeTakeFirst();
    return row
      ? {
          nodeId: row.node_id,
          version: row.version,
          desired: JSON.parse(row.desired),
          updatedAt: row.updated_at,
        }
      : null;
  }
}
