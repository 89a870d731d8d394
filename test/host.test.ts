import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ProcessExecutor, RecordingExecutor } from '../src/agent/executor.ts';
import { DROP_IN_PATH, planHostConfig } from '../src/agent/host/config.ts';
import { checkPodman, diagnose } from '../src/agent/host/diagnose.ts';
import type { HostFacts } from '../src/agent/host/facts.ts';
import { prepareHost } from '../src/agent/host/prepare.ts';
import { HOST_PROBES, probeHost } from '../src/agent/host/probe.ts';
import { writeFileCommands } from '../src/agent/host/steps.ts';
import {
  accountProbes,
  ensureStoreUser,
  removeStoreUser,
  storeUserProbes,
} from '../src/agent/host/store-user.ts';
import { asStoreUser, STORAGE_CONF, type StoreUser } from '../src/agent/host/store-user-plan.ts';
import { triplane } from './helpers.ts';

// These tests change the real host: they run as root on a Debian 12 machine set aside for it.
const skip = process.getuid?.() === 0 ? false : 'needs root';
const executor = new ProcessExecutor();
const STORE = 'hosttest';

async function sh(script: string): Promise<string> {
  return (await executor.run({ argv: ['sh', '-c', script] })).stdout.trim();
}

describe('host preparation on this machine', { skip }, () => {
  let facts: HostFacts;
  let first: Awaited<ReturnType<typeof prepareHost>>;

  // A fresh machine has no Podman: the first preparation installs it, before anything probes for it.
  before(async () => {
    first = await prepareHost(new RecordingExecutor(executor));
  });

  it('probeHost reports the machine as other tools see it', async () => {
    facts = await probeHost(executor);
    assert.ok(facts.installedPackages.includes('podman'), 'podman is installed');
    assert.ok(facts.installedPackages.includes('runc'), 'runc is installed');
    assert.equal(String(facts.hardNofile ?? 'unlimited'), await sh('ulimit -Hn'));
    assert.equal(
      String(facts.hardNproc ?? 'unlimited'),
      await executor.run({ argv: ['bash', '-c', 'ulimit -Hu'] }).then((r) => r.stdout.trim()),
    );
    assert.equal(facts.systemd, existsSync('/run/systemd/system'));
    assert.equal(facts.tunMode, existsSync('/dev/net/tun') ? statSync('/dev/net/tun').mode & 0o777 : null);
    assert.equal(facts.dropIn, existsSync(DROP_IN_PATH) ? readFileSync(DROP_IN_PATH, 'utf8') : null);
    assert.equal(facts.maxUserNamespaces, Number(readFileSync('/proc/sys/user/max_user_namespaces', 'utf8')));
    const rootType = await sh('stat -f -c %T /sys/fs/cgroup');
    const unified = existsSync('/sys/fs/cgroup/unified')
      ? await sh('stat -f -c %T /sys/fs/cgroup/unified')
      : '';
    const expected = rootType === 'cgroup2fs' ? 'v2' : unified === 'cgroup2fs' ? 'hybrid' : 'v1';
    assert.equal(facts.cgroup, expected);
  });

  it('root Podman works with the runtime planned for this cgroup layout', async () => {
    assert.match(await sh('runc --version'), /^runc version/);
    const podman = await checkPodman(executor);
    assert.equal(podman.level, 'ok', podman.message);
    assert.match(podman.message, new RegExp(`\\(runtime ${planHostConfig(facts).runtime},`));
  });

  it('prepareHost leaves nothing to do, so a second run only probes', async () => {
    assert.deepEqual(
      diagnose(first.facts).filter((f) => f.level === 'error'),
      [],
    );
    const recorder = new RecordingExecutor(executor);
    const second = await prepareHost(recorder);
    assert.deepEqual(second.steps, []);
    assert.deepEqual(recorder.log, Object.values(HOST_PROBES));
  });

  it('writeFileCommands creates the directories and replaces a file without leaving the temporary one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tp-host-'));
    try {
      const path = join(dir, 'a', 'b.conf');
      for (const text of ['first\n', 'second\n']) {
        for (const command of writeFileCommands(path, text)) await executor.run(command);
        assert.equal(readFileSync(path, 'utf8'), text);
      }
      assert.equal(statSync(path).mode & 0o777, 0o644);
      assert.equal(existsSync(`${path}.triplane-new`), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Kills every process of a uid and waits until none is left but zombies. */
async function killAll(uid: number): Promise<void> {
  await sh(
    `pkill --signal KILL -u ${uid}; for i in $(seq 50); do ps -o stat= -u ${uid} | grep -qv '^Z' || break; sleep 0.1; done`,
  );
}

describe('store users on this machine', { skip }, () => {
  let user: StoreUser;

  // A run that was interrupted leaves the user behind; removal is idempotent.
  before(() => removeStoreUser(executor, STORE));
  after(() => removeStoreUser(executor, STORE));

  it('ensureStoreUser creates a private user ready for rootless Podman', async () => {
    user = await ensureStoreUser(executor, STORE);
    assert.equal(user.user, 'tp-hosttest');
    assert.equal(String(user.uid), await sh('id -u tp-hosttest'));
    assert.equal(user.home, '/home/tp-hosttest');
    assert.equal(user.runtimeDir, `/run/user/${user.uid}`);
    for (const dir of [user.home, user.runtimeDir]) {
      const st = statSync(dir);
      assert.deepEqual([st.mode & 0o777, st.uid, st.gid], [0o700, user.uid, user.gid], dir);
    }
    const conf = `${user.home}/.config/containers/storage.conf`;
    assert.equal(readFileSync(conf, 'utf8'), STORAGE_CONF);
    assert.deepEqual([statSync(conf).uid, statSync(`${user.home}/.config`).uid], [user.uid, user.uid]);
    for (const file of ['/etc/subuid', '/etc/subgid']) {
      assert.match(readFileSync(file, 'utf8'), /^tp-hosttest:\d+:65536$/m, file);
    }
  });

  it('ensureStoreUser a second time only probes', async () => {
    const recorder = new RecordingExecutor(executor);
    assert.deepEqual(await ensureStoreUser(recorder, STORE), user);
    assert.deepEqual(recorder.log, [
      ...Object.values(storeUserProbes(user.user)),
      ...Object.values(accountProbes(user.user, user)),
    ]);
  });

  it('the store user runs rootless Podman with overlay storage in its home', async () => {
    const result = await executor.run(
      asStoreUser(user, ['podman', 'info', '--format', 'json'], { timeoutMs: 120_000 }),
    );
    const info = JSON.parse(result.stdout) as {
      host: { security: { rootless: boolean } };
      store: { graphDriverName: string; graphRoot: string };
    };
    assert.equal(info.host.security.rootless, true);
    assert.equal(info.store.graphDriverName, 'overlay');
    assert.ok(info.store.graphRoot.startsWith(`${user.home}/`), info.store.graphRoot);
  });

  it('ensureStoreUser gives Podman back to a user whose processes were all killed', async () => {
    // A container without an image: a root filesystem of sleep and its libraries, owned by the user.
    const rootfs = `${user.home}/rootfs`;
    await sh(
      `mkdir -p ${rootfs} && cp --parents /usr/bin/sleep $(ldd /usr/bin/sleep | grep -o '/[^ ]*') ${rootfs}/ && chown -R ${user.uid}:${user.gid} ${rootfs}`,
    );
    const podman = (args: string[], okExitCodes = [0]) =>
      executor.run(asStoreUser(user, ['podman', ...args], { timeoutMs: 120_000, okExitCodes }));
    await podman([
      'run',
      '-d',
      '--name',
      'sleeper',
      '--network',
      'none',
      '--rootfs',
      rootfs,
      '/usr/bin/sleep',
      '600',
    ]);
    // GIVEN every process of the user killed (a crash, an OOM kill, a sandbox torn down), while
    // /run/user/<uid> and /dev/shm keep Podman's state: it refuses to run.
    await killAll(user.uid);
    const broken = await podman(['ps'], [0, 1, 125]);
    assert.notEqual(broken.exitCode, 0);
    assert.match(broken.stderr, /invalid internal status/);
    // WHEN the user is prepared again THEN Podman runs, and the container can be started again
    const recorder = new RecordingExecutor(executor);
    assert.deepEqual(await ensureStoreUser(recorder, STORE), user);
    assert.ok(
      recorder.log.some((c) => c.argv.join(' ').includes('-mindepth 1 -delete')),
      recorder.log.map((c) => c.argv.join(' ')).join('\n'),
    );
    const state = async () =>
      (await podman(['inspect', '--format', '{{.State.Status}}', 'sleeper'])).stdout.trim();
    assert.match(await state(), /^(created|exited|stopped)$/);
    await podman(['start', 'sleeper']);
    assert.equal(await state(), 'running');
    // AND a user whose Podman runs is left alone
    const again = new RecordingExecutor(executor);
    await ensureStoreUser(again, STORE);
    assert.deepEqual(again.log, [
      ...Object.values(storeUserProbes(user.user)),
      ...Object.values(accountProbes(user.user, user)),
    ]);
  });

  it('removeStoreUser deletes the user and all it owned, orphaned Podman state too, and a second call only probes', async () => {
    // Its container runs (previous test); killing every process leaves Podman's state orphaned.
    await killAll(user.uid);
    await removeStoreUser(executor, STORE);
    const passwd = await executor.run({ argv: ['getent', 'passwd', user.user], okExitCodes: [0, 2] });
    assert.equal(passwd.exitCode, 2);
    assert.equal(existsSync(user.home), false);
    assert.equal(existsSync(user.runtimeDir), false);
    assert.equal(existsSync(`/dev/shm/libpod_rootless_lock_${user.uid}`), false);
    assert.doesNotMatch(readFileSync('/etc/subuid', 'utf8'), /^tp-hosttest:/m);
    assert.doesNotMatch(readFileSync('/etc/subgid', 'utf8'), /^tp-hosttest:/m);
    assert.equal(await sh(`pgrep -u ${user.uid} || true`), '');

    const recorder = new RecordingExecutor(executor);
    await removeStoreUser(recorder, STORE);
    assert.deepEqual(recorder.log, Object.values(storeUserProbes(user.user)));
  });
});

describe('triplane doctor', { skip }, () => {
  it('says in plain words that this prepared host is fine and exits 0', () => {
    const r = triplane(['doctor']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^OK\s+packages\s+all required packages are installed$/m);
    assert.match(r.stdout, /^OK\s+podman\s+podman \d+\.\d+\.\d+ works/m);
  });
});
