import { type EdgeSnapshot, parseSnapshot, type SnapshotProblem } from '../../contracts/snapshot.ts';
import { messageOf, SnapshotError, type SnapshotErrorCode } from './errors.ts';
import { deepFreeze } from './freeze.ts';
import { lastKnownGoodPath, readLastKnownGood, writeLastKnownGood } from './last-known-good.ts';
import { readVersion, type SnapshotAck, type SnapshotLog, type SnapshotSource } from './source.ts';

/** What a snapshot manager needs. */
export interface SnapshotManagerOptions {
  /** The edge's data directory; the last-known-good snapshot is `<dataDir>/edge/snapshot.json`. */
  readonly dataDir: string;
  readonly source: SnapshotSource;
  /**
   * Compiles and swaps in a snapshot (the proxy). It receives the snapshot deep-frozen. Throwing
   * rejects the snapshot: the previous one stays in use, so onApply must leave it serving on failure.
   */
  readonly onApply: (snapshot: EdgeSnapshot) => void | Promise<void>;
  readonly log: SnapshotLog;
}

/** Why a snapshot was not taken into use. */
export interface SnapshotRejection {
  readonly code: SnapshotErrorCode;
  /** `null` when the snapshot had no readable version. */
  readonly version: number | null;
  readonly origin: string;
  readonly problems: readonly SnapshotProblem[];
  readonly at: string;
}

/** The snapshot in use and what happened to the ones received. */
export interface SnapshotStats {
  readonly version: number | null;
  /** Where the snapshot in use came from, e.g. "disk:/var/lib/triplane/edge/snapshot.json". */
  readonly origin: string | null;
  readonly appliedAt: string | null;
  /** Seconds since the snapshot in use was applied. */
  readonly age: number | null;
  readonly appliedTotal: number;
  readonly rejectedTotal: number;
  /** Snapshots received whose version was already in use. */
  readonly unchanged: number;
  /** Applied snapshots that could not be saved as last-known-good. */
  readonly persistFailedTotal: number;
  readonly lastRejection: SnapshotRejection | null;
}

/**
 * Decides which snapshot the edge runs: validates each one a source delivers, hands good ones to the
 * proxy, keeps the previous one on any failure, and saves the last good one to disk so a restarted
 * edge serves at once even while the control plane is down. Snapshots are handled one at a time, in
 * the order they arrive.
 */
export class SnapshotManager {
  private readonly path: string;
  private running: EdgeSnapshot | undefined;
  private runningOrigin: string | null = null;
  private appliedAtMs: number | null = null;
  private readonly counts = { applied: 0, rejected: 0, unchanged: 0, persistFailed: 0 };
  private lastRejection: SnapshotRejection | null = null;
  private queue: Promise<void> = Promise.resolve();
  private stopping = false;

  constructor(private readonly o: SnapshotManagerOptions) {
    this.path = lastKnownGoodPath(o.dataDir);
  }

  /** Applies the last-known-good snapshot from disk (when there is a valid one), then starts the source. */
  async start(): Promise<void> {
    this.enqueue(() => this.restore());
    await this.queue;
    if (this.stopping) return;
    this.o.source.start((raw, origin) => {
      // Late deliveries during shutdown are dropped on purpose: the next start polls for them again.
      if (this.stopping) return;
      this.enqueue(() => this.consider(raw, origin, false));
    });
  }

