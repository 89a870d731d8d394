import { join } from 'node:path';
import type { Logger } from 'pino';
import type { AgentTask, TaskStore } from '../../contracts/fleet.ts';
import { BackupEngine, type StoreTarget } from '../backup/engine.ts';
import type { Executor } from '../executor.ts';
import type { StoreUser } from '../podman/types.ts';
import { names } from '../stack/desired.ts';

/** What a node task needs from the agent. */
export interface TaskDeps {
  readonly dataDir: string;
  readonly executor: Executor;
  readonly log: Logger;
  readonly userOf: (store: string) => Promise<StoreUser>;
}

/** Where a node keeps its stores' backup repositories. */
export const backupRoot = (dataDir: string) => join(dataDir, 'backups');

async function target(deps: TaskDeps, t: TaskStore): Promise<StoreTarget> {
  const n = names(t.store);
  return {
    user: await deps.userOf(t.store),
    databaseContainer: n.service('database'),
    databaseName: t.databaseName,
    databaseImage: t.databaseImage,
    mediaVolume: n.media,
  };
}

/** Runs one node task and returns its result (what the control plane records). */
export async function runTask(task: AgentTask, deps: TaskDeps): Promise<unknown> {
  const log = deps.log.child({ task: task.id, op: task.op });
  const engine = new BackupEngine({
    executor: deps.executor,
    root: backupRoot(deps.dataDir),
    password: task.repositoryKey,
    onProgress: (step) => log.info({ step }, 'task progress'),
  });
  switch (task.op) {
    case 'backup.create':
      return engine.create(await target(deps, task.target), {
        environment: task.environment,
        stackVersion: task.stackVersion,
        spec: task.spec,
      });
    case 'backup.verify': {
      const t = await target(deps, task.target);
      return engine.verify(task.target.store, task.snapshotId, { user: t.user, image: t.databaseImage });
    }
    case 'backup.restore': {
      const manifest = await engine.restore(task.from, task.snapshotId, await target(deps, task.target));
      return { snapshotId: task.snapshotId, takenAt: manifest.takenAt, stackVersion: manifest.stackVersion };
    }
    case 'backup.prune':
      return engine.prune(task.target.store, new Date(task.now), task.retentionDays);
  }
}
