import { z } from 'zod';

// What the control plane and its analytics reader say over the IPC channel between them (Node's
// `advanced` serialisation). A read comes with the client's connection when the API has one to give
// (as the message's handle, so the message itself says nothing of it): the reader writes the HTTP
// answer on it itself, and only its status and size come back (`ReadWritten`). Otherwise
// (a request the API made up in process, as its tests do) the answer crosses as the UTF-8 bytes that
// go to the client, copied once, never re-parsed or re-encoded.

/** Control plane → reader: answer this analytics read. */
export const ReadRequest = z.strictObject({
  id: z.int().min(0),
  /** `routeKey` of the route, e.g. `GET /api/stores/:store/requests`. */
  route: z.string().min(1),
  /** The request's params and query as the client sent them; the reader parses them with the route. */
  params: z.record(z.string(), z.unknown()),
  query: z.record(z.string(), z.unknown()),
});
export type ReadRequest = z.infer<typeof ReadRequest>;

/** Reader → control plane: the answer to request `id`, as it goes to the client. */
export const ReadReply = z.strictObject({
  id: z.int().min(0),
  status: z.int().min(100).max(599),
  /** UTF-8 JSON, exactly as the client gets it. */
  body: z.instanceof(Uint8Array),
});
export type ReadReply = z.infer<typeof ReadReply>;

/**
 * Reader → control plane: the answer to request `id` went out on the client's connection, `bytes`
 * of body with `status` (`written: false`: the connection was gone before all of it went out).
 */
export const ReadWritten = z.strictObject({
  id: z.int().min(0),
  status: z.int().min(100).max(599),
  bytes: z.int().min(0),
  written: z.boolean(),
});
export type ReadWritten = z.infer<typeof ReadWritten>;

/** Reader → control plane, once: it has opened the state and takes requests. */
export const ReaderReady = z.strictObject({ ready: z.literal(true) });
