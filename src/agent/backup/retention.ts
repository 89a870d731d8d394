/** A snapshot as restic lists it. */
export interface SnapshotInfo {
  readonly id: string;
  readonly time: Date;
  readonly paths: readonly string[];
  readonly tags: readonly string[];
}

const DAY_MS = 24 * 3600_000;

/**
 * The snapshots older than the retention at `now`: exactly those taken before `now - days`.
 * A snapshot taken in the future (a clock set back) is kept.
 */
export function expiredSnapshots<T extends { readonly time: Date }>(
  snapshots: readonly T[],
  now: Date,
  retentionDays: number,
): T[] {
  const cutoff = now.getTime() - retentionDays * DAY_MS;
  return snapshots.filter((s) => s.time.getTime() < cutoff);
}
