import type { SnapshotProblem } from '../../contracts/snapshot.ts';

/** Stable codes of everything that can go wrong between a snapshot source and the running snapshot. */
export type SnapshotErrorCode =
  /** The snapshot fails the schema or the consistency check. */
  | 'TP_EDGE_SNAPSHOT_INVALID'
  /** The snapshot is older than the one running. */
  | 'TP_EDGE_SNAPSHOT_STALE'
  /** The proxy could not compile or swap in the snapshot (`onApply` threw). */
  | 'TP_EDGE_SNAPSHOT_APPLY_FAILED'
  /** The last-known-good copy could not be written. */
  | 'TP_EDGE_SNAPSHOT_PERSIST_FAILED'
  /** A snapshot file could not be read or is not JSON/YAML. */
  | 'TP_EDGE_SNAPSHOT_FILE_UNREADABLE'
  /** The control plane answered with a status the protocol does not allow. */
  | 'TP_EDGE_SNAPSHOT_CONTROL_STATUS'
  /** The control plane answered 200 with a body that is not JSON. */
  | 'TP_EDGE_SNAPSHOT_CONTROL_BODY';

/** A coded snapshot error; `problems` lists every bad value at once when there are several. */
export class SnapshotError extends Error {
  readonly code: SnapshotErrorCode;
  readonly problems: readonly SnapshotProblem[];
  constructor(code: SnapshotErrorCode, message: string, problems: readonly SnapshotProblem[] = []) {
    super(message);
    this.name = 'SnapshotError';
    this.code = code;
    this.problems = problems;
  }
}

/** The message of anything thrown, for logs and problem lists. */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
