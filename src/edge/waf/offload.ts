import { Worker } from 'node:worker_threads';
import type { WafEvent, WafSettings } from '../../contracts/snapshot.ts';
import type { WafRequest } from './engine/request.ts';
import type { WafResponse } from './index.ts';

/** What an inspection decided: the rule that stopped the request (if any) and the log event. */
export interface Inspection {
  readonly interrupted: { readonly ruleId: number; readonly status: number } | undefined;
  readonly event: WafEvent | undefined;
  /**
   * The inspection ran out of time. A request is refused, as ModSecurity refuses one whose regexes hit
   * their match limit (rule 200005); a response is sent on, as ModSecurity has no such rule for it.
   */
  readonly timedOut: boolean;
}

/** The request phases' outcome on the thread, and whether it keeps the transaction for the response. */
export interface RequestInspection extends Inspection {
  /** Id under which the thread keeps the transaction (for `respond`); undefined when it keeps none. */
  readonly kept: number | undefined;
}

/** A job for the inspection thread. */
export type OffloadJob =
  /** The request phases; with `keep`, the transaction is kept for the response unless it blocked. */
  | {
      readonly kind: 'request';
      readonly id: number;
      readonly settings: WafSettings;
      readonly request: WafRequest;
      readonly body: string;
      readonly keep: boolean;
    }
  /** The response phases on the transaction kept by request job `txId`. */
  | {
      readonly kind: 'response';
      readonly id: number;
      readonly settings: WafSettings;
      readonly txId: number;
      readonly response: WafResponse;
    }
  /** Request and response phases of an exchange whose transaction is not (or no longer) on the thread. */
  | {
      readonly kind: 'replay';
      readonly id: number;
      readonly settings: WafSettings;
      readonly request: WafRequest;
      readonly body: string;
      readonly response: WafResponse;
    };

/** What the thread answers a job with (besides `started`). */
export type OffloadReply =
  | { readonly id: number; readonly result: Inspection & { readonly kept: boolean } }
  /** A response job whose transaction the thread no longer holds (evicted, expired, thread replaced). */
  | { readonly id: number; readonly missing: true }
  | { readonly id: number; readonly error: string };

/** Messages to the thread that are not jobs: no answer, no deadline. */
export type OffloadControl = { readonly prepare: WafSettings[] } | { readonly release: number };

/** A job before the queue gives it an id (Omit over each member of the union). */
type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;
type JobInput = WithoutId<OffloadJob>;

/** A job's outcome, by the id the job ran under. */
type Outcome =
  | { readonly id: number; readonly result: Inspection & { readonly kept: boolean } }
  | { readonly id: number; readonly missing: true };

interface Pending {
  readonly job: OffloadJob;
  /** The job has a large value: it may run long. */
  readonly long: boolean;
  readonly resolve: (r: Outcome) => void;
  readonly reject: (e: unknown) => void;
}

/** What a job over its deadline decided: nothing, in time. */
const TIMED_OUT: Inspection & { readonly kept: boolean } = {
  interrupted: { ruleId: 0, status: 403 },
  event: undefined,
  timedOut: true,
  kept: false,
};

const ENTRY = new URL('./offload-worker.ts', import.meta.url).href;

/**
 * The thread's bootstrap: a worker thread does not inherit the loader hooks that let the edge run
 * TypeScript, so it registers tsx itself before importing its entry.
 */
function bootstrap(): string {
  const tsx = import.meta.resolve('tsx/esm/api');
  return `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(ENTRY)}); })`;
}

/** How the inspection threads run. */
export interface OffloadOptions {
  /** How long one job may run on a thread before the thread is replaced and the job timed out. */
  readonly timeoutMs: number;
  /**
   * Inspection threads. All of a client's connections go to one edge worker (its rate-limit
   * buckets live there), so a worker's WAF uses its event loop and these threads.
   * @default 1
   */
  readonly threads?: number;
}

/**
 * Inspects requests and responses off the event loop, on a pool of threads, each job with a
 * deadline, so a huge or pathological input (JavaScript regexes have no match limit) can never
 * stall the event loop that serves every other request. A job goes to the thread with the fewest
 * unfinished jobs; the response phases go to the thread that kept the request's transaction.
 */
export class WafOffload {
  private readonly pool: InspectionThread[] = [];
  /** Which thread keeps the transaction of a request job, by job id. */
  private readonly keptOn = new Map<number, InspectionThread>();
  private nextId = 1;

  constructor(o: OffloadOptions) {
    const n = o.threads ?? 1;
    if (!Number.isInteger(n) || n < 1)
      throw new WafOffloadError(`threads: expected a positive integer, got ${JSON.stringify(n)}`);
    for (let i = 0; i < n; i++) this.pool.push(new InspectionThread(o.timeoutMs));
  }

