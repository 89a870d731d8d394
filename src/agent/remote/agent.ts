import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { JoinRequest, NodeReport, type ObservedStore } from '../../contracts/fleet.ts';
import { type BackoffOptions, backoffDelay } from '../../contracts/long-poll.ts';
import { claimAgentPid, releaseAgentPid } from '../daemon.ts';
import { layout } from '../datadir.ts';
import { AgentError } from '../errors.ts';
import type { Executor } from '../executor.ts';
import type { StoreUser } from '../podman/types.ts';
import { applyStack } from '../stack/apply.ts';
import { Supervisor } from '../supervisor/supervisor.ts';
import { prepareStoreUser } from '../users.ts';
import { ControlClient, codedMessage } from './client.ts';
import { type ApplyFn, Converger } from './converge.ts';
import { judgeDesired, readVersion } from './judge.ts';
import { observeStore } from './observe.ts';
import { type Identity, normalizeUrl, readApplied, readIdentity, writeIdentity } from './state.ts';
import { runTask } from './tasks.ts';

/** How a node agent finds, joins and follows its control plane. */
export interface RemoteAgentOptions {
  /** Base URL of the control plane, e.g. `http://127.0.0.1:7070`. */
  readonly controlUrl: string;
  readonly dataDir: string;
  /** Runs every Podman and file command. */
  readonly executor: Executor;
  readonly log: Logger;
  /** One-time join token; needed only while the data directory holds no identity. */
  readonly joinToken?: string;
  /** The name this node joins under. @default the host name, lower-cased */
  readonly name?: string;
  /** Labels the control plane can place stores by. @default {} */
  readonly labels?: Readonly<Record<string, string>>;
  /** Creates or finds a store's unix user. @default prepareStoreUser with the executor */
  readonly ensureUser?: (store: string) => Promise<StoreUser>;
  /** How long the control plane holds a poll; a poll times out 10 s later. @default 25_000 */
  readonly pollHoldMs?: number;
  /** Time between reports (one is also sent after every apply). @default 10_000 */
  readonly reportIntervalMs?: number;
  /** Time between supervisor passes. @default 10_000 */
  readonly superviseIntervalMs?: number;
  /** Retry delays after a failed poll. @default 0.5 s doubling to 10 s */
  readonly pollBackoff?: BackoffOptions;
  /** Retry delays after a failed apply of the same version. @default 30 s doubling to 10 min */
  readonly applyRetry?: BackoffOptions;
  /** Applies one stack. @default applyStack */
  readonly apply?: ApplyFn;
}

/** What a remote agent has done so far, for health output and tests. */
export interface RemoteAgentStats {
  readonly nodeId: string | null;
  /** Highest desired version received; the next poll asks for anything newer. */
  readonly after: number;
  /** The desired version the agent follows (the last valid one received), 0 before the first. */
  readonly desiredVersion: number;
  readonly polls: number;
  readonly pollErrors: number;
  /** Failed polls since the last successful one (0 = the control plane is reachable). */
  readonly consecutivePollErrors: number;
  readonly lastPollError: { readonly message: string; readonly at: string } | null;
  readonly invalidDesired: number;
  readonly applies: number;
  readonly applyFailures: number;
  readonly reportsSent: number;
  readonly reportFailures: number;
  readonly supervisorFailures: number;
}

/**
 * The node agent under a control plane (fleet protocol, src/contracts/fleet.ts): joins once, long-polls
 * its desired state, applies each store's stack version when it changes, reports what runs, and keeps
 * the supervisor healing the stores meanwhile. When the control plane is away the node keeps running
 * what it last applied, and polls with backoff until it is back.
 */
export class RemoteAgent {
  private identity: Identity | undefined;
  private client: ControlClient | undefined;
  private converger: Converger | undefined;
  private supervisor: Supervisor | undefined;
  private readonly users = new Map<string, StoreUser>();
  private abort = new AbortController();
  private stopped = true;
  private after = 0;
  private desiredVersion = 0;
  private pollLoop: Promise<void> = Promise.resolve();
  private taskLoop: Promise<void> = Promise.resolve();
  private superviseLoop: Promise<void> = Promise.resolve();
  private reportTimer: NodeJS.Timeout | undefined;
  private reporting: Promise<void> | undefined;
  private reportAgain = false;
  private lane: Promise<unknown> = Promise.resolve();
  private readonly counts = {
    polls: 0,
    pollErrors: 0,
    invalidDesired: 0,
    reportsSent: 0,
    reportFailures: 0,
    supervisorFailures: 0,
  };
  private consecutivePollErrors = 0;
  private consecutiveReportErrors = 0;
  private lastPollError: RemoteAgentStats['lastPollError'] = null;

