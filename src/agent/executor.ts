import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { CommandError } from './errors.ts';

/** A side effect as data: the argv to run and how to run it. */
export interface Command {
  readonly argv: readonly string[];
  /** Bytes written to the command's standard input, then closed. */
  readonly stdin?: string | Buffer;
  /** A file streamed to the command's standard input instead (a database dump to load). */
  readonly stdinFile?: string;
  /**
   * A file (created 0600, truncated) that receives the command's standard output instead of
   * memory: a database dump can be larger than the process should hold. `stdout` is then empty.
   */
  readonly stdoutFile?: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /** @default 120_000 */
  readonly timeoutMs?: number;
  /** Exit codes that are not failures (e.g. 1 for `podman healthcheck run`). @default [0] */
  readonly okExitCodes?: readonly number[];
}

/** What a finished command printed and how it ended. */
export interface CommandResult {
  readonly argv: readonly string[];
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
}

/** Runs commands. The only place in the agent that starts processes. */
export interface Executor {
  run(cmd: Command): Promise<CommandResult>;
}

/** Streams a command's output line by line while it runs (for progress output). */
export type OutputListener = (line: string, stream: 'stdout' | 'stderr') => void;

/** Runs commands as child processes, with a timeout and captured output. */
export class ProcessExecutor implements Executor {
  constructor(private readonly onOutput?: OutputListener) {}

  run(cmd: Command): Promise<CommandResult> {
    const [file, ...args] = cmd.argv;
    if (!file) throw new CommandError('TP_CMD_SPAWN', 'empty argv', cmd.argv, null, '', '');
    const started = Date.now();
    const timeoutMs = cmd.timeoutMs ?? 120_000;
    const ok = cmd.okExitCodes ?? [0];
    return new Promise((resolve, reject) => {
      const child = spawn(file, args, {
        cwd: cmd.cwd,
        env: cmd.env ? { ...cmd.env } : process.env,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      // Output to a file is complete only when the file is closed as well as the child.
      let sink: Promise<void> = Promise.resolve();
      if (cmd.stdoutFile) {
        const file = createWriteStream(cmd.stdoutFile, { mode: 0o600 });
        sink = new Promise((res, rej) => {
          file.once('close', res);
          file.once('error', rej);
        });
        child.stdout.pipe(file);
      }
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, timeoutMs);
      const relay = (stream: 'stdout' | 'stderr') => {
        let partial = '';
        return (chunk: Buffer) => {
          (stream === 'stdout' ? out : err).push(chunk);
          if (!this.onOutput) return;
          const lines = (partial + chunk.toString('utf8')).split('\n');
          partial = lines.pop() ?? '';
          for (const line of lines) this.onOutput(line, stream);
        };
      };
      if (!cmd.stdoutFile) child.stdout.on('data', relay('stdout'));
      child.stderr.on('data', relay('stderr'));
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(
          new CommandError('TP_CMD_SPAWN', `cannot start ${file}: ${e.message}`, cmd.argv, null, '', ''),
        );
      });
      child.on('close', async (code, signal) => {
        clearTimeout(timer);
        try {
          await sink;
        } catch (e) {
          reject(
            new CommandError(
              'TP_CMD_FAILED',
              `${cmd.argv.join(' ')}: cannot write ${cmd.stdoutFile}: ${(e as Error).message}`,
              cmd.argv,
              code,
              '',
              '',
            ),
          );
          return;
        }
        const stdout = Buffer.concat(out).toString('utf8');
        const stderr = Buffer.concat(err).toString('utf8');
        const exitCode = code ?? (signal ? 128 : -1);
        if (timedOut) {
          reject(
            new CommandError(
              'TP_CMD_TIMEOUT',
              `${cmd.argv.join(' ')} timed out after ${timeoutMs} ms`,
              cmd.argv,
              null,
              stdout,
              stderr,
            ),
          );
        } else if (!ok.includes(exitCode)) {
          const tail = stderr.trim().split('\n').slice(-3).join(' | ');
          reject(
            new CommandError(
              'TP_CMD_FAILED',
              `${cmd.argv.join(' ')} exited ${exitCode}: ${tail}`,
              cmd.argv,
              exitCode,
              stdout,
              stderr,
            ),
          );
        } else {
          resolve({ argv: cmd.argv, exitCode, stdout, stderr, durationMs: Date.now() - started });
        }
      });
      child.stdin.on('error', () => {
        // A command that exits without reading its input closes the pipe early; its exit code tells.
      });
      if (cmd.stdinFile) {
        const src = createReadStream(cmd.stdinFile);
        src.once('error', (e) => {
          child.kill('SIGKILL');
          err.push(Buffer.from(`cannot read ${cmd.stdinFile}: ${e.message}`));
        });
        src.pipe(child.stdin);
      } else child.stdin.end(cmd.stdin ?? '');
    });
  }
}

/** Wraps an executor and keeps every argv it ran, so tests can assert what was done. */
export class RecordingExecutor implements Executor {
  readonly log: Command[] = [];
  constructor(private readonly inner: Executor) {}
  run(cmd: Command): Promise<CommandResult> {
    this.log.push(cmd);
    return this.inner.run(cmd);
  }
}
