import type { DesiredStore } from '../../contracts/fleet.ts';
import { type JsonValue, type State, StateError } from '../state/index.ts';
import type { LongPollHub } from './hub.ts';
import { type PeriodicStats, PeriodicTask } from './periodic.ts';
import { stackInstances } from './stack-payload.ts';

/** A node as placement sees it. */
export interface FleetNode {
  readonly id: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly createdAt: number;
}

/** What a node is told to run, without the version the state store assigns. */
export interface NodePlan {
  readonly nodeId: string;
  readonly stores: readonly DesiredStore[];
}

/** The document the reconciler stores as a node's desired state; the agent route adds id and version. */
export interface DesiredDocument {
  readonly stores: readonly DesiredStore[];
}

/** Everything placement decides from. */
export interface ReconcileInput {
  /** The latest stack of every store environment that has one, named by instance (`instanceName`). */
  readonly stacks: readonly DesiredStore[];
  readonly nodes: readonly FleetNode[];
  /** Store → node it is on now (read from the nodes' current desired state). */
  readonly placement: ReadonlyMap<string, string>;
}

/** Placement's answer: a plan for every node, and the stores no node could take. */
export interface ReconcileOutput {
  readonly plans: readonly NodePlan[];
  readonly unplaced: readonly string[];
}

/** The node new stores go to: the first registered with `role=app`, else the first registered. */
export function defaultNode(nodes: readonly FleetNode[]): FleetNode | undefined {
  const byAge = [...nodes].sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
  return byAge.find((n) => n.labels.role === 'app') ?? byAge[0];
}

/**
 * Places every stack on a node. A store stays on the node it is on as long as that node is
 * registered, even when the node is silent: its database and media volumes live there, so moving it
 * would lose data. Stores that are new, or whose node was removed, go to `defaultNode`.
 */
export function reconcile(input: ReconcileInput): ReconcileOutput {
  const known = new Set(input.nodes.map((n) => n.id));
  const target = defaultNode(input.nodes);
  const byNode = new Map<string, DesiredStore[]>(input.nodes.map((n) => [n.id, []]));
  const unplaced: string[] = [];
  for (const stack of [...input.stacks].sort((a, b) => a.store.localeCompare(b.store))) {
    const current = input.placement.get(stack.store);
    const nodeId = current !== undefined && known.has(current) ? current : target?.id;
    if (nodeId === undefined) unplaced.push(stack.store);
    else byNode.get(nodeId)!.push(stack);
  }
  return { plans: [...byNode].map(([nodeId, stores]) => ({ nodeId, stores })), unplaced };
}

/** What one reconciler pass did. */
export interface ReconcileResult {
  /** Nodes whose desired state changed (and whose polls were answered). */
  readonly changed: readonly { readonly nodeId: string; readonly version: number }[];
  readonly unplaced: readonly string[];
  /** Stack versions that could not be placed, e.g. stored without a source directory. */
  readonly problems: readonly string[];
}

/** What a reconciler needs. */
export interface ReconcilerOptions {
  readonly state: State;
  readonly hub: LongPollHub;
  /** Time between passes once started. @default 5000 */
  readonly intervalMs?: number;
  /** Called with the error of a pass started by the timer or `onChange` (to log). @default ignored */
  readonly onError?: (e: unknown) => void;
}

/**
 * Turns the stores' production and staging stacks into each node's desired state. A pass writes every node's
 * document; the state store bumps a node's version only when its document changed, and only then
 * is the node's held poll answered.
 */
export class Reconciler {
  private readonly task: PeriodicTask<ReconcileResult>;

  constructor(private readonly o: ReconcilerOptions) {
    this.task = new PeriodicTask('reconciler', () => this.pass(), o.intervalMs ?? 5000, o.onError);
  }

  /** Runs a pass now and then every interval. */
  start(): void {
    this.task.start();
  }

  /** Stops the timer and waits for the pass in flight. */
  stop(): Promise<void> {
    return this.task.stop();
  }

  /** Runs a pass (after the one in flight) and returns what it did. */
  runOnce(): Promise<ReconcileResult> {
    return this.task.runOnce();
  }

  /** Asks for a pass soon: after a stack apply, a node join or a node removal. */
  onChange(): void {
    this.task.trigger();
  }

  /** Pass counters and the last error. */
  stats(): PeriodicStats {
    return this.task.stats();
  }

  private async pass(): Promise<ReconcileResult> {
    const { state, hub } = this.o;
    const { instances, problems } = await stackInstances(state);
    const stacks: DesiredStore[] = instances.flatMap(({ name, environment, stack }) =>
      stack
        ? [
            {
              store: name,
              environment,
              stackVersion: stack.version,
              spec: stack.payload.spec,
              sourceDir: stack.payload.sourceDir,
            },
          ]
        : [],
    );
    const nodes = await state.nodes.list();
    const placement = new Map<string, string>();
    for (const node of nodes) {
      const doc = (await state.nodes.getDesired(node.id))?.desired as DesiredDocument | undefined;
      for (const s of doc?.stores ?? []) if (!placement.has(s.store)) placement.set(s.store, node.id);
    }
    const { plans, unplaced } = reconcile({ stacks, nodes, placement });
    const changed: { nodeId: string; version: number }[] = [];
    for (const plan of plans) {
      const doc: DesiredDocument = { stores: plan.stores };
      let r: { version: number; changed: boolean };
      try {
        r = await state.nodes.setDesired(plan.nodeId, doc as unknown as JsonValue);
      } catch (e) {
        // A node removed during the pass has nothing left to be told; its stores move on the next pass.
        if (e instanceof StateError && e.code === 'STATE_NOT_FOUND') continue;
        throw e;
      }
      if (!r.changed) continue;
      changed.push({ nodeId: plan.nodeId, version: r.version });
      hub.publish(plan.nodeId, r.version);
    }
    return { changed, unplaced, problems };
  }
}