  constructor(private readonly o: RemoteAgentOptions) {}

  /**
   * Joins the control plane if this data directory has no identity yet, then starts polling, applying,
   * reporting and supervising. Fails (coded) without a usable identity or join token, when another
   * agent owns the data directory, or when the join is refused or cannot reach the control plane.
   */
  async start(): Promise<void> {
    if (!this.stopped) throw new AgentError('TP_AGENT_STARTED', 'the agent is already started');
    const url = normalizeUrl(this.o.controlUrl);
    const saved = readIdentity(this.o.dataDir);
    if (saved && normalizeUrl(saved.controlUrl) !== url) {
      throw new AgentError(
        'TP_AGENT_IDENTITY_MISMATCH',
        `this node joined ${saved.controlUrl}, not ${url}: remove the identity file to join another control plane`,
        { joined: saved.controlUrl, controlUrl: url },
      );
    }
    const join = saved ? undefined : this.joinRequest(url);
    const applied = readApplied(this.o.dataDir);
    claimAgentPid(this.o.dataDir);
    const client = new ControlClient(url);
    try {
      this.identity = saved ?? (await this.join(client, join!, url));
    } catch (e) {
      await client.close();
      releaseAgentPid(this.o.dataDir);
      throw e;
    }
    this.client = client;
    this.stopped = false;
    this.abort = new AbortController();
    this.supervisor = new Supervisor({
      dataDir: this.o.dataDir,
      executor: this.o.executor,
      log: this.o.log,
      userOf: (store) => this.userOf(store),
    });
    this.converger = new Converger(
      {
        dataDir: this.o.dataDir,
        executor: this.o.executor,
        log: this.o.log,
        apply: this.o.apply ?? applyStack,
        ensureUser: (store) => this.ensureUser(store),
        exclusive: (fn) => this.exclusive(fn),
        onApplied: (store, result) => {
          if (result) this.users.set(store, result.user);
          this.requestReport();
        },
        retry: this.o.applyRetry,
      },
      applied,
    );
    this.superviseLoop = this.supervise();
    this.converger.start();
    this.pollLoop = this.poll();
    this.taskLoop = this.tasks();
    this.reportTimer = setInterval(() => this.requestReport(), this.o.reportIntervalMs ?? 10_000);
    this.requestReport();
    this.o.log.info(
      { nodeId: this.identity.nodeId, controlUrl: url, applied: Object.keys(applied) },
      'agent started under the control plane',
    );
  }

  /** Ends the poll, lets the apply and supervisor pass in progress finish, then releases the data directory. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.abort.abort();
    clearInterval(this.reportTimer);
    await this.pollLoop;
    await this.taskLoop;
    await this.converger?.stop();
    await this.superviseLoop;
    await this.reporting;
    await this.client?.close();
    this.client = undefined;
    releaseAgentPid(this.o.dataDir);
    this.o.log.info('agent stopped');
  }

  /** Counters for health output and tests. */
  stats(): RemoteAgentStats {
    const c = this.converger?.stats();
    return {
      nodeId: this.identity?.nodeId ?? null,
      after: this.after,
      desiredVersion: this.desiredVersion,
      ...this.counts,
      consecutivePollErrors: this.consecutivePollErrors,
      lastPollError: this.lastPollError,
      applies: c?.applies ?? 0,
      applyFailures: c?.applyFailures ?? 0,
    };
  }

  private joinRequest(url: string): JoinRequest {
    if (!this.o.joinToken) {
      throw new AgentError(
        'TP_AGENT_JOIN_TOKEN_MISSING',
        `this node has not joined ${url} yet: give it a join token issued by that control plane`,
        { controlUrl: url },
      );
    }
    const r = JoinRequest.safeParse({
      joinToken: this.o.joinToken,
      name: this.o.name ?? hostname().toLowerCase(),
      labels: this.o.labels ?? {},
    });
    if (!r.success) {
      const problems = r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
      throw new AgentError('TP_AGENT_JOIN_INVALID', `cannot join: ${problems.join('; ')}`, { problems });
    }
    return r.data;
  }

