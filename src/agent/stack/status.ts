import { ContainerRole, type ContainerStatus } from '../../contracts/status.ts';
import type { Executor } from '../executor.ts';
import { containerInspect, containerList, LABEL } from '../podman/argv.ts';
import type { StoreUser } from '../podman/types.ts';

interface Inspected {
  Name: string;
  RestartCount?: number;
  Config?: { Labels?: Record<string, string> | null };
  State: { Status: string; Pid?: number; Health?: { Status?: string } };
}

/** Podman's view of one store container, with what status and the supervisor need. */
export interface ContainerFacts {
  readonly name: string;
  readonly role: ContainerRole;
  readonly state: string;
  readonly health: ContainerStatus['health'];
  /** Restarts done by Podman's restart policy (a process that died). */
  readonly policyRestarts: number;
  readonly pid: number;
}

/** Inspects all of a store's containers (read-only). */
export async function inspectStore(ex: Executor, u: StoreUser): Promise<ContainerFacts[]> {
  const ps = (await ex.run(containerList(u))).stdout.trim();
  const entries = (
    ps
      ? (JSON.parse(ps) as { Names?: string[]; Labels?: Record<string, string> | null; IsInfra?: boolean }[])
      : []
  ).filter((c) => c.Labels?.[LABEL.role] && !c.IsInfra);
  if (entries.length === 0) return [];
  const names = entries.map((c) => c.Names?.[0] ?? '').filter(Boolean);
  // A container removed between ps and inspect makes inspect fail; the next pass sees the new state.
  const out = (await ex.run({ ...containerInspect(u, names), okExitCodes: [0, 125] })).stdout.trim();
  const inspected = out ? (JSON.parse(out) as Inspected[]) : [];
  return inspected
    .map((c) => {
      const role = ContainerRole.safeParse(c.Config?.Labels?.[LABEL.role]);
      const h = c.State.Health?.Status;
      const health: ContainerStatus['health'] =
        h === 'healthy' || h === 'unhealthy' || h === 'starting'
          ? h
          : c.State.Status === 'running'
            ? 'starting'
            : 'none';
      return role.success
        ? {
            name: c.Name.replace(/^\//, ''),
            role: role.data,
            state: c.State.Status,
            health,
            policyRestarts: c.RestartCount ?? 0,
            pid: c.State.Pid ?? 0,
          }
        : undefined;
    })
    .filter((c): c is ContainerFacts => c !== undefined)
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Status records for `triplane status --json`: Podman's restarts plus the supervisor's. */
export function toStatus(
  store: string,
  u: StoreUser,
  facts: readonly ContainerFacts[],
  supervisorRestarts: Readonly<Record<string, number>>,
): ContainerStatus[] {
  return facts.map((f) => ({
    store,
    role: f.role,
    name: f.name,
    state: f.state,
    health: f.state === 'running' ? f.health : 'none',
    restarts: f.policyRestarts + (supervisorRestarts[f.name] ?? 0),
    user: u.user,
  }));
}
