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

/**
 * Inspects large requests and responses on a thread of its own with a deadline, so a huge or
 * pathological input (JavaScript regexes have no match limit) can never stall the event loop that
 * serves every other request. One job at a time; a job over its deadline has its thread terminated
 * (with the transactions it kept) and reports a timeout, and the next job gets a fresh thread.
 */
export class WafOffload {
  private worker: Worker | undefined;
  private readonly queue: Pending[] = [];
  private running: Pending | undefined;
  private timer: NodeJS.Timeout | undefined;
  private nextId = 1;

  constructor(private readonly o: { readonly timeoutMs: number }) {}

  /**
   * Runs the request phases of one request on the inspection thread; with `keep`, the thread keeps
   * the transaction for `respond` (until `release`, or its bounds push it out).
   */
  async inspect(
    settings: WafSettings,
    request: WafRequest,
    body: string,
    keep = false,
  ): Promise<RequestInspection> {
    const out = await this.run({ kind: 'request', settings, request, body, keep });
    if (!('result' in out)) throw new WafOffloadError('the thread answered a request job as a response');
    return { ...withoutKept(out.result), kept: out.result.kept ? out.id : undefined };
  }

  /**
   * Runs the response phases on the transaction the thread kept for request job `txId`; undefined
   * when the thread no longer has it (then `replay`).
   */
  async respond(settings: WafSettings, txId: number, response: WafResponse): Promise<Inspection | undefined> {
    const out = await this.run({ kind: 'response', settings, txId, response });
    return 'result' in out ? withoutKept(out.result) : undefined;
  }

  /** Runs the request phases again and then the response phases, on the inspection thread. */
  async replay(
    settings: WafSettings,
    request: WafRequest,
    body: string,
    response: WafResponse,
  ): Promise<Inspection> {
    const out = await this.run({ kind: 'replay', settings, request, body, response });
    if (!('result' in out))
      throw new WafOffloadError('the thread answered a replay as a missing transaction');
    return withoutKept(out.result);
  }

  /** Lets the thread forget the transaction it kept for request job `txId`: no response will come. */
  release(txId: number): void {
    const control: OffloadControl = { release: txId };
    this.worker?.postMessage(control);
  }

  /**
   * Compiles these settings' rule sets on the thread now, so the first large request does not wait
   * for the thread to start and compile the CRS.
   */
  prepare(settings: readonly WafSettings[]): void {
    const control: OffloadControl = { prepare: [...settings] };
    if (settings.length > 0) this.thread().postMessage(control);
  }

  /** Stops the thread; queued jobs are refused. */
  async close(): Promise<void> {
    clearTimeout(this.timer);
    const w = this.worker;
    this.worker = undefined;
    for (const p of this.queue.splice(0)) p.reject(new WafOffloadError('the WAF inspection thread stopped'));
    this.running?.reject(new WafOffloadError('the WAF inspection thread stopped'));
    this.running = undefined;
    await w?.terminate();
  }

  private thread(): Worker {
    if (!this.worker) {
      const w = new Worker(bootstrap(), { eval: true });
      w.unref();
      w.on('message', (m: OffloadReply | { id: number; started: true }) => {
        const p = this.running;
        if (!p || p.job.id !== m.id) return;
        if ('started' in m) {
          this.startDeadline(p);
          return;
        }
        clearTimeout(this.timer);
        this.running = undefined;
        if ('result' in m) p.resolve({ id: m.id, result: m.result });
        else if ('missing' in m) p.resolve({ id: m.id, missing: true });
        else p.reject(new WafOffloadError(`inspection failed: ${m.error}`));
        this.pump();
      });
      w.on('error', (e) => {
        if (this.worker === w) this.worker = undefined;
        const p = this.running;
        this.running = undefined;
        clearTimeout(this.timer);
        p?.reject(e);
        this.pump();
      });
      this.worker = w;
    }
    return this.worker;
  }

  private run(job: JobInput): Promise<Outcome> {
    return new Promise((resolve, reject) => {
      this.queue.push({ job: { ...job, id: this.nextId++ } as OffloadJob, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    if (this.running) return;
    const next = this.queue.shift();
    if (!next) return;
    this.running = next;
    this.thread().postMessage(next.job);
  }

  /**
   * The deadline runs from when the thread starts the job, not from when it was queued: a thread that
   * is still starting or compiling the CRS would otherwise time out, be replaced, and start over.
   */
  private startDeadline(p: Pending): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      if (this.running !== p) return;
      const w = this.worker;
      this.worker = undefined;
      this.running = undefined;
      void w?.terminate();
      p.resolve({ id: p.job.id, result: TIMED_OUT });
      this.pump();
    }, this.o.timeoutMs);
  }
}

/** The inspection thread failed or stopped: the request or response it held cannot be judged. */
export class WafOffloadError extends Error {
  readonly code = 'TP_EDGE_WAF_OFFLOAD';
}

function withoutKept(r: Inspection & { readonly kept: boolean }): Inspection {
  return { interrupted: r.interrupted, event: r.event, timedOut: r.timedOut };
}
