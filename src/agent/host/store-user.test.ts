import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ProcessExecutor } from '../executor.ts';
import { HostError } from './errors.ts';
import {
  accountProbes,
  countLiveProcesses,
  ensureStoreUser,
  parsePasswd,
  parsePathState,
  storeUserProbes,
} from './store-user.ts';
import {
  asStoreUser,
  planStoreUser,
  planStoreUserRemoval,
  STORAGE_CONF,
  type StoreUserFacts,
  storeUserName,
} from './store-user-plan.ts';
import { parseSubIds } from './subid.ts';
import { ScriptedExecutor } from './testing.ts';

describe('storeUserName', () => {
  for (const store of ['demo', 'a', 'shop-2', 'x'.repeat(29)]) {
    it(`accepts ${JSON.stringify(store)}`, () => assert.equal(storeUserName(store), `tp-${store}`));
  }

  const invalid = [
    { store: '', problems: ['use 1 to 40 characters'] },
    { store: 'Demo', problems: ['use only lowercase letters, digits and dashes'] },
    { store: 'my_shop', problems: ['use only lowercase letters, digits and dashes'] },
    { store: '../etc', problems: ['use only lowercase letters, digits and dashes'] },
    {
      store: 'x'.repeat(30),
      problems: [`its user tp-${'x'.repeat(30)} would be longer than the 32 characters useradd accepts`],
    },
    {
      store: 'X'.repeat(41),
      problems: ['use only lowercase letters, digits and dashes', 'use 1 to 40 characters'],
    },
  ];
  for (const c of invalid) {
    it(`fails for ${JSON.stringify(c.store)} naming the value and every problem`, () => {
      assert.throws(
        () => storeUserName(c.store),
        (err: unknown) => {
          assert.ok(err instanceof HostError);
          assert.equal(err.code, 'TP_HOST_INVALID_STORE_NAME');
          assert.equal(err.message, `store name ${JSON.stringify(c.store)}: ${c.problems.join('; ')}`);
          assert.deepEqual(err.details, { store: c.store, problems: c.problems });
          return true;
        },
      );
    });
  }
});

const ACCOUNT = { uid: 1002, gid: 1003, home: '/home/tp-demo' };
const ready: StoreUserFacts = {
  user: 'tp-demo',
  account: ACCOUNT,
  subuids: parseSubIds('tp-exp:100000:65536\ntp-demo:165536:65536\n'),
  subgids: parseSubIds('tp-exp:100000:65536\ntp-demo:165536:65536\n'),
  home: { mode: 0o700, uid: 1002, gid: 1003 },
  storageConf: STORAGE_CONF,
  runtimeDir: { mode: 0o700, uid: 1002, gid: 1003 },
  podmanState: { present: true, userProcesses: 3 },
};

