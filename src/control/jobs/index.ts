export { ACCESS_LOG_RETENTION, BUILTIN_SCHEDULE, builtinHandlers } from './builtin.ts';
export { JOBS_NICENESS, jobsCommand, runJobsProcess } from './process.ts';
export {
  type JobContext,
  type JobHandler,
  JobRunner,
  type JobRunnerOptions,
  JobTimeoutError,
} from './runner.ts';
export { type ScheduledJob, Scheduler } from './schedule.ts';
