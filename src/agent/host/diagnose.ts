import { CommandError } from '../errors.ts';
import type { Command, Executor } from '../executor.ts';
import {
  DROP_IN_PATH,
  dropInState,
  IOSCHED_RULE_PATH,
  ioSchedulerState,
  NOFILE_TARGET,
  NPROC_TARGET,
  planHostConfig,
  SYSCTL_PATH,
  schedulerState,
} from './config.ts';
import { bfqDisks, type HostFacts, missingPackages, tunUsableByStores } from './facts.ts';

/** One result of a check: `error` means `doctor` fails, and usually that `host prepare` has work to do. */
export interface Finding {
  readonly level: 'ok' | 'warn' | 'error';
  /** Short name of what was checked, such as `packages` or `tun`. */
  readonly check: string;
  /** What was found and what to do about it, in plain words. */
  readonly message: string;
}

const PREPARE = 'run `triplane host prepare`';

/** Judges probed facts; pure, so `doctor` and tests see the same words. */
export function diagnose(facts: HostFacts): Finding[] {
  return [
    packagesFinding(facts),
    cgroupFinding(facts),
    systemdFinding(facts),
    limitsFinding(facts),
    dropInFinding(facts),
    tunFinding(facts),
    usernsFinding(facts),
    schedulerFinding(facts),
    ioSchedulerFinding(facts),
  ];
}

function ioSchedulerFinding(facts: HostFacts): Finding {
  switch (ioSchedulerState(facts)) {
    case 'not-applicable':
      // Stores run either way; backups then share the disk with the storefront as equals.
      return {
        level: 'warn',
        check: 'io-scheduler',
        message:
          "no disk offers the BFQ scheduler, so backups' idle I/O class has no effect (load the bfq module)",
      };
    case 'current':
      return {
        level: 'ok',
        check: 'io-scheduler',
        message: `the disks use BFQ and ${IOSCHED_RULE_PATH} keeps them on it`,
      };
    case 'differs':
      return {
        level: 'warn',
        check: 'io-scheduler',
        message: `${bfqDisks(facts)
          .map((d) => `${d.name}: ${d.current}`)
          .join(
            ', ',
          )} — backups' idle-class I/O competes with the storefront's unless the disks use BFQ: ${PREPARE}`,
      };
  }
}

function schedulerFinding(facts: HostFacts): Finding {
  switch (schedulerState(facts)) {
    case 'not-applicable':
      return {
        level: 'ok',
        check: 'scheduler',
        message: 'the kernel ranks all processes by niceness (no autogroup)',
      };
    case 'current':
      return {
        level: 'ok',
        check: 'scheduler',
        message: `autogroup scheduling is off and ${SYSCTL_PATH} keeps it off`,
      };
    case 'differs':
      // Stores run either way; only the promise that management work stays below the storefront fails.
      return {
        level: 'warn',
        check: 'scheduler',
        message: facts.autogroup
          ? `autogroup scheduling is on, so backups and the control plane compete with the storefront as equals: ${PREPARE}`
          : `${SYSCTL_PATH} is missing or differs, so autogroup scheduling comes back at the next boot: ${PREPARE}`,
      };
  }
}

function packagesFinding(facts: HostFacts): Finding {
  const missing = missingPackages(facts);
  if (missing.length === 0)
    return { level: 'ok', check: 'packages', message: 'all required packages are installed' };
  const verb = missing.length === 1 ? 'is' : 'are';
  return {
    level: 'error',
    check: 'packages',
    message: `${missing.join(', ')} ${verb} not installed: ${PREPARE}`,
  };
}

function cgroupFinding(facts: HostFacts): Finding {
  switch (facts.cgroup) {
    case 'v2':
      return {
        level: 'ok',
        check: 'cgroup',
        message: 'cgroup v2: crun runs and resource limits apply to every store',
      };
    case 'none':
      return {
        level: 'error',
        check: 'cgroup',
        message: 'no cgroup filesystem is mounted under /sys/fs/cgroup: containers cannot start',
      };
    default:
      return {
        level: 'warn',
        check: 'cgroup',
        message:
          `cgroup ${facts.cgroup}: crun cannot run here, so the runtime must be runc, ` +
          'and CPU and memory limits are ignored for rootless store containers',
      };
  }
}

function systemdFinding(facts: HostFacts): Finding {
  if (facts.systemd) return { level: 'ok', check: 'systemd', message: 'systemd is running' };
  return {
    level: 'ok',
    check: 'systemd',
    message:
      `systemd is not running (PID 1 is ${facts.pid1}): Podman logs events to a file and ` +
      'health checks are run by the Triplane agent',
  };
}

function limitsFinding(facts: HostFacts): Finding {
  const { nofile, nproc } = planHostConfig(facts);
  const low = [
    nofile < NOFILE_TARGET ? `${nofile} open files (Triplane wants ${NOFILE_TARGET})` : '',
    nproc < NPROC_TARGET ? `${nproc} processes (Triplane wants ${NPROC_TARGET})` : '',
  ].filter((s) => s !== '');
  if (low.length === 0) {
    return { level: 'ok', check: 'limits', message: `containers get nofile=${nofile} and nproc=${nproc}` };
  }
  return {
    level: 'warn',
    check: 'limits',
    message:
      `the hard limits of this host cap containers at ${low.join(' and ')}: busy stores may run out; ` +
      'raise the hard limits of the service that starts Triplane',
  };
}

