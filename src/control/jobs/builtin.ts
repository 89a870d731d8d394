import type { State } from '../state/index.ts';
import type { JobHandler } from './runner.ts';
import type { ScheduledJob } from './schedule.ts';

/** Access-log retention: newest million records, at most seven days. */
export const ACCESS_LOG_RETENTION = { maxRows: 1_000_000, maxAgeMs: 7 * 24 * 3600_000 } as const;

/** The jobs the control plane always has; backups, analytics and autoscaling add theirs. */
export function builtinHandlers(state: State): Record<string, JobHandler> {
  return {
    'access-log.prune': async ({ payload }) => {
      const p = (payload ?? {}) as { maxRows?: number; maxAgeMs?: number };
      const removed = await state.accessLogs.prune({
        maxRows: p.maxRows ?? ACCESS_LOG_RETENTION.maxRows,
        maxAgeMs: p.maxAgeMs ?? ACCESS_LOG_RETENTION.maxAgeMs,
      });
      return { removed };
    },
  };
}

/** When the built-in jobs run. */
export const BUILTIN_SCHEDULE: readonly ScheduledJob[] = [
  { kind: 'access-log.prune', everyMs: 3600_000, timeoutMs: 300_000 },
];
