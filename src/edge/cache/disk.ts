import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Suffix of the body files the cache owns in its directory. */
const SUFFIX = '.tpcache';

/**
 * Body files of entries evicted from memory, one per entry. Every operation is asynchronous and
 * failures are counted, never thrown to a request: a body that cannot be written or read is a miss.
 */
export class DiskFiles {
  errors = 0;
  /** Bytes of bodies handed to `write` whose write has not finished. */
  pendingBytes = 0;
  /** Names this process's files so a directory reused after a crash holds no name twice. */
  private readonly prefix = `${process.pid}-${randomBytes(4).toString('hex')}-`;
  private seq = 0;
  private ready: Promise<unknown> | undefined = undefined;
  private readonly pending = new Set<Promise<unknown>>();

  constructor(readonly dir: string) {}

  /** Creates the directory and removes body files a previous process left: their metadata died with it. */
  async start(): Promise<void> {
    await this.directory();
    const names = await readdir(this.dir);
    await Promise.all(
      names.filter((n) => n.endsWith(SUFFIX) && !n.startsWith(this.prefix)).map((n) => this.unlink(n)),
    );
  }

  /** Waits for writes and deletes in flight, then deletes this process's files. */
  async stop(): Promise<void> {
    await this.idle();
    const names = await readdir(this.dir).catch(() => [] as string[]);
    await Promise.all(names.filter((n) => n.startsWith(this.prefix)).map((n) => this.unlink(n)));
  }

  /** Resolves when every write and delete started so far has finished. */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all(this.pending);
  }

  /** A file name no other entry of this process uses. */
  newName(): string {
    return `${this.prefix}${++this.seq}${SUFFIX}`;
  }

  /** Writes a body; resolves `false` (and counts the error) when it could not be written. */
  write(name: string, body: Buffer): Promise<boolean> {
    this.pendingBytes += body.length;
    return this.track(
      this.directory()
        .then(() => writeFile(join(this.dir, name), body))
        .then(
          () => true,
          () => {
            this.errors++;
            return false;
          },
        )
        .finally(() => {
          this.pendingBytes -= body.length;
        }),
    );
  }

  /** Reads a body back; `undefined` (error counted) when it is missing, unreadable or not `length` long. */
  async read(name: string, length: number): Promise<Buffer | undefined> {
    const body = await readFile(join(this.dir, name)).catch(() => undefined);
    if (body !== undefined && body.length === length) return body;
    this.errors++;
    return undefined;
  }

  /** Deletes a file in the background. */
  remove(name: string): void {
    void this.track(this.unlink(name));
  }

  private unlink(name: string): Promise<void> {
    // A file that is already gone is what a delete wants.
    return unlink(join(this.dir, name)).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') this.errors++;
    });
  }

  /** The directory exists; a failure is retried on the next write, in case it was transient. */
  private directory(): Promise<unknown> {
    this.ready ??= mkdir(this.dir, { recursive: true }).catch((e: unknown) => {
      this.ready = undefined;
      throw e;
    });
    return this.ready;
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.pending.add(p);
    const done = () => this.pending.delete(p);
    p.then(done, done);
    return p;
  }
}
