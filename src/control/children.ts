import { type ChildProcess, spawn } from 'node:child_process';
import type { Logger } from 'pino';
import { hostLowestPriority } from '../contracts/priority.ts';

/**
 * The command line of a child of the control plane (`jobs`, `analytics-reader`): management work
 * (`hostLowestPriority()`: the management CPUs, lowest niceness, idle-class disk I/O, idle scheduling
 * policy), so it only takes what the storefront leaves. `node` is the Node.js binary with its loader
 * flags, `entry` the CLI script, `dataDir` the platform's data directory.
 */
export function childCommand(
  subcommand: 'jobs' | 'analytics-reader',
  o: { node: readonly string[]; entry: string; dataDir: string; databaseUrl?: string },
): string[] {
  return [
    ...hostLowestPriority(),
    ...o.node,
    o.entry,
    subcommand,
    '--data-dir',
    o.dataDir,
    ...(o.databaseUrl ? ['--database-url', o.databaseUrl] : []),
  ];
}

/**
 * A process the control plane starts beside its API (the jobs process, the analytics reader) and
 * starts again 2 s after it exits, as a worker: losing one must not stop the API.
 */
export class Supervised {
  private child: ChildProcess | undefined;
  private stopping = false;

  constructor(
    private readonly o: {
      /** For the log: "jobs process", "analytics reader". */
      name: string;
      /** The whole command line, usually behind `hostLowestPriority()`. */
      argv: readonly string[];
      log: Logger;
      /** How messages cross the IPC channel. @default 'json' */
      serialization?: 'json' | 'advanced';
      /** Called with each child as it is started (the first and every restart). */
      onStart?: (child: ChildProcess) => void;
    },
  ) {}

  /** The running child's pid, if any. */
  get pid(): number | undefined {
    return this.child?.exitCode === null ? this.child.pid : undefined;
  }

  start(): void {
    const [cmd, ...args] = this.o.argv;
    // The IPC channel survives nice/ionice/chrt (they exec) and tells the child when the control
    // plane is gone, even after a kill -9: it then stops rather than run on as an orphan.
    const child = spawn(cmd!, args, {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: this.o.serialization ?? 'json',
    });
    this.child = child;
    this.o.onStart?.(child);
    child.once('exit', (code, signal) => {
      if (this.stopping) return;
      this.o.log.error({ code, signal }, `${this.o.name} exited; starting it again in 2 s`);
      setTimeout(() => {
        if (!this.stopping) this.start();
      }, 2000).unref();
    });
  }

  /** SIGTERM, and resolves once the child has exited; it is not started again. */
  async stop(): Promise<void> {
    this.stopping = true;
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
}

/**
 * Resolves when a supervised child should stop: SIGTERM, SIGINT, or, when the control plane started
 * it, its end of the IPC channel closing, however the control plane exited. For the jobs process the
 * channel is only a tripwire (`channel: 'tripwire'`): unreferenced, it does not keep the process
 * alive by itself; the analytics reader's work arrives over it (`'work'`), so it stays referenced.
 */
export function untilStopped(channel: 'tripwire' | 'work' = 'tripwire'): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    if (process.connected) {
      process.once('disconnect', stop);
      if (channel === 'tripwire') process.channel?.unref();
    }
  });
}

/** Lets go of the control plane's IPC channel, so the process can exit. */
export function leaveParent(): void {
  if (process.connected) process.disconnect();
}
