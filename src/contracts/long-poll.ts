/** How long a long-poll client waits between failed attempts. */
export interface BackoffOptions {
  /** First delay. @default 500 */
  readonly initialMs?: number;
  /** Longest delay. @default 10_000 */
  readonly maxMs?: number;
}

/**
 * The retry rule both long-poll protocols share (edge snapshots, docs/edge-snapshot-protocol.md, and
 * agents' desired state, src/contracts/fleet.ts): the delay before retry number `attempt` (0 = first
 * retry) doubles from `initialMs` up to `maxMs`, less up to 20 % jitter so that many edges and agents
 * do not hit a restarted control plane in the same instant.
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