function dropInFinding(facts: HostFacts): Finding {
  switch (dropInState(facts)) {
    case 'current':
      return { level: 'ok', check: 'drop-in', message: `${DROP_IN_PATH} is up to date` };
    case 'missing':
      return {
        level: 'error',
        check: 'drop-in',
        message: `the drop-in ${DROP_IN_PATH} is missing: ${PREPARE}`,
      };
    case 'differs':
      return {
        level: 'error',
        check: 'drop-in',
        message: `the drop-in ${DROP_IN_PATH} differs from what this host needs: ${PREPARE}`,
      };
  }
}

function tunFinding(facts: HostFacts): Finding {
  if (facts.tunMode === null) {
    return {
      level: 'error',
      check: 'tun',
      message: '/dev/net/tun does not exist, rootless networking will fail: load the tun kernel module',
    };
  }
  if (!tunUsableByStores(facts)) {
    return {
      level: 'error',
      check: 'tun',
      message: `/dev/net/tun is not writable by other users, rootless networking will fail: ${PREPARE}`,
    };
  }
  return { level: 'ok', check: 'tun', message: '/dev/net/tun is usable by store users' };
}

function usernsFinding(facts: HostFacts): Finding {
  if (facts.unprivilegedUsernsClone === false) {
    return {
      level: 'error',
      check: 'userns',
      message:
        'unprivileged user namespaces are disabled, rootless Podman cannot start: ' +
        'set kernel.unprivileged_userns_clone = 1 with sysctl',
    };
  }
  if (!facts.maxUserNamespaces) {
    return {
      level: 'error',
      check: 'userns',
      message:
        facts.maxUserNamespaces === null
          ? 'this kernel has no user namespaces, rootless Podman cannot start'
          : 'user.max_user_namespaces is 0, rootless Podman cannot start: raise it with sysctl',
    };
  }
  return { level: 'ok', check: 'userns', message: 'unprivileged user namespaces are enabled' };
}

/** `podman info` as JSON: the live check of {@link checkPodman}. */
export const PODMAN_INFO: Command = { argv: ['podman', 'info', '--format', 'json'], timeoutMs: 60_000 };

/** Runs `podman info` and reports whether Podman works, turning its failure into a finding. */
export async function checkPodman(executor: Executor): Promise<Finding> {
  try {
    const { stdout } = await executor.run(PODMAN_INFO);
    const info = JSON.parse(stdout) as {
      version?: { Version?: string };
      host?: { ociRuntime?: { name?: string }; cgroupVersion?: string; cgroupManager?: string };
    };
    const host = info.host ?? {};
    return {
      level: 'ok',
      check: 'podman',
      message:
        `podman ${info.version?.Version ?? '?'} works (runtime ${host.ociRuntime?.name ?? '?'}, ` +
        `cgroup ${host.cgroupVersion ?? '?'}, manager ${host.cgroupManager ?? '?'})`,
    };
  } catch (err) {
    // The failure is the finding: doctor reports it and exits non-zero.
    if (!(err instanceof CommandError)) throw err;
    const message =
      err.code === 'TP_CMD_SPAWN' ? `podman is not installed: ${PREPARE}` : explainPodmanError(err.stderr);
    return { level: 'error', check: 'podman', message };
  }
}

// Known Podman failures on unprepared hosts, matched in its stderr.
const KNOWN_FAILURES: readonly (readonly [RegExp, string])[] = [
  [
    /cgroups in hybrid mode not supported/,
    `crun cannot run on this cgroup v1/hybrid host, the runtime must be runc: ${PREPARE}`,
  ],
  [/rlimit/i, `Podman's default limits are above what this host allows: ${PREPARE}`],
  [/\/dev\/net\/tun/, `/dev/net/tun is not usable, rootless networking will fail: ${PREPARE}`],
  [/newuidmap|newgidmap|subuid|subgid/, 'the user has no usable /etc/subuid or /etc/subgid range'],
  [/permission denied/i, 'Podman was refused access to its storage or runtime directory'],
];

/** Plain words for a failed Podman command's stderr, ending with its last line for reference. */
export function explainPodmanError(stderr: string): string {
  const last = stderr.trim().split('\n').at(-1) ?? '';
  const known = KNOWN_FAILURES.find(([pattern]) => pattern.test(stderr));
  return known ? `${known[1]} (podman said: ${last})` : `podman does not work: ${last}`;
}

/** Renders findings as aligned text lines, one per finding, for `doctor`. */
export function formatFindings(findings: readonly Finding[]): string[] {
  const width = Math.max(0, ...findings.map((f) => f.check.length));
  return findings.map((f) => `${f.level.toUpperCase().padEnd(5)} ${f.check.padEnd(width)}  ${f.message}`);
}
