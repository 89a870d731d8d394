import { CommandError } from '../errors.ts';
import type { Command, CommandResult, Executor } from '../executor.ts';
import { IOSCHED_RULE_TEXT, planHostConfig, SYSCTL_TEXT } from './config.ts';
import { type HostFacts, REQUIRED_PACKAGES } from './facts.ts';

/** What a scripted command returns; omitted fields are a silent success. */
export type ScriptedAnswer = Partial<Pick<CommandResult, 'exitCode' | 'stdout' | 'stderr'>>;

/**
 * An executor for unit tests: answers commands from a function, records them, and applies
 * `okExitCodes` like the real executor. A command the script does not answer fails the test.
 */
export class ScriptedExecutor implements Executor {
  readonly log: Command[] = [];
  constructor(private readonly script: (cmd: Command) => ScriptedAnswer | undefined) {}

  async run(cmd: Command): Promise<CommandResult> {
    this.log.push(cmd);
    const answer = this.script(cmd);
    if (!answer) throw new Error(`unscripted command: ${cmd.argv.join(' ')}`);
    const result = { argv: cmd.argv, exitCode: 0, stdout: '', stderr: '', durationMs: 0, ...answer };
    if (!(cmd.okExitCodes ?? [0]).includes(result.exitCode)) {
      throw new CommandError(
        'TP_CMD_FAILED',
        `${cmd.argv.join(' ')} exited ${result.exitCode}: ${result.stderr.trim()}`,
        cmd.argv,
        result.exitCode,
        result.stdout,
        result.stderr,
      );
    }
    return result;
  }

  /** The argv of every command run so far, joined with spaces. */
  get lines(): string[] {
    return this.log.map((c) => c.argv.join(' '));
  }
}

/** Facts of a prepared cgroup v2 host with systemd; tests override what they are about. */
export function preparedFacts(overrides: Partial<HostFacts> = {}): HostFacts {
  const facts: HostFacts = {
    installedPackages: [...REQUIRED_PACKAGES],
    cgroup: 'v2',
    systemd: true,
    pid1: 'systemd',
    hardNofile: 524_288,
    hardNproc: 62_000,
    tunMode: 0o666,
    dropIn: null,
    unprivilegedUsernsClone: null,
    maxUserNamespaces: 62_000,
    autogroup: false,
    sysctlConf: SYSCTL_TEXT,
    disks: [
      { name: 'loop0', current: 'none', available: ['none', 'mq-deadline', 'kyber', 'bfq'] },
      { name: 'vda', current: 'bfq', available: ['none', 'mq-deadline', 'kyber', 'bfq'] },
    ],
    ioschedRule: IOSCHED_RULE_TEXT,
    ...overrides,
  };
  return {
    ...facts,
    dropIn: 'dropIn' in overrides ? (overrides.dropIn ?? null) : planHostConfig(facts).text,
  };
}
