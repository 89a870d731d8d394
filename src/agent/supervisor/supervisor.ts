import type { Logger } from 'pino';
import { layout, listStores, readJson, writeFileAtomic } from '../datadir.ts';
import type { Executor } from '../executor.ts';
import { isLocked } from '../lock.ts';
import { containerRestart, containerStart, healthcheckRun } from '../podman/argv.ts';
import type { StoreUser } from '../podman/types.ts';
import { inspectStore } from '../stack/status.ts';
import { DEFAULT_DECIDE, type DecideConfig, decide, FRESH, type Memory } from './decide.ts';

/** Restart counts and recent repairs of one store, as written to `supervisor.json`. */
export interface SupervisorRecord {
  restarts: Record<string, number>;
  recent: { at: string; container: string; action: 'restart' | 'start'; reason: string }[];
}

/** What the supervisor needs from its host. */
export interface SupervisorOptions {
  readonly dataDir: string;
  readonly executor: Executor;
  /** Finds the unix user of an existing store (never creates one). */
  readonly userOf: (store: string) => Promise<StoreUser>;
  readonly log: Logger;
  /** Time between passes. @default 10_000 */
  readonly intervalMs?: number;
  readonly decide?: DecideConfig;
}

/**
 * Health checks of one store run at once: enough that a hung one holds up no other, few enough that
 * a store's dozen containers do not fork a dozen Podman processes together on the store's cores.
 */
export const CHECKS_AT_ONCE = 4;

/** Reads a store's supervisor record. */
export function readSupervisorRecord(dataDir: string, store: string): SupervisorRecord {
  return readJson<SupervisorRecord>(layout(dataDir).supervisor(store)) ?? { restarts: {}, recent: [] };
}

/**
 * Podman schedules no health checks on hosts without systemd, so the agent does: each pass runs every
 * container's health command, restarts a container that keeps failing and starts one that stayed
 * down, with exponential backoff, and counts what it did.
 */
export class Supervisor {
  private readonly memory = new Map<string, Memory>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;

  constructor(private readonly o: SupervisorOptions) {}

  /** Starts periodic passes; the first one runs at once. */
  start(): void {
    this.stopped = false;
    const loop = async () => {
      this.running = this.pass().catch((e: unknown) =>
        this.o.log.error({ err: e }, 'supervisor pass failed'),
      );
      await this.running;
      if (!this.stopped) this.timer = setTimeout(loop, this.o.intervalMs ?? 10_000);
    };
    void loop();
  }

  /** Stops after the pass in progress has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** One pass over every store known to the data directory. */
  async pass(): Promise<void> {
    for (const rec of listStores(this.o.dataDir)) {
      if (rec.state === 'down') continue;
      // An apply or down in progress owns the store; acting now would fight it.
      if (isLocked(layout(this.o.dataDir).applyLock(rec.store))) continue;
      await this.passStore(rec.store);
    }
  }

  private async passStore(store: string): Promise<void> {
    const ex = this.o.executor;
    const u = await this.o.userOf(store);
    const facts = await inspectStore(ex, u);
    const record = readSupervisorRecord(this.o.dataDir, store);
    // A hung check takes its whole timeout: run one after another, it would delay every check
    // behind it, and with them the repair of a container that has really failed.
    const healths = await eachBounded(facts, CHECKS_AT_ONCE, async (c) =>
      c.state === 'running' ? healthOf((await ex.run(healthcheckRun(u, c.name))).exitCode) : 'none',
    );
    let changed = false;
    for (const [i, c] of facts.entries()) {
      const health = healths[i]!;
      const key = `${store}/${c.name}`;
      const { verdict, mem } = decide(
        c.state,
        health,
        this.memory.get(key) ?? FRESH,
        Date.now(),
        this.o.decide ?? DEFAULT_DECIDE,
      );
      this.memory.set(key, mem);
      if (verdict !== 'restart' && verdict !== 'start') continue;
      const reason = verdict === 'restart' ? 'health check failed repeatedly' : `container stayed ${c.state}`;
      this.o.log.warn({ store, container: c.name, action: verdict, reason }, 'repairing container');
      await ex.run(verdict === 'restart' ? containerRestart(u, c.name) : containerStart(u, [c.name]));
      record.restarts[c.name] = (record.restarts[c.name] ?? 0) + 1;
      record.recent = [
        ...record.recent,
        { at: new Date().toISOString(), container: c.name, action: verdict, reason },
      ].slice(-50);
      changed = true;
    }
    if (changed)
      writeFileAtomic(layout(this.o.dataDir).supervisor(store), `${JSON.stringify(record, null, 2)}\n`);
  }
}

/** 124: the check hung past its timeout, which is as unhealthy as a failed one. */
function healthOf(exitCode: number): 'healthy' | 'unhealthy' | 'none' {
  return exitCode === 0 ? 'healthy' : exitCode === 1 || exitCode === 124 ? 'unhealthy' : 'none';
}

/** `fn` over `items`, at most `limit` at a time, results in the items' order. */
export async function eachBounded<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}
