import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { AccessLogRecord } from '../../contracts/snapshot.ts';
import { AccessLogError, messageOf } from './errors.ts';

/** One spooled batch on disk. */
export interface Segment {
  readonly seq: number;
  readonly records: number;
  readonly bytes: number;
  readonly path: string;
}

/** A segment read back: the records that parsed, and how many lines did not. */
export interface SegmentContent {
  readonly records: AccessLogRecord[];
  readonly corrupt: number;
}

// The record count is part of the name so that `open` learns how many records wait without reading
// every segment; the zero-padded sequence makes a plain `ls` show them oldest first.
const SEGMENT = /^spool-(\d{12})-(\d+)\.ndjson$/;
const segmentName = (seq: number, records: number) =>
  `spool-${String(seq).padStart(12, '0')}-${records}.ndjson`;

const ioError = (what: string, e: unknown) =>
  new AccessLogError('TP_ACCESSLOG_SPOOL_IO', `${what}: ${messageOf(e)}`, {}, { cause: e });

/**
 * A directory of NDJSON segment files, one per batch the sink could not take, bounded by `maxBytes`.
 * A segment is written to a temp file, flushed and renamed, so a crash mid-write leaves at most a
 * `.tmp` file (removed by `open`) and never a torn segment. One AccessLog per directory.
 */
export class Spool {
  readonly dir: string;
  readonly maxBytes: number;
  private segments: Segment[] = [];
  private nextSeq = 1;
  private totalBytes = 0;
  private totalRecords = 0;

  constructor(dir: string, maxBytes: number) {
    this.dir = dir;
    this.maxBytes = maxBytes;
  }

  /** Records waiting on disk. */
  get records(): number {
    return this.totalRecords;
  }

  /** Bytes of the segments on disk. */
  get bytes(): number {
    return this.totalBytes;
  }

  /** Creates the directory, drops temp files of an interrupted write and lists the segments left by a previous run. */
  async open(): Promise<void> {
    try {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      const found: Segment[] = [];
      for (const name of await readdir(this.dir)) {
        const path = join(this.dir, name);
        if (name.startsWith('spool-') && name.endsWith('.tmp')) await rm(path, { force: true });
        const m = SEGMENT.exec(name);
        if (m) found.push({ seq: Number(m[1]), records: Number(m[2]), bytes: (await stat(path)).size, path });
      }
      this.segments = found.sort((a, b) => a.seq - b.seq);
      this.nextSeq = (this.segments.at(-1)?.seq ?? 0) + 1;
      this.totalBytes = found.reduce((n, s) => n + s.bytes, 0);
      this.totalRecords = found.reduce((n, s) => n + s.records, 0);
    } catch (e) {
      throw ioError(`cannot open spool ${this.dir}`, e);
    }
  }

  /**
   * Writes the longest prefix of `batch` that fits under `maxBytes` as one segment and returns how
   * many records that is (0 when the spool is full). The prefix, not a sample, keeps the order: the
   * records left out stay in the buffer behind it.
   */
  async append(batch: readonly AccessLogRecord[]): Promise<number> {
    const room = this.maxBytes - this.totalBytes;
    let text = '';
    let bytes = 0;
    let n = 0;
    for (const r of batch) {
      const line = `${JSON.stringify(r)}\n`;
      const size = Buffer.byteLength(line);
      if (bytes + size > room) break;
      text += line;
      bytes += size;
      n++;
    }
    if (n === 0) return 0;
    const seq = this.nextSeq++;
    const path = join(this.dir, segmentName(seq, n));
    const tmp = `${path}.tmp`;
    try {
      const fh = await open(tmp, 'w', 0o600);
      try {
        await fh.writeFile(text);
        // Flushed before the rename so that after a power cut the name never points at missing data.
        await fh.datasync();
      } finally {
        await fh.close();
      }
      await rename(tmp, path);
    } catch (e) {
      await rm(tmp, { force: true }).catch(() => {});
      throw ioError(`cannot write spool segment ${path}`, e);
    }
    this.segments.push({ seq, records: n, bytes, path });
    this.totalBytes += bytes;
    this.totalRecords += n;
    return n;
  }

  /** The oldest segment, or undefined when the spool is empty. */
  oldest(): Segment | undefined {
    return this.segments[0];
  }

  /** The records of a segment, oldest first; lines that are not JSON are counted, not returned. */
  async read(seg: Segment): Promise<SegmentContent> {
    let text: string;
    try {
      text = await readFile(seg.path, 'utf8');
    } catch (e) {
      throw ioError(`cannot read spool segment ${seg.path}`, e);
    }
    const records: AccessLogRecord[] = [];
    let corrupt = 0;
    for (const line of text.split('\n')) {
      if (line === '') continue;
      try {
        records.push(JSON.parse(line) as AccessLogRecord);
      } catch {
        corrupt++;
      }
    }
    // A segment edited by hand may hold fewer lines than its name says; those are lost too.
    return { records, corrupt: Math.max(corrupt, seg.records - records.length) };
  }

  /**
   * Deletes the segment's file and forgets it. It is forgotten even when the delete fails, so one bad
   * file cannot stall the replay; the file is then replayed again on the next start (at least once).
   */
  async remove(seg: Segment): Promise<void> {
    try {
      await rm(seg.path, { force: true });
    } catch (e) {
      throw ioError(`cannot delete spool segment ${seg.path}`, e);
    } finally {
      // After the delete, so that `records` never counts a file as gone while it is still on disk.
      const i = this.segments.indexOf(seg);
      if (i >= 0) {
        this.segments.splice(i, 1);
        this.totalBytes -= seg.bytes;
        this.totalRecords -= seg.records;
      }
    }
  }
}
