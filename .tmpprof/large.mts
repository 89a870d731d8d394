import { buildCorpus } from '../test/waf-differential/corpus.ts';
import { mixRequests } from '../test/waf-differential/wrk-mix.ts';
for (const mix of ['benign', 'attack'] as const) {
  const reqs = mixRequests(buildCorpus(), mix);
  let large = 0; const why: Record<string, number> = {};
  for (const c of reqs) {
    const body = Buffer.from(c.body ?? '', 'utf8').toString('latin1');
    const hs = Object.entries(c.headers);
    let size = c.path.length + body.length; let largest = Math.max(c.path.length, body.length); let which = body.length >= c.path.length ? 'body' : 'uri';
    for (const [k, v] of hs) { size += k.length + v.length; if (v.length > largest) { largest = v.length; which = k; } }
    if (size > 8192 || largest > 512) { large++; const w = size > 8192 ? 'size' : which; why[w] = (why[w] ?? 0) + 1; }
  }
  console.log(mix, reqs.length, 'large', large, why);
}
