import type { z } from 'zod';
import { NodeReport, type Upstream } from '../../contracts/fleet.ts';
import {
  Certificate,
  type EdgeSnapshot,
  parseSnapshot,
  type Route,
  type StorePolicy,
  type UpstreamPool,
} from '../../contracts/snapshot.ts';
import type { StackSpec } from '../../contracts/stack.ts';
import type { SnapshotContent, State } from '../state/index.ts';
import { FleetError } from './errors.ts';
import type { LongPollHub } from './hub.ts';
import { type PeriodicStats, PeriodicTask } from './periodic.ts';
import { stackInstances } from './stack-payload.ts';

/** The hub key edges' snapshot polls wait on. */
export const EDGE_KEY = 'edge';

/** The path the edge health-checks store upstreams on (the demo store and Magento both answer it). */
export const HEALTH_CHECK_PATH = '/health_check.php';

/** Everything a snapshot is built from, already read from the state. */
export interface SnapshotSources {
  /**
   * Every store instance (production under the store's name, staging as `<store>--staging`), with its
   * latest spec (null when it has none or it is unreadable).
   */
  readonly stores: readonly { readonly id: string; readonly spec: StackSpec | null }[];
  readonly domains: readonly { readonly hostname: string; readonly storeId: string }[];
  readonly certificates: readonly {
    readonly hostname: string;
    readonly certPem: string;
    readonly keyPem: string;
  }[];
  readonly policies: readonly { readonly storeId: string; readonly policy: unknown }[];
  /** The latest report of every node that sent one. */
  readonly reports: readonly NodeReport[];
  /** Stores in maintenance (a restore is writing them): the edge answers them with 503. */
  readonly maintenance?: readonly string[];
}

/** A built snapshot body and what had to be left out of it, each problem naming the store or host. */
export interface BuiltSnapshot {
  readonly content: SnapshotContent;
  readonly problems: readonly string[];
}

type Member = { host: string; port: number };

/** Observed upstreams by store and role, deduplicated and sorted so equal input gives equal output. */
function upstreamsByStore(reports: readonly NodeReport[]): Map<string, Map<Upstream['role'], Member[]>> {
  const seen = new Map<string, Map<Upstream['role'], Map<string, Member>>>();
  for (const report of reports) {
    for (const observed of report.stores) {
      const roles = seen.get(observed.store) ?? new Map<Upstream['role'], Map<string, Member>>();
      seen.set(observed.store, roles);
      for (const u of observed.upstreams) {
        const members = roles.get(u.role) ?? new Map<string, Member>();
        roles.set(u.role, members);
        members.set(`${u.host}:${u.port}`, { host: u.host, port: u.port });
      }
    }
  }
  const out = new Map<string, Map<Upstream['role'], Member[]>>();
  for (const [store, roles] of seen) {
    const sorted = new Map<Upstream['role'], Member[]>();
    for (const [role, members] of roles)
      sorted.set(
        role,
        [...members.values()].sort((a, b) => a.host.localeCompare(b.host) || a.port - b.port),
      );
    out.set(store, sorted);
  }
  return out;
}

/**
 * Which store answers each host name: the domains table decides first (a host belongs to one store
 * there), then `<store>.localhost`, then the spec's `domains` in store order. A host claimed twice
 * keeps its first owner and the later claim becomes a problem, so one store's typo cannot take the
 * whole snapshot down.
 */
function hostsByStore(src: SnapshotSources, problems: string[]): Map<string, string[]> {
  const owner = new Map<string, string>();
  for (const d of src.domains) owner.set(d.hostname.toLowerCase(), d.storeId);
  const claim = (store: string, host: string) => {
    const h = host.toLowerCase();
    const held = owner.get(h);
    if (held === undefined) owner.set(h, store);
    else if (held !== store) problems.push(`store ${store}: host ${h} belongs to store ${held}, not routed`);
  };
  const stores = [...src.stores].sort((a, b) => a.id.localeCompare(b.id));
  for (const s of stores) claim(s.id, `${s.id}.localhost`);
  for (const s of stores) for (const d of s.spec?.domains ?? []) claim(s.id, d);
  const out = new Map<string, string[]>();
  for (const [host, store] of owner) out.set(store, [...(out.get(store) ?? []), host]);
  for (const [store, hosts] of out) {
    const local = `${store}.localhost`;
    out.set(store, [...hosts.filter((h) => h === local), ...hosts.filter((h) => h !== local).sort()]);
  }
  return out;
}

/**
 * The snapshot content for the current state. Each store with observed Varnish upstreams gets a route
 * for its hosts to pool `<store>-varnish` (Varnish sends the admin path to the admin pod itself), and
 * when app upstreams are reported, a `<store>-app` pool as the route's fallback: while no Varnish is
 * up the edge serves the store from its app pods, uncached. Members
 * are listed healthy or not: the edge checks them itself. A store without Varnish upstreams gets no
 * route, so the edge answers 404 for it: a pool must have at least one member. Each store is checked on
 * its own first, so an invalid policy leaves that store out, not the whole snapshot.
 */
