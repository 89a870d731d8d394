/**
 * The control plane's fleet side: the agent and edge endpoints, the long-poll hub that answers them,
 * the reconciler (stacks → each node's desired state), the snapshot builder (observed upstreams and
 * policies → edge snapshots). Access-log retention is a job (src/control/jobs, `access-log.prune`).
 */
export { type AgentRoutesDeps, agentRoutes } from './agent-routes.ts';
export { ACCESS_LOG_BODY_LIMIT, EdgeAckBody, type EdgeRoutesDeps, edgeRoutes } from './edge-routes.ts';
export { FleetError, type FleetErrorCode } from './errors.ts';
export { DEFAULT_HOLD_MS, LongPollHub, type LongPollHubOptions, type WaitOutcome } from './hub.ts';
export { parseAccessLogBatch } from './ndjson.ts';
export { type PeriodicStats, PeriodicTask } from './periodic.ts';
export {
  type DesiredDocument,
  defaultNode,
  type FleetNode,
  type NodePlan,
  type ReconcileInput,
  type ReconcileOutput,
  type ReconcileResult,
  Reconciler,
  type ReconcilerOptions,
  reconcile,
} from './reconciler.ts';
export { type FleetRoutesDeps, fleetRoutes } from './routes.ts';
export {
  type BuiltSnapshot,
  buildSnapshot,
  EDGE_KEY,
  HEALTH_CHECK_PATH,
  readSources,
  SnapshotBuilder,
  type SnapshotBuilderOptions,
  type SnapshotBuildResult,
  type SnapshotSources,
} from './snapshots.ts';
export {
  readStackPayload,
  type StackInstance,
  StackPayload,
  stackInstances,
  stackPayload,
} from './stack-payload.ts';
