import { CommandError } from '../errors.ts';
import type { Command, CommandResult, Executor } from '../executor.ts';
import { DROP_IN_PATH, IOSCHED_RULE_PATH, SYSCTL_PATH } from './config.ts';
import { HostError } from './errors.ts';
import {
  type CgroupLayout,
  type DiskScheduler,
  type HostFacts,
  type HostPackage,
  REQUIRED_PACKAGES,
} from './facts.ts';
import { SYSTEM_PATH } from './steps.ts';

// The C locale keeps messages such as "No such file or directory" stable for the parsers below.
const PROBE_ENV = { PATH: SYSTEM_PATH, LC_ALL: 'C' };

/** A read-only command whose exit code 1 means "absent" (a missing file, an unknown package). */
export function probeCommand(...argv: string[]): Command {
  return { argv, env: PROBE_ENV, okExitCodes: [0, 1] };
}

/** The read-only commands {@link probeHost} runs, one per fact. */
export const HOST_PROBES = {
  packages: probeCommand(
    'dpkg-query',
    '--show',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own field syntax, not a template
    '--showformat=${Package}\\t${db:Status-Status}\\n',
    ...REQUIRED_PACKAGES,
  ),
  mountinfo: probeCommand('cat', '/proc/self/mountinfo'),
  systemd: probeCommand('test', '-d', '/run/systemd/system'),
  pid1: probeCommand('cat', '/proc/1/comm'),
  // The limits of a child of the executor are the ones Podman inherits; dash's `ulimit` lacks -u.
  limits: probeCommand('cat', '/proc/self/limits'),
  tun: probeCommand('stat', '--format=%a', '/dev/net/tun'),
  dropIn: probeCommand('cat', DROP_IN_PATH),
  usernsClone: probeCommand('cat', '/proc/sys/kernel/unprivileged_userns_clone'),
  maxUserNamespaces: probeCommand('cat', '/proc/sys/user/max_user_namespaces'),
  autogroup: probeCommand('cat', '/proc/sys/kernel/sched_autogroup_enabled'),
  sysctlConf: probeCommand('cat', SYSCTL_PATH),
  // Every /sys/block/NAME/queue/scheduler as "path:schedulers". -L follows /sys/block's symlinks; the
  // loops that exposes (each device's `subsystem`) make find exit 1 after printing everything.
  disks: probeCommand(
    'find',
    '-L',
    '/sys/block/',
    '-mindepth',
    '3',
    '-maxdepth',
    '3',
    '-path',
    '*/queue/scheduler',
    '-exec',
    'grep',
    '-H',
    '',
    '{}',
    '+',
  ),
  ioschedRule: probeCommand('cat', IOSCHED_RULE_PATH),
} as const satisfies Record<string, Command>;

/** Gathers {@link HostFacts} with read-only commands, so it works through any executor. */
export async function probeHost(executor: Executor): Promise<HostFacts> {
  const run = (command: Command) => executor.run(command);
  try {
    const [
      packages,
      mountinfo,
      systemd,
      pid1,
      limits,
      tun,
      dropIn,
      usernsClone,
      maxUserNamespaces,
      autogroup,
      sysctlConf,
      disks,
      ioschedRule,
    ] = await Promise.all([
      run(HOST_PROBES.packages),
      run(HOST_PROBES.mountinfo),
      run(HOST_PROBES.systemd),
      run(HOST_PROBES.pid1),
      run(HOST_PROBES.limits),
      run(HOST_PROBES.tun),
      run(HOST_PROBES.dropIn),
      run(HOST_PROBES.usernsClone),
      run(HOST_PROBES.maxUserNamespaces),
      run(HOST_PROBES.autogroup),
      run(HOST_PROBES.sysctlConf),
      run(HOST_PROBES.disks),
      run(HOST_PROBES.ioschedRule),
    ]);
    const hard = parseHardLimits(required(limits));
    const clone = existing(usernsClone)?.trim();
    const maxNs = existing(maxUserNamespaces)?.trim();
    const tunMode = existing(tun)?.trim();
    const group = existing(autogroup)?.trim();
    return {
      installedPackages: parseInstalledPackages(packages.stdout),
      cgroup: parseCgroupLayout(required(mountinfo)),
      systemd: systemd.exitCode === 0,
      pid1: required(pid1).trim(),
      hardNofile: hard.nofile,
      hardNproc: hard.nproc,
      tunMode: tunMode === undefined ? null : Number.parseInt(tunMode, 8),
      dropIn: existing(dropIn) ?? null,
      unprivilegedUsernsClone: clone === undefined ? null : clone !== '0',
      maxUserNamespaces: maxNs === undefined ? null : Number(maxNs),
      autogroup: group === undefined ? null : group !== '0',
      sysctlConf: existing(sysctlConf) ?? null,
      disks: parseDiskSchedulers(disks.stdout),
      ioschedRule: existing(ioschedRule) ?? null,
    };
  } catch (err) {
    if (!(err instanceof CommandError)) throw err;
    throw new HostError(
      'TP_HOST_PROBE_FAILED',
      `cannot probe the host: ${err.message}`,
      { argv: err.argv },
      err,
    );
  }
}

