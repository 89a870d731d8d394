import { sql } from 'kysely';
import type { AccessLogRecord } from '../../contracts/snapshot.ts';
import { checkLimit, StateError } from './errors.ts';
import type { Executor } from './executor.ts';
import { newId } from './ids.ts';
import type { AccessLogsTable } from './schema.ts';

/** Filters of `query`: all optional, newest first, at most `limit` (default 100, at most 10 000). */
export interface AccessLogQuery {
  readonly store?: string;
  /** Only requests at or after this time (epoch ms). */
  readonly since?: number;
  readonly status?: number;
  /** Only paths starting with this (case-sensitive, as URLs are). */
  readonly pathPrefix?: string;
  readonly limit?: number;
}

// Rows per INSERT: six parameters a row stays far below SQLite's (32 766) and PostgreSQL's (65 535)
// limits on bound parameters.
const CHUNK = 500;

/** Access-log records shipped by the edges, kept within a bounded size and age. */
export class AccessLogsRepository {
  constructor(private readonly x: Executor) {}

  /**
   * Stores a batch in one transaction: either the whole batch is kept or none of it, so an edge that
   * retries a failed shipment does not duplicate half of it. Fails with STATE_INVALID naming every
   * record whose `time` is not a timestamp.
   */
  async insertBatch(records: readonly AccessLogRecord[]): Promise<number> {
    const rows: AccessLogsTable[] = [];
    const problems: string[] = [];
    records.forEach((r, i) => {
      const at = Date.parse(r.time);
      if (Number.isNaN(at))
        problems.push(`records[${i}].time: expected an ISO timestamp, got ${JSON.stringify(r.time)}`);
      rows.push({
        id: newId('log', at),
        at,
        store_id: r.store,
        status: r.status,
        path: r.path,
        record: JSON.stringify(r),
      });
    });
    if (problems.length > 0) throw new StateError('STATE_INVALID', problems.join('; '), { problems });
    if (rows.length === 0) return 0;
    await this.x.atomic(async (db) => {
      for (let i = 0; i < rows.length; i += CHUNK) {
        await db
          .insertInto('access_logs')
          .values(rows.slice(i, i + CHUNK))
          .execute();
      }
    });
    return rows.length;
  }

  /** Records matching every given filter, newest first. */
  async query(q: AccessLogQuery = {}): Promise<AccessLogRecord[]> {
    const prefix = q.pathPrefix;
    const rows = await this.x.db
      .selectFrom('access_logs')
      .select('record')
      .$if(q.store !== undefined, (b) => b.where('store_id', '=', q.store!))
      .$if(q.since !== undefined, (b) => b.where('at', '>=', q.since!))
      .$if(q.status !== undefined, (b) => b.where('status', '=', q.status!))
      // substr instead of LIKE: SQLite's LIKE ignores case and both treat % and _ in the prefix as wildcards.
      .$if(prefix !== undefined && prefix !== '', (b) =>
        b.where(sql<string>`substr(path, 1, ${prefix!.length})`, '=', prefix!),
      )
      .orderBy('at', 'desc')
      .orderBy('id', 'desc')
      .limit(checkLimit(q.limit))
      .execute();
    return rows.map((r) => JSON.parse(r.record) as AccessLogRecord);
  }

  /**
   * Deletes records older than `maxAgeMs`, then all but the newest `maxRows`; returns how many went.
   * Meant to run as a periodic job: the intake itself never waits for retention.
   */
  async prune(limits: { maxRows: number; maxAgeMs: number }, now = this.x.clock()): Promise<number> {
    for (const [field, value] of Object.entries(limits)) {
      if (!Number.isInteger(value) || value < 0) {
        throw new StateError('STATE_INVALID', `${field}: expected a non-negative integer, got ${value}`, {
          [field]: value,
        });
      }
    }
    return this.x.atomic(async (db) => {
      const old = await db
        .deleteFrom('access_logs')
        .where('at', '<', now - limits.maxAgeMs)
        .executeTakeFirst();
      let deleted = Number(old.numDeletedRows);
      if (limits.maxRows === 0) {
        return deleted + Number((await db.deleteFrom('access_logs').executeTakeFirst()).numDeletedRows);
      }
      // The oldest row still kept; every row ordered after it goes. LIMIT/OFFSET in a DELETE is not
      // portable, a comparison with the cut row is.
      const cut = await db
        .selectFrom('access_logs')
        .select(['at', 'id'])
        .orderBy('at', 'desc')
        .orderBy('id', 'desc')
        .offset(limits.maxRows - 1)
        .limit(1)
        .executeTakeFirst();
      if (cut) {
        const extra = await db
          .deleteFrom('access_logs')
          .where((eb) =>
            eb.or([eb('at', '<', cut.at), eb.and([eb('at', '=', cut.at), eb('id', '<', cut.id)])]),
          )
          .executeTakeFirst();
        deleted += Number(extra.numDeletedRows);
      }
      return deleted;
    });
  }
}
