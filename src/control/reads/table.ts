import { eventRoutes, type Route, routeKey } from '../api/index.ts';
import { opsRouteTable } from '../ops/routes.ts';
import type { State } from '../state/index.ts';

/**
 * Every analytics read of the control plane's API, by `routeKey`: the routes the reader process
 * answers. The API is built from the same route functions, and refuses to start with an analytics
 * route the reader does not know (`Answerer.knows`), so a new one cannot be missed here silently.
 */
export function analyticsRoutes(state: State): Map<string, Route> {
  return new Map(
    [...eventRoutes(state), ...opsRouteTable(state)].filter((r) => r.analytics).map((r) => [routeKey(r), r]),
  );
}
