/**
 * How management work runs on a host, whichever plane starts it: the agent's backup commands and the
 * control plane's jobs process both take only what the storefront leaves.
 */
import { readFileSync } from 'node:fs';

/** Niceness of management work: the lowest, below every process that serves shoppers. */
export const MANAGEMENT_NICENESS = 19;

/** Names the host setting that chooses the CPUs management work keeps to. */
export const MANAGEMENT_CPUS_ENV = 'TRIPLANE_MANAGEMENT_CPUS';

/** A host setting for management work that cannot be used; names the setting and its value. */
export class ManagementCpusError extends Error {
  readonly code = 'TP_MANAGEMENT_CPUS';
  constructor(
    readonly value: string,
    reason: string,
  ) {
    super(`${MANAGEMENT_CPUS_ENV}=${JSON.stringify(value)}: ${reason}`);
    this.name = 'ManagementCpusError';
  }
}

/** Parses a kernel CPU list (`0-3,6`, as in /proc/self/status and `taskset -c`); undefined if malformed. */
export function parseCpuList(text: string): number[] | undefined {
  const cpus = new Set<number>();
  for (const part of text.trim().split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) return undefined;
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) return undefined;
    for (let c = from; c <= to; c++) cpus.add(c);
  }
  return [...cpus].sort((a, b) => a - b);
}

/** The shortest kernel CPU list for `cpus` (sorted, distinct): `[0,1,2,5]` → `0-2,5`. */
export function formatCpuList(cpus: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < cpus.length; ) {
    let j = i;
    while (j + 1 < cpus.length && cpus[j + 1] === cpus[j]! + 1) j++;
    parts.push(i === j ? String(cpus[i]) : `${cpus[i]}-${cpus[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/**
 * The CPUs management work keeps to on this host: `setting` is {@link MANAGEMENT_CPUS_ENV}'s value —
 * unset or `all` for no limit (the default), or a CPU list, a subset of `allowed` so that `taskset`
 * cannot refuse it later, in the middle of a backup. A list keeps backups, verifications, the jobs
 * process and the analytics reads off the other CPUs: priority decides who gets a core, but this
 * kernel finishes a system call before it switches, and a core's caches and its host thread are
 * shared with whatever runs there. It is not the default: on the two-CPU machines measured, work kept
 * to one CPU started slowly (a restarted analytics reader missed the API's 10 s wait) and the reads
 * queued longer, while the storefront's gain could not be told from the machines' noise
 * (docs/benchmarks.md, "Management work kept to one CPU").
 */
export function managementCpusFor(
  setting: string | undefined,
  allowed: readonly number[],
): readonly number[] | undefined {
  if (setting === undefined || setting === '' || setting === 'all') return undefined;
  const cpus = parseCpuList(setting);
  if (!cpus) throw new ManagementCpusError(setting, 'expected all, or a CPU list such as 1 or 2-3,6');
  const outside = cpus.filter((c) => !allowed.includes(c));
  if (outside.length > 0) {
    throw new ManagementCpusError(
      setting,
      `CPU ${formatCpuList(outside)} is not one this host lets the platform use (${formatCpuList(allowed)})`,
    );
  }
  return cpus;
}

/**
 * The argv prefix that runs a command as management work: on the management CPUs, lowest niceness,
 * idle I/O class, and the idle scheduling policy. Niceness alone ranks who gets the CPU, but a
 * nice-19 task that holds a core keeps it until its slice ends when a storefront process wakes there;
 * a request crosses the edge, Varnish, nginx, PHP-FPM, Redis and MariaDB, and may wait so at each.
 * The kernel preempts a SCHED_IDLE task at once for any normal one (bench/wakeup-latency.ts: a 2 ms
 * task woken 50 times a second beside two busy loops, p99 2.4 ms alone, 5.7 ms beside nice-19 loops,
 * 2.2 ms beside SCHED_IDLE ones). `taskset`, `nice`, `ionice` and `chrt` exec what follows, so the
 * command keeps its pid, and children (Podman's conmon and the containers it starts) inherit all
 * four; all are in Debian's essential packages, on every host and in every image.
 */
export function lowestPriority(cpus: readonly number[] | undefined): readonly string[] {
  return Object.freeze([
    ...(cpus ? ['taskset', '--cpu-list', formatCpuList(cpus)] : []),
    ...['nice', '-n', String(MANAGEMENT_NICENESS)],
    ...['ionice', '-c', '3'],
    ...['chrt', '--idle', '0'],
  ]);
}

/** The CPU list (`0-1`) a process may run on, from the text of its `/proc/<pid>/status`. */
export function cpusAllowedIn(status: string): string | undefined {
  return /^Cpus_allowed_list:\s*(\S+)$/m.exec(status)?.[1];
}

/** The CPUs this process may use, from the kernel; when it cannot say, one, so nothing is set apart. */
function allowedCpus(): number[] {
  const list = cpusAllowedIn(readFileSync('/proc/self/status', 'utf8'));
  return (list && parseCpuList(list)) || [0];
}

let host: { cpus: readonly number[] | undefined } | undefined;

/**
 * The CPUs management work keeps to on this host (undefined: all of them), worked out on first use
 * from {@link MANAGEMENT_CPUS_ENV} and the CPUs this process may use. The agent and the control plane
 * ask as they start, so a bad setting stops them there ({@link ManagementCpusError}) rather than fail
 * a backup later.
 */
export function hostManagementCpus(): readonly number[] | undefined {
  host ??= { cpus: managementCpusFor(process.env[MANAGEMENT_CPUS_ENV], allowedCpus()) };
  return host.cpus;
}

/** {@link lowestPriority} on this host. */
export function hostLowestPriority(): readonly string[] {
  return lowestPriority(hostManagementCpus());
}