  /**
   * Runs the request phases of one request on an inspection thread; with `keep`, the thread keeps
   * the transaction for `respond` (until `release`, or its bounds push it out).
   */
  async inspect(
    settings: WafSettings,
    request: WafRequest,
    body: string,
    keep = false,
    long = false,
  ): Promise<RequestInspection> {
    const thread = this.pick();
    const out = await this.run(thread, { kind: 'request', settings, request, body, keep }, long);
    if (!('result' in out)) throw new WafOffloadError('the thread answered a request job as a response');
    if (out.result.kept) this.keptOn.set(out.id, thread);
    return { ...withoutKept(out.result), kept: out.result.kept ? out.id : undefined };
  }

  /**
   * Runs the response phases on the transaction a thread kept for request job `txId`; undefined
   * when no thread has it any more (then `replay`).
   */
  async respond(
    settings: WafSettings,
    txId: number,
    response: WafResponse,
    long = false,
  ): Promise<Inspection | undefined> {
    const thread = this.keptOn.get(txId);
    if (thread === undefined) return undefined;
    this.keptOn.delete(txId);
    const out = await this.run(thread, { kind: 'response', settings, txId, response }, long);
    return 'result' in out ? withoutKept(out.result) : undefined;
  }

  /** Runs the request phases again and then the response phases, on an inspection thread. */
  async replay(
    settings: WafSettings,
    request: WafRequest,
    body: string,
    response: WafResponse,
    long = false,
  ): Promise<Inspection> {
    const out = await this.run(this.pick(), { kind: 'replay', settings, request, body, response }, long);
    if (!('result' in out))
      throw new WafOffloadError('the thread answered a replay as a missing transaction');
    return withoutKept(out.result);
  }

  /** Lets the thread forget the transaction it kept for request job `txId`: no response will come. */
  release(txId: number): void {
    const thread = this.keptOn.get(txId);
    this.keptOn.delete(txId);
    thread?.release(txId);
  }

  /**
   * Compiles these settings' rule sets on every thread now, so no request waits for a thread to
   * start and compile the CRS.
   */
  prepare(settings: readonly WafSettings[]): void {
    if (settings.length === 0) return;
    for (const t of this.pool) t.prepare([...settings]);
  }

  /** Stops the threads; jobs not answered yet are refused. */
  async close(): Promise<void> {
    this.keptOn.clear();
    await Promise.all(this.pool.map((t) => t.close()));
  }

  /**
   * Whether some thread can take a short job without it waiting behind a long one: no job that may
   * run long (a large value) is posted to it, and nothing has held it longer than LONG_JOB_MS.
   */
  hasFreeThread(): boolean {
    const now = Date.now();
    for (const t of this.pool) if (t.free(now)) return true;
    return false;
  }

  /**
   * The thread for a job: the one with the fewest unfinished jobs (read from memory the threads
   * share, not from their answers, which wait until the event loop is free to read them), a thread
   * held by a long job or with one posted counting as further behind than any queue.
   */
  private pick(): InspectionThread {
    const now = Date.now();
    let best = this.pool[0]!;
    let least = best.weight(now);
    for (let i = 1; i < this.pool.length && least > 0; i++) {
      const n = this.pool[i]!.weight(now);
      if (n < least) {
        best = this.pool[i]!;
        least = n;
      }
    }
    return best;
  }

  private run(thread: InspectionThread, job: JobInput, long: boolean): Promise<Outcome> {
    return new Promise((resolve, reject) => {
      thread.submit({ job: { ...job, id: this.nextId++ } as OffloadJob, long, resolve, reject });
    });
  }
}

/**
 * A job that has run this long is not an ordinary inspection (a large form post takes a few
 * milliseconds): the thread is treated as held, and jobs go elsewhere.
 */
const LONG_JOB_MS = 50;

/** `startedAt` of a thread that is still loading: it counts as held (see SharedProgress). */
const STARTING = -1n;

/** What a thread shares with the event loop that posts its jobs, read without waiting for answers. */
export interface SharedProgress {
  /** `[0]`: jobs posted to the thread and not finished by it. */
  readonly unfinished: Int32Array;
  /**
   * `[0]`: when the running job started (ms since the epoch), 0 between jobs, STARTING while the
   * thread loads its code and has not yet finished its first job or compile.
   */
  readonly startedAt: BigInt64Array;
}

/**
 * One inspection thread. Jobs are posted as they come and run one at a time, in order except that
 * response phases go before requests waiting (offload-worker.ts); the thread records in shared
 * memory when it starts and finishes each. A job over its deadline has the thread terminated (with
 * the transactions it kept) and reports a timeout; the jobs not answered go to a fresh thread.
 */
class InspectionThread {
  private worker: Worker | undefined;
  private progress: SharedProgress = newProgress();
  /** Posted jobs not answered yet (the thread may run a response job before earlier requests). */
  private readonly posted: Pending[] = [];
  /** The job the thread said it started and has not answered. */
  private running: Pending | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Jobs posted that may run long (large values), counted until answered. */
  private longJobs = 0;
  /** The settings last prepared, compiled by each thread that starts. */
  private prepared: WafSettings[] = [];

  constructor(private readonly timeoutMs: number) {}

  unfinished(): number {
    return Atomics.load(this.progress.unfinished, 0);
  }

