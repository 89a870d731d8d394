import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { LOWEST_PRIORITY, MANAGEMENT_NICENESS } from '../../contracts/priority.ts';
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

/**
 * The command line that starts the jobs process away from the serving path, as management work
 * (`LOWEST_PRIORITY`: lowest niceness, idle-class disk I/O, idle scheduling policy), so a backup or a
 * log rollup only takes what the storefront leaves. `node` is the Node.js binary with its loader
 * flags, `entry` the CLI script.
 */
export function jobsCommand(o: {
  node: readonly string[];
  entry: string;
  dataDir: string;
  databaseUrl?: string;
}): string[] {
  return [
    ...LOWEST_PRIORITY,
    ...o.node,
    o.entry,
    'jobs',
    '--data-dir',
    o.dataDir,
    ...(o.databaseUrl ? ['--database-url', o.databaseUrl] : []),
  ];
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
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    // Started by a control plane: its end of the IPC channel closes when it exits, however it exits.
    // The channel is only a tripwire: unreferenced, it does not keep this process alive by itself.
    if (process.connected) {
      process.once('disconnect', stop);
      process.channel?.unref();
    }
  });
  scheduler.stop();
  await runner.stop();
  await state.close();
  if (process.connected) process.disconnect();
  o.log.info('jobs process stopped');
}
