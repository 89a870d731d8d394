import { rmSync } from 'node:fs';
import { layout, readJson, type StoreRecord, writeFileAtomic } from '../datadir.ts';
import type { Executor } from '../executor.ts';
import { removeStoreUser } from '../host/index.ts';
import { withLock } from '../lock.ts';
import { containerRemove, networkRemove, podRemove, secretRemove, volumeRemove } from '../podman/argv.ts';
import { existingStoreUser } from '../users.ts';
import { names } from './desired.ts';
import { observeStore } from './observe.ts';

/** Stops and removes a store's pods and containers; volumes, secrets and the network stay. */
export async function downStore(
  dataDir: string,
  ex: Executor,
  store: string,
  say: (m: string) => void = () => {},
): Promise<void> {
  const paths = layout(dataDir);
  await withLock(paths.applyLock(store), `store ${store}`, async () => {
    const u = await existingStoreUser(ex, store);
    const seen = await observeStore(ex, u);
    if (seen.pods.length > 0) {
      say(`remove ${seen.pods.length} pod(s) of ${store}`);
      await ex.run(
        podRemove(
          u,
          seen.pods.map((p) => p.name),
        ),
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
    const u = await existingStoreUser(ex, store);
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
