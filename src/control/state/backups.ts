import type { BackupRecord, BackupTaken, Verification } from '../../contracts/backup.ts';
import { StateError } from './errors.ts';
import type { Executor } from './executor.ts';
import { newId } from './ids.ts';
import { canonicalJson, type JsonValue, parseJson } from './json.ts';
import type { BackupsTable, EnvironmentName, MaintenanceTable } from './schema.ts';

function toRecord(r: BackupsTable): BackupRecord {
  return {
    id: r.id,
    store: r.store_id,
    environment: r.environment,
    status: r.status,
    reason: r.reason,
    createdAt: new Date(r.created_at).toISOString(),
    snapshot: parseJson<BackupTaken>(r.snapshot),
    verification: parseJson<Verification>(r.verification),
    verifying: r.verifying === 1,
    error: r.error,
  };
}

/** Backups of stores: one row per backup, from queued to verified (or failed, or pruned). */
export class BackupsRepository {
  constructor(private readonly x: Executor) {}

  /** Records a queued backup. */
  async create(input: {
    /** @default a new id */
    id?: string;
    storeId: string;
    environment: EnvironmentName;
    reason: BackupRecord['reason'];
    verify: boolean;
  }): Promise<BackupRecord> {
    const now = this.x.clock();
    const row: BackupsTable = {
      id: input.id ?? newId('bak', now),
      store_id: input.storeId,
      environment: input.environment,
      status: 'queued',
      reason: input.reason,
      node_id: null,
      created_at: now,
      taken_at: null,
      snapshot: null,
      verifying: input.verify ? 1 : 0,
      verification: null,
      error: null,
    };
    await this.x.db.insertInto('backups').values(row).execute();
    return toRecord(row);
  }

  async get(storeId: string, id: string): Promise<BackupRecord | null> {
    const row = await this.x.db
      .selectFrom('backups')
      .selectAll()
      .where('store_id', '=', storeId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row ? toRecord(row) : null;
  }

  /** A store's backups, newest first; `pruned` ones only when asked. */
  async list(
    storeId: string,
    o: { environment?: EnvironmentName; includePruned?: boolean; limit?: number } = {},
  ): Promise<BackupRecord[]> {
    const rows = await this.x.db
      .selectFrom('backups')
      .selectAll()
      .where('store_id', '=', storeId)
      .$if(o.environment !== undefined, (q) => q.where('environment', '=', o.environment!))
      .$if(!o.includePruned, (q) => q.where('status', '!=', 'pruned'))
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(o.limit ?? 200)
      .execute();
    return rows.map(toRecord);
  }

  async running(id: string, nodeId: string): Promise<void> {
    await this.update(id, { status: 'running', node_id: nodeId });
  }

  async taken(id: string, snapshot: BackupTaken): Promise<void> {
    await this.update(id, {
      status: 'succeeded',
      taken_at: Date.parse(snapshot.takenAt),
      snapshot: canonicalJson(snapshot as unknown as JsonValue),
    });
  }

  async failed(id: string, error: string): Promise<void> {
    await this.update(id, { status: 'failed', error, verifying: 0 });
  }

  async verifying(id: string): Promise<void> {
    await this.update(id, { verifying: 1 });
  }

  async verified(id: string, v: Verification): Promise<void> {
    await this.update(id, { verifying: 0, verification: canonicalJson(v as unknown as JsonValue) });
  }

  /** Marks the backups whose snapshots retention removed. */
  async pruned(storeId: string, snapshotIds: readonly string[]): Promise<number> {
    if (snapshotIds.length === 0) return 0;
    let n = 0;
    for (const b of await this.list(storeId, { limit: 10_000 })) {
      if (b.snapshot && snapshotIds.includes(b.snapshot.snapshotId)) {
        await this.update(b.id, { status: 'pruned' });
        n++;
      }
    }
    return n;
  }

  private async update(id: string, set: Partial<BackupsTable>): Promise<void> {
    const r = await this.x.db.updateTable('backups').set(set).where('id', '=', id).executeTakeFirst();
    if (r.numUpdatedRows === 0n)
      throw new StateError('STATE_NOT_FOUND', `backup ${JSON.stringify(id)} does not exist`, { id });
  }
}

/** Stores in maintenance: the snapshot builder tells the edge to answer them with 503. */
export class MaintenanceRepository {
  constructor(private readonly x: Executor) {}

  /** Puts a store in maintenance (again: the reason and time are replaced). */
  async enter(storeId: string, reason: string): Promise<void> {
    const row: MaintenanceTable = { store_id: storeId, reason, since: this.x.clock() };
    await this.x.db
      .insertInto('maintenance')
      .values(row)
      .onConflict((oc) => oc.column('store_id').doUpdateSet({ reason, since: row.since }))
      .execute();
  }

  async leave(storeId: string): Promise<void> {
    await this.x.db.deleteFrom('maintenance').where('store_id', '=', storeId).execute();
  }

  /** The stores in maintenance, by id. */
  async list(): Promise<{ storeId: string; reason: string; since: number }[]> {
    const rows = await this.x.db.selectFrom('maintenance').selectAll().orderBy('store_id').execute();
    return rows.map((r) => ({ storeId: r.store_id, reason: r.reason, since: r.since }));
  }
}
