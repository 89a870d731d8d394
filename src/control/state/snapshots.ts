import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { type EdgeSnapshot, type EdgeSnapshotInput, parseSnapshot } from '../../contracts/snapshot.ts';
import { StateError } from './errors.ts';
import type { Executor } from './executor.ts';
import { newId } from './ids.ts';
import { canonicalJson } from './json.ts';

/** A snapshot's content: everything but the version and time, which `publish` assigns. */
export type SnapshotContent = Omit<EdgeSnapshotInput, 'version' | 'createdAt'>;

/** What an edge said about a snapshot version it was sent. */
export interface EdgeAck {
  readonly edgeId: string;
  readonly version: number;
  readonly accepted: boolean;
  readonly errors: readonly string[];
  readonly at: number;
}

/** The published edge snapshots: immutable, versioned 1, 2, 3 … and never rewritten. */
export class SnapshotsRepository {
  constructor(private readonly x: Executor) {}

  /** The newest snapshot, or null before the first publish. */
  async latest(): Promise<EdgeSnapshot | null> {
    const row = await this.x.db
      .selectFrom('edge_snapshots')
      .select('snapshot')
      .orderBy('version', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row ? (JSON.parse(row.snapshot) as EdgeSnapshot) : null;
  }

  /** One snapshot, or null. */
  async get(version: number): Promise<EdgeSnapshot | null> {
    const row = await this.x.db
      .selectFrom('edge_snapshots')
      .select('snapshot')
      .where('version', '=', version)
      .executeTakeFirst();
    return row ? (JSON.parse(row.snapshot) as EdgeSnapshot) : null;
  }

  /**
   * Validates, consistency-checks and publishes `content` as the next version — unless it equals the
   * latest snapshot (defaults filled in, key order ignored), in which case the latest is returned with
   * `changed: false` and edges are not disturbed. Publishers lock the single head row, so two control
   * nodes publishing at once get consecutive versions and never two versions of the same content.
   * Fails with STATE_INVALID listing every problem.
   */
  async publish(content: SnapshotContent): Promise<{ snapshot: EdgeSnapshot; changed: boolean }> {
    const checked = parseSnapshot({ ...content, version: 1 });
    if (!checked.ok) {
      const list = checked.problems.map((p) => `${p.path}: ${p.message}`).join('; ');
      throw new StateError('STATE_INVALID', `snapshot rejected: ${list}`, { problems: checked.problems });
    }
    const { version: _v, createdAt: _c, ...body } = checked.snapshot;
    const digest = createHash('sha256').update(canonicalJson(body)).digest('hex');
    return this.x.atomic(async (db) => {
      const head = await db
        .selectFrom('edge_snapshot_head')
        .selectAll()
        .where('id', '=', 1)
        .$if(this.x.locksRows, (q) => q.forUpdate())
        .executeTakeFirstOrThrow();
      if (head.digest === digest) {
        const same = await db
          .selectFrom('edge_snapshots')
          .select('snapshot')
          .where('version', '=', head.version)
          .executeTakeFirstOrThrow();
        return { snapshot: JSON.parse(same.snapshot) as EdgeSnapshot, changed: false };
      }
      const now = this.x.clock();
      const snapshot: EdgeSnapshot = {
        ...checked.snapshot,
        version: head.version + 1,
        createdAt: new Date(now).toISOString(),
      };
      await db
        .insertInto('edge_snapshots')
        .values({ version: snapshot.version, snapshot: canonicalJson(snapshot), digest, created_at: now })
        .execute();
      await db
        .updateTable('edge_snapshot_head')
        .set({ version: snapshot.version, digest })
        .where('id', '=', 1)
        .execute();
      return { snapshot, changed: true };
    });
  }
}

/** What edges answered to the snapshots they were sent. */
export class EdgeAcksRepository {
  constructor(private readonly x: Executor) {}

  /** Records an edge's answer for a snapshot version. */
  async record(ack: {
    edgeId: string;
    version: number;
    accepted: boolean;
    errors?: readonly string[];
  }): Promise<EdgeAck> {
    const at = this.x.clock();
    const errors = ack.errors ?? [];
    await this.x.db
      .insertInto('edge_acks')
      .values({
        id: newId('ack', at),
        edge_id: ack.edgeId,
        version: ack.version,
        accepted: ack.accepted ? 1 : 0,
        errors: JSON.stringify(errors),
        at,
      })
      .execute();
    return { edgeId: ack.edgeId, version: ack.version, accepted: ack.accepted, errors, at };
  }

  /** The newest answer of every edge, by edge id: which version each edge runs or refused. */
  async latestPerEdge(): Promise<EdgeAck[]> {
    const rows = await this.x.db
      .selectFrom((eb) =>
        eb
          .selectFrom('edge_acks')
          .select(['edge_id', 'version', 'accepted', 'errors', 'at'])
          .select(sql<number>`row_number() over (partition by edge_id order by at desc, id desc)`.as('rank'))
          .as('ranked'),
      )
      .selectAll()
      .where('rank', '=', 1)
      .orderBy('edge_id')
      .execute();
    return rows.map((r) => ({
      edgeId: r.edge_id,
      version: r.version,
      accepted: r.accepted === 1,
      errors: JSON.parse(r.errors) as string[],
      at: r.at,
    }));
  }
}
