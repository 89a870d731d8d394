import { parentPort } from 'node:worker_threads';
import {
  inspectRequest,
  inspectResponse,
  type WafRequest,
  WafRules,
  type WafTransaction,
  wafEvent,
} from './index.ts';
import { KeptTransactions } from './kept.ts';
import type { Inspection, OffloadControl, OffloadJob, OffloadReply } from './offload.ts';
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

parentPort?.on('message', (job: OffloadJob | OffloadControl) => {
  if ('prepare' in job) {
    for (const s of job.prepare) rules.forSettings(s);
    return;
  }
  if ('release' in job) {
    kept.delete(job.release);
    return;
  }
  try {
    let result: Inspection & { kept: boolean };
    if (job.kind === 'response') {
      const t = kept.take(job.txId);
      if (t === undefined) {
        reply({ id: job.id, missing: true });
        return;
      }
      reply({ id: job.id, started: true });
      result = { ...inspectResponse(t, job.settings, job.response), kept: false };
    } else {
      // Compiling (on first use of these settings) is not the request's time: the deadline starts now.
      const ruleSet = rules.forSettings(job.settings);
      reply({ id: job.id, started: true });
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
    reply({ id: job.id, result });
  } catch (e) {
    reply({ id: job.id, error: (e as Error).message });
  }
});

/** What a kept transaction holds, roughly: its request's target, headers and body. */
function requestBytes(r: WafRequest, body: string): number {
  let n = r.uri.length + body.length;
  for (const [k, v] of r.headers) n += k.length + v.length;
  return n;
}
