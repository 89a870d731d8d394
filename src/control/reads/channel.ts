import type { ChildProcess, SendHandle } from 'node:child_process';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { Answer, Answerer, RawInput, Route, Written } from '../api/index.ts';
import { routeKey } from '../api/index.ts';
import { Supervised } from '../children.ts';
import { ApiError } from '../errors.ts';
import { ReaderReady, ReadReply, type ReadRequest, ReadWritten } from './wire.ts';

interface Pending {
  resolve(a: Answer | Written): void;
  reject(e: unknown): void;
  timer: NodeJS.Timeout;
}

/** Seconds a client is told to wait when the reader cannot answer now (starting, restarting). */
const RETRY_AFTER_SECONDS = 2;

function unavailable(why: string): ApiError {
  return new ApiError(
    'TP_API_UNAVAILABLE',
    `the analytics reader ${why}; retry in ${RETRY_AFTER_SECONDS} s`,
    {
      retryAfterSeconds: RETRY_AFTER_SECONDS,
    },
  );
}

/**
 * What goes to the reader for a connection: its TCP handle, not the socket. Node sends a socket that
 * a server accepted as one of the server's, and the server's close() then waits for the child that
 * got it; once that child has exited it waits forever (Node 20). A handle goes alone, and the API
 * keeps its own hold on the connection (a socket would be closed here once sent): it lets go once the
 * reader has answered, and can still answer 503 itself if the reader dies first.
 */
function tcpHandle(connection: Socket): SendHandle {
  const handle = (connection as unknown as { _handle?: SendHandle })._handle;
  if (!handle) throw new Error('the connection is closed');
  return handle;
}

/**
 * The control plane's side of the analytics reader: starts it (`readerCommand`, at the idle
 * priority), keeps it running, and sends it the API's analytics reads over the IPC channel, each with
 * the client's connection when there is one (`answerOn`): the reader writes the answer on it, so its
 * bytes never pass through the API process. A read that comes while the reader starts waits for it up
 * to `waitMs`; a reader that exits before it has answered, or does not answer within `timeoutMs`,
 * fails its reads with 503 TP_API_UNAVAILABLE and Retry-After. One that does not answer a read it
 * holds the connection of is restarted, so that it cannot answer after the API has.
 */
export class AnalyticsReader implements Answerer {
  private readonly supervised: Supervised;
  private serving: ChildProcess | null = null;
  private readonly waiting = new Set<() => void>();
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private readonly waitMs: number;
  private readonly timeoutMs: number;

  constructor(
    private readonly o: {
      argv: readonly string[];
      /** `routeKey`s of the routes the reader answers (`analyticsRoutes`). */
      routes: ReadonlySet<string>;
      log: Logger;
      /** How long a read waits for a starting reader. @default 10_000 */
      waitMs?: number;
      /** How long the reader may take over one read. @default 60_000 */
      timeoutMs?: number;
      /**
       * Whether reads go to the reader with the client's connection, for it to answer on. Off, the
       * answers' bytes come back through the API process (bench/analytics-reads.ts compares).
       * @default true
       */
      connections?: boolean;
    },
  ) {
    this.waitMs = o.waitMs ?? 10_000;
    this.timeoutMs = o.timeoutMs ?? 60_000;
    this.supervised = new Supervised({
      name: 'analytics reader',
      argv: o.argv,
      log: o.log,
      serialization: 'advanced',
      onStart: (child) => this.attach(child),
    });
  }

  /** The running reader's pid, if any. */
  get pid(): number | undefined {
    return this.supervised.pid;
  }

  start(): void {
    this.supervised.start();
  }

  async stop(): Promise<void> {
    await this.supervised.stop();
  }

  knows(r: Route): boolean {
    return this.o.routes.has(routeKey(r));
  }

  /** Waits for a starting reader; the API awaits it before the read budget's line (see `Answerer`). */
  async ready(): Promise<void> {
    await this.readyChild();
  }

  async answer(r: Route, input: RawInput): Promise<Answer> {
    const a = await this.ask(r, input, undefined);
    if ('body' in a) return a;
    throw new ApiError('TP_API_INTERNAL', 'the analytics reader answered on a connection it was not given');
  }

  answerOn(r: Route, input: RawInput, connection: Socket): Promise<Answer | Written> {
    return this.ask(r, input, this.o.connections === false ? undefined : connection);
  }

  private async ask(r: Route, input: RawInput, connection: Socket | undefined): Promise<Answer | Written> {
    const child = await this.readyChild();
    const id = this.nextId++;
    return new Promise<Answer | Written>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        if (connection) {
          this.o.log.warn(
            { pid: child.pid, timeoutMs: this.timeoutMs },
            'the analytics reader did not answer a read whose connection it holds; restarting it',
          );
          child.kill('SIGKILL');
        }
        reject(unavailable(`did not answer within ${this.timeoutMs / 1000} s`));
      }, this.timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      const cannot = (e: Error) =>
        this.settle(id, (p) => p.reject(unavailable(`cannot be reached (${e.message})`)));
      const message: ReadRequest = {
        id,
        route: routeKey(r),
        params: { ...(input.params as object) },
        query: { ...(input.query as object) },
      };
      // With a callback a closed channel is reported here, not as an 'error' event nobody awaits.
      const sent = (e: Error | null) => e && cannot(e);
      try {
        if (connection) child.send(message, tcpHandle(connection), {}, sent);
        else child.send(message, sent);
      } catch (e) {
        cannot(e as Error);
      }
    });
  }

  private settle(id: number, how: (p: Pending) => void): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    how(p);
  }

  /** The reader once it has said it is ready, waiting up to `waitMs` for it. */
  private readyChild(): Promise<ChildProcess> {
    if (this.serving) return Promise.resolve(this.serving);
    return new Promise<ChildProcess>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.waiting.delete(done);
        if (this.serving) resolve(this.serving);
        else reject(unavailable(`did not start within ${this.waitMs / 1000} s`));
      };
      const timer = setTimeout(done, this.waitMs);
      this.waiting.add(done);
    });
  }

  private attach(child: ChildProcess): void {
    child.on('message', (m: unknown) => {
      if (ReaderReady.safeParse(m).success) {
        this.serving = child;
        for (const w of [...this.waiting]) w();
        return;
      }
      const w = ReadWritten.safeParse(m);
      if (w.success) {
        const { id, status, bytes, written } = w.data;
        this.settle(id, (p) => p.resolve({ status, bytes, written }));
        return;
      }
      const r = ReadReply.safeParse(m);
      if (r.success) {
        const { id, status, body } = r.data;
        // The bytes came as a plain Uint8Array; a Buffer over the same memory is sent as it is.
        const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
        this.settle(id, (p) => p.resolve({ status, body: bytes }));
        return;
      }
      // Our own child speaking another protocol is a bug: it is stopped and started afresh.
      this.o.log.error(
        { problems: r.error.issues },
        'the analytics reader sent a message it should not; restarting it',
      );
      child.kill('SIGKILL');
    });
    child.once('exit', () => {
      if (this.serving === child) this.serving = null;
      for (const id of [...this.pending.keys()]) this.settle(id, (p) => p.reject(unavailable('exited')));
    });
  }
}
