import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { ApiError, parseOrThrow } from '../errors.ts';
import type { State } from '../state/index.ts';
import type { LongPollHub } from './hub.ts';
import { bearer, holdPoll, readAfter, sameSecret, selfAuthenticated } from './long-poll.ts';
import { parseAccessLogBatch } from './ndjson.ts';
import type { PeriodicStats } from './periodic.ts';
import { EDGE_KEY } from './snapshots.ts';

/** Largest access-log batch accepted: far above the edge's 500-record batches, far below memory trouble. */
export const ACCESS_LOG_BODY_LIMIT = 16 * 1024 * 1024;

/** An edge's verdict on a snapshot (docs/edge-snapshot-protocol.md, "Ack"). */
export const EdgeAckBody = z.strictObject({
  edge: z.string().min(1),
  version: z.int().min(1).nullable(),
  accepted: z.boolean(),
  problems: z.array(z.strictObject({ path: z.string(), message: z.string() })).default([]),
});
/** An edge's verdict on a snapshot. */
export type EdgeAckBody = z.infer<typeof EdgeAckBody>;

/** What the edge routes need. */
export interface EdgeRoutesDeps {
  readonly state: State;
  readonly hub: LongPollHub;
  readonly snapshots: { stats(): PeriodicStats & { readonly problems: readonly string[] } };
  /** Bearer token every edge request must carry. @default none: the edge endpoints are open */
  readonly edgeToken?: string | undefined;
  /** Hold of a snapshot poll. @default the hub's (25 s) */
  readonly holdMs?: number;
}

/** A rejected snapshot, as `/api/edge/status` shows it. */
interface Rejection {
  readonly version: number | null;
  readonly errors: readonly string[];
  readonly at: string;
}

/**
 * The control side of the edge snapshot protocol (docs/edge-snapshot-protocol.md) and the access-log
 * intake, behind the edge token when one is configured, plus `GET /api/edge/status` for people: that
 * one is not behind the edge token but declares `access: 'admin'`, which the API server enforces with
 * API tokens (outside buildApi nothing checks it).
 */
export function edgeRoutes(deps: EdgeRoutesDeps): FastifyPluginAsync {
  const { state, hub, edgeToken } = deps;
  // The acks table answers "newest verdict per edge" only; an older rejection is remembered here
  // since this process started, which is what a person looking at a rollout needs.
  const rejections = new Map<string, Rejection>();

  const edgeEndpoints: FastifyPluginAsync = async (app) => {
    app.addContentTypeParser(
      'application/x-ndjson',
      { parseAs: 'string', bodyLimit: ACCESS_LOG_BODY_LIMIT },
      (_request, body, done) => done(null, body),
    );

    if (edgeToken !== undefined) {
      app.addHook('onRequest', async (request) => {
        if (!sameSecret(bearer(request), edgeToken))
          throw new ApiError('TP_API_UNAUTHENTICATED', 'edge token not recognised');
      });
    }

    const snapshotConfig = selfAuthenticated('Long-poll the newest edge snapshot (edge token)');
    app.get('/api/edge/snapshot', { config: snapshotConfig }, async (request, reply) => {
      const after = readAfter(request.query, 'snapshot poll');
      const snapshot = await holdPoll(request, {
        hub,
        key: EDGE_KEY,
        after,
        holdMs: deps.holdMs,
        read: () => state.snapshots.latest(),
      });
      if (!snapshot) return reply.code(204).send();
      return reply.code(200).type('application/json').send(snapshot);
    });

    const ackConfig = selfAuthenticated("Record an edge's verdict on a snapshot (edge token)");
    app.post('/api/edge/ack', { config: ackConfig }, async (request, reply) => {
      const ack = parseOrThrow(EdgeAckBody, request.body, 'ack');
      const errors = ack.problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message));
      // Version 0 stands for "no readable version": the column needs a number and real versions start at 1.
      const saved = await state.edgeAcks.record({
        edgeId: ack.edge,
        version: ack.version ?? 0,
        accepted: ack.accepted,
        errors,
      });
      if (!ack.accepted)
        rejections.set(ack.edge, { version: ack.version, errors, at: new Date(saved.at).toISOString() });
      return reply.code(204).send();
    });

    const logConfig = selfAuthenticated('Store a batch of edge access-log records, NDJSON (edge token)');
    app.post(
      '/api/edge/access-log',
      { bodyLimit: ACCESS_LOG_BODY_LIMIT, config: logConfig },
      async (request, reply) => {
        const type = request.headers['content-type'] ?? '';
        if (!type.startsWith('application/x-ndjson') || typeof request.body !== 'string')
          throw new ApiError('TP_API_INVALID', 'access-log batch: expected an application/x-ndjson body', {
            contentType: type,
          });
        const records = parseAccessLogBatch(request.body);
        await state.accessLogs.insertBatch(records);
        return reply.code(204).send();
      },
    );
  };

  return async (app) => {
    await app.register(edgeEndpoints);
    const statusConfig = {
      access: 'admin',
      summary: 'Which snapshot each edge runs, and its last rejection',
    } as const;
    app.get('/api/edge/status', { config: statusConfig }, async () => {
      const latest = await state.snapshots.latest();
      const stats = deps.snapshots.stats();
      const edges = (await state.edgeAcks.latestPerEdge()).map((a) => ({
        edge: a.edgeId,
        version: a.version === 0 ? null : a.version,
        accepted: a.accepted,
        at: new Date(a.at).toISOString(),
        lastRejection: a.accepted
          ? (rejections.get(a.edgeId) ?? null)
          : {
              version: a.version === 0 ? null : a.version,
              errors: a.errors,
              at: new Date(a.at).toISOString(),
            },
      }));
      return {
        snapshot: { version: latest?.version ?? null, problems: stats.problems, lastError: stats.lastError },
        edges,
      };
    });
  };
}
