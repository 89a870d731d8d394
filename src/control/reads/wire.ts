import { z } from 'zod';

// What the control plane and its analytics reader say over the IPC channel between them (Node's
// `advanced` serialisation: an answer crosses as the UTF-8 bytes that go to the client, copied once,
// never re-parsed or re-encoded, and held outside the JavaScript heap).

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

/** Reader → control plane, once: it has opened the state and takes requests. */
export const ReaderReady = z.strictObject({ ready: z.literal(true) });
