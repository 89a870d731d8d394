import { bfqDisks, type HostFacts } from './facts.ts';

/** Where Triplane's Podman settings live; a drop-in leaves the distribution's containers.conf untouched. */
export const DROP_IN_PATH = '/etc/containers/containers.conf.d/50-triplane.conf';

/** Open files per container unless the host's hard limit is lower. */
export const NOFILE_TARGET = 16_384;

/** Processes per container unless the host's hard limit is lower. */
export const NPROC_TARGET = 32_768;

/** The Podman settings a host needs, and the drop-in text that applies them. */
export interface HostConfig {
  readonly runtime: 'crun' | 'runc';
  readonly cgroupManager: 'systemd' | 'cgroupfs';
  readonly eventsLogger: 'journald' | 'file';
  readonly nofile: number;
  readonly nproc: number;
  /** The full text of {@link DROP_IN_PATH}. */
  readonly text: string;
}

/** Derives the containers.conf drop-in from what the host offers; the same facts give the same text. */
export function planHostConfig(facts: HostFacts): HostConfig {
  // crun refuses v1 and hybrid hosts ("cgroups in hybrid mode not supported"); runc runs on both.
  const runtime = facts.cgroup === 'v2' ? 'crun' : 'runc';
  // The systemd manager needs systemd to delegate a unified hierarchy; everything else gets cgroupfs.
  const cgroupManager = facts.systemd && facts.cgroup === 'v2' ? 'systemd' : 'cgroupfs';
  const eventsLogger = facts.systemd ? 'journald' : 'file';
  // Without CAP_SYS_RESOURCE the runtime cannot raise a limit above the caller's hard limit, and
  // Podman's default (nofile 1048576) would make every container fail to start.
  const nofile = Math.min(NOFILE_TARGET, facts.hardNofile ?? Number.POSITIVE_INFINITY);
  const nproc = Math.min(NPROC_TARGET, facts.hardNproc ?? Number.POSITIVE_INFINITY);
  // Every image is built on the host, so a missing image is a fault to report, never one to pull.
  const text = [
    '# Written by `triplane host prepare` from what it found on this host; it is rewritten when that',
    '# changes, so put local settings in another drop-in.',
    '[containers]',
    `default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]`,
    'log_driver = "k8s-file"',
    '',
    '[engine]',
    `runtime = "${runtime}"`,
    `cgroup_manager = "${cgroupManager}"`,
    `events_logger = "${eventsLogger}"`,
    'pull_policy = "never"',
    '',
  ].join('\n');
  return { runtime, cgroupManager, eventsLogger, nofile, nproc, text };
}

/** Where Triplane's kernel settings live, read by `systemd-sysctl` or `procps` at boot. */
export const SYSCTL_PATH = '/etc/sysctl.d/60-triplane.conf';

/**
 * The kernel settings a host needs. Autogroup scheduling puts every session (each `setsid`: every
 * daemon, every container's conmon) in a group of its own that shares the CPU equally with every
 * other group, whatever the niceness of its processes: a backup at nice 19 in its own session then
 * takes as much CPU as the storefront. Without autogroup, niceness ranks all processes on the host,
 * which is how Triplane keeps management work below the serving path.
 */
export const SYSCTL_TEXT = [
  '# Written by `triplane host prepare`: niceness must rank every process on this host, so that',
  '# backups and the control plane (niced) only take CPU the storefront leaves.',
  'kernel.sched_autogroup_enabled = 0',
  '',
].join('\n');

/** Where Triplane's udev rule for disk schedulers lives: udev applies it as each disk appears. */
export const IOSCHED_RULE_PATH = '/etc/udev/rules.d/60-triplane-iosched.rules';

/**
 * The disk scheduler a host needs. Backups run in the idle I/O class (`ionice -c 3`), but only BFQ
 * honours I/O classes: under mq-deadline or none, a backup's reads and writes queue with the
 * storefront's database commits as equals.
 */
export const IOSCHED_RULE_TEXT = [
  '# Written by `triplane host prepare`: BFQ honours I/O priority classes, so backups (idle class)',
  "# only get a disk's time the storefront leaves.",
  'ACTION=="add|change", SUBSYSTEM=="block", ENV{DEVTYPE}=="disk", KERNEL!="loop*|ram*|zram*", ATTR{queue/scheduler}="bfq"',
  '',
].join('\n');

/** Whether every disk that offers BFQ uses it, and the udev rule keeps it so after a reboot. */
export function ioSchedulerState(facts: HostFacts): 'current' | 'differs' | 'not-applicable' {
  const disks = bfqDisks(facts);
  if (disks.length === 0) return 'not-applicable';
  const persisted =
    facts.ioschedRule !== null && settingLines(facts.ioschedRule) === settingLines(IOSCHED_RULE_TEXT);
  return persisted && disks.every((d) => d.current === 'bfq') ? 'current' : 'differs';
}

/** Whether the host's scheduler settings are what {@link SYSCTL_TEXT} says, now and after a reboot. */
export function schedulerState(facts: HostFacts): 'current' | 'differs' | 'not-applicable' {
  // A kernel without autogroup scheduling already ranks every process by niceness.
  if (facts.autogroup === null) return 'not-applicable';
  const persisted = facts.sysctlConf !== null && settingLines(facts.sysctlConf) === settingLines(SYSCTL_TEXT);
  return !facts.autogroup && persisted ? 'current' : 'differs';
}

/**
 * Whether the drop-in on the host has the settings {@link planHostConfig} would write. Comments and
 * blank lines are ignored, so a hand-written file with the right settings is not rewritten.
 */
export function dropInState(facts: HostFacts): 'missing' | 'differs' | 'current' {
  if (facts.dropIn === null) return 'missing';
  return settingLines(facts.dropIn) === settingLines(planHostConfig(facts).text) ? 'current' : 'differs';
}

function settingLines(text: string): string {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .join('\n');
}
