import type { StoreUser } from './types.ts';

/** The store user unit tests build commands for; no such account needs to exist. */
export const TEST_USER: StoreUser = {
  store: 'demo',
  user: 'tp-demo',
  uid: 1001,
  gid: 1001,
  home: '/home/tp-demo',
  runtimeDir: '/run/user/1001',
};