/** Output of a probe that reads a path, or `undefined` when the path does not exist. */
export function existing(result: CommandResult): string | undefined {
  if (result.exitCode === 0) return result.stdout;
  if (result.stderr.includes('No such file or directory')) return undefined;
  throw new HostError(
    'TP_HOST_PROBE_FAILED',
    `${result.argv.join(' ')} exited ${result.exitCode}: ${result.stderr.trim()}`,
    { argv: result.argv },
  );
}

function required(result: CommandResult): string {
  const out = existing(result);
  if (out === undefined) {
    throw new HostError('TP_HOST_PROBE_FAILED', `${result.argv.join(' ')}: ${result.stderr.trim()}`, {
      argv: result.argv,
    });
  }
  return out;
}

/** The required packages in `dpkg-query --showformat='${Package}\t${db:Status-Status}\n'` output. */
export function parseInstalledPackages(stdout: string): HostPackage[] {
  const installed = new Set(
    stdout
      .split('\n')
      .map((line) => line.split('\t'))
      .filter(([, status]) => status === 'installed')
      .map(([name]) => name),
  );
  return REQUIRED_PACKAGES.filter((p) => installed.has(p));
}

/** The cgroup layout from `/proc/self/mountinfo`: which filesystem types are mounted where. */
export function parseCgroupLayout(mountinfo: string): CgroupLayout {
  const mounts = mountinfo
    .split('\n')
    .filter((line) => line.includes(' - '))
    .map((line) => {
      const [left = '', right = ''] = line.split(' - ');
      return { point: left.split(' ')[4] ?? '', type: right.split(' ')[0] ?? '' };
    });
  if (mounts.some((m) => m.point === '/sys/fs/cgroup' && m.type === 'cgroup2')) return 'v2';
  const v1 = mounts.some((m) => m.type === 'cgroup');
  const v2 = mounts.some((m) => m.type === 'cgroup2');
  if (v1) return v2 ? 'hybrid' : 'v1';
  // A lone cgroup2 mount somewhere other than /sys/fs/cgroup is not a layout Podman can use.
  return 'none';
}

/** Hard `nofile` and `nproc` limits from `/proc/<pid>/limits`; `null` means unlimited. */
export function parseHardLimits(limits: string): { nofile: number | null; nproc: number | null } {
  const hard = (name: string): number | null => {
    const match = new RegExp(`^${name}\\s+\\S+\\s+(\\S+)`, 'm').exec(limits);
    if (!match?.[1]) {
      throw new HostError('TP_HOST_PROBE_FAILED', `no "${name}" line in /proc/self/limits`, { limits });
    }
    return match[1] === 'unlimited' ? null : Number(match[1]);
  };
  return { nofile: hard('Max open files'), nproc: hard('Max processes') };
}

/**
 * Lines like `/sys/block/vda/queue/scheduler:none [mq-deadline] kyber bfq` as disks: the one in
 * brackets is in use. Lines of any other shape are left out.
 */
export function parseDiskSchedulers(text: string): DiskScheduler[] {
  const disks: DiskScheduler[] = [];
  for (const line of text.split('\n')) {
    const m = /^\/sys\/block\/([^/]+)\/queue\/scheduler:(.*)$/.exec(line.trim());
    if (!m) continue;
    const names = m[2]!
      .trim()
      .split(/\s+/)
      .filter((n) => n !== '');
    const current = names.find((n) => n.startsWith('[') && n.endsWith(']'));
    if (current === undefined) continue;
    disks.push({
      name: m[1]!,
      current: current.slice(1, -1),
      available: names.map((n) => n.replace(/^\[|\]$/g, '')),
    });
  }
  return disks.sort((a, b) => a.name.localeCompare(b.name));
}
