import type { Command } from '../executor.ts';
import { HostError } from './errors.ts';
import { type HostStep, SYSTEM_PATH, writeFileCommands } from './steps.ts';
import { findFreeSubIdRange, hasSubIds, type SubIdRange } from './subid.ts';

/** Rootless storage settings: without them Podman falls back to vfs, which copies every image layer. */
export const STORAGE_CONF = '[storage]\ndriver = "overlay"\n';

// useradd refuses longer names ("invalid user name").
const MAX_USER_NAME = 32;

/** The unix user that runs a store's containers; fails with every rule the store name breaks. */
export function storeUserName(store: string): string {
  const user = `tp-${store}`;
  const problems: string[] = [];
  if (!/^[a-z0-9-]*$/.test(store)) problems.push('use only lowercase letters, digits and dashes');
  if (store.length < 1 || store.length > 40) problems.push('use 1 to 40 characters');
  else if (user.length > MAX_USER_NAME) {
    problems.push(`its user ${user} would be longer than the ${MAX_USER_NAME} characters useradd accepts`);
  }
  if (problems.length > 0) {
    const message = `store name ${JSON.stringify(store)}: ${problems.join('; ')}`;
    throw new HostError('TP_HOST_INVALID_STORE_NAME', message, { store, problems });
  }
  return user;
}

/** Mode and numeric owner of a path. */
export interface PathState {
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
}

/** What a probe found about one store's user. */
export interface StoreUserFacts {
  readonly user: string;
  /** The passwd entry, or `null` when the user does not exist. */
  readonly account: { readonly uid: number; readonly gid: number; readonly home: string } | null;
  /** Every range in `/etc/subuid` (all users: a new range must not overlap any of them). */
  readonly subuids: readonly SubIdRange[];
  /** Every range in `/etc/subgid`. */
  readonly subgids: readonly SubIdRange[];
  readonly home: PathState | null;
  /** Text of `~/.config/containers/storage.conf`, or `null` when missing. */
  readonly storageConf: string | null;
  readonly runtimeDir: PathState | null;
  /**
   * Whether the runtime directory holds Podman's state (its `libpod/tmp/alive` marker), and how many
   * processes (zombies aside) run as the user itself. Podman's pause process and every running
   * container's conmon do: state with none of them left is orphaned.
   */
  readonly podmanState: { readonly present: boolean; readonly userProcesses: number };
}

/** A store's unix user, ready to run rootless Podman. */
export interface StoreUser {
  readonly user: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
  /** `XDG_RUNTIME_DIR` for the user's Podman: `/run/user/<uid>`. */
  readonly runtimeDir: string;
}

/** The runtime directory of a uid; nothing creates it on hosts without systemd-logind. */
export function runtimeDirOf(uid: number): string {
  return `/run/user/${uid}`;
}

/** Rootless Podman's lock file for a uid's containers, pods and volumes (in shared memory). */
export function podmanLockFileOf(uid: number): string {
  return `/dev/shm/libpod_rootless_lock_${uid}`;
}

/** The {@link StoreUser} described by facts whose account exists. */
export function storeUserOf(facts: StoreUserFacts): StoreUser {
  if (!facts.account) throw new HostError('TP_HOST_USER_FAILED', `user ${facts.user} does not exist`);
  const { uid, gid, home } = facts.account;
  return { user: facts.user, uid, gid, home, runtimeDir: runtimeDirOf(uid) };
}

/**
 * Runs `argv` as the store user. The environment is explicit because runuser keeps the caller's, and
 * the working directory is the home because the caller's (often /root) is unreadable to the user.
 */
export function asStoreUser(
  user: StoreUser,
  argv: readonly string[],
  options: Omit<Command, 'argv' | 'cwd' | 'env'> = {},
): Command {
  return {
    ...options,
    argv: ['runuser', '-u', user.user, '--', ...argv],
    cwd: user.home,
    env: { PATH: SYSTEM_PATH, HOME: user.home, XDG_RUNTIME_DIR: user.runtimeDir },
  };
}