export function buildSnapshot(src: SnapshotSources): BuiltSnapshot {
  const problems: string[] = [];
  const upstreams = upstreamsByStore(src.reports);
  const hosts = hostsByStore(src, problems);
  const storedPolicy = new Map(src.policies.map((p) => [p.storeId, p.policy]));
  const routes: Route[] = [];
  const pools: UpstreamPool[] = [];
  const policies: StorePolicy[] = [];
  for (const store of [...src.stores].sort((a, b) => a.id.localeCompare(b.id))) {
    const varnish = upstreams.get(store.id)?.get('varnish') ?? [];
    const app = upstreams.get(store.id)?.get('app') ?? [];
    const storeHosts = hosts.get(store.id) ?? [];
    if (varnish.length === 0 || storeHosts.length === 0) continue;
    const piece = parseSnapshot({
      version: 1,
      routes: [
        {
          id: store.id,
          store: store.id,
          hosts: storeHosts,
          pathPrefix: '/',
          pool: `${store.id}-varnish`,
          ...(app.length > 0 ? { fallbackPool: `${store.id}-app` } : {}),
        },
      ],
      pools: [
        { id: `${store.id}-varnish`, members: varnish, healthCheck: { path: HEALTH_CHECK_PATH } },
        ...(app.length > 0
          ? [{ id: `${store.id}-app`, members: app, healthCheck: { path: HEALTH_CHECK_PATH } }]
          : []),
      ],
      policies: [storedPolicy.get(store.id) ?? { ...(store.spec?.edge ?? {}), store: store.id }],
    });
    if (!piece.ok) {
      for (const p of piece.problems) problems.push(`store ${store.id}: ${p.path}: ${p.message}, not routed`);
      continue;
    }
    routes.push(...piece.snapshot.routes);
    pools.push(...piece.snapshot.pools);
    const down = src.maintenance?.includes(store.id) ?? false;
    policies.push(...piece.snapshot.policies.map((p) => (down ? { ...p, maintenance: true } : p)));
  }
  const certificates: z.infer<typeof Certificate>[] = [];
  for (const c of src.certificates) {
    const r = Certificate.safeParse({ hosts: [c.hostname], certPem: c.certPem, keyPem: c.keyPem });
    if (r.success) certificates.push(r.data);
    else
      problems.push(
        `certificate ${c.hostname}: ${r.error.issues.map((i) => i.path.join('.')).join(', ')} invalid, left out`,
      );
  }
  return { content: { routes, pools, policies, certificates }, problems };
}

/** What one builder pass did. */
export interface SnapshotBuildResult {
  readonly snapshot: EdgeSnapshot;
  /** False when the content equals the latest published snapshot (no new version, edges undisturbed). */
  readonly changed: boolean;
  readonly problems: readonly string[];
}

/** What a snapshot builder needs. */
export interface SnapshotBuilderOptions {
  readonly state: State;
  readonly hub: LongPollHub;
  /** Time between passes once started. @default 5000 */
  readonly intervalMs?: number;
  /** Called with the error of a pass started by the timer or `onChange` (to log). @default ignored */
  readonly onError?: (e: unknown) => void;
}

/**
 * Builds the edge snapshot from the state and publishes it when it differs from the latest one; a
 * publish answers the edges' held polls at once.
 */
export class SnapshotBuilder {
  private readonly task: PeriodicTask<SnapshotBuildResult>;
  private lastProblems: readonly string[] = [];

  constructor(private readonly o: SnapshotBuilderOptions) {
    this.task = new PeriodicTask('snapshots', () => this.pass(), o.intervalMs ?? 5000, o.onError);
  }

  /** Runs a pass now and then every interval. */
  start(): void {
    this.task.start();
  }

  /** Stops the timer and waits for the pass in flight. */
  stop(): Promise<void> {
    return this.task.stop();
  }

  /** Runs a pass (after the one in flight) and returns what it published. */
  runOnce(): Promise<SnapshotBuildResult> {
    return this.task.runOnce();
  }

  /** Asks for a pass soon: after a node report or a policy, domain or certificate change. */
  onChange(): void {
    this.task.trigger();
  }

  /** Pass counters, the last error, and what the last pass had to leave out. */
  stats(): PeriodicStats & { readonly problems: readonly string[] } {
    return { ...this.task.stats(), problems: this.lastProblems };
  }

  private async pass(): Promise<SnapshotBuildResult> {
    const { state, hub } = this.o;
    const read = await readSources(state);
    const built = buildSnapshot(read.sources);
    const { content } = built;
    const problems = [...read.problems, ...built.problems];
    this.lastProblems = problems;
    const checked = parseSnapshot({ ...content, version: 1 });
    if (!checked.ok)
      throw new FleetError(
        'TP_FLEET_SNAPSHOT_INVALID',
        `built snapshot is invalid: ${checked.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`,
        { problems: checked.problems },
      );
    const { snapshot, changed } = await state.snapshots.publish(content);
    if (changed) hub.publish(EDGE_KEY, snapshot.version);
    return { snapshot, changed, problems };
  }
}

/** Reads what `buildSnapshot` needs; an unreadable stack or report is left out and named in `problems`. */
export async function readSources(state: State): Promise<{ sources: SnapshotSources; problems: string[] }> {
  const read = await stackInstances(state);
  const problems = read.problems;
  const stores = read.instances.map((s) => ({ id: s.name, spec: s.stack?.payload.spec ?? null }));
  const reports: NodeReport[] = [];
  for (const node of await state.nodes.list()) {
    if (node.observed === null) continue;
    const r = NodeReport.safeParse(node.observed);
    if (r.success) reports.push(r.data);
    else problems.push(`node ${node.name}: stored report is not a NodeReport, its upstreams are left out`);
  }
  const sources = {
    stores,
    domains: await state.domains.list(),
    certificates: await state.certificates.list(),
    policies: await state.policies.list(),
    reports,
    maintenance: (await state.maintenance.list()).map((m) => m.storeId),
  };
  return { sources, problems };
}
