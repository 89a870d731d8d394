import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { layout, readJson, type StoreRecord, writeFileAtomic } from '../datadir.ts';
import { CommandError } from '../errors.ts';
import type { Executor } from '../executor.ts';
import { removeStoreUser } from '../host/index.ts';
import { withLock } from '../lock.ts';
import {
  containerRemove,
  networkRemove,
  podList,
  podRemove,
  secretRemove,
  volumeRemove,
} from '../podman/argv.ts';
import type { StoreUser } from '../podman/types.ts';
import { existingStoreUserForRemoval } from '../users.ts';
import { names } from './desired.ts';
import { observeStore } from './observe.ts';

/**
 * What Podman answers when `pod rm --force` meets a container in transition — its conmon restarting
 * it (`--restart always`) while it is being stopped. A moment later the container has settled and the
 * same removal goes through.
 */
const IN_TRANSITION = 'container state improper';

/**
 * Removes `pods`, again (after `pauseMs`, at most `attempts` times in all) for the ones still there
 * when Podman found a container in transition. Any other failure is thrown at once.
 */
export async function removePods(
  ex: Executor,
  u: StoreUser,
  pods: readonly string[],
  o: { attempts?: number; pauseMs?: number } = {},
): Promise<void> {
  let left = [...pods];
  for (let attempt = 1; left.length > 0; attempt++) {
    try {
      await ex.run(podRemove(u, left));
      return;
    } catch (e) {
      if (!(e instanceof CommandError) || !e.stderr.includes(IN_TRANSITION) || attempt >= (o.attempts ?? 3))
        throw e;
    }
    await sleep(o.pauseMs ?? 1000);
    const out = (await ex.run(podList(u))).stdout.trim();
    const there = new Set(((out ? JSON.parse(out) : []) as { Name: string }[]).map((p) => p.Name));
    left = left.filter((name) => there.has(name));
  }
}

/** Stops and removes a store's pods and containers; volumes, secrets and the network stay. */
export async function downStore(
  dataDir: string,
  ex: Executor,
  store: string,
  say: (m: string) => void = () => {},
): Promise<void> {
  const paths = layout(dataDir);
  await withLock(paths.applyLock(store), `store ${store}`, async () => {
    const u = await existingStoreUserForRemoval(ex, store);
    const seen = await observeStore(ex, u);
    if (seen.pods.length > 0) {
      say(`remove ${seen.pods.length} pod(s) of ${store}`);
      await removePods(
        ex,
        u,
        seen.pods.map((p) => p.name),
      );
    }
    const loose = seen.containers.filter((c) => !c.pod).map((c) => c.name);
    if (loose.length > 0) {
      say(`remove ${loose.length} container(s) of ${store}`);
      await ex.run(containerRemove(u, loose));
    }
    const rec = readJson<StoreRecord>(paths.record(store));
    if (rec) writeFileAtomic(paths.record(store), `${JSON.stringify({ ...rec, state: 'down' }, null, 2)}\n`);
  });
}

/** Removes a store entirely: containers, volumes (data!), secrets, network, its unix user and records. */
export async function destroyStore(
  dataDir: string,
  ex: Executor,
  store: string,
  say: (m: string) => void = () => {},
): Promise<void> {
  await downStore(dataDir, ex, store, say);
  const paths = layout(dataDir);
  await withLock(paths.applyLock(store), `store ${store}`, async () => {
    const u = await existingStoreUserForRemoval(ex, store);
    const seen = await observeStore(ex, u);
    const n = names(store);
    const volumes = seen.volumes.filter((v) => v.startsWith(`${store}-`));
    if (volumes.length > 0) {
      say(`remove volumes ${volumes.join(', ')}`);
      await ex.run(volumeRemove(u, volumes));
    }
    const secrets = seen.secrets.filter((s) => s.startsWith(`${store}-`));
    if (secrets.length > 0) await ex.run(secretRemove(u, secrets));
    if (seen.networks.includes(n.network)) await ex.run(networkRemove(u, n.network));
    say(`remove unix user ${u.user}`);
    await removeStoreUser(ex, store);
  });
  rmSync(paths.store(store), { recursive: true, force: true });
}
