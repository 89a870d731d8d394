import type { Command, CommandResult, Executor } from '../executor.ts';
import { HostError } from './errors.ts';
import { existing, probeCommand } from './probe.ts';
import { runSteps } from './steps.ts';
import {
  type PathState,
  planStoreUser,
  planStoreUserRemoval,
  runtimeDirOf,
  type StoreUser,
  type StoreUserFacts,
  storeUserName,
  storeUserOf,
} from './store-user-plan.ts';
import { parseSubIds } from './subid.ts';

/** The read-only commands {@link probeStoreUser} runs first, for any store user. */
export function storeUserProbes(user: string) {
  return {
    // getent exits 2 for an unknown user.
    passwd: { ...probeCommand('getent', 'passwd', user), okExitCodes: [0, 2] } satisfies Command,
    subuid: probeCommand('cat', '/etc/subuid'),
    subgid: probeCommand('cat', '/etc/subgid'),
  };
}

/** The read-only commands {@link probeStoreUser} runs once the user exists. */
export function accountProbes(user: string, account: { uid: number; home: string }) {
  return {
    home: probeCommand('stat', '--format=%a %u %g', account.home),
    // Read as the user: that is what its Podman sees, and root never follows a link the user planted.
    storageConf: probeCommand(
      'runuser',
      '-u',
      user,
      '--',
      'cat',
      `${account.home}/.config/containers/storage.conf`,
    ),
    runtimeDir: probeCommand('stat', '--format=%a %u %g', runtimeDirOf(account.uid)),
    podmanAlive: probeCommand('test', '-e', `${runtimeDirOf(account.uid)}/libpod/tmp/alive`),
    // ps exits 1 when the user has no process.
    userProcesses: probeCommand('ps', '-o', 'stat=', '-u', String(account.uid)),
  };
}

/**
 * How many processes `ps -o stat=` listed that are not zombies: a killed process stays one until it
 * is reaped, and holds nothing.
 */
export function countLiveProcesses(psOutput: string): number {
  return psOutput.split('\n').filter((stat) => stat.trim() !== '' && !stat.trim().startsWith('Z')).length;
}

/** The uid, gid and home in a `getent passwd` line. */
export function parsePasswd(line: string): { uid: number; gid: number; home: string } {
  const [, , uid, gid, , home] = line.trim().split(':');
  if (!uid || !gid || !home) throw new HostError('TP_HOST_PROBE_FAILED', `unexpected passwd entry: ${line}`);
  return { uid: Number(uid), gid: Number(gid), home };
}

/** Mode and owner from `stat --format='%a %u %g'` output. */
export function parsePathState(out: string): PathState {
  const [mode = '', uid = '', gid = ''] = out.trim().split(' ');
  return { mode: Number.parseInt(mode, 8), uid: Number(uid), gid: Number(gid) };
}

function pathState(result: CommandResult): PathState | null {
  const out = existing(result);
  return out === undefined ? null : parsePathState(out);
}

/** Gathers {@link StoreUserFacts} for a store with read-only commands. */
export async function probeStoreUser(executor: Executor, store: string): Promise<StoreUserFacts> {
  const user = storeUserName(store);
  const base = storeUserProbes(user);
  const [passwd, subuid, subgid] = await Promise.all([
    executor.run(base.passwd),
    executor.run(base.subuid),
    executor.run(base.subgid),
  ]);
  const ids = {
    user,
    subuids: parseSubIds(existing(subuid) ?? ''),
    subgids: parseSubIds(existing(subgid) ?? ''),
  };
  if (passwd.exitCode !== 0)
    return {
      ...ids,
      account: null,
      home: null,
      storageConf: null,
      runtimeDir: null,
      podmanState: { present: false, userProcesses: 0 },
    };
  const account = parsePasswd(passwd.stdout);
  const probes = accountProbes(user, account);
  const [home, storageConf, runtimeDir, alive, processes] = await Promise.all([
    executor.run(probes.home),
    executor.run(probes.storageConf),
    executor.run(probes.runtimeDir),
    executor.run(probes.podmanAlive),
    executor.run(probes.userProcesses),
  ]);
  return {
    ...ids,
    account,
    home: pathState(home),
    // Missing or unreadable: either way the user's Podman would not use it.
    storageConf: storageConf.exitCode === 0 ? storageConf.stdout : null,
    runtimeDir: pathState(runtimeDir),
    podmanState: {
      present: alive.exitCode === 0,
      userProcesses: countLiveProcesses(processes.stdout),
    },
  };
}

// useradd, then the rest, then one spare round: more means a step succeeds without effect.
const MAX_ROUNDS = 3;

/** Creates or repairs a store's user until nothing is missing; a second call only probes. */
export async function ensureStoreUser(executor: Executor, store: string): Promise<StoreUser> {
  for (let round = 0; ; round++) {
    const facts = await probeStoreUser(executor, store);
    const steps = planStoreUser(store, facts);
    if (steps.length === 0) return storeUserOf(facts);
    if (round === MAX_ROUNDS) {
      throw new HostError(
        'TP_HOST_USER_FAILED',
        `${facts.user} is still not ready after ${MAX_ROUNDS} rounds: ${steps.map((s) => s.why).join('; ')}`,
        { steps: steps.map((s) => s.id) },
      );
    }
    await runSteps(executor, steps, 'TP_HOST_USER_FAILED');
  }
}

/**
 * An existing store user whose Podman can run: read-only probes, and Podman state orphaned by killed
 * processes cleared (see {@link planStoreUser}); the user is never created. For stopping and removing
 * a store's containers, which would otherwise fail on that state.
 */
export async function existingStoreUserForPodman(executor: Executor, store: string): Promise<StoreUser> {
  const facts = await probeStoreUser(executor, store);
  const user = storeUserOf(facts);
  const clear = planStoreUser(store, facts).filter((s) => s.id === 'podman-state');
  if (clear.length > 0) await runSteps(executor, clear, 'TP_HOST_USER_FAILED');
  return user;
}

/** Deletes a store's user with its containers, home and runtime directory; nothing to do if absent. */
export async function removeStoreUser(executor: Executor, store: string): Promise<void> {
  const steps = planStoreUserRemoval(await probeStoreUser(executor, store));
  if (steps.length === 0) return;
  await runSteps(executor, steps, 'TP_HOST_USER_FAILED');
  const after = await probeStoreUser(executor, store);
  if (after.account) {
    throw new HostError('TP_HOST_USER_FAILED', `${after.user} still exists after userdel`, {
      user: after.user,
    });
  }
}
