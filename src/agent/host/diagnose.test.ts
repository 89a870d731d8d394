import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CommandError } from '../errors.ts';
import { DROP_IN_PATH } from './config.ts';
import { checkPodman, diagnose, explainPodmanError, type Finding, formatFindings } from './diagnose.ts';
import type { HostFacts } from './facts.ts';
import { preparedFacts, ScriptedExecutor } from './testing.ts';

const finding = (facts: HostFacts, check: string): Finding => {
  const found = diagnose(facts).find((f) => f.check === check);
  assert.ok(found, `no ${check} finding`);
  return found;
};

describe('diagnose', () => {
  it('finds nothing wrong on a prepared cgroup v2 host', () => {
    const findings = diagnose(preparedFacts());
    assert.deepEqual(
      findings.map((f) => `${f.level} ${f.check}`),
      [
        'ok packages',
        'ok cgroup',
        'ok systemd',
        'ok limits',
        'ok drop-in',
        'ok tun',
        'ok userns',
        'ok scheduler',
        'ok io-scheduler',
      ],
    );
  });

  const cases: { name: string; facts: HostFacts; check: string; want: Omit<Finding, 'check'> }[] = [
    {
      name: 'autogroup scheduling on',
      facts: preparedFacts({ autogroup: true }),
      check: 'scheduler',
      want: {
        level: 'warn',
        message:
          'autogroup scheduling is on, so backups and the control plane compete with the storefront as equals: run `triplane host prepare`',
      },
    },
    {
      name: 'a disk on mq-deadline',
      facts: preparedFacts({
        disks: [{ name: 'vda', current: 'mq-deadline', available: ['none', 'mq-deadline', 'kyber', 'bfq'] }],
      }),
      check: 'io-scheduler',
      want: {
        level: 'warn',
        message:
          "vda: mq-deadline — backups' idle-class I/O competes with the storefront's unless the disks use BFQ: run `triplane host prepare`",
      },
    },
    {
      name: 'no disk offering BFQ (loop devices do not count)',
      facts: preparedFacts({
        disks: [
          { name: 'loop0', current: 'none', available: ['none', 'bfq'] },
          { name: 'nvme0n1', current: 'none', available: ['none', 'mq-deadline'] },
        ],
      }),
      check: 'io-scheduler',
      want: {
        level: 'warn',
        message:
          "no disk offers the BFQ scheduler, so backups' idle I/O class has no effect (load the bfq module)",
      },
    },
    {
      name: 'autogroup off without the file that keeps it off',
      facts: preparedFacts({ sysctlConf: null }),
      check: 'scheduler',
      want: {
        level: 'warn',
        message:
          '/etc/sysctl.d/60-triplane.conf is missing or differs, so autogroup scheduling comes back at the next boot: run `triplane host prepare`',
      },
    },
    {
      name: 'a single missing package',
      facts: preparedFacts({
        installedPackages: [
          'runc',
          'crun',
          'slirp4netns',
          'uidmap',
          'fuse-overlayfs',
          'mmdebstrap',
          'netavark',
          'aardvark-dns',
          'catatonit',
          'iptables',
          'modsecurity-crs',
          'restic',
        ],
      }),
      check: 'packages',
      want: { level: 'error', message: 'podman is not installed: run `triplane host prepare`' },
    },
    {
      name: 'several missing packages',
      facts: preparedFacts({
        installedPackages: [
          'runc',
          'crun',
          'uidmap',
          'mmdebstrap',
          'catatonit',
          'iptables',
          'modsecurity-crs',
          'restic',
        ],
      }),
      check: 'packages',
      want: {
        level: 'error',
        message:
          'podman, slirp4netns, fuse-overlayfs, netavark, aardvark-dns are not installed: run `triplane host prepare`',
      },
    },
    {
      name: 'a hybrid cgroup host',
      facts: preparedFacts({ cgroup: 'hybrid' }),
      check: 'cgroup',
      want: {
        level: 'warn',
        message:
          'cgroup hybrid: crun cannot run here, so the runtime must be runc, and CPU and memory limits are ignored for rootless store containers',
      },
    },
    {
      name: 'no cgroup filesystem',
      facts: preparedFacts({ cgroup: 'none' }),
      check: 'cgroup',
      want: {
        level: 'error',
        message: 'no cgroup filesystem is mounted under /sys/fs/cgroup: containers cannot start',
      },
    },
    {
      name: 'a missing drop-in',
      facts: preparedFacts({ dropIn: null }),
      check: 'drop-in',
      want: {
        level: 'error',
        message: `the drop-in ${DROP_IN_PATH} is missing: run \`triplane host prepare\``,
      },
    },
    {
      name: 'a drop-in with other settings',
      facts: preparedFacts({ dropIn: '[engine]\nruntime = "crun"\n' }),
      check: 'drop-in',
      want: {
        level: 'error',
        message: `the drop-in ${DROP_IN_PATH} differs from what this host needs: run \`triplane host prepare\``,
      },
    },
    {
      name: 'a tun device closed to other users',
      facts: preparedFacts({ tunMode: 0o660 }),
      check: 'tun',
      want: {
        level: 'error',
        message:
          '/dev/net/tun is not writable by other users, rootless networking will fail: run `triplane host prepare`',
      },
    },
    {
      name: 'no tun device',
      facts: preparedFacts({ tunMode: null }),
      check: 'tun',
      want: {
        level: 'error',
        message: '/dev/net/tun does not exist, rootless networking will fail: load the tun kernel module',
      },
    },
    {
      name: 'a low hard limit on open files',
      facts: preparedFacts({ hardNofile: 4096, hardNproc: null }),
      check: 'limits',
      want: {
        level: 'warn',
        message:
          'the hard limits of this host cap containers at 4096 open files (Triplane wants 16384): ' +
          'busy stores may run out; raise the hard limits of the service that starts Triplane',
      },
    },
    {
      name: 'low hard limits on open files and processes',
      facts: preparedFacts({ hardNofile: 1024, hardNproc: 2000 }),
      check: 'limits',
      want: {
        level: 'warn',
        message:
          'the hard limits of this host cap containers at 1024 open files (Triplane wants 16384) and ' +
          '2000 processes (Triplane wants 32768): busy stores may run out; raise the hard limits of the service that starts Triplane',
      },
    },
    {
      name: 'unprivileged user namespaces switched off',
      facts: preparedFacts({ unprivilegedUsernsClone: false }),
      check: 'userns',
      want: {
        level: 'error',
        message:
          'unprivileged user namespaces are disabled, rootless Podman cannot start: set kernel.unprivileged_userns_clone = 1 with sysctl',
      },
    },
    {
      name: 'max_user_namespaces of 0',
      facts: preparedFacts({ maxUserNamespaces: 0 }),
      check: 'userns',
      want: {
        level: 'error',
        message: 'user.max_user_namespaces is 0, rootless Podman cannot start: raise it with sysctl',
      },
    },
    {
      name: 'no systemd',
      facts: preparedFacts({ systemd: false, pid1: 'tini' }),
      check: 'systemd',
      want: {
        level: 'ok',
        message:
          'systemd is not running (PID 1 is tini): Podman logs events to a file and health checks are run by the Triplane agent',
      },
    },
  ];
  for (const c of cases) {
    it(`reports ${c.name} in plain words`, () => {
      assert.deepEqual(finding(c.facts, c.check), { check: c.check, ...c.want });
    });
  }
});

