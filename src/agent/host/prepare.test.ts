import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Command } from '../executor.ts';
import {
  DROP_IN_PATH,
  IOSCHED_RULE_PATH,
  IOSCHED_RULE_TEXT,
  planHostConfig,
  SYSCTL_PATH,
  SYSCTL_TEXT,
} from './config.ts';
import { HostError } from './errors.ts';
import type { HostFacts } from './facts.ts';
import { type PrepareProgress, planHostPrepare, prepareHost } from './prepare.ts';
import { HOST_PROBES } from './probe.ts';
import { preparedFacts, type ScriptedAnswer, ScriptedExecutor } from './testing.ts';

const argvOf = (commands: readonly Command[]) => commands.map((c) => c.argv);

describe('planHostPrepare', () => {
  it('plans nothing for a prepared host', () => {
    assert.deepEqual(planHostPrepare(preparedFacts()), []);
  });

  it('installs exactly the missing packages, after apt-get update, without prompts', () => {
    const steps = planHostPrepare(
      preparedFacts({ installedPackages: ['podman', 'runc', 'uidmap', 'mmdebstrap'] }),
    );
    assert.deepEqual(
      steps.map((s) => s.id),
      ['packages'],
    );
    assert.deepEqual(argvOf(steps[0]!.commands), [
      ['env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', 'update'],
      [
        'env',
        'DEBIAN_FRONTEND=noninteractive',
        'apt-get',
        'install',
        '-y',
        '--no-install-recommends',
        'crun',
        'slirp4netns',
        'fuse-overlayfs',
        'netavark',
        'aardvark-dns',
        'catatonit',
        'iptables',
        'modsecurity-crs',
        'restic',
      ],
    ]);
    assert.equal(
      steps[0]!.why,
      'crun, slirp4netns, fuse-overlayfs, netavark, aardvark-dns, catatonit, iptables, modsecurity-crs, restic are not installed',
    );
  });

  it('writes a missing drop-in through a temporary file renamed over the target', () => {
    const facts = preparedFacts({ dropIn: null });
    const steps = planHostPrepare(facts);
    assert.deepEqual(
      steps.map((s) => s.id),
      ['drop-in'],
    );
    const tmp = `${DROP_IN_PATH}.triplane-new`;
    assert.deepEqual(steps[0]!.commands, [
      { argv: ['mkdir', '-p', '/etc/containers/containers.conf.d'] },
      { argv: ['dd', `of=${tmp}`, 'status=none'], stdin: planHostConfig(facts).text },
      { argv: ['chmod', '0644', tmp] },
      { argv: ['mv', '-f', tmp, DROP_IN_PATH] },
    ]);
  });

  it('rewrites a drop-in whose settings differ', () => {
    const facts = preparedFacts();
    const steps = planHostPrepare({ ...facts, dropIn: facts.dropIn!.replace('crun', 'runc') });
    assert.equal(steps[0]?.why, `${DROP_IN_PATH} differs from what this host needs`);
  });

  it('switches autogroup scheduling off now and for the next boot, only where the kernel has it', () => {
    const tmp = `${SYSCTL_PATH}.triplane-new`;
    const on = planHostPrepare(preparedFacts({ autogroup: true }));
    assert.deepEqual(
      on.map((s) => s.id),
      ['scheduler'],
    );
    assert.deepEqual(on[0]!.commands, [
      { argv: ['mkdir', '-p', '/etc/sysctl.d'] },
      { argv: ['dd', `of=${tmp}`, 'status=none'], stdin: SYSCTL_TEXT },
      { argv: ['chmod', '0644', tmp] },
      { argv: ['mv', '-f', tmp, SYSCTL_PATH] },
      { argv: ['sysctl', '--quiet', '--write', 'kernel.sched_autogroup_enabled=0'] },
    ]);
    // Off now but nothing keeps it off after a reboot.
    assert.match(
      planHostPrepare(preparedFacts({ autogroup: false, sysctlConf: null }))[0]!.why,
      /does not keep autogroup scheduling off after a reboot/,
    );
    // The same setting written by hand, with comments of its own, is kept.
    assert.deepEqual(
      planHostPrepare(preparedFacts({ sysctlConf: '# mine\nkernel.sched_autogroup_enabled = 0\n' })),
      [],
    );
    assert.deepEqual(planHostPrepare(preparedFacts({ autogroup: null, sysctlConf: null })), []);
  });

  it('opens /dev/net/tun to other users only when they cannot read and write it', () => {
    assert.deepEqual(argvOf(planHostPrepare(preparedFacts({ tunMode: 0o660 }))[0]!.commands), [
      ['chmod', '0666', '/dev/net/tun'],
    ]);
    assert.deepEqual(planHostPrepare(preparedFacts({ tunMode: 0o666 })), []);
    assert.deepEqual(planHostPrepare(preparedFacts({ tunMode: null })), []);
  });

  it('puts the disks that offer BFQ on it now and, by a udev rule, after a reboot', () => {
    const tmp = `${IOSCHED_RULE_PATH}.triplane-new`;
    const both = planHostPrepare(
      preparedFacts({
        disks: [
          { name: 'loop0', current: 'none', available: ['none', 'bfq'] },
          { name: 'nvme0n1', current: 'none', available: ['none', 'mq-deadline', 'bfq'] },
          { name: 'vda', current: 'mq-deadline', available: ['none', 'mq-deadline', 'bfq'] },
          { name: 'vdb', current: 'bfq', available: ['none', 'mq-deadline', 'bfq'] },
        ],
        ioschedRule: null,
      }),
    );
    assert.deepEqual(
      both.map((s) => [s.id, s.why]),
      [
        [
          'io-scheduler',
          "nvme0n1 uses none, vda uses mq-deadline: only BFQ keeps backups' idle-class I/O behind the storefront's",
        ],
      ],
    );
    assert.deepEqual(both[0]!.commands, [
      { argv: ['mkdir', '-p', '/etc/udev/rules.d'] },
      { argv: ['dd', `of=${tmp}`, 'status=none'], stdin: IOSCHED_RULE_TEXT },
      { argv: ['chmod', '0644', tmp] },
      { argv: ['mv', '-f', tmp, IOSCHED_RULE_PATH] },
      { argv: ['dd', 'of=/sys/block/nvme0n1/queue/scheduler', 'conv=notrunc', 'status=none'], stdin: 'bfq' },
      { argv: ['dd', 'of=/sys/block/vda/queue/scheduler', 'conv=notrunc', 'status=none'], stdin: 'bfq' },
    ]);
    // On BFQ already, but nothing keeps it so after a reboot: the rule alone.
    const ruleOnly = planHostPrepare(preparedFacts({ ioschedRule: null }));
    assert.deepEqual(
      ruleOnly.map((s) => [s.why, s.commands.length]),
      [[`${IOSCHED_RULE_PATH} does not keep the disks on BFQ after a reboot`, 4]],
    );
    // No disk offers BFQ (loop devices do not count): nothing to do here; diagnose() warns.
    assert.deepEqual(
      planHostPrepare(
        preparedFacts({
          disks: [
            { name: 'loop0', current: 'none', available: ['none', 'bfq'] },
            { name: 'xvda', current: 'none', available: ['none', 'mq-deadline'] },
          ],
          ioschedRule: null,
        }),
      ),
      [],
    );
  });

  it('orders packages before the drop-in, whose directory they create', () => {
    const steps = planHostPrepare(preparedFacts({ installedPackages: [], dropIn: null, tunMode: 0o600 }));
    assert.deepEqual(
      steps.map((s) => s.id),
      ['packages', 'drop-in', 'tun'],
    );
  });
});

