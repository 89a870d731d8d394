import { z } from 'zod';
import { StackSpec, StoreName } from './stack.ts';
import { ContainerStatus } from './status.ts';

/*
 * Agent ⇄ control plane (version 1). An agent joins once with a one-time join token and gets an agent
 * token; from then on it long-polls its desired state and reports what it observes.
 *
 *   POST /api/agent/join                    JoinRequest            → 201 JoinResponse
 *   GET  /api/agent/desired?after=<version> Bearer <agent token>   → 200 NodeDesired (version > after)
 *                                                                    | 204 after ~25 s with nothing newer
 *   POST /api/agent/report                  Bearer, NodeReport     → 204
 *
 * The poll rules are the edge snapshot protocol's (docs/edge-snapshot-protocol.md): `after` is the
 * highest version the agent has received; the control plane holds a poll ~25 s and answers at once
 * when a newer version is set for that node.
 */

/** Environments a store has. */
export const EnvironmentName = z.enum(['production', 'staging']);
export type EnvironmentName = z.infer<typeof EnvironmentName>;

/** What an agent sends to join: the one-time join token and how it wants to be known. */
export const JoinRequest = z.strictObject({
  joinToken: z.string().min(1),
  name: z.string().regex(/^[a-z0-9][a-z0-9.-]{0,62}$/, {
    error: (i) => `expected a host name, got ${JSON.stringify(i.input)}`,
  }),
  labels: z.record(z.string(), z.string()).default({}),
});
export type JoinRequest = z.infer<typeof JoinRequest>;

/** The node's identity and the secret it authenticates with from now on (shown once). */
export const JoinResponse = z.strictObject({
  nodeId: z.string(),
  agentToken: z.string(),
});
export type JoinResponse = z.infer<typeof JoinResponse>;

/** One store a node must run: a stack version, whole. */
export const DesiredStore = z.strictObject({
  store: StoreName,
  environment: EnvironmentName,
  stackVersion: z.int().min(1),
  spec: StackSpec,
  /** Absolute directory `app.code` is relative to on the node (the applied stack file's directory). */
  sourceDir: z.string().startsWith('/'),
});
export type DesiredStore = z.infer<typeof DesiredStore>;

/** Everything a node must run; `version` increases whenever that changes for this node. */
export const NodeDesired = z.strictObject({
  nodeId: z.string(),
  version: z.int().min(1),
  stores: z.array(DesiredStore),
});
export type NodeDesired = z.infer<typeof NodeDesired>;

/** An address the edge can send a store's traffic to (a port published on the node). */
export const Upstream = z.strictObject({
  role: z.enum(['varnish', 'app', 'admin']),
  host: z.string(),
  port: z.int().min(1).max(65535),
  healthy: z.boolean(),
});
export type Upstream = z.infer<typeof Upstream>;

/** What a node observed for one store. */
export const ObservedStore = z.strictObject({
  store: StoreName,
  /** The stack version the containers now run, null before the first successful apply. */
  stackVersion: z.int().min(1).nullable(),
  /** Every desired container exists, runs and is healthy. */
  converged: z.boolean(),
  containers: z.array(ContainerStatus),
  upstreams: z.array(Upstream),
  /** Why the last apply failed, if it did (coded error message). */
  error: z.string().nullable().default(null),
});
export type ObservedStore = z.infer<typeof ObservedStore>;

/** A node's report: sent after every apply and supervisor pass, at least every 15 s. */
export const NodeReport = z.strictObject({
  /** The desired version this report reflects (0 before the first). */
  desiredVersion: z.int().min(0),
  at: z.iso.datetime(),
  stores: z.array(ObservedStore),
});
export type NodeReport = z.infer<typeof NodeReport>;