/** `useradd` for a store user; Debian's useradd also gives it subordinate id ranges. */
export function useraddCommand(user: string): Command {
  return {
    argv: [
      'useradd',
      '--create-home',
      '--home-dir',
      `/home/${user}`,
      '--shell',
      '/usr/sbin/nologin',
      '--user-group',
      user,
    ],
  };
}

function isPrivateDir(state: PathState | null, uid: number, gid: number): boolean {
  return state !== null && (state.mode & 0o777) === 0o700 && state.uid === uid && state.gid === gid;
}

/** `install -d` that creates or repairs a directory only its owner may enter. */
function privateDirCommand(path: string, uid: number, gid: number): Command {
  return { argv: ['install', '-d', '-m', '0700', '-o', String(uid), '-g', String(gid), path] };
}

/**
 * The next steps towards a ready store user. A missing user yields only `useradd`, since everything
 * else depends on its uid and on what useradd sets up; the caller probes and plans again after it.
 */
export function planStoreUser(store: string, facts: StoreUserFacts): HostStep[] {
  const user = storeUserName(store);
  if (!facts.account) {
    return [{ id: 'user', why: `user ${user} does not exist`, commands: [useraddCommand(user)] }];
  }
  const target = storeUserOf(facts);
  const { uid, gid, home } = target;
  const steps: HostStep[] = [];
  if (!hasSubIds(facts.subuids, user, uid)) {
    const { first, last } = findFreeSubIdRange(facts.subuids);
    steps.push({
      id: 'subuids',
      why: `${user} has no range in /etc/subuid, so rootless Podman cannot map container users`,
      commands: [{ argv: ['usermod', '--add-subuids', `${first}-${last}`, user] }],
    });
  }
  if (!hasSubIds(facts.subgids, user, uid)) {
    const { first, last } = findFreeSubIdRange(facts.subgids);
    steps.push({
      id: 'subgids',
      why: `${user} has no range in /etc/subgid, so rootless Podman cannot map container groups`,
      commands: [{ argv: ['usermod', '--add-subgids', `${first}-${last}`, user] }],
    });
  }
  // Mode 0700 keeps one store from reading another's containers, volumes and code.
  if (!isPrivateDir(facts.home, uid, gid)) {
    steps.push({
      id: 'home',
      why: `${home} must exist, belong to ${user} and be closed to other users (mode 0700)`,
      commands: [privateDirCommand(home, uid, gid)],
    });
  }
  if (facts.storageConf !== STORAGE_CONF) {
    const path = `${home}/.config/containers/storage.conf`;
    // Written as the user: root following a link the user planted could overwrite any file.
    steps.push({
      id: 'storage-conf',
      why: `${path} must select the overlay driver`,
      commands: writeFileCommands(path, STORAGE_CONF).map(({ argv, stdin }) =>
        asStoreUser(target, argv, stdin === undefined ? {} : { stdin }),
      ),
    });
  }
  if (!isPrivateDir(facts.runtimeDir, uid, gid)) {
    steps.push({
      id: 'runtime-dir',
      why: `${runtimeDirOf(uid)} must exist for ${user}'s Podman state (mode 0700)`,
      commands: [privateDirCommand(runtimeDirOf(uid), uid, gid)],
    });
  }
  if (isPrivateDir(facts.runtimeDir, uid, gid) && isOrphaned(facts)) {
    steps.push({
      id: 'podman-state',
      why:
        `${target.runtimeDir} holds Podman state of processes that are all gone (killed, or a restart ` +
        'that kept /run); Podman refuses to run until it is cleared',
      commands: [clearOrphanedStateCommand(facts)],
    });
  }
  return steps;
}

/** Podman state in the runtime directory with no process of the user left to own it. */
function isOrphaned(facts: StoreUserFacts): boolean {
  return facts.podmanState.present && facts.podmanState.userProcesses === 0;
}