describe('formatFindings', () => {
  it('renders one aligned line per finding', () => {
    const lines = formatFindings([
      { level: 'ok', check: 'packages', message: 'all required packages are installed' },
      { level: 'error', check: 'tun', message: '/dev/net/tun is missing' },
    ]);
    assert.deepEqual(lines, [
      'OK    packages  all required packages are installed',
      'ERROR tun       /dev/net/tun is missing',
    ]);
  });
});

describe('checkPodman', () => {
  const failing = (code: 'TP_CMD_FAILED' | 'TP_CMD_SPAWN', stderr: string) =>
    new ScriptedExecutor((cmd) => {
      throw new CommandError(code, 'failed', cmd.argv, code === 'TP_CMD_SPAWN' ? null : 125, '', stderr);
    });

  it('reports the version, runtime and cgroup of a working podman', async () => {
    const info = {
      version: { Version: '4.3.1' },
      host: { ociRuntime: { name: 'runc' }, cgroupVersion: 'v1', cgroupManager: 'cgroupfs' },
    };
    const ex = new ScriptedExecutor(() => ({ stdout: JSON.stringify(info) }));
    assert.deepEqual(await checkPodman(ex), {
      level: 'ok',
      check: 'podman',
      message: 'podman 4.3.1 works (runtime runc, cgroup v1, manager cgroupfs)',
    });
    assert.deepEqual(ex.lines, ['podman info --format json']);
  });

  it('reports a missing podman binary as not installed', async () => {
    const result = await checkPodman(failing('TP_CMD_SPAWN', ''));
    assert.deepEqual(result, {
      level: 'error',
      check: 'podman',
      message: 'podman is not installed: run `triplane host prepare`',
    });
  });

  it('explains the crun failure on a hybrid host', async () => {
    const stderr =
      'Error: crun: cgroups in hybrid mode not supported, drop all controllers from cgroupv2: OCI runtime error\n';
    const result = await checkPodman(failing('TP_CMD_FAILED', stderr));
    assert.equal(result.level, 'error');
    assert.equal(
      result.message,
      'crun cannot run on this cgroup v1/hybrid host, the runtime must be runc: run `triplane host prepare` ' +
        '(podman said: Error: crun: cgroups in hybrid mode not supported, drop all controllers from cgroupv2: OCI runtime error)',
    );
  });

  it('rethrows errors that are not command failures', async () => {
    const ex = new ScriptedExecutor(() => ({ stdout: 'not json' }));
    await assert.rejects(checkPodman(ex), SyntaxError);
  });
});

describe('explainPodmanError', () => {
  it('falls back to the last line of stderr', () => {
    assert.equal(
      explainPodmanError('WARN something\nError: database is locked\n'),
      'podman does not work: Error: database is locked',
    );
  });
});