  /** Finishes the snapshot being handled, then stops the source (which drains its own work). */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.queue;
    await this.o.source.stop();
  }

  /** The snapshot in use (deep-frozen), or undefined before the first one. */
  current(): EdgeSnapshot | undefined {
    return this.running;
  }

  /** Resolves once every snapshot received so far has been handled. */
  idle(): Promise<void> {
    return this.queue;
  }

  /** Counters and the last rejection, for metrics, health output and the control plane. */
  stats(): SnapshotStats {
    return {
      version: this.running?.version ?? null,
      origin: this.runningOrigin,
      appliedAt: this.appliedAtMs === null ? null : new Date(this.appliedAtMs).toISOString(),
      age: this.appliedAtMs === null ? null : (Date.now() - this.appliedAtMs) / 1000,
      appliedTotal: this.counts.applied,
      rejectedTotal: this.counts.rejected,
      unchanged: this.counts.unchanged,
      persistFailedTotal: this.counts.persistFailed,
      lastRejection: this.lastRejection,
    };
  }

  private enqueue(work: () => Promise<void>): void {
    this.queue = this.queue.then(work).catch((e: unknown) => {
      // consider() handles its own failures; reaching this is a bug, but it must not stop later snapshots.
      this.o.log.error({ err: messageOf(e) }, 'snapshot handling failed unexpectedly');
    });
  }

  private async restore(): Promise<void> {
    const origin = `disk:${this.path}`;
    let saved: { raw: unknown } | undefined;
    try {
      saved = await readLastKnownGood(this.path);
    } catch (e) {
      const code = e instanceof SnapshotError ? e.code : 'TP_EDGE_SNAPSHOT_FILE_UNREADABLE';
      this.reject(code, null, origin, [{ path: '', message: messageOf(e) }], true);
      return;
    }
    if (!saved) {
      this.o.log.info({ path: this.path }, 'no last-known-good snapshot; waiting for the source');
      return;
    }
    await this.consider(saved.raw, origin, true);
  }

  /** Judges one snapshot; `restored` marks the disk copy, which is neither saved again nor acked. */
  private async consider(raw: unknown, origin: string, restored: boolean): Promise<void> {
    const parsed = parseSnapshot(raw);
    if (!parsed.ok)
      return this.reject('TP_EDGE_SNAPSHOT_INVALID', readVersion(raw), origin, parsed.problems, restored);
    const next = parsed.snapshot;
    const current = this.running?.version;
    if (next.version === current) {
      // The edge already runs it (typically the first poll after a restart from disk): no swap.
      this.counts.unchanged++;
      this.o.log.debug({ version: next.version, origin }, 'snapshot unchanged');
      this.ack(restored, { version: next.version, accepted: true });
      return;
    }
    if (current !== undefined && next.version < current) {
      const message = `version ${next.version} is older than the running version ${current}`;
      return this.reject(
        'TP_EDGE_SNAPSHOT_STALE',
        next.version,
        origin,
        [{ path: 'version', message }],
        restored,
      );
    }
    deepFreeze(next);
    try {
      await this.o.onApply(next);
    } catch (e) {
      const message = e instanceof Error && 'code' in e ? `${String(e.code)}: ${e.message}` : messageOf(e);
      return this.reject(
        'TP_EDGE_SNAPSHOT_APPLY_FAILED',
        next.version,
        origin,
        [{ path: '', message }],
        restored,
      );
    }
    this.running = next;
    this.runningOrigin = origin;
    this.appliedAtMs = Date.now();
    this.counts.applied++;
    this.o.log.info({ version: next.version, previous: current ?? null, origin }, 'snapshot applied');
    if (!restored) await this.persist(next);
    this.ack(restored, { version: next.version, accepted: true });
  }

  private reject(
    code: SnapshotErrorCode,
    version: number | null,
    origin: string,
    problems: readonly SnapshotProblem[],
    restored: boolean,
  ): void {
    this.counts.rejected++;
    this.lastRejection = deepFreeze({ code, version, origin, problems, at: new Date().toISOString() });
    this.o.log.warn(
      { code, version, origin, problems, running: this.running?.version ?? null },
      'snapshot rejected; keeping the current one',
    );
    this.ack(restored, { version, accepted: false, problems });
  }

  private ack(restored: boolean, ack: SnapshotAck): void {
    if (!restored) this.o.source.ack?.(ack);
  }

  private async persist(s: EdgeSnapshot): Promise<void> {
    try {
      await writeLastKnownGood(this.path, s);
    } catch (e) {
      // The edge keeps serving the new snapshot; only a restart before the next good save would lose it.
      this.counts.persistFailed++;
      this.o.log.error({ path: this.path, err: messageOf(e) }, 'cannot save the last-known-good snapshot');
    }
  }
}
