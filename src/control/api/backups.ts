import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { BackupRecord } from '../../contracts/backup.ts';
import { EnvironmentName, instanceName } from '../../contracts/fleet.ts';
import { StoreName } from '../../contracts/stack.ts';
import { ApiError } from '../errors.ts';
import type { JsonValue, Repositories } from '../state/index.ts';
import type { Change } from './audit.ts';
import { notFound, route, routes } from './route.ts';
import type { ApiDeps } from './server.ts';
import { requireStore, StoreParams } from './stores.ts';

const BackupParams = z.strictObject({ store: StoreName, backup: z.string().min(1) });
const OperationParams = z.strictObject({ store: StoreName, operation: z.string().min(1) });

/** `POST /api/stores/:store/backups`. */
export const BackupCreateRequest = z.strictObject({
  environment: EnvironmentName.default('production'),
});

/** `POST /api/stores/:store/backups/:backup/restore`. */
export const BackupRestoreRequest = z
  .strictObject({
    /** Another store to restore into (e.g. a copy of this one); default: this store. */
    to: StoreName.optional(),
    /**
     * The environment of the target to restore into; default: the backup's own for this store,
     * production for another. A staging environment without a stack is created from production's.
     */
    environment: EnvironmentName.optional(),
  })
  .prefault({});

/** A queued backup, verification or restore: poll the operation until it has ended. */
export const BackupOperationDto = z.strictObject({
  operation: z.string(),
  backup: BackupRecord,
});

/** A backup job's state, for clients waiting on it. */
export const OperationDto = z.strictObject({
  id: z.string(),
  kind: z.string(),
  status: z.enum(['queued', 'running', 'succeeded', 'failed']),
  error: z.string().nullable(),
  result: z.unknown(),
});

/** How long a backup job (backup, verification, pruning; or safety backup and restore) may run. */
const JOB_TIMEOUT_MS = 12 * 3600_000;

async function requireBackup(r: Repositories, store: string, id: string) {
  const b = await r.backups.get(store, id);
  if (!b)
    throw notFound(`backup ${JSON.stringify(id)} of store ${JSON.stringify(store)}`, { store, backup: id });
  return b;
}

/** The backup, when it succeeded: only a taken snapshot can be verified or restored. */
async function succeededBackup(r: Repositories, store: string, id: string, verb: string) {
  const b = await requireBackup(r, store, id);
  if (b.status !== 'succeeded')
    throw new ApiError(
      'TP_API_CONFLICT',
      `backup ${b.id} is ${b.status}: only a succeeded backup can be ${verb}`,
    );
  return b;
}

/**
 * Queues the job of a backup operation (one attempt: a backup or restore is not repeated behind
 * the user's back) and answers with it, audited as `action`.
 */
async function queued(
  tx: Repositories,
  o: {
    kind: string;
    payload: JsonValue;
    backup: BackupRecord;
    store: string;
    action: string;
    after?: JsonValue;
  },
): Promise<Change<z.input<typeof BackupOperationDto>>> {
  const job = await tx.jobs.enqueue({
    kind: o.kind,
    payload: o.payload,
    maxAttempts: 1,
    timeoutMs: JOB_TIMEOUT_MS,
  });
  return {
    result: { operation: job.id, backup: o.backup },
    audit: {
      action: o.action,
      resourceType: 'backup',
      resourceId: o.backup.id,
      store: o.store,
      ...(o.after === undefined ? {} : { after: o.after }),
    },
  };
}

