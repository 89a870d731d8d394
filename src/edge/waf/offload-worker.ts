import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import {
  inspectRequest,
  inspectResponse,
  type WafRequest,
  WafRules,
  type WafTransaction,
  wafEvent,
} from './index.ts';
import { KeptTransactions } from './kept.ts';
import type { Inspection, OffloadControl, OffloadJob, OffloadReply, SharedProgress } from './offload.ts';
import { enableLinearRegExpFallback } from './operators/index.ts';

// The inspection thread: its own copy of the compiled rule sets, one job at a time.
const rules = new WafRules();
enableLinearRegExpFallback();

// Transactions waiting for their response. Most responses come within seconds; the bounds cap what
// responses that never come can hold (a later one is inspected by running its request phases again).
const kept = new KeptTransactions<WafTransaction>({
  maxEntries: 1024,
  maxBytes: 32 * 1024 * 1024,
  ttlMs: 120_000,
});

const reply = (m: OffloadReply | { id: number; started: true }) => parentPort?.postMessage(m);

// Shared with the event loop that posts the jobs: it reads how far behind this thread is, and whether
// something is holding it (a long job, compiling the CRS), without waiting for answers to reach it.
const progress = workerData as SharedProgress | null;
const busy = () => {
  if (progress) Atomics.store(progress.startedAt, 0, BigInt(Date.now()));
};
const idle = () => {
  if (progress) Atomics.store(progress.startedAt, 0, 0n);
};
const started = (id: number) => reply({ id, started: true });
const finished = (m: OffloadReply) => {
  idle();
  if (progress) Atomics.sub(progress.unfinished, 0, 1);
  reply(m);
};

// Jobs that have arrived and not run. Response phases go first: their requests have been waiting
// for the upstream already, and each is short, where a new request's phases are the long part.
const queue: OffloadJob[] = [];
let draining = false;

parentPort?.on('message', (m: OffloadJob | OffloadControl) => {
  take(m);
  drain();
});

function take(m: OffloadJob | OffloadControl): void {
  if ('prepare' in m) {
    busy();
    try {
      for (const s of m.prepare) rules.forSettings(s);
    } finally {
      idle();
    }
  } else if ('release' in m) kept.delete(m.release);
  else queue.push(m);
}

function drain(): void {
  if (draining) return;
  draining = true;
  try {
    for (;;) {
      // Whatever else has arrived meanwhile joins the queue before the next job is chosen.
      for (let r = receiveMessageOnPort(parentPort!); r; r = receiveMessageOnPort(parentPort!))
        take(r.message);
      const at = queue.findIndex((j) => j.kind === 'response');
      const job = at >= 0 ? queue.splice(at, 1)[0] : queue.shift();
      if (job === undefined) return;
      run(job);
    }
  } finally {
    draining = false;
  }
}

function run(job: OffloadJob): void {
  busy();
  try {
    let result: Inspection & { kept: boolean };
    if (job.kind === 'response') {
      const t = kept.take(job.txId);
      if (t === undefined) {
        finished({ id: job.id, missing: true });
        return;
      }
      started(job.id);
      result = { ...inspectResponse(t, job.settings, job.response), kept: false };
    } else {
      // Compiling (on first use of these settings) is not the request's time: the deadline starts now.
      const ruleSet = rules.forSettings(job.settings);
      started(job.id);
      const t = inspectRequest(ruleSet, job.settings, job.request, job.body);
      if (job.kind === 'replay') {
        result = { ...inspectResponse(t, job.settings, job.response), kept: false };
      } else {
        const v = t.verdict();
        let keep = false;
        if (job.keep && !t.blocked) {
          t.compact();
          keep = kept.put(job.id, t, requestBytes(job.request, job.body));
        }
        result = {
          interrupted: v.interrupted && { ruleId: v.interrupted.ruleId, status: v.interrupted.status },
          event: wafEvent(t, job.settings, t.blocked),
          timedOut: false,
          kept: keep,
        };
      }
    }
    finished({ id: job.id, result });
  } catch (e) {
    finished({ id: job.id, error: (e as Error).message });
  }
}

/** What a kept transaction holds, roughly: its request's target, headers and body. */
function requestBytes(r: WafRequest, body: string): number {
  let n = r.uri.length + body.length;
  for (const [k, v] of r.headers) n += k.length + v.length;
  return n;
}