// Arguments: $1 uid, $2 runtime directory, $3 lock file, $4 and $5 first and last subordinate uid.
const STILL_OWNED = 'ps -o stat= -u "$1" | grep -qv "^Z" && exit 0';
const KILL_ORPHANED_CONTAINERS =
  'ps -e -o pid=,uid= | awk -v lo="$4" -v hi="$5" \'$2 >= lo + 0 && $2 <= hi + 0 { print $1 }\' | xargs -r kill -KILL';
const CLEAR_STATE = 'find "$2" -mindepth 1 -delete && rm -f "$3"';

/**
 * Clears a user's orphaned Podman state as a restart does where /run and /dev/shm are tmpfs: the
 * runtime directory's content and the lock file. Podman then finds no `alive` marker, refreshes its
 * records (containers become "created") and the supervisor starts them again. Without it every Podman
 * command of the user fails with "invalid internal status … podman system migrate". Container
 * processes that run as a subordinate uid outlive their killed conmon; with no conmon left they are
 * orphans nothing will stop, and are killed. The user's processes (zombies aside) are checked again
 * first: a Podman command started since the probe makes it all a no-op.
 */
function clearOrphanedStateCommand(facts: StoreUserFacts): Command {
  const u = storeUserOf(facts);
  const subuids = facts.subuids.find((r) => r.owner === u.user || r.owner === String(u.uid));
  const script = [STILL_OWNED, ...(subuids ? [KILL_ORPHANED_CONTAINERS] : []), CLEAR_STATE].join('; ');
  return {
    argv: [
      'sh',
      '-c',
      script,
      'sh',
      String(u.uid),
      u.runtimeDir,
      podmanLockFileOf(u.uid),
      ...(subuids ? [String(subuids.start), String(subuids.start + subuids.count - 1)] : []),
    ],
  };
}

const RESET_RETRIED =
  'for n in 1 2; do podman system reset --force && exit 0; sleep 1; done; exec podman system reset --force';

/**
 * Steps that delete a store user and everything it owns. Containers are removed by Podman first:
 * processes running as a subordinate uid would survive killing the user's own processes. The
 * user's processes (the rootless pause process at least) must be gone before userdel accepts.
 */
export function planStoreUserRemoval(facts: StoreUserFacts): HostStep[] {
  if (!facts.account) return [];
  const target = storeUserOf(facts);
  const { user } = target;
  return [
    {
      id: 'containers',
      why: `${user}'s containers, pods and images must go before the user`,
      commands: [
        // Podman keeps its state under the runtime directory; after a reboot it must be recreated.
        privateDirCommand(target.runtimeDir, target.uid, target.gid),
        // Orphaned state would make the reset fail as it makes every Podman command fail.
        ...(isOrphaned(facts) ? [clearOrphanedStateCommand(facts)] : []),
        // Tried up to three times: a container's cleanup process (conmon runs `podman container
        // cleanup` after the container ends) can still write an event under the runtime directory
        // while reset empties it, and reset then fails with "directory not empty". The last try's
        // exit code and every try's output are what the caller sees.
        asStoreUser(target, ['sh', '-c', RESET_RETRIED], { timeoutMs: 300_000 }),
      ],
    },
    {
      id: 'processes',
      why: `userdel refuses to delete ${user} while it has processes`,
      commands: [
        { argv: ['pkill', '--signal', 'KILL', '-u', user], okExitCodes: [0, 1] },
        // Killed again while any is left: a Podman command that ran as the user meanwhile (an
        // agent's supervisor pass) starts a new rootless pause process.
        {
          argv: [
            'timeout',
            '20',
            'sh',
            '-c',
            'while pgrep -u "$1" >/dev/null; do pkill --signal KILL -u "$1"; sleep 0.2; done',
            'sh',
            user,
          ],
        },
      ],
    },
    {
      id: 'user',
      why: `${user} is removed with its home, group and subordinate id ranges`,
      commands: [
        { argv: ['userdel', '--remove', user] },
        { argv: ['rm', '-rf', '--one-file-system', target.runtimeDir] },
        // A later user given the same uid would otherwise inherit its locks.
        { argv: ['rm', '-f', podmanLockFileOf(target.uid)] },
      ],
    },
  ];
}