/** A host in memory: probes read `state`, the chmod and drop-in commands change it. */
function fakeHost(state: { facts: HostFacts }, fail?: string) {
  const probeAnswers = (): Map<Command, ScriptedAnswer> => {
    const f = state.facts;
    return new Map<Command, ScriptedAnswer>([
      [HOST_PROBES.packages, { stdout: f.installedPackages.map((p) => `${p}\tinstalled\n`).join('') }],
      [HOST_PROBES.mountinfo, { stdout: '30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n' }],
      [HOST_PROBES.systemd, { exitCode: f.systemd ? 0 : 1 }],
      [HOST_PROBES.pid1, { stdout: `${f.pid1}\n` }],
      [HOST_PROBES.limits, { stdout: 'Max processes 1 62000 p\nMax open files 1 524288 f\n' }],
      [HOST_PROBES.tun, { stdout: `${f.tunMode?.toString(8)}\n` }],
      [
        HOST_PROBES.dropIn,
        f.dropIn === null ? { exitCode: 1, stderr: 'No such file or directory' } : { stdout: f.dropIn },
      ],
      [HOST_PROBES.usernsClone, { exitCode: 1, stderr: 'No such file or directory' }],
      [HOST_PROBES.maxUserNamespaces, { stdout: '62000\n' }],
      [HOST_PROBES.autogroup, { stdout: f.autogroup ? '1\n' : '0\n' }],
      [
        HOST_PROBES.sysctlConf,
        f.sysctlConf === null
          ? { exitCode: 1, stderr: 'No such file or directory' }
          : { stdout: f.sysctlConf },
      ],
      [
        HOST_PROBES.disks,
        {
          stdout: f.disks
            .map(
              (d) =>
                `/sys/block/${d.name}/queue/scheduler:${d.available.map((n) => (n === d.current ? `[${n}]` : n)).join(' ')}\n`,
            )
            .join(''),
        },
      ],
      [
        HOST_PROBES.ioschedRule,
        f.ioschedRule === null
          ? { exitCode: 1, stderr: 'No such file or directory' }
          : { stdout: f.ioschedRule },
      ],
    ]);
  };
  return new ScriptedExecutor((cmd) => {
    const probe = probeAnswers().get(cmd);
    if (probe) return probe;
    if (cmd.argv[0] === fail) return { exitCode: 1, stderr: `${fail}: it broke` };
    if (cmd.argv[0] === 'chmod') state.facts = { ...state.facts, tunMode: 0o666 };
    if (cmd.argv[0] === 'dd' && cmd.argv[1]?.startsWith(`of=${DROP_IN_PATH}`))
      state.facts = { ...state.facts, dropIn: String(cmd.stdin) };
    if (cmd.argv[0] === 'dd' && cmd.argv[1]?.startsWith(`of=${SYSCTL_PATH}`))
      state.facts = { ...state.facts, sysctlConf: String(cmd.stdin) };
    if (cmd.argv[0] === 'sysctl') state.facts = { ...state.facts, autogroup: false };
    if (cmd.argv[0] === 'dd' && cmd.argv[1]?.startsWith(`of=${IOSCHED_RULE_PATH}`))
      state.facts = { ...state.facts, ioschedRule: String(cmd.stdin) };
    const sysfs = /^of=\/sys\/block\/([^/]+)\/queue\/scheduler$/.exec(cmd.argv[1] ?? '');
    if (cmd.argv[0] === 'dd' && sysfs)
      state.facts = {
        ...state.facts,
        disks: state.facts.disks.map((d) => (d.name === sysfs[1] ? { ...d, current: String(cmd.stdin) } : d)),
      };
    return {};
  });
}

