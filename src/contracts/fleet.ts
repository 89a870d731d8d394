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

/** Between a store's name and its environment in an instance name; store names may not contain it. */
export const ENVIRONMENT_SEPARATOR = '--';

/**
 * The name one environment of a store runs under on nodes and at the edge: its unix user, container
 * names, `<name>.localhost`, backup repository. Production runs under the store's own name, so a
 * store that never had a staging environment looks as it always did; staging under `<store>--staging`.
 * The result must itself be a valid stack name (at most 30 characters): `null` when it is too long.
 */
export function instanceName(store: string, environment: EnvironmentName): string | null {
  const name = environment === 'production' ? store : `${store}${ENVIRONMENT_SEPARATOR}${environment}`;
  return StoreName.safeParse(name).success ? name : null;
}

/** The store and environment an instance name stands for (see {@link instanceName}). */
export function parseInstanceName(name: string): { store: string; environment: EnvironmentName } {
  const at = name.lastIndexOf(ENVIRONMENT_SEPARATOR);
  if (at > 0) {
    const env = EnvironmentName.safeParse(name.slice(at + ENVIRONMENT_SEPARATOR.length));
    if (env.success && env.data !== 'production') return { store: name.slice(0, at), environment: env.data };
  }
  return { store: name, environment: 'production' };
}

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

/*
 * Node tasks (version 1): one-off work the control plane hands to the node that runs a store —
 * backups, their verification, restores, retention. The agent claims them as it polls:
 *
 *   POST /api/agent/tasks/claim        Bearer <agent token>   → 200 AgentTask | 204 after ~20 s with none
 *   POST /api/agent/tasks/:id/outcome  Bearer, TaskOutcome    → 204
 */

/** The store a task reads from or writes to: its database's name and image, from its stack spec. */
export const TaskStore = z.strictObject({
  store: StoreName,
  databaseName: z.string(),
  databaseImage: z.string(),
});
export type TaskStore = z.infer<typeof TaskStore>;

const TaskBase = {
  id: z.string(),
  /** The store's backup repository key; sent per task so the control plane alone keeps it. */
  repositoryKey: z.string().min(16),
};

/** A task for an agent. */
export const AgentTask = z.discriminatedUnion('op', [
  z.strictObject({
    ...TaskBase,
    op: z.literal('backup.create'),
    target: TaskStore,
    environment: EnvironmentName,
    stackVersion: z.int().min(1).nullable(),
    spec: z.unknown(),
  }),
  z.strictObject({
    ...TaskBase,
    op: z.literal('backup.verify'),
    target: TaskStore,
    snapshotId: z.string(),
  }),
  z.strictObject({
    ...TaskBase,
    op: z.literal('backup.restore'),
    /** The store whose repository holds the backup. */
    from: StoreName,
    snapshotId: z.string(),
    target: TaskStore,
  }),
  z.strictObject({
    ...TaskBase,
    op: z.literal('backup.prune'),
    target: TaskStore,
    now: z.iso.datetime(),
    retentionDays: z.int().min(1),
  }),
]);
export type AgentTask = z.infer<typeof AgentTask>;

/** How a task ended: its result, or the coded error it failed with. */
export const TaskOutcome = z.strictObject({
  ok: z.boolean(),
  result: z.unknown().default(null),
  error: z.string().nullable().default(null),
});
export type TaskOutcome = z.infer<typeof TaskOutcome>;
