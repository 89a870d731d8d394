/** How long to wait between failed attempts. */
export interface BackoffOptions {
  /** First delay. @default 500 */
  readonly initialMs?: number;
  /** Longest delay. @default 10_000 */
  readonly maxMs?: number;
}

/**
 * Delay before retry number `attempt` (0 = first retry): doubling from `initialMs` up to `maxMs`, less
 * up to 20 % jitter so that many agents do not hit a restarted control plane in the same instant.
 * (The edge has the same rule; planes do not import each other, so each keeps its copy.)
 */
export function backoffDelay(
  attempt: number,
  o: BackoffOptions = {},
  random: () => number = Math.random,
): number {
  const initial = o.initialMs ?? 500;
  const max = o.maxMs ?? 10_000;
  // Capping the exponent keeps 2 ** attempt finite however long the control plane stays away.
  const base = Math.min(max, initial * 2 ** Math.min(attempt, 30));
  return Math.round(base * (1 - 0.2 * random()));
}
