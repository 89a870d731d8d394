import { STATUS_CODES } from 'node:http';
import { Socket, type SocketConstructorOpts } from 'node:net';
import type { Logger } from 'pino';
import { answerHere, codedAnswer, type Route } from '../api/index.ts';
import { childCommand, leaveParent, untilStopped } from '../children.ts';
import { ApiError, problemsOf } from '../errors.ts';
import { openState } from '../state/index.ts';
import { analyticsRoutes } from './table.ts';
import { type ReadReply, ReadRequest, type ReadWritten } from './wire.ts';

/**
 * Why the analytics reader stops: TP_READER_PROTOCOL, a message without a request id, which cannot be
 * answered; TP_READER_NO_CHANNEL, started without the control plane's IPC channel to take reads from.
 */
export class ReaderError extends Error {
  constructor(
    readonly code: 'TP_READER_PROTOCOL' | 'TP_READER_NO_CHANNEL',
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'ReaderError';
  }
}

// Encoded here, at the idle priority, so the control plane only passes the bytes on.
function reply(id: number, status: number, body: string): ReadReply {
  return { id, status, body: Buffer.from(body) };
}

/**
 * Answers the control plane's requests from `routes`: a request for a route it does not know, or one
 * that does not parse, is answered 500 TP_API_INTERNAL naming what was wrong; a coded error the
 * route raises is answered with its status and body, as the API itself would; any other failure is
 * logged here and answered 500.
 */
export function readHandler(
  routes: ReadonlyMap<string, Route>,
  log: Logger,
): (message: unknown) => Promise<ReadReply> {
  return async (message) => {
    const m = ReadRequest.safeParse(message);
    if (!m.success) {
      const id = (message as { id?: unknown } | null)?.id;
      const problems = problemsOf(m.error, message);
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
        throw new ReaderError(
          'TP_READER_PROTOCOL',
          `a read request without a usable id: ${JSON.stringify(problems)}`,
          { problems },
        );
      }
      const e = new ApiError('TP_API_INTERNAL', 'the analytics reader got a request it cannot parse', {
        problems,
      });
      return reply(id, e.status, JSON.stringify(e.body()));
    }
    const { id, route, params, query } = m.data;
    const r = routes.get(route);
    if (!r) {
      const e = new ApiError('TP_API_INTERNAL', `the analytics reader does not know ${route}`, { route });
      return reply(id, e.status, JSON.stringify(e.body()));
    }
    try {
      return reply(id, r.schemas.status ?? 200, await answerHere(r, { params, query }));
    } catch (e) {
      const coded = codedAnswer(e);
      if (coded) return reply(id, coded.status, String(coded.body));
      log.error({ err: e, route }, 'analytics read failed');
      const internal = new ApiError('TP_API_INTERNAL', 'internal error', { route });
      return reply(id, internal.status, JSON.stringify(internal.body()));
    }
  };
}

/**
 * The head of the HTTP answer the reader writes on a client's connection: what the API sends for an
 * analytics read (status, JSON type, length, date), and `Connection: close`, since the connection
 * ends with this answer (the API process gave it up to the reader).
 */
export function answerHead(status: number, bodyBytes: number, now: Date): string {
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n` +
    'content-type: application/json; charset=utf-8\r\n' +
    `content-length: ${bodyBytes}\r\n` +
    `date: ${now.toUTCString()}\r\n` +
    'connection: close\r\n\r\n'
  );
}

/**
 * Writes `reply` on the client's connection and lets go of it. Resolves how it went once the bytes
 * have left (or the connection failed): the API process learns only that.
 */
export function answerOnConnection(socket: Socket, reply: ReadReply): Promise<ReadWritten> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (written: boolean) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve({ id: reply.id, status: reply.status, bytes: reply.body.byteLength, written });
    };
    // A client that went away is the API's to see (it holds the connection too); here it only means
    // the answer did not go out whole.
    socket.once('error', () => done(false));
    socket.cork();
    socket.write(answerHead(reply.status, reply.body.byteLength, new Date()));
    socket.end(reply.body, () => done(socket.errored === null));
  });
}

/**
 * The client's connection as the control plane sent it: a bare TCP handle (see `tcpHandle` in
 * channel.ts), wrapped here as Node wraps the handles it accepts (`handle` is Socket's own option,
 * left out of its published types).
 */
function asSocket(connection: unknown): Socket {
  if (connection instanceof Socket) return connection;
  return new Socket({ handle: connection, readable: true, writable: true } as SocketConstructorOpts);
}

/** The command line of the analytics reader: management work, like the jobs process (see `childCommand`). */
export function readerCommand(o: Parameters<typeof childCommand>[1]): string[] {
  return childCommand('analytics-reader', o);
}

/**
 * What `triplane analytics-reader` does: opens the state (SQLite in `dataDir`, the control plane's
 * directory, or PostgreSQL) and answers the control plane's analytics reads over the IPC channel it was started
 * with, until the control plane is gone or it gets SIGTERM.
 */
export async function runReaderProcess(o: {
  dataDir: string;
  databaseUrl?: string;
  log: Logger;
}): Promise<void> {
  const send = process.send?.bind(process);
  if (!send) {
    throw new ReaderError(
      'TP_READER_NO_CHANNEL',
      'the analytics reader takes its requests from the control plane that starts it (`triplane control`); it has no IPC channel',
    );
  }
  const state = await openState({ dataDir: o.dataDir, databaseUrl: o.databaseUrl });
  const handle = readHandler(analyticsRoutes(state), o.log);
  let failed: unknown;
  const stopped = untilStopped('work');
  const failure = new Promise<void>((resolve) => {
    const fail = (e: unknown) => {
      failed ??= e;
      resolve();
    };
    // A reply that cannot go out because the control plane has just gone is no failure: the
    // disconnect stops this process anyway.
    const sent = (e: Error | null) => e && process.connected && fail(e);
    process.on('message', (message, connection) => {
      handle(message).then(async (r) => {
        // The API sends the client's connection with a read when it has one to give; without one,
        // the answer's bytes go back to it.
        if (connection) send(await answerOnConnection(asSocket(connection), r), undefined, {}, sent);
        else send(r, undefined, {}, sent);
      }, fail);
    });
  });
  send({ ready: true });
  o.log.info({ pid: process.pid }, 'analytics reader started');
  await Promise.race([stopped, failure]);
  await state.close();
  leaveParent();
  if (failed) throw failed;
  o.log.info('analytics reader stopped');
}
