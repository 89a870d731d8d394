import type { Command, Executor } from '../executor.ts';
import {
  DROP_IN_PATH,
  dropInState,
  IOSCHED_RULE_PATH,
  IOSCHED_RULE_TEXT,
  ioSchedulerState,
  planHostConfig,
  SYSCTL_PATH,
  SYSCTL_TEXT,
  schedulerState,
} from './config.ts';
import { HostError } from './errors.ts';
import { bfqDisks, type HostFacts, type HostPackage, missingPackages, tunUsableByStores } from './facts.ts';
import { probeHost } from './probe.ts';
import { type HostStep, runSteps, writeFileCommands } from './steps.ts';

/** `apt-get update`: the package lists of a fresh cloud image are often stale or empty. */
export function aptUpdateCommand(): Command {
  return { argv: ['env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', 'update'], timeoutMs: 300_000 };
}

/** `apt-get install` of exactly `packages`, without prompts or recommended extras. */
export function aptInstallCommand(packages: readonly HostPackage[]): Command {
  return {
    argv: [
      'env',
      'DEBIAN_FRONTEND=noninteractive',
      'apt-get',
      'install',
      '-y',
      '--no-install-recommends',
      ...packages,
    ],
    timeoutMs: 900_000,
  };
}

/** Applies Triplane's scheduler setting to the running kernel. */
export function sysctlApplyCommand(): Command {
  return { argv: ['sysctl', '--quiet', '--write', 'kernel.sched_autogroup_enabled=0'] };
}

/** Switches one disk to the BFQ scheduler now (the udev rule does it at the next boot). */
export function ioSchedulerApplyCommand(disk: string): Command {
  return {
    argv: ['dd', `of=/sys/block/${disk}/queue/scheduler`, 'conv=notrunc', 'status=none'],
    stdin: 'bfq',
  };
}

/** The steps that bring a host to what Triplane needs, containing only what is missing. */
export function planHostPrepare(facts: HostFacts): HostStep[] {
  const steps: HostStep[] = [];
  const missing = missingPackages(facts);
  if (missing.length > 0) {
    steps.push({
      id: 'packages',
      why: `${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not installed`,
      commands: [aptUpdateCommand(), aptInstallCommand(missing)],
    });
  }
  const dropIn = dropInState(facts);
  if (dropIn !== 'current') {
    steps.push({
      id: 'drop-in',
      why: `${DROP_IN_PATH} ${dropIn === 'missing' ? 'is missing' : 'differs from what this host needs'}`,
      commands: writeFileCommands(DROP_IN_PATH, planHostConfig(facts).text),
    });
  }
  if (schedulerState(facts) === 'differs') {
    steps.push({
      id: 'scheduler',
      why: facts.autogroup
        ? 'autogroup scheduling is on: niced backups in their own sessions would share the CPU equally with the storefront'
        : `${SYSCTL_PATH} does not keep autogroup scheduling off after a reboot`,
      // The file for the next boot, sysctl for now.
      commands: [...writeFileCommands(SYSCTL_PATH, SYSCTL_TEXT), sysctlApplyCommand()],
    });
  }
  if (ioSchedulerState(facts) === 'differs') {
    const now = bfqDisks(facts).filter((d) => d.current !== 'bfq');
    steps.push({
      id: 'io-scheduler',
      why:
        now.length > 0
          ? `${now.map((d) => `${d.name} uses ${d.current}`).join(', ')}: only BFQ keeps backups' idle-class I/O behind the storefront's`
          : `${IOSCHED_RULE_PATH} does not keep the disks on BFQ after a reboot`,
      commands: [
        ...writeFileCommands(IOSCHED_RULE_PATH, IOSCHED_RULE_TEXT),
        ...now.map((d) => ioSchedulerApplyCommand(d.name)),
      ],
    });
  }
  // A missing device cannot be fixed with chmod; diagnose() reports it instead.
  if (facts.tunMode !== null && !tunUsableByStores(facts)) {
    steps.push({
      id: 'tun',
      why: `/dev/net/tun has mode ${facts.tunMode.toString(8).padStart(4, '0')}: slirp4netns, running as a store user, cannot open it`,
      commands: [{ argv: ['chmod', '0666', '/dev/net/tun'] }],
    });
  }
  return steps;
}

/** What {@link prepareHost} reports while it runs. */
export type PrepareProgress =
  | { readonly type: 'probed'; readonly facts: HostFacts; readonly steps: readonly HostStep[] }
  | { readonly type: 'step'; readonly step: HostStep; readonly index: number; readonly total: number };

/** Options of {@link prepareHost}. */
export interface PrepareOptions {
  /** Called after the probe and before each step, for the CLI's progress output. */
  readonly onProgress?: (event: PrepareProgress) => void;
}

/** What {@link prepareHost} did. */
export interface PrepareResult {
  /** The steps that ran; empty when the host was already prepared. */
  readonly steps: readonly HostStep[];
  /** The host as probed after the steps ran. */
  readonly facts: HostFacts;
}

/**
 * Probes the host, runs the steps it still needs, then probes again and fails unless nothing is left
 * to do, so a step that "succeeds" without effect is caught here rather than by the first container.
 */
export async function prepareHost(executor: Executor, options: PrepareOptions = {}): Promise<PrepareResult> {
  const before = await probeHost(executor);
  const steps = planHostPrepare(before);
  options.onProgress?.({ type: 'probed', facts: before, steps });
  if (steps.length === 0) return { steps, facts: before };
  await runSteps(executor, steps, 'TP_HOST_PREPARE_FAILED', (step, index) =>
    options.onProgress?.({ type: 'step', step, index, total: steps.length }),
  );
  const after = await probeHost(executor);
  const left = planHostPrepare(after);
  if (left.length > 0) {
    throw new HostError(
      'TP_HOST_PREPARE_FAILED',
      `the host still needs changes after preparing it: ${left.map((s) => s.why).join('; ')}`,
      { steps: left.map((s) => s.id) },
    );
  }
  return { steps, facts: after };
}