/** Backups: take one now, list, show, verify again, restore. The work runs in the jobs process. */
export function backups({ state }: ApiDeps): FastifyPluginAsync {
  return routes([
    route({
      method: 'POST',
      url: '/api/stores/:store/backups',
      summary: 'Back up the store now (database, media, stack); it is verified and old backups pruned after',
      access: { store: 'developer' },
      params: StoreParams,
      body: BackupCreateRequest,
      response: BackupOperationDto,
      status: 201,
      handle: async ({ params, body, mutate }) =>
        mutate(async (tx) => {
          await requireStore(tx, params.store);
          const stack = await tx.stacks.latest(params.store, body.environment);
          if (!stack)
            throw new ApiError(
              'TP_API_CONFLICT',
              `environment: store ${params.store} has no ${body.environment} stack applied, so there is nothing to back up`,
            );
          const backup = await tx.backups.create({
            storeId: params.store,
            environment: body.environment,
            reason: 'manual',
            verify: stack.spec.backups?.verify ?? true,
          });
          return queued(tx, {
            kind: 'backup.create',
            payload: { backupId: backup.id, store: params.store, environment: body.environment },
            backup,
            store: params.store,
            action: 'backup.create',
            after: backup as unknown as JsonValue,
          });
        }),
    }),
    route({
      method: 'GET',
      url: '/api/stores/:store/backups',
      summary: "The store's backups, newest first, with size, status and verification",
      access: { store: 'viewer' },
      params: StoreParams,
      query: z.strictObject({
        environment: EnvironmentName.optional(),
        pruned: z.enum(['true', 'false']).default('false'),
      }),
      response: z.array(BackupRecord),
      handle: async ({ params, query }) => {
        await requireStore(state, params.store);
        return state.backups.list(params.store, {
          environment: query.environment,
          includePruned: query.pruned === 'true',
        });
      },
    }),
    route({
      method: 'GET',
      url: '/api/stores/:store/backups/:backup',
      summary: 'One backup',
      access: { store: 'viewer' },
      params: BackupParams,
      response: BackupRecord,
      handle: async ({ params }) => requireBackup(state, params.store, params.backup),
    }),
    route({
      method: 'POST',
      url: '/api/stores/:store/backups/:backup/verify',
      summary: 'Restore the backup into a throwaway database and compare it with what was dumped',
      access: { store: 'developer' },
      params: BackupParams,
      response: BackupOperationDto,
      status: 201,
      handle: async ({ params, mutate }) =>
        mutate(async (tx) => {
          const backup = await succeededBackup(tx, params.store, params.backup, 'verified');
          return queued(tx, {
            kind: 'backup.verify',
            payload: { backupId: backup.id, store: params.store },
            backup,
            store: params.store,
            action: 'backup.verify',
          });
        }),
    }),
    route({
      method: 'POST',
      url: '/api/stores/:store/backups/:backup/restore',
      summary:
        "Restore the backup into its store, into another store (`to`) or into an environment (`environment`: staging, created from production's stack when it has none), after a safety backup of what the target holds now",
      access: { store: 'owner' },
      params: BackupParams,
      body: BackupRestoreRequest,
      response: BackupOperationDto,
      status: 201,
      handle: async ({ params, body, caller, mutate }) =>
        mutate(async (tx) => {
          const backup = await succeededBackup(tx, params.store, params.backup, 'restored');
          const target = body.to ?? params.store;
          const environment =
            body.environment ?? (target === params.store ? backup.environment : 'production');
          if (instanceName(target, environment) === null)
            throw new ApiError(
              'TP_API_INVALID',
              `environment: store ${target} cannot run a ${environment} environment: ${target}--${environment} is over 30 characters`,
              {
                problems: [
                  { path: 'body.environment', message: 'instance name too long', value: environment },
                ],
              },
            );
          if (target !== params.store) {
            await requireStore(tx, target);
            if (!caller.can(target, 'owner'))
              throw new ApiError(
                'TP_API_FORBIDDEN',
                `to: restoring into store ${JSON.stringify(target)} needs its owner role`,
                {
                  store: target,
                  required: 'owner',
                },
              );
          }
          // A production environment without a stack has no services to restore into; a staging one
          // is created by the restore job from production's stack.
          if (environment === 'production' && !(await tx.stacks.latest(target, 'production')))
            throw new ApiError(
              'TP_API_CONFLICT',
              `to: store ${target} has no stack applied, so there is nothing to restore into`,
            );
          const safety = await tx.backups.create({
            storeId: target,
            environment,
            reason: 'pre-restore',
            verify: false,
          });
          return queued(tx, {
            kind: 'backup.restore',
            payload: {
              backupId: backup.id,
              store: params.store,
              target,
              environment,
              safetyBackupId: safety.id,
            },
            backup,
            store: params.store,
            action: 'backup.restore',
            after: { target, environment, safetyBackup: safety.id },
          });
        }),
    }),
    route({
      method: 'GET',
      url: '/api/stores/:store/operations/:operation',
      summary: 'A backup, verification or restore operation of the store: queued, running or how it ended',
      access: { store: 'viewer' },
      params: OperationParams,
      response: OperationDto,
      handle: async ({ params }) => {
        const job = await state.jobs.get(params.operation);
        const store = (job?.payload as { store?: string } | null)?.store;
        if (!job || store !== params.store || !job.kind.startsWith('backup.'))
          throw notFound(
            `operation ${JSON.stringify(params.operation)} of store ${JSON.stringify(params.store)}`,
            {
              store: params.store,
              operation: params.operation,
            },
          );
        return { id: job.id, kind: job.kind, status: job.status, error: job.error, result: job.result };
      },
    }),
  ]);
}
