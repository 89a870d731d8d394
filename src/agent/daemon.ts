import { existsSync, readFileSync, unlinkSync } from 'node:fs';
import pino, { type Logger } from 'pino';
import { layout, listStores, runningPid, writeFileAtomic } from './datadir.ts';
import { AgentError } from './errors.ts';
import { type Executor, ProcessExecutor } from './executor.ts';
import type { StoreUser } from './podman/types.ts';
import { Supervisor } from './supervisor/supervisor.ts';
import { prepareStoreUser } from './users.ts';

/** Options of the agent process. */
export interface AgentOptions {
  readonly dataDir: string;
  readonly executor?: Executor;
  readonly log?: Logger;
  /** Supervisor pass interval. @default 10_000 */
  readonly intervalMs?: number;
}

/** The pid in the agent's pid file if that process is alive. */
export function runningAgentPid(dataDir: string): number | undefined {
  return runningPid(layout(dataDir).agentPid);
}

/** Writes this process into the agent pid file; fails if another agent owns the data directory. */
export function claimAgentPid(dataDir: string): void {
  const other = runningAgentPid(dataDir);
  if (other && other !== process.pid) {
    throw new AgentError('TP_AGENT_RUNNING', `an agent (pid ${other}) already runs for ${dataDir}`, {
      pid: other,
    });
  }
  writeFileAtomic(layout(dataDir).agentPid, `${process.pid}\n`);
}

/** Removes the agent pid file if this process wrote it. */
export function releaseAgentPid(dataDir: string): void {
  const file = layout(dataDir).agentPid;
  if (existsSync(file) && Number(readFileSync(file, 'utf8')) === process.pid) unlinkSync(file);
}

/**
 * The node agent: keeps this host's stores healthy. For now it supervises the stores recorded in the
 * data directory; the control plane will hand it its orders later.
 */
export class Agent {
  private supervisor: Supervisor | undefined;
  private readonly users = new Map<string, StoreUser>();
  private readonly log: Logger;
  private readonly ex: Executor;

  constructor(private readonly o: AgentOptions) {
    this.log = o.log ?? pino({ name: 'triplane-agent' });
    this.ex = o.executor ?? new ProcessExecutor();
  }

  /** Writes the pid file and starts supervising; fails if another agent owns the data directory. */
  async start(): Promise<void> {
    claimAgentPid(this.o.dataDir);
    this.supervisor = new Supervisor({
      dataDir: this.o.dataDir,
      executor: this.ex,
      log: this.log,
      intervalMs: this.o.intervalMs,
      userOf: (store) => this.userOf(store),
    });
    this.supervisor.start();
    this.log.info(
      { dataDir: this.o.dataDir, stores: listStores(this.o.dataDir).map((s) => s.store) },
      'agent started',
    );
  }

  /** Finishes the supervisor pass in progress and removes the pid file. */
  async stop(): Promise<void> {
    await this.supervisor?.stop();
    releaseAgentPid(this.o.dataDir);
    this.log.info('agent stopped');
  }

  // After a reboot /run/user/<uid> is gone; preparing the user once per process brings it back.
  private async userOf(store: string): Promise<StoreUser> {
    let u = this.users.get(store);
    if (!u) {
      u = await prepareStoreUser(this.ex, store);
      this.users.set(store, u);
    }
    return u;
  }
}
