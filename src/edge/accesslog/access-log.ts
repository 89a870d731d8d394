import type { AccessLogRecord } from '../../contracts/snapshot.ts';
import { aborted, deadline } from './abort.ts';
import { AccessLogError, type AccessLogErrorCode, asAccessLogError } from './errors.ts';
import { type AccessLogOptions, type ResolvedAccessLogOptions, resolveAccessLogOptions } from './options.ts';
import { Ring } from './ring.ts';
import { type Segment, type SegmentContent, Spool } from './spool.ts';

/** The last thing that went wrong, with its stable code. */
export interface AccessLogLastError {
  readonly code: AccessLogErrorCode;
  readonly message: string;
  /** ISO time it happened. */
  readonly at: string;
}

/** Counters of one AccessLog since `start()`, exported by the edge as Prometheus metrics. */
export interface AccessLogStats {
  /** Records in memory, waiting for the shipper. */
  readonly buffered: number;
  /** Records the sink accepted. */
  readonly shipped: number;
  /** Records on disk now, including those left by a previous run. */
  readonly spooled: number;
  /** Records written to the spool. */
  readonly spooledTotal: number;
  /** Records lost: buffer and spool full, refused by the intake, unreadable in the spool, or pushed after stop. */
  readonly dropped: number;
  /** Send attempts that failed. */
  readonly sendFailures: number;
  readonly lastError: AccessLogLastError | null;
}

type State = 'new' | 'running' | 'stopping' | 'stopped';

/**
 * The edge's access log: `push` puts a record in a bounded ring and returns, and a shipper loop sends
 * batches to the sink. While the sink fails, batches go to a disk spool and the sink is retried with
 * backoff; once it answers, the spool is replayed oldest first, then the buffer. Records therefore
 * arrive in push order, at least once (a send that times out after the sink stored it is sent again).
 * Lifecycle: new → start() → stop(); an AccessLog is not restarted.
 */
export class AccessLog {
  readonly options: ResolvedAccessLogOptions;
  private readonly buffer: Ring<AccessLogRecord>;
  private readonly spool: Spool;
  /** Aborted when stop()'s time is up, which cuts the send in flight short. */
  private readonly stopDeadline = new AbortController();
  private state: State = 'new';
  private shipped = 0;
  private spooledTotal = 0;
  private dropped = 0;
  private sendFailures = 0;
  private lastError: AccessLogLastError | null = null;
  /** Until then the sink counts as down: the shipper spools instead of sending. */
  private retryAt = 0;
  /** Failed sends in a row, for the backoff. */
  private failuresInRow = 0;
  private nextFlushAt = 0;
  private wake: (() => void) | null = null;
  /** A wake-up came while the loop was busy; its next sleep returns at once. */
  private woken = false;
  private loop: Promise<void> = Promise.resolve();
  private stopped: Promise<void> | null = null;

  constructor(options: AccessLogOptions) {
    this.options = resolveAccessLogOptions(options);
    this.buffer = new Ring(this.options.bufferCapacity);
    this.spool = new Spool(this.options.spoolDir, this.options.maxSpoolBytes);
  }

  /**
   * Queues one record. Synchronous, O(1), never throws: when the buffer is full the record is dropped
   * and counted. The record is kept by reference, so the caller must not change it afterwards.
   */
  push(record: AccessLogRecord): void {
    if (this.state === 'stopped' || !this.buffer.push(record)) {
      this.dropped++;
      return;
    }
    // Only on reaching the threshold, not above it: a stuck shipper is not woken on every request.
    if (this.buffer.length === this.options.batchSize) this.wakeUp();
  }

  /** Opens the spool (segments left by a previous run are replayed first) and starts the shipper. */
  async start(): Promise<void> {
    if (this.state !== 'new')
      throw new AccessLogError('TP_ACCESSLOG_STATE', `cannot start an access log that is ${this.state}`);
    this.state = 'running';
    this.nextFlushAt = Date.now() + this.options.flushIntervalMs;
    const opened = this.spool.open();
    this.loop = opened.then(
      () => this.run(),
      () => undefined,
    );
    try {
      await opened;
    } catch (e) {
      this.state = 'stopped';
      throw e;
    }
  }

  /**
   * Sends what is buffered within `stopTimeoutMs`, spools what could not be sent, counts what did
   * not fit as dropped, then closes the sink. Safe to call more than once.
   */
  stop(): Promise<void> {
    this.stopped ??= this.shutdown();
    return this.stopped;
  }

  /** Current counters. */
  stats(): AccessLogStats {
    return {
      buffered: this.buffer.length,
      shipped: this.shipped,
      spooled: this.spool.records,
      spooledTotal: this.spooledTotal,
      dropped: this.dropped,
      sendFailures: this.sendFailures,
      lastError: this.lastError,
    };
  }

  private async shutdown(): Promise<void> {
    if (this.state === 'running') {
      this.state = 'stopping';
      const timer = setTimeout(
        () =>
          this.stopDeadline.abort(
            new AccessLogError(
              'TP_ACCESSLOG_STOP_DEADLINE',
              `stop: sink still busy after ${this.options.stopTimeoutMs} ms`,
            ),
          ),
        this.options.stopTimeoutMs,
      );
      this.wakeUp();
      await this.loop;
      clearTimeout(timer);
    }
    this.state = 'stopped';
    // Nothing ships records from here on: what is left in memory is lost, and counted.
    this.dropped += this.buffer.length;
    this.buffer.drop(this.buffer.length);
    try {
      await this.options.sink.close?.();
    } catch (e) {
      this.note(e, 'TP_ACCESSLOG_SINK_FAILED');
    }
  }

  private async run(): Promise<void> {
    while (this.state === 'running') {
      await this.cycle(false);
      await this.sleep(this.dueAt() - Date.now());
    }
    await this.cycle(true);
  }

