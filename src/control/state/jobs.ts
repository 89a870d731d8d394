import { type Kysely, sql } from 'kysely';
import { checkLimit, StateError } from './errors.ts';
import type { Executor } from './executor.ts';
import { newId } from './ids.ts';
import { canonicalJson, type JsonValue, parseJson } from './json.ts';
import type { Database, JobStatus, JobsTable } from './schema.ts';

/** A unit of background work (backup, restore check, log rollup, certificate renewal …). */
export interface Job {
  readonly id: string;
  readonly kind: string;
  readonly payload: JsonValue;
  readonly status: JobStatus;
  /** Claims so far, including the running one. */
  readonly attempts: number;
  readonly maxAttempts: number;
  /** Not claimed before this time (epoch ms): the first run, or the next retry after a backoff. */
  readonly runAfter: number;
  /** While running: when the claim expires and `recoverExpiredLeases` takes the job back. */
  readonly leaseUntil: number | null;
  readonly timeoutMs: number;
  readonly workerId: string | null;
  readonly createdAt: number;
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
  /** The last failure's message (kept after a retry succeeds, as history). */
  readonly error: string | null;
  readonly result: JsonValue | null;
}

/** What `enqueue` takes; defaults are written where they are declared. */
export interface NewJob {
  /** @default a new id */
  readonly id?: string;
  readonly kind: string;
  readonly payload?: JsonValue;
  /** @default 3 */
  readonly maxAttempts?: number;
  /** How long one attempt may run before its lease expires. @default 60_000 */
  readonly timeoutMs?: number;
  /** @default now */
  readonly runAfter?: number;
}

/** Delay before retry number `attempts` + 1: 1 s, 2 s, 4 s … capped at 5 minutes. */
export function retryDelayMs(attempts: number): number {
  return Math.min(300_000, 1000 * 2 ** Math.max(0, attempts - 1));
}

function toJob(r: JobsTable): Job {
  return {
    id: r.id,
    kind: r.kind,
    payload: JSON.parse(r.payload) as JsonValue,
    status: r.status,
    attempts: r.attempts,
    maxAttempts: r.max_attempts,
    runAfter: r.run_after,
    leaseUntil: r.lease_until,
    timeoutMs: r.timeout_ms,
    workerId: r.worker_id,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    error: r.error,
    result: parseJson<JsonValue>(r.result),
  };
}

function positiveInt(field: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new StateError('STATE_INVALID', `${field}: expected a positive integer, got ${value}`, {
      [field]: value,
    });
  }
  return value;
}

// Queues the job again after a backoff, or fails it for good when it has used all its attempts.
async function retryOrFail(db: Kysely<Database>, job: JobsTable, error: string, now: number): Promise<Job> {
  const retry = job.attempts < job.max_attempts;
  const row = await db
    .updateTable('jobs')
    .set({
      status: retry ? 'queued' : 'failed',
      run_after: retry ? now + retryDelayMs(job.attempts) : job.run_after,
      lease_until: null,
      worker_id: null,
      finished_at: retry ? null : now,
      error,
    })
    .where('id', '=', job.id)
    .returningAll()
    .executeTakeFirstOrThrow();
  return toJob(row);
}

// Why a worker could not finish a job: it does not exist, or the worker no longer holds it.
async function lost(db: Kysely<Database>, id: string, workerId: string): Promise<StateError> {
  const job = await db
    .selectFrom('jobs')
    .select(['status', 'worker_id'])
    .where('id', '=', id)
    .executeTakeFirst();
  if (!job) return new StateError('STATE_NOT_FOUND', `job ${JSON.stringify(id)} does not exist`, { id });
  return new StateError(
    'STATE_CONFLICT',
    `job ${id} is not held by worker ${workerId} (status ${job.status}, worker ${job.worker_id ?? 'none'})`,
    { id, workerId, status: job.status, holder: job.worker_id },
  );
}

/**
 * The job queue. Claims are leases: a worker that dies loses its job when the lease (`timeoutMs`)
 * expires and `recoverExpiredLeases` runs. Every transition is one conditional statement or a
 * transaction over rows locked first, so several control nodes can work the same queue.
 */
export class JobsRepository {
  constructor(private readonly x: Executor) {}