  /**
   * Whether the thread is still starting, or what it is doing now started more than LONG_JOB_MS
   * before `now`. A starting thread loads its code and compiles the CRS before its first job: on a
   * slow machine, seconds.
   */
  held(now: number): boolean {
    const started = Atomics.load(this.progress.startedAt, 0);
    return started === STARTING || (started !== 0n && now - Number(started) > LONG_JOB_MS);
  }

  /**
   * Whether a short job posted now waits behind nothing long. A thread that is not running is not
   * free either: the job would wait for it to start.
   */
  free(now: number): boolean {
    return this.worker !== undefined && this.longJobs === 0 && !this.held(now);
  }

  /** How far behind the thread is, for choosing one: long work outweighs any queue of short jobs. */
  weight(now: number): number {
    return this.unfinished() + (this.held(now) ? 1_000_000 : 0) + this.longJobs * 1_000;
  }

  submit(p: Pending): void {
    if (p.long) this.longJobs++;
    this.posted.push(p);
    this.post(p);
  }

  /**
   * Compiles these settings' rule sets on the thread, starting it if it is not running. A thread
   * started later (after one was replaced) compiles them first too.
   */
  prepare(settings: WafSettings[]): void {
    this.prepared = settings;
    if (this.worker) this.worker.postMessage({ prepare: settings } satisfies OffloadControl);
    else this.thread();
  }

  /** Drops the transaction the thread keeps for this job id. */
  release(txId: number): void {
    this.worker?.postMessage({ release: txId } satisfies OffloadControl);
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    const w = this.worker;
    this.worker = undefined;
    this.longJobs = 0;
    for (const p of this.posted.splice(0)) p.reject(new WafOffloadError('the WAF inspection thread stopped'));
    await w?.terminate();
  }

  private post(p: Pending): void {
    const w = this.thread();
    Atomics.add(this.progress.unfinished, 0, 1);
    w.postMessage(p.job);
  }

  private thread(): Worker {
    if (!this.worker) {
      this.progress = newProgress();
      Atomics.store(this.progress.startedAt, 0, STARTING);
      const w = new Worker(bootstrap(), { eval: true, workerData: this.progress });
      w.unref();
      w.on('message', (m: OffloadReply | { id: number; started: true }) => {
        if (this.worker !== w) return;
        const at = this.posted.findIndex((p) => p.job.id === m.id);
        if (at < 0) return;
        const p = this.posted[at]!;
        if ('started' in m) {
          this.running = p;
          this.startDeadline(p);
          return;
        }
        if (this.running === p) this.running = undefined;
        clearTimeout(this.timer);
        this.answered(at);
        if ('result' in m) p.resolve({ id: m.id, result: m.result });
        else if ('missing' in m) p.resolve({ id: m.id, missing: true });
        else p.reject(new WafOffloadError(`inspection failed: ${m.error}`));
      });
      w.on('error', (e) => {
        if (this.worker !== w) return;
        // The job it was running fails; the others run on a fresh thread.
        const failed = this.running ?? this.posted[0];
        this.replace();
        if (failed) this.answered(this.posted.indexOf(failed)).reject(e);
        for (const p of this.posted) this.post(p);
      });
      this.worker = w;
      if (this.prepared.length > 0) w.postMessage({ prepare: this.prepared } satisfies OffloadControl);
    }
    return this.worker;
  }

  /** Takes the job at `at` off the posted list: it has its answer. */
  private answered(at: number): Pending {
    const [p] = this.posted.splice(at, 1);
    if (p!.long) this.longJobs--;
    return p!;
  }

  /**
   * Stops the thread and starts its successor now, so that it has compiled before the next job
   * comes; until then it is held, and short jobs are inspected on the event loop instead.
   */
  private replace(): void {
    clearTimeout(this.timer);
    this.running = undefined;
    const w = this.worker;
    this.worker = undefined;
    void w?.terminate();
    if (this.prepared.length > 0) this.thread();
  }

  /**
   * The deadline runs from when the thread starts the job, not from when it was posted: a thread
   * that is still starting or compiling the CRS, or running the jobs before it, would otherwise time
   * it out.
   */
  private startDeadline(p: Pending): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      const at = this.posted.indexOf(p);
      if (at < 0) return;
      this.replace();
      this.answered(at);
      p.resolve({ id: p.job.id, result: TIMED_OUT });
      for (const q of this.posted) this.post(q);
    }, this.timeoutMs);
  }
}

function newProgress(): SharedProgress {
  return {
    unfinished: new Int32Array(new SharedArrayBuffer(4)),
    startedAt: new BigInt64Array(new SharedArrayBuffer(8)),
  };
}

/** The inspection thread failed or stopped: the request or response it held cannot be judged. */
export class WafOffloadError extends Error {
  readonly code = 'TP_EDGE_WAF_OFFLOAD';
}

function withoutKept(r: Inspection & { readonly kept: boolean }): Inspection {
  return { interrupted: r.interrupted, event: r.event, timedOut: r.timedOut };
}