  /** One pass: send when the sink is not in backoff, spool when it is (or just failed). */
  private async cycle(final: boolean): Promise<void> {
    try {
      const now = Date.now();
      const all = final || now >= this.nextFlushAt;
      if (all) this.nextFlushAt = now + this.options.flushIntervalMs;
      if (now >= this.retryAt) await this.ship(all);
      if (Date.now() < this.retryAt) await this.spoolBuffer(all);
    } catch (e) {
      // The loop must outlive its own bugs: a dead shipper would silently fill the buffer.
      this.note(e, 'TP_ACCESSLOG_INTERNAL');
    }
  }

  /** Replays the spool, then sends the buffer; on a retryable failure, arms the backoff. */
  private async ship(all: boolean): Promise<void> {
    try {
      // Spooled records are older than buffered ones, so the buffer waits until the spool is empty.
      // A long replay must not let the buffer fill up meanwhile: its whole batches join the spool's
      // tail, which keeps push order since they are newer than everything spooled.
      for (let seg = this.spool.oldest(); seg; seg = this.spool.oldest()) {
        await this.replay(seg);
        await this.spoolBuffer(false);
      }
      for (let left = this.takeable(all); left > 0; ) {
        const batch = this.buffer.peek(Math.min(left, this.options.batchSize));
        await this.deliver(batch);
        this.buffer.drop(batch.length);
        left -= batch.length;
      }
    } catch (e) {
      this.sendFailures++;
      this.note(e, 'TP_ACCESSLOG_SINK_FAILED');
      const { retryMinMs, retryMaxMs } = this.options;
      const base = Math.min(retryMaxMs, retryMinMs * 2 ** Math.min(this.failuresInRow, 30));
      this.failuresInRow++;
      // Up to 20 % jitter, so that many edges do not hit a control plane that just came back at once.
      this.retryAt = Date.now() + Math.round(base * (1 - 0.2 * Math.random()));
    }
  }

  /** Sends one spooled segment and deletes it; throws like `deliver` when worth retrying. */
  private async replay(seg: Segment): Promise<void> {
    let content: SegmentContent;
    try {
      content = await this.spool.read(seg);
    } catch (e) {
      // An unreadable segment is given up rather than stalling every segment behind it.
      this.note(e, 'TP_ACCESSLOG_SPOOL_IO');
      this.dropped += seg.records;
      await this.removeSegment(seg);
      return;
    }
    if (content.records.length > 0) await this.deliver(content.records);
    if (content.corrupt > 0) {
      this.dropped += content.corrupt;
      this.note(
        new AccessLogError(
          'TP_ACCESSLOG_SPOOL_CORRUPT',
          `${seg.path}: ${content.corrupt} unreadable record(s) dropped`,
        ),
        'TP_ACCESSLOG_SPOOL_CORRUPT',
      );
    }
    await this.removeSegment(seg);
  }

  /**
   * Sends one batch, bounded by `sendTimeoutMs` and the stop deadline. Resolves when the sink took it
   * or refused it for good (then it is dropped and counted); throws when a retry may succeed.
   */
  private async deliver(batch: readonly AccessLogRecord[]): Promise<void> {
    const limit = deadline(this.options.sendTimeoutMs, 'access-log sink', this.stopDeadline.signal);
    try {
      // The async wrapper turns a sink that throws synchronously into a rejection like any other.
      const sent = (async () => this.options.sink.send(batch, limit.signal))();
      await Promise.race([sent, aborted(limit.signal)]);
      this.shipped += batch.length;
      this.failuresInRow = 0;
    } catch (e) {
      const err = asAccessLogError(e, 'TP_ACCESSLOG_SINK_FAILED');
      if (err.retryable) throw err;
      this.sendFailures++;
      this.dropped += batch.length;
      this.note(err, err.code);
    } finally {
      limit.dispose();
    }
  }

  /** Moves buffered records to the spool while it has room; what does not fit stays in the buffer. */
  private async spoolBuffer(all: boolean): Promise<void> {
    for (let left = this.takeable(all); left > 0; ) {
      const batch = this.buffer.peek(Math.min(left, this.options.batchSize));
      let written: number;
      try {
        written = await this.spool.append(batch);
      } catch (e) {
        this.note(e, 'TP_ACCESSLOG_SPOOL_IO');
        return;
      }
      this.buffer.drop(written);
      this.spooledTotal += written;
      left -= written;
      // Spool full: the rest waits in the buffer, and once that is full too, push drops new records.
      if (written < batch.length) return;
    }
  }

  private async removeSegment(seg: Segment): Promise<void> {
    try {
      await this.spool.remove(seg);
    } catch (e) {
      this.note(e, 'TP_ACCESSLOG_SPOOL_IO');
    }
  }

  /** Records this pass may take: all of them at a flush tick, otherwise only whole batches. */
  private takeable(all: boolean): number {
    const n = this.buffer.length;
    return all ? n : n - (n % this.options.batchSize);
  }

  /** When the loop must next look: the flush tick, or the retry if that comes first. */
  private dueAt(): number {
    return this.retryAt > Date.now() ? Math.min(this.nextFlushAt, this.retryAt) : this.nextFlushAt;
  }

  private sleep(ms: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
      // Unref'd: the log must never be the only thing that keeps a process alive.
      const timer = setTimeout(done, Math.max(0, ms)).unref();
      this.wake = done;
    });
  }

  private wakeUp(): void {
    if (this.wake) this.wake();
    else this.woken = true;
  }

  private note(e: unknown, code: AccessLogErrorCode): void {
    const err = asAccessLogError(e, code);
    this.lastError = { code: err.code, message: err.message, at: new Date().toISOString() };
  }
}
