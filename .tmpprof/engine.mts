import { WafSettings } from '/work/main/src/contracts/snapshot.ts';
import { WafRules, inspectRequest } from '/work/main/src/edge/waf/index.ts';
import { buildCorpus, isAttack } from '/work/main/test/waf-differential/corpus.ts';
const mix = process.argv[2] ?? 'benign';
if (process.env.LINEAR) (await import('/work/main/src/edge/waf/operators/index.ts')).enableLinearRegExpFallback();
const s = WafSettings.parse({});
const rules = new WafRules().forSettings(s);
const corpus = buildCorpus().filter((r) => !r.raw && (mix === 'benign' ? !isAttack(r) : isAttack(r)));
const reqs = corpus.map((c, i) => ({
  r: { method: c.method, uri: c.path, httpVersion: '1.1', headers: [['Host', 'shop.localhost'], ...Object.entries(c.headers)] as [string,string][], remoteAddr: '127.0.0.1', remotePort: 5000, serverPort: 80, id: `id${i}` },
  body: Buffer.from(c.body ?? '', 'utf8').toString('latin1'),
}));
let blocked = 0;
const run = () => { blocked = 0; for (const q of reqs) { const t = inspectRequest(rules, s, q.r, q.body); if (t.blocked) blocked++; } };
for (let i = 0; i < 5; i++) run();
const rounds = Number(process.argv[3] ?? 20);
const t0 = process.hrtime.bigint();
for (let i = 0; i < rounds; i++) run();
const ns = Number(process.hrtime.bigint() - t0);
console.log(`${mix}: ${reqs.length} requests, blocked ${blocked}, ${(ns / 1000 / rounds / reqs.length).toFixed(1)} us/request`);
