import type { Executor } from './executor.ts';
import { ensureStoreUser, probeStoreUser } from './host/index.ts';
import { storeUserOf } from './host/store-user-plan.ts';
import type { StoreUser } from './podman/types.ts';

/** Creates (or repairs) a store's unix user and returns it as the Podman driver's identity. */
export async function prepareStoreUser(ex: Executor, store: string): Promise<StoreUser> {
  return { ...(await ensureStoreUser(ex, store)), store };
}

/** An existing store's unix user, found with read-only commands. */
export async function existingStoreUser(ex: Executor, store: string): Promise<StoreUser> {
  return { ...storeUserOf(await probeStoreUser(ex, store)), store };
}
