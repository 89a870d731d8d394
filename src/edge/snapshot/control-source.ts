/*
 * The edge ⇄ control plane snapshot protocol (v1). The same text is in docs/edge-snapshot-protocol.md;
 * testing-control-server.ts implements the control side for tests.
 *
 * Poll   GET {base}/api/edge/snapshot?after=<version>&edge=<edgeId>
 *        Authorization: Bearer <token>             (when the edge has a token)
 *   200  application/json body: the newest snapshot, whose `version` is greater than `after`. Sent at
 *        once when the control plane has one, otherwise as soon as one is published while the request
 *        is held.
 *   204  the request was held about 25 s and nothing newer was published; the edge polls again at once.
 *   else (401, 5xx, connection refused, timeout): the edge retries after a backoff that doubles from
 *        0.5 s to 10 s, and never gives up. It keeps serving the snapshot it has meanwhile.
 *   `after` is the highest version the edge has *received* in this process (0 at start), not the one it
 *   runs: a snapshot it rejected is not sent again and again, and the next version is. Polling with 0
 *   at start also tells a restarted edge at once whether its on-disk snapshot is still the newest.
 *
 * Ack    POST {base}/api/edge/ack   application/json
 *        { "edge": "<edgeId>", "version": 7 | null, "accepted": true | false,
 *          "problems": [{ "path": "routes[0].pool", "message": "…" }] }   (problems only when rejected)
 *   Sent for every snapshot the edge received and judged: accepted=true when it runs that version (just
 *   applied, or already running it), false with the problems when it keeps its current snapshot.
 *   `version` is null when the snapshot had no readable version. The control plane answers 2xx.
 *   Acks are best effort: a failed one is counted and logged, never retried, and never blocks polling.
 *
 * The control plane must only publish consistency-checked snapshots with increasing versions; the edge
 * checks again anyway and rejects older versions as stale.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { type BackoffOptions, backoffDelay } from '../../contracts/long-poll.ts';
import { messageOf, SnapshotError } from './errors.ts';
import {
  type OnSnapshot,
  readVersion,
  type SnapshotAck,
  type SnapshotLog,
  type SnapshotSource,
  silentLog,
} from './source.ts';

/** How an edge talks to the control plane. */
export interface ControlSourceOptions {
  /** This edge's name, sent with polls and acks. */
  readonly edgeId: string;
  /** Bearer token. @default none (no Authorization header) */
  readonly token?: string;
  /** Longest wait for a poll's answer; must exceed the control plane's hold of ~25 s. @default 35_000 */
  readonly pollTimeoutMs?: number;
  /** Longest wait for an ack's answer. @default 5_000 */
  readonly ackTimeoutMs?: number;
  /** Longest wait for a TCP connection. @default 5_000 */
  readonly connectTimeoutMs?: number;
  /** Retry delays after a failed poll. @default 0.5 s doubling to 10 s */
  readonly backoff?: BackoffOptions;
  /** @default no logging (`stats()` still counts) */
  readonly log?: SnapshotLog;
}

/** What a control source has done so far. */
export interface ControlSourceStats {
  /** Highest version received; the next poll asks for anything newer. */
  readonly after: number;
  readonly polls: number;
  readonly snapshots: number;
  readonly pollErrors: number;
  /** Failed polls since the last successful one (0 = the control plane is reachable). */
  readonly consecutiveErrors: number;
  readonly lastError: { readonly code: string; readonly message: string; readonly at: string } | null;
  readonly acksSent: number;
  readonly ackFailures: number;
}

/** Long-polls the control plane for snapshots and reports the edge's verdict on each (protocol above). */
export class ControlSource implements SnapshotSource {
  private readonly base: string;
  private readonly log: SnapshotLog;
  private agent: Agent | undefined;
  private abort = new AbortController();
  private loop: Promise<void> = Promise.resolve();
  private acks: Promise<void> = Promise.resolve();
  private stopped = true;
  private after = 0;
  private readonly counts = { polls: 0, snapshots: 0, pollErrors: 0, acksSent: 0, ackFailures: 0 };
  private consecutiveErrors = 0;
  private lastError: ControlSourceStats['lastError'] = null;

  constructor(
    baseUrl: string,
    private readonly o: ControlSourceOptions,
  ) {
    this.base = baseUrl.replace(/\/+$/, '');
    this.log = o.log ?? silentLog;
  }

  /** Starts polling; failures are retried forever, never thrown. */
  start(onSnapshot: OnSnapshot): void {
    this.stopped = false;
    // A fresh controller: one aborted by an earlier stop() would end every request of this run at once.
    this.abort = new AbortController();
    this.agent = new Agent({ connect: { timeout: this.o.connectTimeoutMs ?? 5_000 } });
    this.loop = this.run(onSnapshot);
  }

