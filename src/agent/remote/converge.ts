import { join } from 'node:path';
import type { Logger } from 'pino';
import type { DesiredStore } from '../../contracts/fleet.ts';
import { type BackoffOptions, backoffDelay } from '../../contracts/long-poll.ts';
import type { Executor } from '../executor.ts';
import type { StoreUser } from '../podman/types.ts';
import type { ApplyOptions, ApplyResult } from '../stack/apply.ts';
import { codedMessage } from './client.ts';
import { type AppliedFile, writeApplied } from './state.ts';

/** Applies one stack: `applyStack` in production, a recorder in tests. */
export type ApplyFn = (o: ApplyOptions) => Promise<ApplyResult>;

/** What a converger needs from the agent around it. */
export interface ConvergerOptions {
  readonly dataDir: string;
  readonly executor: Executor;
  readonly log: Logger;
  readonly apply: ApplyFn;
  readonly ensureUser: (store: string) => Promise<StoreUser>;
  /** Runs an apply so that it never overlaps a supervisor pass. */
  readonly exclusive: <T>(fn: () => Promise<T>) => Promise<T>;
  /** Called after every apply, successful or not. */
  readonly onApplied: (store: string, result: ApplyResult | undefined) => void;
  /** Wait before a failed apply of the same version is tried again. @default 30 s doubling to 10 min */
  readonly retry?: BackoffOptions;
}

/** What a converger has done so far. */
export interface ConvergerStats {
  readonly applies: number;
  readonly applyFailures: number;
  /** The store being applied now, if any. */
  readonly applying: string | null;
}

interface Failure {
  readonly version: number;
  readonly message: string;
  readonly failures: number;
  readonly retryAt: number;
}

const DEFAULT_RETRY: BackoffOptions = { initialMs: 30_000, maxMs: 600_000 };

/**
 * Brings this node's stores to their desired stack versions, one apply at a time. Only the latest
 * desired state counts: a version that arrives while another apply runs is applied after it, and a
 * version that was superseded before its turn is skipped. A failed apply is recorded for the report and
 * tried again later with backoff, since most failures (a busy store, a missing image) pass.
 */
export class Converger {
  private desired: readonly DesiredStore[] = [];
  private applied: AppliedFile;
  private readonly failed = new Map<string, Failure>();
  private readonly leftLogged = new Set<string>();
  private stopped = true;
  private loop: Promise<void> = Promise.resolve();
  private wake: (() => void) | undefined;
  private applying: string | null = null;
  private readonly counts = { applies: 0, applyFailures: 0 };

  constructor(
    private readonly o: ConvergerOptions,
    applied: AppliedFile,
  ) {
    this.applied = { ...applied };
  }

  /** Starts applying whatever differs from what was applied last. */
  start(): void {
    this.stopped = false;
    this.loop = this.run();
  }

  /** Lets the apply in progress finish, then stops. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
  }

  /** Replaces the desired state; stores no longer in it are left running and logged once. */
  setDesired(stores: readonly DesiredStore[]): void {
    this.desired = stores;
    const wanted = new Set(stores.map((s) => s.store));
    for (const store of Object.keys(this.applied)) {
      if (wanted.has(store) || this.leftLogged.has(store)) continue;
      this.leftLogged.add(store);
      // Destroying a store deletes its data, so it takes an explicit operation, never a missing entry.
      this.o.log.warn(
        { store },
        'store is no longer desired on this node; it keeps running until it is destroyed explicitly',
      );
    }
    for (const store of wanted) this.leftLogged.delete(store);
    this.wake?.();
  }

  /** The desired stores last set. */
  desiredStores(): readonly DesiredStore[] {
    return this.desired;
  }

  /** Each store's last successful apply. */
  appliedStores(): Readonly<AppliedFile> {
    return this.applied;
  }

  /** Why the store's last apply failed (coded message), or null when it succeeded or never ran. */
  lastError(store: string): string | null {
    return this.failed.get(store)?.message ?? null;
  }

  /** Counters for health output and tests. */
  stats(): ConvergerStats {
    return { ...this.counts, applying: this.applying };
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const next = this.pick(Date.now());
      if (next) await this.o.exclusive(() => this.applyOne(next.store));
      else await this.idle();
    }
  }

  private pick(now: number): DesiredStore | undefined {
    return this.desired.find((d) => {
      if (this.applied[d.store]?.stackVersion === d.stackVersion) return false;
      const f = this.failed.get(d.store);
      return !(f && f.version === d.stackVersion && f.retryAt > now);
    });
  }

  /** Waits for new desired state, a stop, or the next retry of a failed apply. */
  private async idle(): Promise<void> {
    const retries = this.desired
      .map((d) => this.failed.get(d.store))
      .filter((f): f is Failure => f !== undefined)
      .map((f) => f.retryAt);
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      this.wake = resolve;
      if (retries.length > 0) timer = setTimeout(resolve, Math.max(0, Math.min(...retries) - Date.now()));
    });
    clearTimeout(timer);
    this.wake = undefined;
  }

  private async applyOne(store: string): Promise<void> {
    // The desired state may have moved on while this apply waited for the supervisor pass to end.
    const d = this.desired.find((s) => s.store === store);
    if (this.stopped || !d || this.applied[store]?.stackVersion === d.stackVersion) return;
    const log = this.o.log.child({ store, stackVersion: d.stackVersion });
    log.info('applying stack');
    this.applying = store;
    this.counts.applies++;
    let result: ApplyResult | undefined;
    try {
      result = await this.o.apply({
        dataDir: this.o.dataDir,
        executor: this.o.executor,
        spec: d.spec,
        // applyStack resolves app.code against the stack file's directory, which is sourceDir.
        source: join(d.sourceDir, 'triplane.yaml'),
        ensureUser: this.o.ensureUser,
        onProgress: (step) => log.info({ step }, 'apply progress'),
      });
      const next = {
        ...this.applied,
        [store]: {
          stackVersion: d.stackVersion,
          environment: d.environment,
          appliedAt: new Date().toISOString(),
        },
      };
      writeApplied(this.o.dataDir, next);
      this.applied = next;
      this.failed.delete(store);
      log.info({ actions: result.actions.length }, 'stack applied');
    } catch (e) {
      const prev = this.failed.get(store);
      const failures = prev?.version === d.stackVersion ? prev.failures + 1 : 1;
      const delay = backoffDelay(failures - 1, this.o.retry ?? DEFAULT_RETRY);
      this.failed.set(store, {
        version: d.stackVersion,
        message: codedMessage(e),
        failures,
        retryAt: Date.now() + delay,
      });
      this.counts.applyFailures++;
      log.error({ err: codedMessage(e), failures, retryInMs: delay }, 'stack apply failed; will retry');
      result = undefined;
    } finally {
      this.applying = null;
    }
    this.o.onApplied(store, result);
  }
}
