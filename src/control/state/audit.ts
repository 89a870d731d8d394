import { checkLimit } from './errors.ts';
import type { Executor } from './executor.ts';
import { newId } from './ids.ts';
import { canonicalJson, type JsonValue, parseJson } from './json.ts';
import type { AuditEventsTable, StoreEventsTable } from './schema.ts';

/** Who changed what: one row per mutation, written in the mutation's own transaction. */
export interface AuditEvent {
  readonly id: string;
  readonly at: number;
  readonly actor: string;
  readonly action: string;
  readonly resourceType: string;
  readonly resourceId: string;
  readonly storeId: string | null;
  readonly before: JsonValue | null;
  readonly after: JsonValue | null;
}

/** Something that happened to a store (deploy finished, pod restarted, backup failed), for its timeline. */
export interface StoreEvent {
  readonly id: string;
  readonly at: number;
  readonly storeId: string;
  readonly kind: string;
  readonly message: string;
  readonly data: JsonValue | null;
}

/** Filters of `list`: newest first, at most `limit` (default 100, at most 10 000). */
export interface EventFilter {
  readonly store?: string;
  /** Only events at or after this time (epoch ms). */
  readonly since?: number;
  readonly limit?: number;
}

function toAudit(r: AuditEventsTable): AuditEvent {
  return {
    id: r.id,
    at: r.at,
    actor: r.actor,
    action: r.action,
    resourceType: r.resource_type,
    resourceId: r.resource_id,
    storeId: r.store_id,
    before: parseJson<JsonValue>(r.before),
    after: parseJson<JsonValue>(r.after),
  };
}

/** The audit trail. Call `record` on the `tx` of the mutation it describes, so both commit or neither. */
export class AuditRepository {
  constructor(private readonly x: Executor) {}

  /** Appends an audit event. */
  async record(e: {
    actor: string;
    action: string;
    resourceType: string;
    resourceId: string;
    storeId?: string | null;
    before?: JsonValue | null;
    after?: JsonValue | null;
  }): Promise<AuditEvent> {
    const at = this.x.clock();
    const row: AuditEventsTable = {
      id: newId('aud', at),
      at,
      actor: e.actor,
      action: e.action,
      resource_type: e.resourceType,
      resource_id: e.resourceId,
      store_id: e.storeId ?? null,
      before: e.before == null ? null : canonicalJson(e.before),
      after: e.after == null ? null : canonicalJson(e.after),
    };
    await this.x.db.insertInto('audit_events').values(row).execute();
    return toAudit(row);
  }

  /** Audit events newest first. */
  async list(filter: EventFilter = {}): Promise<AuditEvent[]> {
    const rows = await this.x.db
      .selectFrom('audit_events')
      .selectAll()
      .$if(filter.store !== undefined, (q) => q.where('store_id', '=', filter.store!))
      .$if(filter.since !== undefined, (q) => q.where('at', '>=', filter.since!))
      .orderBy('at', 'desc')
      .orderBy('id', 'desc')
      .limit(checkLimit(filter.limit))
      .execute();
    return rows.map(toAudit);
  }
}

function toStoreEvent(r: StoreEventsTable): StoreEvent {
  return {
    id: r.id,
    at: r.at,
    storeId: r.store_id,
    kind: r.kind,
    message: r.message,
    data: parseJson<JsonValue>(r.data),
  };
}

/** Store timelines. */
export class StoreEventsRepository {
  constructor(private readonly x: Executor) {}

  /** Appends an event to a store's timeline. */
  async record(e: {
    storeId: string;
    kind: string;
    message: string;
    data?: JsonValue | null;
  }): Promise<StoreEvent> {
    const at = this.x.clock();
    const row: StoreEventsTable = {
      id: newId('evt', at),
      at,
      store_id: e.storeId,
      kind: e.kind,
      message: e.message,
      data: e.data == null ? null : canonicalJson(e.data),
    };
    await this.x.db.insertInto('store_events').values(row).execute();
    return toStoreEvent(row);
  }

  /** Store events newest first. */
  async list(filter: EventFilter = {}): Promise<StoreEvent[]> {
    const rows = await this.x.db
      .selectFrom('store_events')
      .selectAll()
      .$if(filter.store !== undefined, (q) => q.where('store_id', '=', filter.store!))
      .$if(filter.since !== undefined, (q) => q.where('at', '>=', filter.since!))
      .orderBy('at', 'desc')
      .orderBy('id', 'desc')
      .limit(checkLimit(filter.limit))
      .execute();
    return rows.map(toStoreEvent);
  }
}
