import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { MANAGEMENT_NICENESS } from '../../contracts/priority.ts';
import { childCommand, leaveParent, untilStopped } from '../children.ts';
import { openState } from '../state/index.ts';
import { BACKUP_SCHEDULE, backupHandlers, keyFileIn } from './backups/index.ts';
import { BUILTIN_SCHEDULE, builtinHandlers } from './builtin.ts';
import { JobRunner } from './runner.ts';
import { Scheduler } from './schedule.ts';

/**
 * Niceness of the jobs process: the lowest, below anything that serves requests. `nice` adds to the
 * niceness it starts from, so under a control plane already at 19 this keeps the jobs at 19.
 */
export const JOBS_NICENESS = MANAGEMENT_NICENESS;

/** The command line that starts the jobs process away from the serving path (see `childCommand`). */
export function jobsCommand(o: Parameters<typeof childCommand>[1]): string[] {
  return childCommand('jobs', o);
}

/** Runs the job runner and the scheduler until SIGTERM/SIGINT; what `triplane jobs` does. */
export async function runJobsProcess(o: {
  dataDir: string;
  databaseUrl?: string;
  log: Logger;
}): Promise<void> {
  const state = await openState({ dataDir: o.dataDir, databaseUrl: o.databaseUrl });
  const runner = new JobRunner({
    state,
    workerId: `${hostname()}:${process.pid}`,
    handlers: { ...builtinHandlers(state), ...backupHandlers({ state, keyFile: keyFileIn(o.dataDir) }) },
    log: o.log,
  });
  const scheduler = new Scheduler({ state, jobs: [...BUILTIN_SCHEDULE, ...BACKUP_SCHEDULE], log: o.log });
  runner.start();
  scheduler.start();
  o.log.info({ pid: process.pid }, 'jobs process started');
  await untilStopped();
  scheduler.stop();
  await runner.stop();
  await state.close();
  leaveParent();
  o.log.info('jobs process stopped');
}
