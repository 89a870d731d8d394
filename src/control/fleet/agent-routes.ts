import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import {
  type AgentTask,
  JoinRequest,
  type JoinResponse,
  type NodeDesired,
  NodeReport,
  TaskOutcome,
} from '../../contracts/fleet.ts';
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
  /** Hold of a task claim with nothing to claim. @default 20_000 */
  readonly taskHoldMs?: number;
}

/** The job kind of the tasks for one node (src/contracts/fleet.ts, node tasks). */
export const nodeTaskKind = (nodeId: string) => `node:${nodeId}`;

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
    // Held task claims end when the server closes, as held polls do (the hub releases those).
    let closing = false;
    app.addHook('preClose', async () => {
      closing = true;
    });
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

    // Tasks are queued by the jobs process, another process: the hold re-reads the queue, which
    // is one indexed query, rather than waiting for a signal that could not cross.
    const claimConfig = selfAuthenticated('Claim the next task for this node (agent token)');
    app.post('/api/agent/tasks/claim', { config: claimConfig }, async (request, reply) => {
      const node = await authenticate(request);
      const kind = nodeTaskKind(node.id);
      const until = Date.now() + (deps.taskHoldMs ?? 20_000);
      let closed = false;
      request.raw.once('close', () => {
        closed = true;
      });
      for (;;) {
        const job = await state.jobs.claim(node.id, [kind]);
        if (job) return reply.code(200).send({ ...(job.payload as object), id: job.id } as AgentTask);
        if (closed || closing || Date.now() >= until) return reply.code(204).send();
        await new Promise((r) => setTimeout(r, 250));
      }
    });

    const outcomeConfig = selfAuthenticated('Report how a task ended (agent token)');
    app.post<{ Params: { id: string } }>(
      '/api/agent/tasks/:id/outcome',
      { config: outcomeConfig },
      async (request, reply) => {
        const node = await authenticate(request);
        const outcome = parseOrThrow(TaskOutcome, request.body, 'task outcome');
        // complete/fail only succeed for the worker holding the job: a node cannot end another's task.
        if (outcome.ok)
          await state.jobs.complete(request.params.id, node.id, (outcome.result ?? null) as JsonValue);
        else await state.jobs.fail(request.params.id, node.id, outcome.error ?? 'the task failed');
        return reply.code(204).send();
      },
    );

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
