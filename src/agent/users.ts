import type { Executor } from './executor.ts';
import { ensureStoreUser, existingStoreUserForPodman, probeStoreUser } from './host/index.ts';
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

/**
 * An existing store's unix user, its Podman state repaired if the user's processes were all killed
 * (see `existingStoreUserForPodman`): what stopping and removing a store's containers need.
 */
export async function existingStoreUserForRemoval(ex: Executor, store: string): Promise<StoreUser> {
  return { ...(await existingStoreUserForPodman(ex, store)), store };
}