  private async join(client: ControlClient, req: JoinRequest, url: string): Promise<Identity> {
    let res: Awaited<ReturnType<ControlClient['join']>>;
    try {
      res = await client.join(req);
    } catch (e) {
      if (e instanceof AgentError) throw e;
      throw new AgentError('TP_AGENT_JOIN_FAILED', `cannot reach ${url} to join: ${codedMessage(e)}`, {
        controlUrl: url,
      });
    }
    const id: Identity = { nodeId: res.nodeId, agentToken: res.agentToken, controlUrl: url };
    writeIdentity(this.o.dataDir, id);
    this.o.log.info({ nodeId: id.nodeId, name: req.name }, 'joined the control plane');
    return id;
  }

  /**
   * Applies and supervisor passes take turns: both act on containers, and the apply lock does not keep
   * out a supervisor in the same process (it only stops other processes).
   */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lane.then(fn);
    // The caller gets run's rejection; the lane only has to outlive it.
    this.lane = run.catch(() => undefined);
    return run;
  }

  private ensureUser(store: string): Promise<StoreUser> {
    return (this.o.ensureUser ?? ((s: string) => prepareStoreUser(this.o.executor, s)))(store);
  }

  // After a reboot /run/user/<uid> is gone; preparing the user once per process brings it back.
  private async userOf(store: string): Promise<StoreUser> {
    let u = this.users.get(store);
    if (!u) {
      u = await this.ensureUser(store);
      this.users.set(store, u);
    }
    return u;
  }

  private async supervise(): Promise<void> {
    const supervisor = this.supervisor!;
    while (!this.stopped) {
      try {
        await this.exclusive(() => supervisor.pass());
      } catch (e) {
        // The next pass tries again; a pass that fails for good shows in the count and the log.
        this.counts.supervisorFailures++;
        this.o.log.error({ err: codedMessage(e) }, 'supervisor pass failed');
        // Prepared again before the next pass: a user whose processes were all killed meanwhile has
        // Podman state that only preparing clears.
        this.users.clear();
      }
      await sleep(this.o.superviseIntervalMs ?? 10_000, undefined, { signal: this.abort.signal }).catch(
        () => {},
      );
    }
  }

  /**
   * Claims and runs node tasks (backups, verifications, restores, retention) one at a time. They
   * run beside the converger and the supervisor, not in their lane: a backup can take an hour, and
   * self-healing must not wait for it. A task the agent cannot finish because it stops is left to
   * its lease: the control plane takes it back when the lease expires.
   */
  private async tasks(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        const task = await this.client!.claimTask(this.identity!.agentToken, 30_000, this.abort.signal);
        failures = 0;
        if (!task) continue;
        this.o.log.info({ task: task.id, op: task.op }, 'task claimed');
        let outcome: { ok: boolean; result: unknown; error: string | null };
        try {
          const result = await runTask(task, {
            dataDir: this.o.dataDir,
            executor: this.o.executor,
            log: this.o.log,
            userOf: (store) => this.userOf(store),
          });
          outcome = { ok: true, result, error: null };
        } catch (e) {
          outcome = { ok: false, result: null, error: codedMessage(e) };
        }
        this.o.log[outcome.ok ? 'info' : 'error'](
          { task: task.id, op: task.op, err: outcome.error ?? undefined },
          outcome.ok ? 'task done' : 'task failed',
        );
        await this.client!.taskOutcome(task.id, outcome, this.identity!.agentToken);
      } catch (e) {
        if (this.stopped) break;
        failures++;
        if (failures === 1)
          this.o.log.warn({ err: codedMessage(e) }, 'task claim failed; retrying with backoff');
        await sleep(backoffDelay(failures - 1, this.o.pollBackoff), undefined, {
          signal: this.abort.signal,
        }).catch(() => {});
      }
    }
  }

  private async poll(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.pollOnce();
        if (this.consecutivePollErrors > 0)
          this.o.log.info({ failures: this.consecutivePollErrors }, 'control plane reachable again');
        this.consecutivePollErrors = 0;
      } catch (e) {
        if (this.stopped) break;
        this.counts.pollErrors++;
        this.consecutivePollErrors++;
        this.lastPollError = { message: codedMessage(e), at: new Date().toISOString() };
        // One warning per outage, not one per retry: the stores keep running and stats() has the count.
        const level = this.consecutivePollErrors === 1 ? 'warn' : 'debug';
        this.o.log[level](
          { err: codedMessage(e), failures: this.consecutivePollErrors, after: this.after },
          'desired-state poll failed; retrying with backoff',
        );
        // The abort on stop() ends the wait early; the loop condition then ends the loop.
        await sleep(backoffDelay(this.consecutivePollErrors - 1, this.o.pollBackoff), undefined, {
          signal: this.abort.signal,
        }).catch(() => {});
      }
    }
  }

  private async pollOnce(): Promise<void> {
    const id = this.identity!;
    this.counts.polls++;
    const body = await this.client!.desired(
      this.after,
      id.agentToken,
      (this.o.pollHoldMs ?? 25_000) + 10_000,
      this.abort.signal,
    );
    if (body === undefined) return;
    const version = readVersion(body);
    if (version === null || version <= this.after) {
      // Polling again at once would get the same answer at once; the backoff keeps that from spinning.
      throw new AgentError(
        'TP_AGENT_CONTROL_BODY',
        `control plane sent version ${version} for a poll after ${this.after}`,
      );
    }
    // `after` moves even for a rejected body, so the control plane sends the next version, not this one.
    this.after = version;
    const judged = judgeDesired(body, id.nodeId);
    if (!judged.ok) {
      this.counts.invalidDesired++;
      this.o.log.error(
        { code: 'TP_AGENT_DESIRED_INVALID', version, problems: judged.problems },
        'desired state rejected; the node keeps its current one',
      );
      return;
    }
    this.desiredVersion = version;
    this.o.log.info(
      { version, stores: judged.desired.stores.map((s) => `${s.store}@${s.stackVersion}`) },
      'desired state received',
    );
    this.converger!.setDesired(judged.desired.stores);
  }

  /** Sends a report now, or right after the one in flight, so reports never pile up. */
  private requestReport(): void {
    if (this.stopped) return;
    if (this.reporting) {
      this.reportAgain = true;
      return;
    }
    this.reporting = this.sendReport().finally(() => {
      this.reporting = undefined;
      if (this.reportAgain) {
        this.reportAgain = false;
        this.requestReport();
      }
    });
  }

  private async sendReport(): Promise<void> {
    try {
      await this.client!.report(await this.buildReport(), this.identity!.agentToken);
      this.counts.reportsSent++;
      this.consecutiveReportErrors = 0;
    } catch (e) {
      // Reports are best effort: the next one says the same, fresher, and applying never waits on them.
      this.counts.reportFailures++;
      this.consecutiveReportErrors++;
      const level = this.consecutiveReportErrors === 1 ? 'warn' : 'debug';
      this.o.log[level]({ err: codedMessage(e), failures: this.consecutiveReportErrors }, 'report lost');
    }
  }

  private async buildReport(): Promise<NodeReport> {
    const conv = this.converger!;
    const desired = conv.desiredStores();
    const applied = conv.appliedStores();
    const names = [...new Set([...desired.map((d) => d.store), ...Object.keys(applied)])].sort();
    const stores: ObservedStore[] = [];
    for (const store of names) {
      const d = desired.find((s) => s.store === store);
      stores.push(
        await observeStore(this.o.executor, this.o.dataDir, {
          store,
          applied: applied[store]?.stackVersion ?? null,
          wanted: d?.stackVersion,
          spec: d?.spec,
          error: conv.lastError(store),
          user: await this.knownUser(store),
        }),
      );
    }
    // Checking our own report catches a bug here before the control plane has to.
    return NodeReport.parse({ desiredVersion: this.desiredVersion, at: new Date().toISOString(), stores });
  }

  /** The store's user if an apply ever created it; a report never creates one. */
  private async knownUser(store: string): Promise<StoreUser | undefined> {
    const cached = this.users.get(store);
    if (cached) return cached;
    return existsSync(layout(this.o.dataDir).record(store)) ? this.userOf(store) : undefined;
  }
}
