import { parentPort } from 'node:worker_threads';
import type { WafSettings } from '../../contracts/snapshot.ts';
import { inspectRequest, WafRules, wafEvent } from './index.ts';
import type { Inspection, OffloadJob } from './offload.ts';
import { enableLinearRegExpFallback } from './operators/index.ts';

// The inspection thread: its own copy of the compiled rule sets, one job at a time.
const rules = new WafRules();
enableLinearRegExpFallback();

parentPort?.on('message', (job: OffloadJob | { prepare: WafSettings[] }) => {
  if ('prepare' in job) {
    for (const s of job.prepare) rules.forSettings(s);
    return;
  }
  try {
    // Compiling (on first use of these settings) is not the request's time: the deadline starts now.
    const ruleSet = rules.forSettings(job.settings);
    parentPort?.postMessage({ id: job.id, started: true });
    const t = inspectRequest(ruleSet, job.settings, job.request, job.body);
    const v = t.verdict();
    const result: Inspection = {
      interrupted: v.interrupted && { ruleId: v.interrupted.ruleId, status: v.interrupted.status },
      event: wafEvent(t, job.settings, t.blocked),
      timedOut: false,
    };
    parentPort?.postMessage({ id: job.id, result });
  } catch (e) {
    parentPort?.postMessage({ id: job.id, error: (e as Error).message });
  }
});
