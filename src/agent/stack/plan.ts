import { LABEL } from '../podman/argv.ts';
import type { ContainerSpec, PodSpec } from '../podman/types.ts';
import type { DesiredStore } from './desired.ts';

/** What Podman reports for a store, reduced to what planning needs. */
export interface ObservedStore {
  readonly networks: readonly string[];
  /** Networks made before services had a lease range of their own: they must be made again. */
  readonly staleNetworks?: readonly string[];
  readonly volumes: readonly string[];
  readonly secrets: readonly string[];
  readonly pods: readonly { readonly name: string; readonly hash: string | undefined }[];
  readonly containers: readonly {
    readonly name: string;
    readonly hash: string | undefined;
    readonly state: string;
    readonly pod: string | undefined;
  }[];
}

/** One change to make, as data; the applier turns each into Podman commands. */
export type Action =
  | { readonly kind: 'create-network'; readonly name: string }
  | { readonly kind: 'remove-network'; readonly name: string; readonly why: string }
  | { readonly kind: 'create-volume'; readonly name: string }
  | { readonly kind: 'create-secret'; readonly name: string }
  | { readonly kind: 'remove-pod'; readonly name: string; readonly why: string }
  | { readonly kind: 'remove-container'; readonly name: string; readonly why: string }
  | { readonly kind: 'create-pod'; readonly pod: PodSpec }
  | { readonly kind: 'run-container'; readonly container: ContainerSpec }
  | { readonly kind: 'start-container'; readonly name: string };

/**
 * The smallest set of changes that turns what runs into what is desired. Objects whose hash label
 * matches are left alone, which is what makes a second apply a no-op. Removals come first so names and
 * pod addresses are free again; creations follow the desired start order.
 */
export function planStore(desired: DesiredStore, seen: ObservedStore): Action[] {
  const actions: Action[] = [];
  const have = (list: readonly string[], name: string) => list.includes(name);
  let observed = seen;
  if (seen.staleNetworks?.includes(desired.network)) {
    // Everything on the network goes with it (volumes and secrets stay), then comes back.
    const why = 'its network is made again with a lease range';
    for (const p of seen.pods) actions.push({ kind: 'remove-pod', name: p.name, why });
    for (const c of seen.containers.filter((x) => !x.pod))
      actions.push({ kind: 'remove-container', name: c.name, why });
    actions.push({ kind: 'remove-network', name: desired.network, why: 'no lease range for services' });
    observed = { ...seen, networks: [], staleNetworks: [], pods: [], containers: [] };
  }

  if (!have(observed.networks, desired.network))
    actions.push({ kind: 'create-network', name: desired.network });
  for (const v of desired.volumes)
    if (!have(observed.volumes, v)) actions.push({ kind: 'create-volume', name: v });
  for (const s of desired.secrets)
    if (!have(observed.secrets, s)) actions.push({ kind: 'create-secret', name: s });

  const wantedPods = new Map(desired.pods.map((p) => [p.name, p]));
  const removedPods = new Set<string>();
  for (const pod of observed.pods) {
    const want = wantedPods.get(pod.name);
    if (!want) {
      actions.push({ kind: 'remove-pod', name: pod.name, why: 'no longer in the spec' });
      removedPods.add(pod.name);
    } else if (want.labels[LABEL.hash] !== pod.hash) {
      actions.push({ kind: 'remove-pod', name: pod.name, why: 'pod settings changed' });
      removedPods.add(pod.name);
    }
  }

  const wanted = new Map(desired.containers.map((c) => [c.name, c]));
  const kept = new Map<string, string>();
  for (const c of observed.containers) {
    if (c.pod && removedPods.has(c.pod)) continue;
    const want = wanted.get(c.name);
    if (!want) actions.push({ kind: 'remove-container', name: c.name, why: 'no longer in the spec' });
    else if (want.labels[LABEL.hash] !== c.hash)
      actions.push({ kind: 'remove-container', name: c.name, why: 'settings changed' });
    else kept.set(c.name, c.state);
  }

  const existingPods = new Set(observed.pods.map((p) => p.name).filter((p) => !removedPods.has(p)));
  for (const c of desired.containers) {
    if (c.pod && !existingPods.has(c.pod)) {
      actions.push({ kind: 'create-pod', pod: wantedPods.get(c.pod)! });
      existingPods.add(c.pod);
    }
    const state = kept.get(c.name);
    if (state === undefined) actions.push({ kind: 'run-container', container: c });
    else if (state !== 'running') actions.push({ kind: 'start-container', name: c.name });
  }
  return actions;
}

/** One line per action for progress output and logs. */
export function describeAction(a: Action): string {
  switch (a.kind) {
    case 'create-network':
      return `create network ${a.name}`;
    case 'remove-network':
      return `remove network ${a.name}: ${a.why}`;
    case 'create-volume':
      return `create volume ${a.name}`;
    case 'create-secret':
      return `create secret ${a.name}`;
    case 'remove-pod':
      return `remove pod ${a.name} (${a.why})`;
    case 'remove-container':
      return `remove container ${a.name} (${a.why})`;
    case 'create-pod':
      return `create pod ${a.pod.name}`;
    case 'run-container':
      return `start ${a.container.role} container ${a.container.name}`;
    case 'start-container':
      return `start stopped container ${a.name}`;
  }
}
