/** Host preparation and diagnosis: what `triplane host prepare` and `triplane doctor` call. */
export { DROP_IN_PATH, dropInState, type HostConfig, planHostConfig } from './config.ts';
export { checkPodman, diagnose, explainPodmanError, type Finding, formatFindings } from './diagnose.ts';
export { HostError, type HostErrorCode } from './errors.ts';
export {
  type CgroupLayout,
  type HostFacts,
  type HostPackage,
  missingPackages,
  REQUIRED_PACKAGES,
} from './facts.ts';
export {
  type PrepareOptions,
  type PrepareProgress,
  type PrepareResult,
  planHostPrepare,
  prepareHost,
} from './prepare.ts';
export { probeHost } from './probe.ts';
export type { HostStep } from './steps.ts';
export {
  ensureStoreUser,
  existingStoreUserForPodman,
  probeStoreUser,
  removeStoreUser,
} from './store-user.ts';
export {
  asStoreUser,
  planStoreUser,
  planStoreUserRemoval,
  type StoreUser,
  type StoreUserFacts,
  storeUserName,
  storeUserOf,
} from './store-user-plan.ts';
