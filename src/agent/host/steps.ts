import { dirname } from 'node:path';
import { CommandError } from '../errors.ts';
import type { Command, Executor } from '../executor.ts';
import { HostError, type HostErrorCode } from './errors.ts';

/**
 * PATH for commands that need their own environment (an executor passes `env` instead of its own),
 * with the sbin directories root's tools live in.
 */
export const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** One change to a host: why it is needed and the commands that make it, run in order. */
export interface HostStep {
  /** Stable name such as `packages`, `drop-in` or `tun`. */
  readonly id: string;
  /** Why the step is needed, in words a user understands. */
  readonly why: string;
  readonly commands: readonly Command[];
}

/**
 * Commands that replace `path` with `text` (mode 0644, the caller's owner). The text goes to a
 * temporary file renamed over the target, because Podman reads its configuration on every call and
 * must never see half a file. `dd` reads its standard input directly: the executor's stdin is a
 * socket, which `install /dev/stdin` cannot open ("No such device or address").
 */
export function writeFileCommands(path: string, text: string): Command[] {
  const tmp = `${path}.triplane-new`;
  return [
    { argv: ['mkdir', '-p', dirname(path)] },
    { argv: ['dd', `of=${tmp}`, 'status=none'], stdin: text },
    { argv: ['chmod', '0644', tmp] },
    { argv: ['mv', '-f', tmp, path] },
  ];
}

/** Runs steps in order; a failing command stops the run with a {@link HostError} naming the step. */
export async function runSteps(
  executor: Executor,
  steps: readonly HostStep[],
  code: HostErrorCode,
  onStep?: (step: HostStep, index: number) => void,
): Promise<void> {
  for (const [index, step] of steps.entries()) {
    onStep?.(step, index);
    for (const command of step.commands) {
      try {
        await executor.run(command);
      } catch (err) {
        if (!(err instanceof CommandError)) throw err;
        throw new HostError(code, `${step.id}: ${err.message}`, { step: step.id, argv: err.argv }, err);
      }
    }
  }
}
