/**
 * The analytics reader: the control plane's analytics reads (a store's requests and events, the
 * audit trail) answered by a process of their own at the idle priority. The API process checks the
 * caller and the input and keeps the line (`ReadBudget`); the reader opens the same state, runs the
 * route's handler, serialises the answer and writes it on the client's connection, which the API
 * hands it with the read (for a request made in process, it sends the bytes back for the API to pass
 * on). Reading and serialising a thousand records is most of a read's cost, and the API process
 * cannot run at the idle policy: it must push policy changes to the edges while the storefront is
 * saturated.
 *
 * - `AnalyticsReader` (control plane side): starts and supervises the reader, sends it reads over the
 *   IPC channel (Node's advanced serialisation) with the client's connection, waits for a starting
 *   reader, fails reads with 503 TP_API_UNAVAILABLE and Retry-After when it is gone.
 * - `runReaderProcess` (`triplane analytics-reader`), `readHandler`: the reader's side.
 * - `analyticsRoutes`: the routes it answers, built from the API's own route functions.
 */
export { AnalyticsReader } from './channel.ts';
export {
  answerHead,
  answerOnConnection,
  ReaderError,
  readerCommand,
  readHandler,
  runReaderProcess,
} from './reader.ts';
export { analyticsRoutes } from './table.ts';
export { ReaderReady, ReadReply, ReadRequest, ReadWritten } from './wire.ts';
