import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { JoinRequest, type JoinResponse, type NodeDesired, NodeReport } from '../../contracts/fleet.ts';
import { ApiError, parseOrThrow } from '../errors.ts';
import type { JsonValue, Node, State } from '../state/index.ts';
import type { LongPollHub } from './hub.ts';
import { bearer, holdPoll, readAfter, selfAuthenticated } from './long-poll.ts';
import type { DesiredDocument } from './reconciler.ts';

/** What the agent routes need. */
export interface AgentRoutesDeps {
  readonly state: State;
  readonly hub: LongPollHub;
  readonly reconciler: { onChange(): void };
  readonly snapshots: { onChange(): void };
  /** Hold of a desired-state poll. @default the hub's (25 s) */
  readonly holdMs?: number;
}

/**
 * The agent side of the fleet protocol (src/contracts/fleet.ts): join with a one-time token, long-poll
 * the desired state, report what is observed.
 */
export function agentRoutes(deps: AgentRoutesDeps): FastifyPluginAsync {
  const { state, hub } = deps;

  const authenticate = async (request: FastifyRequest): Promise<Node> => {
    const node = await state.nodes.authenticate(bearer(request));
    if (!node) throw new ApiError('TP_API_UNAUTHENTICATED', 'agent token not recognised');
    return node;
  };

  return async (app) => {
    const joinConfig = selfAuthenticated('Register a node with a one-time join token (agent)');
    app.post('/api/agent/join', { config: joinConfig }, async (request, reply) => {
      const join = parseOrThrow(JoinRequest, request.body, 'join request');
      // register spends the token (STATE_TOKEN_REJECTED, 401, with the reason) or fails on a taken name.
      const { node, agentToken } = await state.nodes.register(join);
      deps.reconciler.onChange();
      const body: JoinResponse = { nodeId: node.id, agentToken };
      return reply.code(201).send(body);
    });

    const desiredConfig = selfAuthenticated("Long-poll the node's desired state (agent token)");
    app.get('/api/agent/desired', { config: desiredConfig }, async (request, reply) => {
      const node = await authenticate(request);
      const after = readAfter(request.query, 'desired poll');
      const desired = await holdPoll(request, {
        hub,
        key: node.id,
        after,
        holdMs: deps.holdMs,
        read: () => state.nodes.getDesired(node.id),
      });
      if (!desired) return reply.code(204).send();
      const doc = desired.desired as unknown as DesiredDocument;
      const body: NodeDesired = { nodeId: node.id, version: desired.version, stores: [...doc.stores] };
      return reply.code(200).send(body);
    });

    const reportConfig = selfAuthenticated('Report what the node observes (agent token)');
    app.post('/api/agent/report', { config: reportConfig }, async (request, reply) => {
      const node = await authenticate(request);
      const report = parseOrThrow(NodeReport, request.body, 'report');
      await state.nodes.recordObserved(node.id, report as unknown as JsonValue);
      deps.snapshots.onChange();
      return reply.code(204).send();
    });
  };
}
