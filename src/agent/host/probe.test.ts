import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DROP_IN_PATH, IOSCHED_RULE_PATH, SYSCTL_PATH } from './config.ts';
import { HostError } from './errors.ts';
import {
  HOST_PROBES,
  parseCgroupLayout,
  parseDiskSchedulers,
  parseHardLimits,
  parseInstalledPackages,
  probeHost,
} from './probe.ts';
import { type ScriptedAnswer, ScriptedExecutor } from './testing.ts';

const ROOT = '22 1 0:21 / / rw,relatime - ext4 /dev/vda rw';
const V1 = [
  '31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
  '32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu',
  '35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
];
const UNIFIED = '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw';
const V2 =
  '30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max processes             96365                96365                processes
Max open files            1024                 20000                files
`;

describe('parseCgroupLayout', () => {
  const cases = [
    { name: 'cgroup2 on /sys/fs/cgroup is v2', lines: [ROOT, V2], want: 'v2' },
    { name: 'v1 controllers plus a cgroup2 mount are hybrid', lines: [ROOT, ...V1, UNIFIED], want: 'hybrid' },
    { name: 'v1 controllers alone are v1', lines: [ROOT, ...V1], want: 'v1' },
    { name: 'no cgroup mount at all is none', lines: [ROOT], want: 'none' },
  ] as const;
  for (const c of cases) {
    it(c.name, () => assert.equal(parseCgroupLayout(`${c.lines.join('\n')}\n`), c.want));
  }
});

describe('parseHardLimits', () => {
  it('reads the hard column, not the soft one', () => {
    assert.deepEqual(parseHardLimits(LIMITS), { nofile: 20000, nproc: 96365 });
  });

  it('reads unlimited as null', () => {
    const limits = LIMITS.replace('96365                processes', 'unlimited            processes');
    assert.deepEqual(parseHardLimits(limits), { nofile: 20000, nproc: null });
  });

  it('fails with a probe error when a line is missing', () => {
    assert.throws(() => parseHardLimits('Limit Soft Hard\n'), { code: 'TP_HOST_PROBE_FAILED' });
  });
});

describe('parseInstalledPackages', () => {
  it('keeps installed packages only, in the required order', () => {
    const out = 'crun\tinstalled\npodman\tinstalled\nrunc\tconfig-files\nuidmap\tnot-installed\n';
    assert.deepEqual(parseInstalledPackages(out), ['podman', 'crun']);
  });
});

describe('probeHost', () => {
  const noFile = (path: string): ScriptedAnswer => ({
    exitCode: 1,
    stderr: `cat: ${path}: No such file or directory\n`,
  });
  const answers = (overrides: Record<string, ScriptedAnswer> = {}): Record<string, ScriptedAnswer> => ({
    'dpkg-query': {
      exitCode: 1,
      stdout: 'podman\tinstalled\nrunc\tinstalled\n',
      stderr: 'no packages found',
    },
    '/proc/self/mountinfo': { stdout: [ROOT, ...V1, UNIFIED].join('\n') },
    '/run/systemd/system': { exitCode: 1 },
    '/proc/1/comm': { stdout: 'process_api\n' },
    '/proc/self/limits': { stdout: LIMITS },
    '/dev/net/tun': { stdout: '660\n' },
    [DROP_IN_PATH]: noFile(DROP_IN_PATH),
    '/proc/sys/kernel/unprivileged_userns_clone': noFile('/proc/sys/kernel/unprivileged_userns_clone'),
    '/proc/sys/user/max_user_namespaces': { stdout: '96365\n' },
    '/proc/sys/kernel/sched_autogroup_enabled': { stdout: '1\n' },
    [SYSCTL_PATH]: noFile(SYSCTL_PATH),
    // find's last argument; it exits 1 on the symlink loops under /sys/block, output complete.
    '+': {
      exitCode: 1,
      stdout:
        '/sys/block/vda/queue/scheduler:none [mq-deadline] kyber bfq \n/sys/block/loop0/queue/scheduler:[none] mq-deadline kyber bfq \n',
      stderr:
        "find: File system loop detected; '/sys/block/vda/subsystem/vda' is part of the same file system loop as '/sys/block/vda'.\n",
    },
    [IOSCHED_RULE_PATH]: noFile(IOSCHED_RULE_PATH),
    ...overrides,
  });
  const executor = (table: Record<string, ScriptedAnswer>) =>
    new ScriptedExecutor((cmd) => table[cmd.argv[0] === 'dpkg-query' ? 'dpkg-query' : cmd.argv.at(-1)!]);

  it('turns command output into facts', async () => {
    const facts = await probeHost(executor(answers()));
    assert.deepEqual(facts, {
      installedPackages: ['podman', 'runc'],
      cgroup: 'hybrid',
      systemd: false,
      pid1: 'process_api',
      hardNofile: 20000,
      hardNproc: 96365,
      tunMode: 0o660,
      dropIn: null,
      unprivilegedUsernsClone: null,
      maxUserNamespaces: 96365,
      autogroup: true,
      sysctlConf: null,
      disks: [
        { name: 'loop0', current: 'none', available: ['none', 'mq-deadline', 'kyber', 'bfq'] },
        { name: 'vda', current: 'mq-deadline', available: ['none', 'mq-deadline', 'kyber', 'bfq'] },
      ],
      ioschedRule: null,
    });
  });

  it('runs exactly the read-only probe commands, in the C locale', async () => {
    const ex = executor(answers());
    await probeHost(ex);
    assert.deepEqual(ex.log, Object.values(HOST_PROBES));
    assert.deepEqual(HOST_PROBES.packages.argv, [
      'dpkg-query',
      '--show',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's field syntax
      '--showformat=${Package}\\t${db:Status-Status}\\n',
      'podman',
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
    ]);
    assert.equal(HOST_PROBES.tun.env?.LC_ALL, 'C');
  });

  it('reads a disabled unprivileged_userns_clone and an existing drop-in', async () => {
    const facts = await probeHost(
      executor(
        answers({
          '/proc/sys/kernel/unprivileged_userns_clone': { stdout: '0\n' },
          [DROP_IN_PATH]: { stdout: '[engine]\n' },
        }),
      ),
    );
    assert.equal(facts.unprivilegedUsernsClone, false);
    assert.equal(facts.dropIn, '[engine]\n');
  });

  it('reads autogroup scheduling switched off, or absent from the kernel, and the sysctl file', async () => {
    const off = await probeHost(
      executor(
        answers({
          '/proc/sys/kernel/sched_autogroup_enabled': { stdout: '0\n' },
          [SYSCTL_PATH]: { stdout: 'kernel.sched_autogroup_enabled = 0\n' },
        }),
      ),
    );
    assert.equal(off.autogroup, false);
    assert.equal(off.sysctlConf, 'kernel.sched_autogroup_enabled = 0\n');
    const absent = await probeHost(
      executor(
        answers({
          '/proc/sys/kernel/sched_autogroup_enabled': noFile('/proc/sys/kernel/sched_autogroup_enabled'),
        }),
      ),
    );
    assert.equal(absent.autogroup, null);
  });

  it('fails with TP_HOST_PROBE_FAILED when a file cannot be read for another reason', async () => {
    const ex = executor(answers({ [DROP_IN_PATH]: { exitCode: 1, stderr: 'cat: x: Permission denied' } }));
    await assert.rejects(probeHost(ex), (err: unknown) => {
      assert.ok(err instanceof HostError);
      assert.equal(err.code, 'TP_HOST_PROBE_FAILED');
      assert.match(err.message, /Permission denied/);
      return true;
    });
  });

  it('fails with TP_HOST_PROBE_FAILED when a command fails outright', async () => {
    const ex = executor(answers({ '/proc/1/comm': { exitCode: 2, stderr: 'boom' } }));
    await assert.rejects(probeHost(ex), { code: 'TP_HOST_PROBE_FAILED' });
  });
});

describe('parseDiskSchedulers', () => {
  it('reads the scheduler in use and the ones offered, and skips lines of another shape', () => {
    assert.deepEqual(
      parseDiskSchedulers(
        [
          '/sys/block/nvme0n1/queue/scheduler:[none] mq-deadline kyber bfq ',
          '/sys/block/sda/queue/scheduler:mq-deadline [bfq] none',
          '/sys/block/dm-0/queue/scheduler:none',
          'find: File system loop detected',
          '',
        ].join('\n'),
      ),
      [
        { name: 'nvme0n1', current: 'none', available: ['none', 'mq-deadline', 'kyber', 'bfq'] },
        { name: 'sda', current: 'bfq', available: ['mq-deadline', 'bfq', 'none'] },
      ],
    );
  });
});
