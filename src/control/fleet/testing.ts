import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type { NodeReport, ObservedStore, Upstream } from '../../contracts/fleet.ts';
import type { AccessLogRecord } from '../../contracts/snapshot.ts';
import type { StackSpec, StackSpecInput } from '../../contracts/stack.ts';
import { validateStack } from '../../contracts/validate.ts';
import { ApiError } from '../errors.ts';
import { openState, type State, StateError } from '../state/index.ts';
import { LongPollHub } from './hub.ts';
import { Reconciler } from './reconciler.ts';
import { fleetRoutes } from './routes.ts';
import { SnapshotBuilder } from './snapshots.ts';
import { stackPayload } from './stack-payload.ts';

// Helpers shared by the fleet tests (unit and process level); not used by the control plane itself.

/** A State on SQLite in a fresh temporary directory, and how to close and remove it. */
export async function openTempState(): Promise<{ state: State; cleanup: () => Promise<void> }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'triplane-fleet-'));
  const state = await openState({ dataDir });
  const cleanup = async () => {
    await state.close();
    await rm(dataDir, { recursive: true, force: true });
  };
  return { state, cleanup };
}

/** A State on SQLite in a fresh temporary directory, closed and removed after the test. */
export async function tempState(t: TestContext): Promise<State> {
  const { state, cleanup } = await openTempState();
  t.after(cleanup);
  return state;
}

/** A valid stack spec for store `name` with defaults filled in. */
export function spec(name: string, more: Omit<StackSpecInput, 'name'> = {}): StackSpec {
  const r = validateStack({ name, ...more });
  if (!r.ok) throw new Error(`test spec is invalid: ${JSON.stringify(r.problems)}`);
  return r.spec;
}

/** Creates store `name` with a production environment and applies `s` with source dir `/srv/<name>`. */
export async function storeWithStack(state: State, name: string, s = spec(name)): Promise<void> {
  await state.stores.create({ id: name, displayName: name });
  await state.environments.create(name, 'production');
  await state.stacks.apply(name, 'production', stackPayload(s, `/srv/${name}`), 'test');
}

/** An upstream of `role` on 127.0.0.1:`port`. */
export function upstream(role: Upstream['role'], port: number, healthy = true): Upstream {
  return { role, host: '127.0.0.1', port, healthy };
}

/** A converged observation of `store` with these upstreams. */
export function observed(store: string, upstreams: Upstream[]): ObservedStore {
  return { store, stackVersion: 1, converged: true, containers: [], upstreams, error: null };
}

/** A node report of these observations. */
export function report(stores: ObservedStore[]): NodeReport {
  return { desiredVersion: 1, at: '2025-01-01T00:00:00.000Z', stores };
}

/** Access-log record number `i` of store "shop". */
export function logRecord(i: number): AccessLogRecord {
  return {
    time: new Date(Date.UTC(2025, 0, 1, 0, 0, i)).toISOString(),
    store: 'shop',
    client: '203.0.113.7',
    method: 'GET',
    host: 'shop.localhost',
    path: `/p/${i}`,
    status: 200,
    bytesIn: 0,
    bytesOut: 512,
    durationMs: 1.5,
    upstreamMs: 1.2,
    cache: 'MISS',
    upstream: '127.0.0.1:9000',
    blockedBy: null,
    requestId: `r-${i}`,
  };
}

/** Maps coded errors to `{code, message, details}` with their status, as the real API server does. */
export function codedErrors(app: FastifyInstance): void {
  app.setErrorHandler((e: FastifyError, _request, reply) => {
    if (e instanceof ApiError) return reply.code(e.status).send(e.body());
    if (e instanceof StateError)
      return reply.code(e.status).send({ code: e.code, message: e.message, details: e.details });
    return reply
      .code(e.statusCode ?? 500)
      .send({ code: e.code ?? 'TP_API_INTERNAL', message: e.message, details: {} });
  });
}

/** Everything a route test drives: the app (not listening), its state and the fleet parts. */
export interface Fleet {
  readonly app: FastifyInstance;
  readonly state: State;
  readonly hub: LongPollHub;
  readonly reconciler: Reconciler;
  readonly snapshots: SnapshotBuilder;
}

/**
 * A fastify app with the fleet routes over a temporary SQLite state. The reconciler and builder are
 * not started (no timers); their `onChange` triggers still run passes. Everything stops after the test.
 */
export async function fleet(
  t: TestContext,
  o: { edgeToken?: string; holdMs?: number; taskHoldMs?: number } = {},
): Promise<Fleet> {
  const { state, cleanup } = await openTempState();
  const hub = new LongPollHub();
  const reconciler = new Reconciler({ state, hub });
  const snapshots = new SnapshotBuilder({ state, hub });
  const app = Fastify();
  codedErrors(app);
  await app.register(fleetRoutes({ state, hub, reconciler, snapshots, ...o }));
  // One hook, in this order: passes and held polls finish before the state closes.
  t.after(async () => {
    await app.close();
    await reconciler.stop();
    await snapshots.stop();
    await cleanup();
  });
  return { app, state, hub, reconciler, snapshots };
}

/** Resolves when `condition` holds, checking every 10 ms; rejects after `timeoutMs` naming `what`. */
export async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 3000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
