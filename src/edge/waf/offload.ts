import { Worker } from 'node:worker_threads';
import type { WafEvent, WafSettings } from '../../contracts/snapshot.ts';
import type { WafRequest } from './engine/request.ts';

/** What an inspection decided: the rule that stopped the request (if any) and the log event. */
export interface Inspection {
  readonly interrupted: { readonly ruleId: number; readonly status: number } | undefined;
  readonly event: WafEvent | undefined;
  /** The inspection ran out of time: the request is refused, as ModSecurity refuses one whose regexes hit their match limit. */
  readonly timedOut: boolean;
}

/** A request for the inspection thread. */
export interface OffloadJob {
  readonly id: number;
  readonly settings: WafSettings;
  readonly request: WafRequest;
  readonly body: string;
}

interface Pending {
  readonly job: OffloadJob;
  readonly resolve: (r: Inspection) => void;
  readonly reject: (e: unknown) => void;
}

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
 * Inspects large requests on a thread of its own with a deadline, so a huge or pathological input
 * (JavaScript regexes have no match limit) can never stall the event loop that serves every other
 * request. One job at a time; a job over its deadline has its thread terminated and is refused, and
 * the next job gets a fresh thread.
 */
export class WafOffload {
  private worker: Worker | undefined;
  private readonly queue: Pending[] = [];
  private running: Pending | undefined;
  private timer: NodeJS.Timeout | undefined;
  private nextId = 1;

  constructor(private readonly o: { readonly timeoutMs: number }) {}

  /** Runs the request phases of one request on the inspection thread. */
  inspect(settings: WafSettings, request: WafRequest, body: string): Promise<Inspection> {
    return new Promise((resolve, reject) => {
      this.queue.push({ job: { id: this.nextId++, settings, request, body }, resolve, reject });
      this.pump();
    });
  }

  /**
   * Compiles these settings' rule sets on the thread now, so the first large request does not wait
   * for the thread to start and compile the CRS.
   */
  prepare(settings: readonly WafSettings[]): void {
    if (settings.length > 0) this.thread().postMessage({ prepare: settings });
  }

  /** Stops the thread; queued jobs are refused. */
  async close(): Promise<void> {
    clearTimeout(this.timer);
    const w = this.worker;
    this.worker = undefined;
    for (const p of this.queue.splice(0)) p.reject(new Error('the WAF inspection thread stopped'));
    this.running?.reject(new Error('the WAF inspection thread stopped'));
    this.running = undefined;
    await w?.terminate();
  }

  private thread(): Worker {
    if (!this.worker) {
      const w = new Worker(bootstrap(), { eval: true });
      w.unref();
      w.on('message', (m: { id: number; started?: boolean; result?: Inspection; error?: string }) => {
        const p = this.running;
        if (!p || p.job.id !== m.id) return;
        if (m.started) {
          this.startDeadline(p);
          return;
        }
        clearTimeout(this.timer);
        this.running = undefined;
        if (m.result) p.resolve(m.result);
        else p.reject(new Error(m.error ?? 'inspection failed'));
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
      p.resolve({ interrupted: { ruleId: 0, status: 403 }, event: undefined, timedOut: true });
      this.pump();
    }, this.o.timeoutMs);
  }
}
