import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type BackupTaken, Verification } from '../../../contracts/backup.ts';
import {
  type AgentTask,
  type EnvironmentName,
  instanceName,
  NodeReport,
  type TaskStore,
} from '../../../contracts/fleet.ts';

import type { StackSpec } from '../../../contracts/stack.ts';
import { nodeTaskKind } from '../../fleet/agent-routes.ts';
import { readStackPayload, stackPayload } from '../../fleet/stack-payload.ts';
import type { JsonValue, State } from '../../state/index.ts';
import type { JobHandler } from '../runner.ts';
import type { ScheduledJob } from '../schedule.ts';
import { lastFiring, parseCron } from './cron.ts';

/** A task as the control plane queues it; the job id becomes the task id. */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
type NewTask = DistributiveOmit<AgentTask, 'id'>;

/** A backup job that cannot go on: no node runs the store, the node's task failed, … */
export class BackupJobError extends Error {
  constructor(
    readonly code:
      | 'TP_BACKUP_NO_NODE'
      | 'TP_BACKUP_NO_STACK'
      | 'TP_BACKUP_TASK'
      | 'TP_BACKUP_NOT_FOUND'
      | 'TP_BACKUP_NO_INSTANCE',
    message: string,
  ) {
    super(message);
    this.name = 'BackupJobError';
  }
}

/** The backup settings of a stack spec; stacks applied before backups existed get the defaults. */
export function backupSettings(spec: StackSpec): StackSpec['backups'] {
  const defaults: StackSpec['backups'] = {
    enabled: true,
    schedule: '30 3 * * *',
    retentionDays: 7,
    verify: true,
  };
  return { ...defaults, ...(spec.backups as Partial<StackSpec['backups']> | undefined) };
}

/**
 * The key of every store's backup repository, made on first use (0600). Only the control plane
 * keeps it; agents get it with each task. Control nodes sharing a PostgreSQL state store must share
 * this file too.
 */
export function repositoryKey(file: string): string {
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
  }
  return readFileSync(file, 'utf8').trim();
}

export interface BackupJobsOptions {
  readonly state: State;
  /** File of the repository key (see repositoryKey). */
  readonly keyFile: string;
  /** @default Date.now */
  readonly clock?: () => number;
  /** How often a waiting job looks at its node task. @default 500 */
  readonly pollMs?: number;
  /** How long a restore waits for the edge snapshot to carry maintenance mode. @default 20_000 */
  readonly maintenanceWaitMs?: number;
  /** How long a restore into a new environment waits for a node to run it. @default 1_200_000 */
  readonly environmentWaitMs?: number;
}

/** How long a node task may run: a large store's dump or restore takes hours. */
const TASK_TIMEOUT_MS = 6 * 3600_000;

