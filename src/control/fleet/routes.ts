import type { FastifyPluginAsync } from 'fastify';
import type { State } from '../state/index.ts';
import { agentRoutes } from './agent-routes.ts';
import { edgeRoutes } from './edge-routes.ts';
import type { LongPollHub } from './hub.ts';
import type { Reconciler } from './reconciler.ts';
import type { SnapshotBuilder } from './snapshots.ts';

/** What the fleet routes need; the control process owns and starts each part. */
export interface FleetRoutesDeps {
  readonly state: State;
  readonly hub: LongPollHub;
  readonly reconciler: Pick<Reconciler, 'onChange'>;
  readonly snapshots: Pick<SnapshotBuilder, 'onChange' | 'stats'>;
  /** Bearer token of the edge endpoints. @default none: the edge endpoints are open */
  readonly edgeToken?: string | undefined;
  /** Hold of desired-state and snapshot polls. @default the hub's (25 s) */
  readonly holdMs?: number;
  /** Hold of a node's task claim with nothing to claim. @default 20_000 */
  readonly taskHoldMs?: number;
}

/**
 * Every route agents and edges use: `/api/agent/*` (src/contracts/fleet.ts) and `/api/edge/*`
 * (docs/edge-snapshot-protocol.md). Closing the server answers held polls with 204 first, so
 * `close()` does not wait out a 25 s hold.
 */
export function fleetRoutes(deps: FleetRoutesDeps): FastifyPluginAsync {
  return async (app) => {
    app.addHook('preClose', async () => deps.hub.releaseAll());
    await app.register(agentRoutes(deps));
    await app.register(edgeRoutes(deps));
  };
}
