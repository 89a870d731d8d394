/** What the supervisor remembers about one container between passes. */
export interface Memory {
  /** Failed health checks in a row. */
  readonly failures: number;
  /** When the container was first seen not running (ms), if it is not running now. */
  readonly downSince?: number;
  /** Earliest time (ms) the next restart may happen. */
  readonly nextAllowedAt: number;
  /** Current backoff between restarts (ms); doubles after each restart, reset by a healthy minute. */
  readonly backoffMs: number;
  readonly healthySince?: number;
}

/** Knobs of the supervisor. */
export interface DecideConfig {
  /** Failed checks in a row before a restart. @default 3 */
  readonly failureThreshold: number;
  /** How long a stopped container is left to Podman's restart policy before the supervisor starts it. */
  readonly downGraceMs: number;
  readonly minBackoffMs: number;
  readonly maxBackoffMs: number;
  /** Healthy this long resets the backoff. */
  readonly stableMs: number;
}

/** Defaults that bring a store back within seconds without hammering a container that keeps failing. */
export const DEFAULT_DECIDE: DecideConfig = {
  failureThreshold: 3,
  downGraceMs: 8_000,
  minBackoffMs: 2_000,
  maxBackoffMs: 120_000,
  stableMs: 60_000,
};

/** The supervisor's verdict for one container in one pass. */
export type Verdict = 'ok' | 'wait' | 'restart' | 'start';

/** Initial memory of a container the supervisor has not seen before. */
export const FRESH: Memory = { failures: 0, nextAllowedAt: 0, backoffMs: 0 };

/**
 * Decides what to do with a container from its state and the latest health check. Pure so the
 * restart policy (threshold, grace, exponential backoff) is tested without containers.
 */
export function decide(
  state: string,
  health: 'healthy' | 'unhealthy' | 'none',
  mem: Memory,
  now: number,
  cfg: DecideConfig = DEFAULT_DECIDE,
): { verdict: Verdict; mem: Memory } {
  const backoffAfter = (m: Memory) => Math.min(cfg.maxBackoffMs, Math.max(cfg.minBackoffMs, m.backoffMs * 2));
  if (state !== 'running') {
    const downSince = mem.downSince ?? now;
    if (now - downSince < cfg.downGraceMs || now < mem.nextAllowedAt) {
      return { verdict: 'wait', mem: { ...mem, downSince, healthySince: undefined } };
    }
    const backoffMs = backoffAfter(mem);
    return { verdict: 'start', mem: { failures: 0, nextAllowedAt: now + backoffMs, backoffMs, downSince } };
  }
  if (health === 'unhealthy') {
    const failures = mem.failures + 1;
    if (failures < cfg.failureThreshold || now < mem.nextAllowedAt) {
      return { verdict: 'wait', mem: { ...mem, failures, downSince: undefined, healthySince: undefined } };
    }
    const backoffMs = backoffAfter(mem);
    return { verdict: 'restart', mem: { failures: 0, nextAllowedAt: now + backoffMs, backoffMs } };
  }
  const healthySince = mem.healthySince ?? now;
  const stable = now - healthySince >= cfg.stableMs;
  return {
    verdict: 'ok',
    mem: {
      failures: 0,
      nextAllowedAt: mem.nextAllowedAt,
      backoffMs: stable ? 0 : mem.backoffMs,
      healthySince,
    },
  };
}