/** Backup, verification, restore, retention and the schedule, as job handlers. */
export function backupHandlers(o: BackupJobsOptions): Record<string, JobHandler> {
  const { state } = o;
  const now = o.clock ?? Date.now;
  const key = () => repositoryKey(o.keyFile);

  /** The runtime name of a store environment (`instanceName`), or why it has none. */
  const instanceOf = (store: string, environment: EnvironmentName): string => {
    const name = instanceName(store, environment);
    if (name === null)
      throw new BackupJobError(
        'TP_BACKUP_NO_INSTANCE',
        `store ${store}: its ${environment} environment cannot run (the name ${store}--${environment} is over 30 characters)`,
      );
    return name;
  };

  const nodeOf = async (store: string): Promise<string> => {
    for (const node of await state.nodes.list()) {
      const d = await state.nodes.getDesired(node.id);
      const stores = ((d?.desired as { stores?: { store: string }[] } | undefined)?.stores ?? []).map(
        (s) => s.store,
      );
      if (stores.includes(store)) return node.id;
    }
    throw new BackupJobError(
      'TP_BACKUP_NO_NODE',
      `store ${store}: no node runs it, so there is nothing to back up`,
    );
  };

  const stackOf = async (store: string, environment: EnvironmentName) => {
    const stack = await state.stacks.latest(store, environment);
    if (!stack)
      throw new BackupJobError('TP_BACKUP_NO_STACK', `store ${store} has no ${environment} stack applied`);
    return stack;
  };

  const taskStore = (store: string, spec: StackSpec): TaskStore => ({
    store,
    databaseName: spec.services.database.name,
    databaseImage: spec.services.database.image,
  });

  /** Queues a task for the node and waits for its outcome. */
  const onNode = async (nodeId: string, task: NewTask, signal: AbortSignal): Promise<unknown> => {
    const job = await state.jobs.enqueue({
      kind: nodeTaskKind(nodeId),
      payload: task as unknown as JsonValue,
      maxAttempts: 1,
      timeoutMs: TASK_TIMEOUT_MS,
    });
    for (;;) {
      const j = await state.jobs.get(job.id);
      if (j?.status === 'succeeded') return j.result;
      if (j?.status === 'failed')
        throw new BackupJobError('TP_BACKUP_TASK', `${task.op} on node ${nodeId} failed: ${j.error}`);
      if (signal.aborted)
        throw new BackupJobError('TP_BACKUP_TASK', `${task.op} on node ${nodeId}: stopped waiting`);
      await sleep(o.pollMs ?? 500);
    }
  };

  /** A failed verification for a backup that could not be checked at all: never good unchecked. */
  const unverified = (problem: string): Verification => ({
    status: 'failed',
    checkedAt: new Date(now()).toISOString(),
    durationMs: 0,
    tables: 0,
    rows: 0,
    mediaFiles: 0,
    problems: [problem],
  });

  /**
   * Waits (at most `maintenanceWaitMs`) until the latest edge snapshot shows the store in maintenance
   * or out of it: the control plane's snapshot builder picks the flag up within its interval.
   */
  const maintenanceServed = async (store: string, on: boolean): Promise<boolean> => {
    const until = Date.now() + (o.maintenanceWaitMs ?? 20_000);
    for (;;) {
      const snap = await state.snapshots.latest();
      const policy = snap?.policies.find((x) => x.store === store);
      if (!policy || policy.maintenance === on) return policy !== undefined;
      if (Date.now() >= until) return false;
      await sleep(o.pollMs ?? 500);
    }
  };

  /** Takes the backup `backupId` names; returns the snapshot. Records every step on the row. */
  const take = async (backupId: string, store: string, environment: EnvironmentName, signal: AbortSignal) => {
    try {
      const stack = await stackOf(store, environment);
      const instance = instanceOf(store, environment);
      const node = await nodeOf(instance);
      await state.backups.running(backupId, node);
      const taken = (await onNode(
        node,
        {
          op: 'backup.create',
          repositoryKey: key(),
          target: taskStore(instance, stack.spec),
          environment,
          stackVersion: stack.version,
          spec: stack.spec,
        },
        signal,
      )) as BackupTaken;
      await state.backups.taken(backupId, taken);
      await state.events.record({
        storeId: store,
        kind: 'backup.succeeded',
        message: `backup ${backupId} taken: ${taken.tables} tables, ${taken.mediaFiles} media files, ${taken.addedBytes} bytes added`,
        data: { backupId, snapshotId: taken.snapshotId },
      });
      return { node, stack, taken, instance };
    } catch (e) {
      const message = `${(e as { code?: string }).code ?? 'TP_BACKUP'}: ${(e as Error).message}`;
      await state.backups.failed(backupId, message);
      await state.events.record({
        storeId: store,
        kind: 'backup.failed',
        message: `backup ${backupId} failed: ${message}`,
        data: { backupId },
      });
      throw e;
    }
  };

  /** Verifies a taken backup, records the result, and raises an event when it failed. */
  const verify = async (
    backupId: string,
    store: string,
    instance: string,
    node: string,
    spec: StackSpec,
    snapshotId: string,
    signal: AbortSignal,
  ) => {
    await state.backups.verifying(backupId);
    let v: Verification;
    try {
      v = Verification.parse(
        await onNode(
          node,
          { op: 'backup.verify', repositoryKey: key(), target: taskStore(instance, spec), snapshotId },
          signal,
        ),
      );
    } catch (e) {
      v = unverified(`verification could not run: ${(e as Error).message}`);
    }
    await state.backups.verified(backupId, v);
    await state.events.record({
      storeId: store,
      kind: v.status === 'passed' ? 'backup.verified' : 'backup.verification-failed',
      message:
        v.status === 'passed'
          ? `backup ${backupId} verified: ${v.tables} tables, ${v.rows} rows, ${v.mediaFiles} media files restored and identical`
          : `backup ${backupId} FAILED verification: ${v.problems.slice(0, 3).join('; ')}`,
      data: { backupId, problems: v.problems.slice(0, 50) },
    });
    return v;
  };

  const prune = async (
    store: string,
    instance: string,
    node: string,
    spec: StackSpec,
    signal: AbortSignal,
  ) => {
    const r = (await onNode(
      node,
      {
        op: 'backup.prune',
        repositoryKey: key(),
        target: taskStore(instance, spec),
        now: new Date(now()).toISOString(),
        retentionDays: backupSettings(spec).retentionDays,
      },
      signal,
    )) as { removed: string[]; kept: string[] };
    const n = await state.backups.pruned(store, r.removed);
    return { removed: r.removed.length, marked: n, kept: r.kept.length };
  };

  /**
   * Applies the store's production stack to `environment` as its first version, without production's
   * domains (the new environment answers at `<instance>.localhost` until a stack of its own names
   * others): the staging copy a restore goes into. Returns the version.
   */
  const createEnvironment = async (store: string, environment: EnvironmentName, backupId: string) => {
    const production = await stackOf(store, 'production');
    const read = readStackPayload(production);
    if (!read.ok) throw new BackupJobError('TP_BACKUP_NO_STACK', read.problem);
    const spec: StackSpec = { ...read.payload.spec, domains: [] };
    const applied = await state.stacks.apply(
      store,
      environment,
      stackPayload(spec, read.payload.sourceDir),
      `restore of ${backupId}`,
    );
    await state.events.record({
      storeId: store,
      kind: 'stack.applied',
      message: `${environment} stack version ${applied.version} applied for the restore of ${backupId} (production's version ${production.version}, no domains)`,
      data: { environment, version: applied.version },
    });
    return applied.version;
  };

  /** Waits until a node reports `instance` converged at stack `version`. */
  const running = async (instance: string, version: number, signal: AbortSignal) => {
    const until = Date.now() + (o.environmentWaitMs ?? 1_200_000);
    for (;;) {
      for (const node of await state.nodes.list()) {
        const r = NodeReport.safeParse(node.observed);
        const s = r.success ? r.data.stores.find((x) => x.store === instance) : undefined;
        if (s?.converged && s.stackVersion === version) return;
      }
      if (signal.aborted || Date.now() >= until)
        throw new BackupJobError(
          'TP_BACKUP_NO_NODE',
          `${instance}: no node runs stack version ${version} yet${signal.aborted ? ' (stopped waiting)' : ''}`,
        );
      await sleep(o.pollMs ?? 500);
    }
  };

  const settleOrphans = async (): Promise<string[]> => {
    const settled: string[] = [];
    for (const kind of ['backup.create', 'backup.verify', 'backup.restore']) {
      for (const job of await state.jobs.history(kind, 50)) {
        if (job.status !== 'failed') continue;
        const p = job.payload as { backupId?: string; safetyBackupId?: string; store?: string };
        if (!p.store) continue;
        for (const id of kind === 'backup.restore' ? [p.safetyBackupId] : [p.backupId]) {
          const b = id ? await state.backups.get(p.store, id) : null;
          if (!b) continue;
          const why = `the ${kind} job ended without finishing it: ${job.error ?? 'no error recorded'}`;
          if (b.status === 'queued' || b.status === 'running') {
            await state.backups.failed(b.id, why);
            settled.push(b.id);
          } else if (kind === 'backup.verify' && b.verifying) {
            await state.backups.verified(b.id, unverified(why));
            settled.push(b.id);
          }
        }
      }
    }
    return settled;
  };

  return {
    /** payload: { backupId, store, environment } — the row exists (queued). */
    'backup.create': async ({ payload, signal }) => {
      const p = payload as { backupId: string; store: string; environment: EnvironmentName };
      const { node, stack, taken, instance } = await take(p.backupId, p.store, p.environment, signal);
      const settings = backupSettings(stack.spec);
      const verification = settings.verify
        ? await verify(p.backupId, p.store, instance, node, stack.spec, taken.snapshotId, signal)
        : null;
      const pruned = await prune(p.store, instance, node, stack.spec, signal);
      return {
        backupId: p.backupId,
        snapshotId: taken.snapshotId,
        verification: verification?.status ?? null,
        pruned,
      };
    },

    /** payload: { backupId, store } */
    'backup.verify': async ({ payload, signal }) => {
      const p = payload as { backupId: string; store: string };
      const b = await state.backups.get(p.store, p.backupId);
      if (!b?.snapshot)
        throw new BackupJobError('TP_BACKUP_NOT_FOUND', `backup ${p.backupId} has no snapshot to verify`);
      const stack = await stackOf(p.store, b.environment);
      const instance = instanceOf(p.store, b.environment);
      const v = await verify(
        p.backupId,
        p.store,
        instance,
        await nodeOf(instance),
        stack.spec,
        b.snapshot.snapshotId,
        signal,
      );
      return { backupId: p.backupId, verification: v.status };
    },

    /**
     * payload: { backupId, store, target, environment, safetyBackupId } — restores into `target`'s
     * `environment` (the store itself, another store such as a copy, or a staging environment) after a
     * safety backup of what the target holds now, so a restore can always be undone. A staging
     * environment with no stack yet is created first from the store's production stack, without its
     * domains, and the restore waits for a node to run it.
     */
    'backup.restore': async ({ payload, signal }) => {
      const p = payload as {
        backupId: string;
        store: string;
        target?: string;
        environment?: EnvironmentName;
        safetyBackupId: string;
      };
      const target = p.target ?? p.store;
      const b = await state.backups.get(p.store, p.backupId);
      if (!b?.snapshot)
        throw new BackupJobError('TP_BACKUP_NOT_FOUND', `backup ${p.backupId} has no snapshot to restore`);
      const environment = p.environment ?? (target === p.store ? b.environment : 'production');
      const source = instanceOf(p.store, b.environment);
      const instance = instanceOf(target, environment);
      const inPlace = instance === source;
      const step = async (message: string) => {
        for (const storeId of new Set([p.store, target]))
          await state.events.record({
            storeId,
            kind: 'backup.restore',
            message,
            data: { backupId: p.backupId, target, environment },
          });
      };
      const into = inPlace ? '' : ` into ${instance}`;
      if (!(await state.stacks.latest(target, environment))) {
        if (environment === 'production')
          throw new BackupJobError('TP_BACKUP_NO_STACK', `store ${target} has no production stack applied`);
        const version = await createEnvironment(target, environment, p.backupId);
        await step(
          `restore of ${p.backupId}${into}: ${environment} stack version ${version} created from production's, without its domains; waiting for a node to run it`,
        );
        await running(instance, version, signal);
      }
      await step(`restore of ${p.backupId}${into}: taking safety backup ${p.safetyBackupId} first`);
      const { node, stack } = await take(p.safetyBackupId, target, environment, signal);
      const sourceNode = await nodeOf(source);
      if (sourceNode !== node)
        throw new BackupJobError(
          'TP_BACKUP_TASK',
          `restore into ${instance}: it runs on node ${node}, but the backups of ${source} are on node ${sourceNode}`,
        );
      // Maintenance is a production storefront's: a staging environment restores while it runs.
      const maintenance = environment === 'production';
      if (maintenance) await state.maintenance.enter(target, `restore of ${p.backupId}`);
      let r: unknown;
      try {
        const served = maintenance ? await maintenanceServed(target, true) : false;
        await step(
          `restore of ${p.backupId}${into}: ${
            maintenance
              ? `${target} in maintenance${served ? ' (the edge serves the maintenance page)' : ' (no edge snapshot carries it yet)'}`
              : `${instance} keeps running`
          }; restoring database and media`,
        );
        r = await onNode(
          node,
          {
            op: 'backup.restore',
            repositoryKey: key(),
            from: source,
            snapshotId: b.snapshot.snapshotId,
            target: taskStore(instance, stack.spec),
          },
          signal,
        );
      } finally {
        if (maintenance) await state.maintenance.leave(target);
      }
      if (maintenance) await maintenanceServed(target, false);
      await step(
        `restore of ${p.backupId}${into}: done; ${instance} holds the data of ${b.snapshot.takenAt} and serves again`,
      );
      return {
        backupId: p.backupId,
        target,
        environment,
        instance,
        safetyBackupId: p.safetyBackupId,
        restored: r as JsonValue,
      };
    },

    /**
     * Queues the backups whose schedule fired in the last ten minutes and that have none yet, and
     * settles backups whose job ended without them (a jobs process that died mid-backup loses the
     * job when its lease expires; the backup must not stay "running" for ever).
     */
    'backup.schedule': async () => {
      const settled = await settleOrphans();
      const queued: string[] = [];
      const t = new Date(now());
      for (const store of await state.stores.list()) {
        const stack = await state.stacks.latest(store.id, 'production');
        if (!stack) continue;
        const s = backupSettings(stack.spec);
        if (!s.enabled) continue;
        const fired = lastFiring(parseCron(s.schedule), t, new Date(t.getTime() - 10 * 60_000));
        if (!fired) continue;
        const recent = await state.backups.list(store.id, {
          environment: 'production',
          includePruned: true,
          limit: 20,
        });
        if (recent.some((b) => b.reason === 'scheduled' && Date.parse(b.createdAt) >= fired.getTime()))
          continue;
        const b = await state.backups.create({
          storeId: store.id,
          environment: 'production',
          reason: 'scheduled',
          verify: s.verify,
        });
        await state.jobs.enqueue({
          kind: 'backup.create',
          payload: { backupId: b.id, store: store.id, environment: 'production' },
          maxAttempts: 1,
          timeoutMs: 2 * TASK_TIMEOUT_MS,
        });
        queued.push(b.id);
      }
      const result: JsonValue = settled.length > 0 ? { queued, settled } : { queued };
      return result;
    },
  };
}

/** The backup scheduler's tick. */
export const BACKUP_SCHEDULE: readonly ScheduledJob[] = [
  { kind: 'backup.schedule', everyMs: 60_000, timeoutMs: 60_000 },
];

/** Where the jobs process keeps the repository key: beside the state. */
export const keyFileIn = (controlDir: string) => join(controlDir, 'backup-key');
