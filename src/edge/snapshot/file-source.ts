import { type FSWatcher, watch } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { messageOf, SnapshotError } from './errors.ts';
import { type OnSnapshot, type SnapshotLog, type SnapshotSource, silentLog } from './source.ts';

/** How a file source notices changes. */
export interface FileSourceOptions {
  /** Quiet time after the last change event before reading, so a file written in steps is read once. @default 100 */
  readonly debounceMs?: number;
  /** How often the file is stat'ed whatever the watcher says. @default 2_000 */
  readonly pollIntervalMs?: number;
  /** @default no logging (`stats()` still counts) */
  readonly log?: SnapshotLog;
}

/** What a file source has done so far. */
export interface FileSourceStats {
  readonly delivered: number;
  readonly readErrors: number;
  readonly lastError: { readonly code: string; readonly message: string; readonly at: string } | null;
}

/**
 * Delivers the snapshot in a JSON or YAML file (by extension: .yaml/.yml, otherwise JSON) at start and
 * after every change. It watches the directory rather than the file because editors and deploy tools
 * replace a file by renaming a new one over it, which ends a watch on the old inode; and it also
 * stat()s the file periodically because fs.watch can miss events (network file systems, a directory
 * that does not exist yet, an overflowing inotify queue).
 */
export class FileSource implements SnapshotSource {
  private onSnapshot: OnSnapshot | undefined;
  private watcher: FSWatcher | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private poll: NodeJS.Timeout | undefined;
  private checks: Promise<void> = Promise.resolve();
  /** Identity of the file version last read, so an unchanged file is not read again on every tick. */
  private seen = '';
  private missingReported = false;
  private stopped = true;
  private readonly counts = { delivered: 0, readErrors: 0 };
  private lastError: FileSourceStats['lastError'] = null;
  private readonly log: SnapshotLog;

  constructor(
    readonly path: string,
    private readonly o: FileSourceOptions = {},
  ) {
    this.log = o.log ?? silentLog;
  }

  /** Reads the file now, then watches it. */
  start(onSnapshot: OnSnapshot): void {
    this.onSnapshot = onSnapshot;
    this.stopped = false;
    this.ensureWatch();
    this.poll = setInterval(() => {
      // The directory may have appeared since the last attempt; watching beats polling when possible.
      this.ensureWatch();
      this.check();
    }, this.o.pollIntervalMs ?? 2_000);
    this.check();
  }

  /** Stops watching and waits for a read in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.debounce);
    clearInterval(this.poll);
    this.watcher?.close();
    this.watcher = undefined;
    await this.checks;
  }

  /** Counters for metrics and health output. */
  stats(): FileSourceStats {
    return { ...this.counts, lastError: this.lastError };
  }

  private ensureWatch(): void {
    if (this.watcher || this.stopped) return;
    const name = basename(this.path);
    try {
      this.watcher = watch(dirname(this.path), (_event, file) => {
        // Some platforms do not say which file changed; then it may have been ours.
        if (file === null || file === name) this.schedule();
      });
    } catch (e) {
      this.log.debug({ path: this.path, err: messageOf(e) }, 'cannot watch snapshot directory; polling only');
      return;
    }
    this.watcher.on('error', (e) => {
      this.log.warn({ path: this.path, err: messageOf(e) }, 'snapshot directory watch failed; polling only');
      this.watcher?.close();
      this.watcher = undefined;
    });
  }

  private schedule(): void {
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => this.check(), this.o.debounceMs ?? 100);
  }

  /** Queues a check; checks run one at a time so deliveries keep the order of the file's versions. */
  private check(): void {
    if (this.stopped) return;
    this.checks = this.checks.then(() => this.readIfChanged());
  }

  private async readIfChanged(): Promise<void> {
    let identity: string;
    try {
      const st = await stat(this.path, { bigint: true });
      identity = `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        if (!this.missingReported) this.log.warn({ path: this.path }, 'snapshot file does not exist (yet)');
        this.missingReported = true;
        this.seen = '';
        return;
      }
      return this.fail(e);
    }
    if (identity === this.seen || this.stopped) return;
    this.missingReported = false;
    // Remembered before parsing: a broken file is reported once, not on every poll tick until it changes.
    this.seen = identity;
    let raw: unknown;
    try {
      raw = parseSnapshotText(this.path, await readFile(this.path, 'utf8'));
    } catch (e) {
      return this.fail(e);
    }
    if (this.stopped) return;
    this.counts.delivered++;
    this.onSnapshot?.(raw, `file:${this.path}`);
  }

  private fail(e: unknown): void {
    const err =
      e instanceof SnapshotError
        ? e
        : new SnapshotError('TP_EDGE_SNAPSHOT_FILE_UNREADABLE', `cannot read ${this.path}: ${messageOf(e)}`);
    this.counts.readErrors++;
    this.lastError = { code: err.code, message: err.message, at: new Date().toISOString() };
    this.log.warn(
      { code: err.code, path: this.path, err: err.message },
      'snapshot file unreadable; keeping the current snapshot',
    );
  }
}

/**
 * Parses a snapshot file's text. An empty file is an error rather than an empty snapshot: it is what
 * an editor leaves for a moment while it rewrites a file in place.
 */
export function parseSnapshotText(path: string, text: string): unknown {
  if (text.trim() === '') throw new SnapshotError('TP_EDGE_SNAPSHOT_FILE_UNREADABLE', `${path} is empty`);
  const yaml = ['.yaml', '.yml'].includes(extname(path).toLowerCase());
  try {
    return yaml ? parseYaml(text) : JSON.parse(text);
  } catch (e) {
    throw new SnapshotError(
      'TP_EDGE_SNAPSHOT_FILE_UNREADABLE',
      `${path} is not ${yaml ? 'YAML' : 'JSON'}: ${messageOf(e)}`,
    );
  }
}