describe('planStoreUser', () => {
  it('plans nothing for a ready user', () => {
    assert.deepEqual(planStoreUser('demo', ready), []);
  });

  it('creates a missing user, and only that, since the rest needs its uid', () => {
    const steps = planStoreUser('demo', { ...ready, account: null, home: null, runtimeDir: null });
    assert.deepEqual(
      steps.map((s) => s.commands.map((c) => c.argv)),
      [
        [
          [
            'useradd',
            '--create-home',
            '--home-dir',
            '/home/tp-demo',
            '--shell',
            '/usr/sbin/nologin',
            '--user-group',
            'tp-demo',
          ],
        ],
      ],
    );
  });

  it('adds the first free subordinate ranges when useradd gave none', () => {
    const steps = planStoreUser('demo', {
      ...ready,
      subuids: parseSubIds('tp-exp:100000:65536\n'),
      subgids: parseSubIds('tp-exp:100000:65536\nother:165536:65536\n'),
    });
    assert.deepEqual(
      steps.map((s) => [s.id, s.commands.map((c) => c.argv)]),
      [
        ['subuids', [['usermod', '--add-subuids', '165536-231071', 'tp-demo']]],
        ['subgids', [['usermod', '--add-subgids', '231072-296607', 'tp-demo']]],
      ],
    );
  });

  it('closes a home directory that other users can read', () => {
    const steps = planStoreUser('demo', { ...ready, home: { mode: 0o755, uid: 1002, gid: 1003 } });
    assert.deepEqual(
      steps.map((s) => [s.id, s.commands.map((c) => c.argv)]),
      [['home', [['install', '-d', '-m', '0700', '-o', '1002', '-g', '1003', '/home/tp-demo']]]],
    );
  });

  it('writes storage.conf as the user, so a link it planted cannot redirect the write', () => {
    const steps = planStoreUser('demo', { ...ready, storageConf: null });
    const dir = '/home/tp-demo/.config/containers';
    const as = (...argv: string[]) => ['runuser', '-u', 'tp-demo', '--', ...argv];
    assert.deepEqual(
      steps.map((s) => s.id),
      ['storage-conf'],
    );
    assert.deepEqual(
      steps[0]!.commands.map((c) => [c.argv, c.stdin, c.cwd, c.env?.HOME]),
      [
        [as('mkdir', '-p', dir), undefined, '/home/tp-demo', '/home/tp-demo'],
        [
          as('dd', `of=${dir}/storage.conf.triplane-new`, 'status=none'),
          STORAGE_CONF,
          '/home/tp-demo',
          '/home/tp-demo',
        ],
        [
          as('chmod', '0644', `${dir}/storage.conf.triplane-new`),
          undefined,
          '/home/tp-demo',
          '/home/tp-demo',
        ],
        [
          as('mv', '-f', `${dir}/storage.conf.triplane-new`, `${dir}/storage.conf`),
          undefined,
          '/home/tp-demo',
          '/home/tp-demo',
        ],
      ],
    );
    assert.equal(STORAGE_CONF, '[storage]\ndriver = "overlay"\n');
  });

  it('creates the runtime directory, which nothing else creates without logind', () => {
    const steps = planStoreUser('demo', { ...ready, runtimeDir: null });
    assert.deepEqual(
      steps.map((s) => [s.id, s.commands.map((c) => c.argv)]),
      [['runtime-dir', [['install', '-d', '-m', '0700', '-o', '1002', '-g', '1003', '/run/user/1002']]]],
    );
  });

  it('clears Podman state that no process of the user is left to own, and only then', () => {
    const orphaned = { ...ready, podmanState: { present: true, userProcesses: 0 } };
    const steps = planStoreUser('demo', orphaned);
    assert.deepEqual(
      steps.map((s) => [s.id, s.commands.map((c) => c.argv)]),
      [
        [
          'podman-state',
          [
            [
              'sh',
              '-c',
              'ps -o stat= -u "$1" | grep -qv "^Z" && exit 0; ' +
                'ps -e -o pid=,uid= | awk -v lo="$4" -v hi="$5" \'$2 >= lo + 0 && $2 <= hi + 0 { print $1 }\' | xargs -r kill -KILL; ' +
                'find "$2" -mindepth 1 -delete && rm -f "$3"',
              'sh',
              '1002',
              '/run/user/1002',
              '/dev/shm/libpod_rootless_lock_1002',
              '165536',
              '231071',
            ],
          ],
        ],
      ],
    );
    assert.match(steps[0]!.why, /\/run\/user\/1002 holds Podman state of processes that are all gone/);
    // Running processes own it; no state, nothing to clear; a runtime directory being created
    // first (its state is looked at in the next round).
    assert.deepEqual(
      planStoreUser('demo', { ...ready, podmanState: { present: false, userProcesses: 0 } }),
      [],
    );
    assert.deepEqual(planStoreUser('demo', ready), []);
    assert.deepEqual(
      planStoreUser('demo', { ...orphaned, runtimeDir: null }).map((s) => s.id),
      ['runtime-dir'],
    );
  });

  it('the clearing command kills orphaned container processes and empties the state, unless a process of the user runs', async (t) => {
    if (process.getuid?.() !== 0) return t.skip('needs root to run a process as another uid');
    // Ids far above any real user's: nothing else on the machine runs as them.
    const [uid, first, last] = [3_900_000, 3_900_001, 3_965_536];
    const [cmd] = planStoreUser('demo', {
      ...ready,
      account: { uid, gid: uid, home: '/home/tp-demo' },
      home: { mode: 0o700, uid, gid: uid },
      runtimeDir: { mode: 0o700, uid, gid: uid },
      subuids: parseSubIds(`tp-demo:${first}:65536\n`),
      subgids: parseSubIds(`tp-demo:${first}:65536\n`),
      podmanState: { present: true, userProcesses: 0 },
    })[0]!.commands;
    const dir = mkdtempSync(join(tmpdir(), 'tp-runtime-'));
    const ex = new ProcessExecutor();
    // A container process left by a killed conmon: it runs as a subordinate uid.
    const orphan = spawn('setpriv', [
      `--reuid=${first + 998}`,
      `--regid=${first + 998}`,
      '--clear-groups',
      'sleep',
      '60',
    ]);
    const ended = new Promise<NodeJS.Signals | null>((done) =>
      orphan.once('exit', (_code, signal) => done(signal)),
    );
    try {
      const run = (argv: readonly string[]) => {
        mkdirSync(join(dir, 'run/libpod/tmp'), { recursive: true });
        writeFileSync(join(dir, 'run/libpod/tmp/alive'), '');
        writeFileSync(join(dir, 'lock'), '');
        return ex.run({ argv });
      };
      const argv = (owner: number) => [
        ...cmd!.argv.slice(0, 4),
        String(owner),
        join(dir, 'run'),
        join(dir, 'lock'),
        String(first),
        String(last),
      ];
      await new Promise((done) => setTimeout(done, 200));
      // Owned by a running process (this test's own uid): nothing is touched.
      await run(argv(process.getuid!()));
      assert.ok(existsSync(join(dir, 'run/libpod/tmp/alive')));
      assert.ok(existsSync(join(dir, 'lock')));
      assert.equal(orphan.exitCode, null, 'the container process still runs');
      // Orphaned: the container process is killed, the state cleared, the directory itself kept.
      await run(argv(uid));
      assert.equal(await ended, 'SIGKILL');
      assert.deepEqual(readdirSync(join(dir, 'run')), []);
      assert.equal(existsSync(join(dir, 'lock')), false);
    } finally {
      orphan.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails for an invalid store name before looking at the facts', () => {
    assert.throws(() => planStoreUser('Demo', ready), { code: 'TP_HOST_INVALID_STORE_NAME' });
  });
});

describe('planStoreUserRemoval', () => {
  it('plans nothing when the user does not exist', () => {
    assert.deepEqual(planStoreUserRemoval({ ...ready, account: null }), []);
  });

  it('removes containers as the user, kills its processes, then deletes it', () => {
    const steps = planStoreUserRemoval(ready);
    assert.deepEqual(
      steps.map((s) => [s.id, s.commands.map((c) => c.argv)]),
      [
        [
          'containers',
          [
            ['install', '-d', '-m', '0700', '-o', '1002', '-g', '1003', '/run/user/1002'],
            [
              'runuser',
              '-u',
              'tp-demo',
              '--',
              'sh',
              '-c',
              'for n in 1 2; do podman system reset --force && exit 0; sleep 1; done; exec podman system reset --force',
            ],
          ],
        ],
        [
          'processes',
          [
            ['pkill', '--signal', 'KILL', '-u', 'tp-demo'],
            [
              'timeout',
              '20',
              'sh',
              '-c',
              'while pgrep -u "$1" >/dev/null; do pkill --signal KILL -u "$1"; sleep 0.2; done',
              'sh',
              'tp-demo',
            ],
          ],
        ],
        [
          'user',
          [
            ['userdel', '--remove', 'tp-demo'],
            ['rm', '-rf', '--one-file-system', '/run/user/1002'],
            ['rm', '-f', '/dev/shm/libpod_rootless_lock_1002'],
          ],
        ],
      ],
    );
  });

  it('clears orphaned Podman state before the reset, which would fail on it', () => {
    const steps = planStoreUserRemoval({ ...ready, podmanState: { present: true, userProcesses: 0 } });
    assert.deepEqual(
      steps[0]!.commands.map((c) => c.argv.slice(0, 3).join(' ')),
      [
        'install -d -m',
        'sh -c ps -o stat= -u "$1" | grep -qv "^Z" && exit 0; ps -e -o pid=,uid= | awk -v lo="$4" -v hi="$5" \'$2 >= lo + 0 && $2 <= hi + 0 { print $1 }\' | xargs -r kill -KILL; find "$2" -mindepth 1 -delete && rm -f "$3"',
        'runuser -u tp-demo',
      ],
    );
  });

  it('resets Podman again when a try fails, and reports the last try when all fail', async () => {
    const reset = planStoreUserRemoval(ready)[0]!.commands[1]!;
    const script = reset.argv[reset.argv.indexOf('-c') + 1]!;
    const dir = mkdtempSync(join(tmpdir(), 'tp-reset-'));
    try {
      // A stand-in podman that fails as a racing cleanup process makes it fail, until try `ok`.
      const run = (ok: number) => {
        writeFileSync(
          join(dir, 'podman'),
          `#!/bin/sh\nn=$(cat ${dir}/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${dir}/n\n` +
            `[ $n -ge ${ok} ] && exit 0\necho "try $n: directory not empty" >&2; exit 125\n`,
          { mode: 0o755 },
        );
        rmSync(join(dir, 'n'), { force: true });
        return new ProcessExecutor().run({
          argv: ['sh', '-c', script],
          env: { PATH: `${dir}:/usr/bin:/bin` },
          okExitCodes: [0, 125],
        });
      };
      const second = await run(2);
      assert.equal(second.exitCode, 0);
      assert.equal(readFileSync(join(dir, 'n'), 'utf8').trim(), '2');
      const never = await run(99);
      assert.equal(never.exitCode, 125);
      assert.equal(readFileSync(join(dir, 'n'), 'utf8').trim(), '3');
      assert.match(never.stderr, /try 1: .*\n.*try 2: .*\n.*try 3: directory not empty/s);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('countLiveProcesses', () => {
  it('counts the processes `ps -o stat=` lists, zombies aside', () => {
    assert.equal(countLiveProcesses('Ss\nS\nSl\nZ\nR+\nZs\n'), 4);
    assert.equal(countLiveProcesses(''), 0);
    assert.equal(countLiveProcesses('Z\n'), 0);
  });
});

describe('asStoreUser', () => {
  it('runs as the user from its home with an explicit environment', () => {
    const user = {
      user: 'tp-demo',
      uid: 1002,
      gid: 1003,
      home: '/home/tp-demo',
      runtimeDir: '/run/user/1002',
    };
    assert.deepEqual(asStoreUser(user, ['podman', 'info'], { timeoutMs: 5000 }), {
      timeoutMs: 5000,
      argv: ['runuser', '-u', 'tp-demo', '--', 'podman', 'info'],
      cwd: '/home/tp-demo',
      env: {
        PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        HOME: '/home/tp-demo',
        XDG_RUNTIME_DIR: '/run/user/1002',
      },
    });
  });
});

describe('store user probes', () => {
  it('parses passwd entries and stat output', () => {
    assert.deepEqual(parsePasswd('tp-demo:x:1002:1003::/home/tp-demo:/usr/sbin/nologin\n'), ACCOUNT);
    assert.deepEqual(parsePathState('700 1002 1003\n'), { mode: 0o700, uid: 1002, gid: 1003 });
  });

  it('ensureStoreUser only probes a ready user and returns it', async () => {
    const probes = { ...storeUserProbes('tp-demo'), ...accountProbes('tp-demo', ACCOUNT) };
    const ex = new ScriptedExecutor((cmd) => {
      const answers = new Map([
        [probes.passwd, { stdout: 'tp-demo:x:1002:1003::/home/tp-demo:/usr/sbin/nologin\n' }],
        [probes.subuid, { stdout: 'tp-demo:165536:65536\n' }],
        [probes.subgid, { stdout: 'tp-demo:165536:65536\n' }],
        [probes.home, { stdout: '700 1002 1003\n' }],
        [probes.storageConf, { stdout: STORAGE_CONF }],
        [probes.runtimeDir, { stdout: '700 1002 1003\n' }],
        [probes.podmanAlive, {}],
        [probes.userProcesses, { stdout: 'Ss\nSl\n' }],
      ]);
      return [...answers].find(([probe]) => JSON.stringify(probe) === JSON.stringify(cmd))?.[1];
    });
    const user = await ensureStoreUser(ex, 'demo');
    assert.deepEqual(user, {
      user: 'tp-demo',
      uid: 1002,
      gid: 1003,
      home: '/home/tp-demo',
      runtimeDir: '/run/user/1002',
    });
    assert.deepEqual(ex.lines, [
      'getent passwd tp-demo',
      'cat /etc/subuid',
      'cat /etc/subgid',
      'stat --format=%a %u %g /home/tp-demo',
      'runuser -u tp-demo -- cat /home/tp-demo/.config/containers/storage.conf',
      'stat --format=%a %u %g /run/user/1002',
      'test -e /run/user/1002/libpod/tmp/alive',
      'ps -o stat= -u 1002',
    ]);
  });
});

/** What the host answers to the probes of a ready tp-demo's account (uid 1002), or undefined. */
function readyAccount(line: string): { stdout: string } | undefined {
  if (line.startsWith('getent ')) return { stdout: 'tp-demo:x:1002:1003::/home/tp-demo:/usr/sbin/nologin\n' };
  if (line.startsWith('cat /etc/sub')) return { stdout: 'tp-demo:165536:65536\n' };
  if (line.startsWith('stat ')) return { stdout: '700 1002 1003\n' };
  return undefined;
}

describe('ensureStoreUser', () => {
  it('treats a storage.conf the user cannot read as missing and rewrites it', async () => {
    let written = false;
    const ex = new ScriptedExecutor((cmd) => {
      const line = cmd.argv.join(' ');
      const account = readyAccount(line);
      if (account) return account;
      if (line.startsWith('ps ')) return { stdout: 'S\n' };
      if (line.startsWith('runuser -u tp-demo -- cat ')) {
        return written
          ? { stdout: STORAGE_CONF }
          : { exitCode: 1, stderr: 'cat: storage.conf: Permission denied' };
      }
      if (line.startsWith('runuser -u tp-demo -- mv ')) written = true;
      return {};
    });
    await ensureStoreUser(ex, 'demo');
    assert.equal(written, true);
  });

  it("clears a user's orphaned Podman state, then finds the user ready", async () => {
    let cleared = false;
    const ex = new ScriptedExecutor((cmd) => {
      const line = cmd.argv.join(' ');
      const account = readyAccount(line);
      if (account) return account;
      if (line.startsWith('runuser -u tp-demo -- cat ')) return { stdout: STORAGE_CONF };
      if (line.startsWith('test -e ')) return { exitCode: cleared ? 1 : 0 };
      if (line.startsWith('ps ')) return { stdout: 'Z\n', exitCode: 0 };
      if (cmd.argv[0] === 'sh' && line.includes('find "$2" -mindepth 1 -delete')) {
        cleared = true;
        return {};
      }
      return undefined;
    });
    await ensureStoreUser(ex, 'demo');
    assert.equal(cleared, true);
    assert.equal(ex.lines.filter((l) => l.startsWith('sh -c ')).length, 1);
  });

  it('fails with TP_HOST_USER_FAILED when useradd succeeds without creating the user', async () => {
    const ex = new ScriptedExecutor((cmd) => {
      if (cmd.argv[0] === 'getent') return { exitCode: 2 };
      if (cmd.argv[0] === 'cat' || cmd.argv[0] === 'useradd') return {};
      return undefined;
    });
    await assert.rejects(ensureStoreUser(ex, 'demo'), {
      code: 'TP_HOST_USER_FAILED',
      message: 'tp-demo is still not ready after 3 rounds: user tp-demo does not exist',
    });
    assert.equal(ex.lines.filter((l) => l.startsWith('useradd ')).length, 3);
  });

  it('fails with TP_HOST_INVALID_STORE_NAME before running anything', async () => {
    const ex = new ScriptedExecutor(() => ({}));
    await assert.rejects(ensureStoreUser(ex, 'No Such'), { code: 'TP_HOST_INVALID_STORE_NAME' });
    assert.deepEqual(ex.log, []);
  });
});
