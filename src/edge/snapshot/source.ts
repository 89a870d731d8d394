import type { SnapshotProblem } from '../../contracts/snapshot.ts';

/** Called with each snapshot a source receives, unparsed; `origin` says where it came from (for logs). */
export type OnSnapshot = (raw: unknown, origin: string) => void;

/** The verdict on one received snapshot, reported back to the source that delivered it. */
export interface SnapshotAck {
  /** `null` when the snapshot carried no readable version. */
  readonly version: number | null;
  /** True when the edge runs this version (just applied, or already running). */
  readonly accepted: boolean;
  readonly problems?: readonly SnapshotProblem[];
}

/**
 * Where the edge gets snapshots from. A source delivers what it receives and never judges it: the
 * manager validates. `start` must not throw for an unreachable origin; it keeps trying instead.
 */
export interface SnapshotSource {
  /** Begins delivering snapshots to `onSnapshot`. */
  start(onSnapshot: OnSnapshot): void;
  /** Stops delivering and resolves once in-flight work (reads, polls, acks) has finished. */
  stop(): Promise<void>;
  /** Reports the verdict on a delivered snapshot, for sources with someone to tell; never throws. */
  ack?(ack: SnapshotAck): void;
}

/** The logging the snapshot code needs; a pino `Logger` fits. */
export interface SnapshotLog {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** A log that drops everything, for sources whose owner passes none (their `stats()` still count). */
export const silentLog: SnapshotLog = { debug() {}, info() {}, warn() {}, error() {} };

/** The version of an unparsed snapshot when it has a usable one, so even a rejection can name it. */
export function readVersion(raw: unknown): number | null {
  const v = raw !== null && typeof raw === 'object' ? (raw as { version?: unknown }).version : undefined;
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 1 ? v : null;
}
