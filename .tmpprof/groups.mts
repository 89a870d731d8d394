import { writeFileSync } from 'node:fs';
import { buildCorpus, isAttack } from '../test/waf-differential/corpus.ts';
import { wrkScript } from '../test/waf-differential/wrk-mix.ts';
const reqs = buildCorpus().filter((r) => !r.raw && !isAttack(r));
const groups = new Map<string, typeof reqs>();
for (const r of reqs) { const k = r.id.split('.').slice(0, 2).join('.'); groups.set(k, [...(groups.get(k) ?? []), r]); }
for (const [k, rs] of groups) writeFileSync(`/tmp/wafprof/g-${k}.lua`, wrkScript(rs, 'shop.localhost'));
console.log([...groups.keys()].join(' '));
