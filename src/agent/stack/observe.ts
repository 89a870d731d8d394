import type { Executor } from '../executor.ts';
import {
  containerList,
  LABEL,
  networkList,
  podList,
  STORE_LEASE_START,
  secretList,
  volumeList,
} from '../podman/argv.ts';
import type { StoreUser } from '../podman/types.ts';
import type { ObservedStore } from './plan.ts';

interface PsEntry {
  Names?: string[];
  Labels?: Record<string, string> | null;
  State?: string;
  PodName?: string;
  IsInfra?: boolean;
}

/** Reads what Podman has for a store. Only read-only commands, so observing never changes anything. */
export async function observeStore(ex: Executor, u: StoreUser): Promise<ObservedStore> {
  const json = async <T>(cmd: ReturnType<typeof containerList>): Promise<T[]> => {
    const out = (await ex.run(cmd)).stdout.trim();
    return out ? ((JSON.parse(out) as T[]) ?? []) : [];
  };
  const nets = await json<{ name: string; subnets?: { lease_range?: { start_ip?: string } }[] }>(
    networkList(u),
  );
  const vols = await json<{ Name: string }>(volumeList(u));
  const secrets = (await ex.run(secretList(u))).stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const pods = await json<{ Name: string; Labels?: Record<string, string> | null }>(podList(u));
  const ctrs = await json<PsEntry>(containerList(u));
  return {
    networks: nets.map((n) => n.name),
    staleNetworks: nets
      .filter((n) => n.subnets && !n.subnets.some((s) => s.lease_range?.start_ip === STORE_LEASE_START))
      .map((n) => n.name),
    volumes: vols.map((v) => v.Name),
    secrets,
    pods: pods.map((p) => ({ name: p.Name, hash: p.Labels?.[LABEL.hash] })),
    containers: ctrs
      // Infra containers belong to their pod and have no role of their own.
      .filter((c) => c.Labels?.[LABEL.role] && !c.IsInfra)
      .map((c) => ({
        name: c.Names?.[0] ?? '',
        hash: c.Labels?.[LABEL.hash],
        state: c.State ?? 'unknown',
        pod: c.PodName || undefined,
      })),
  };
}