describe('prepareHost', () => {
  it('fixes what is missing, then does nothing on a second run but probe', async () => {
    const state = {
      facts: preparedFacts({
        tunMode: 0o660,
        dropIn: null,
        autogroup: true,
        sysctlConf: null,
        disks: [{ name: 'vda', current: 'mq-deadline', available: ['none', 'mq-deadline', 'bfq'] }],
        ioschedRule: null,
      }),
    };
    const events: PrepareProgress[] = [];
    const first = fakeHost(state);
    const result = await prepareHost(first, { onProgress: (e) => events.push(e) });
    assert.deepEqual(
      result.steps.map((s) => s.id),
      ['drop-in', 'scheduler', 'io-scheduler', 'tun'],
    );
    assert.deepEqual(
      events.map((e) => (e.type === 'step' ? `${e.index + 1}/${e.total} ${e.step.id}` : e.type)),
      ['probed', '1/4 drop-in', '2/4 scheduler', '3/4 io-scheduler', '4/4 tun'],
    );

    const second = fakeHost(state);
    const again = await prepareHost(second);
    assert.deepEqual(again.steps, []);
    assert.deepEqual(second.log, Object.values(HOST_PROBES));
  });

  it('fails with TP_HOST_PREPARE_FAILED naming the step whose command failed', async () => {
    const state = { facts: preparedFacts({ tunMode: 0o600 }) };
    await assert.rejects(prepareHost(fakeHost(state, 'chmod')), (err: unknown) => {
      assert.ok(err instanceof HostError);
      assert.equal(err.code, 'TP_HOST_PREPARE_FAILED');
      assert.match(err.message, /^tun: chmod 0666 \/dev\/net\/tun exited 1: chmod: it broke$/);
      assert.equal(err.details.step, 'tun');
      return true;
    });
  });

  it('fails when a step succeeds without effect', async () => {
    const state = { facts: preparedFacts({ tunMode: 0o600 }) };
    const stuck = fakeHost(state);
    const run = stuck.run.bind(stuck);
    stuck.run = (cmd) => (cmd.argv[0] === 'chmod' ? run({ argv: ['true'] }) : run(cmd));
    await assert.rejects(prepareHost(stuck), {
      code: 'TP_HOST_PREPARE_FAILED',
      message: /still needs changes after preparing it: \/dev\/net\/tun has mode 0600/,
    });
  });
});