  /** Adds a job to the queue. */
  async enqueue(job: NewJob): Promise<Job> {
    const now = this.x.clock();
    const row: JobsTable = {
      id: job.id ?? newId('job', now),
      kind: job.kind,
      payload: canonicalJson(job.payload ?? null),
      status: 'queued',
      attempts: 0,
      max_attempts: positiveInt('maxAttempts', job.maxAttempts ?? 3),
      run_after: job.runAfter ?? now,
      lease_until: null,
      timeout_ms: positiveInt('timeoutMs', job.timeoutMs ?? 60_000),
      worker_id: null,
      created_at: now,
      started_at: null,
      finished_at: null,
      error: null,
      result: null,
    };
    await this.x.db.insertInto('jobs').values(row).execute();
    return toJob(row);
  }

  /** The job, or null. */
  async get(id: string): Promise<Job | null> {
    const row = await this.x.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toJob(row) : null;
  }

  /**
   * Takes the oldest due queued job of one of `kinds` for `workerId`, or null when there is none. It
   * is one UPDATE: on PostgreSQL its subquery skips rows other claimers hold (FOR UPDATE SKIP LOCKED),
   * on SQLite the statement runs under the database write lock; either way no job is claimed twice.
   */
  async claim(workerId: string, kinds: readonly string[], now = this.x.clock()): Promise<Job | null> {
    if (kinds.length === 0) {
      throw new StateError('STATE_INVALID', 'kinds: expected at least one job kind', { kinds });
    }
    const row = await this.x.db
      .updateTable('jobs')
      .set((eb) => ({
        status: 'running',
        attempts: eb('attempts', '+', 1),
        worker_id: workerId,
        started_at: now,
        // The cast keeps PostgreSQL from typing the parameter like the integer column it is added to.
        lease_until: sql<number>`cast(${now} as bigint) + timeout_ms`,
      }))
      .where('id', 'in', (eb) =>
        eb
          .selectFrom('jobs')
          .select('id')
          .where('status', '=', 'queued')
          .where('kind', 'in', kinds)
          .where('run_after', '<=', now)
          .orderBy('run_after')
          .orderBy('id')
          .limit(1)
          .$if(this.x.locksRows, (q) => q.forUpdate().skipLocked()),
      )
      .returningAll()
      .executeTakeFirst();
    return row ? toJob(row) : null;
  }

  /** Marks a running job succeeded; STATE_CONFLICT when `workerId` no longer holds it (lease lost). */
  async complete(id: string, workerId: string, result: JsonValue = null, now = this.x.clock()): Promise<Job> {
    const row = await this.x.db
      .updateTable('jobs')
      .set({ status: 'succeeded', result: canonicalJson(result), finished_at: now, lease_until: null })
      .where('id', '=', id)
      .where('status', '=', 'running')
      .where('worker_id', '=', workerId)
      .returningAll()
      .executeTakeFirst();
    if (!row) throw await lost(this.x.db, id, workerId);
    return toJob(row);
  }

  /**
   * Records a failed attempt: the job is queued again after `retryDelayMs(attempts)` while attempts
   * remain, else it ends as failed. STATE_CONFLICT when `workerId` no longer holds it.
   */
  async fail(id: string, workerId: string, error: string, now = this.x.clock()): Promise<Job> {
    return this.x.atomic(async (db) => {
      const job = await db
        .selectFrom('jobs')
        .selectAll()
        .where('id', '=', id)
        .where('status', '=', 'running')
        .where('worker_id', '=', workerId)
        .$if(this.x.locksRows, (q) => q.forUpdate())
        .executeTakeFirst();
      if (!job) throw await lost(db, id, workerId);
      return retryOrFail(db, job, error, now);
    });
  }

  /**
   * Takes back running jobs whose lease expired (their worker died or hung): each is queued for a
   * retry or, out of attempts, failed. Rows another node is handling right now are skipped. Returns
   * the jobs it changed, as they are now.
   */
  async recoverExpiredLeases(now = this.x.clock()): Promise<Job[]> {
    return this.x.atomic(async (db) => {
      const expired = await db
        .selectFrom('jobs')
        .selectAll()
        .where('status', '=', 'running')
        .where('lease_until', '<', now)
        .orderBy('id')
        .$if(this.x.locksRows, (q) => q.forUpdate().skipLocked())
        .execute();
      const changed: Job[] = [];
      for (const job of expired) {
        const message = `lease expired: worker ${job.worker_id} did not finish within ${job.timeout_ms}ms`;
        changed.push(await retryOrFail(db, job, message, now));
      }
      return changed;
    });
  }

  /** Jobs of one kind, newest first: what ran, when, and how it ended. */
  async history(kind: string, limit = 50): Promise<Job[]> {
    const rows = await this.x.db
      .selectFrom('jobs')
      .selectAll()
      .where('kind', '=', kind)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(checkLimit(limit))
      .execute();
    return rows.map(toJob);
  }
}