  /** Ends the poll in flight, waits for acks already queued, then closes connections. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    await this.loop;
    await this.acks;
    const agent = this.agent;
    this.agent = undefined;
    await agent?.close();
  }

  /** Queues an ack; acks go out one at a time so the control plane sees verdicts in order. */
  ack(ack: SnapshotAck): void {
    if (this.stopped) {
      this.counts.ackFailures++;
      this.log.debug({ version: ack.version }, 'ack dropped: control source stopped');
      return;
    }
    this.acks = this.acks.then(() => this.postAck(ack));
  }

  /** Counters for metrics and health output. */
  stats(): ControlSourceStats {
    return {
      after: this.after,
      ...this.counts,
      consecutiveErrors: this.consecutiveErrors,
      lastError: this.lastError,
    };
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return this.o.token ? { ...extra, authorization: `Bearer ${this.o.token}` } : extra;
  }

  private async run(onSnapshot: OnSnapshot): Promise<void> {
    while (!this.stopped) {
      try {
        await this.pollOnce(onSnapshot);
        if (this.consecutiveErrors > 0)
          this.log.info({ failures: this.consecutiveErrors }, 'control plane reachable again');
        this.consecutiveErrors = 0;
      } catch (e) {
        if (this.stopped) break;
        this.recordPollError(e);
        // The abort on stop() ends the wait early; the loop condition then ends the loop.
        await sleep(backoffDelay(this.consecutiveErrors - 1, this.o.backoff), undefined, {
          signal: this.abort.signal,
        }).catch(() => {});
      }
    }
  }

  private async pollOnce(onSnapshot: OnSnapshot): Promise<void> {
    const query = new URLSearchParams({ after: String(this.after), edge: this.o.edgeId });
    const timeout = this.o.pollTimeoutMs ?? 35_000;
    this.counts.polls++;
    const res = await request(`${this.base}/api/edge/snapshot?${query}`, {
      method: 'GET',
      headers: this.headers(),
      dispatcher: this.agent,
      signal: this.abort.signal,
      headersTimeout: timeout,
      bodyTimeout: timeout,
    });
    if (res.statusCode === 204) {
      await res.body.dump();
      return;
    }
    if (res.statusCode !== 200) {
      const text = (await res.body.text()).slice(0, 300);
      throw new SnapshotError(
        'TP_EDGE_SNAPSHOT_CONTROL_STATUS',
        `control plane answered ${res.statusCode} to a snapshot poll: ${text}`,
      );
    }
    let raw: unknown;
    try {
      raw = await res.body.json();
    } catch (e) {
      throw new SnapshotError('TP_EDGE_SNAPSHOT_CONTROL_BODY', `snapshot body is not JSON: ${messageOf(e)}`);
    }
    this.counts.snapshots++;
    // Delivered even when the version is unusable, so the manager rejects it and the control plane
    // hears why through the ack.
    onSnapshot(raw, `control:${this.base}`);
    const version = readVersion(raw);
    if (version === null || version <= this.after)
      // Polling again at once would get the same answer at once; the backoff keeps that from spinning.
      throw new SnapshotError(
        'TP_EDGE_SNAPSHOT_CONTROL_BODY',
        `control plane sent version ${version} for a poll after ${this.after}`,
      );
    this.after = version;
  }

  private recordPollError(e: unknown): void {
    const code = e instanceof SnapshotError ? e.code : ((e as { code?: string }).code ?? 'UNKNOWN');
    this.counts.pollErrors++;
    this.consecutiveErrors++;
    this.lastError = { code, message: messageOf(e), at: new Date().toISOString() };
    // One warning per outage, not one per retry: the edge keeps serving and stats() has the count.
    const level = this.consecutiveErrors === 1 ? 'warn' : 'debug';
    this.log[level](
      { code, err: messageOf(e), failures: this.consecutiveErrors, after: this.after },
      'snapshot poll failed; retrying with backoff',
    );
  }

  private async postAck(ack: SnapshotAck): Promise<void> {
    const timeout = this.o.ackTimeoutMs ?? 5_000;
    const body = { edge: this.o.edgeId, ...ack };
    try {
      const res = await request(`${this.base}/api/edge/ack`, {
        method: 'POST',
        headers: this.headers({ 'content-type': 'application/json' }),
        body: JSON.stringify(body),
        dispatcher: this.agent,
        headersTimeout: timeout,
        bodyTimeout: timeout,
      });
      await res.body.dump();
      if (res.statusCode < 200 || res.statusCode > 299)
        throw new SnapshotError(
          'TP_EDGE_SNAPSHOT_CONTROL_STATUS',
          `control plane answered ${res.statusCode} to an ack`,
        );
      this.counts.acksSent++;
    } catch (e) {
      this.counts.ackFailures++;
      this.log.warn({ version: ack.version, accepted: ack.accepted, err: messageOf(e) }, 'snapshot ack lost');
    }
  }
}
