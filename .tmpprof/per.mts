import { WafSettings } from '../src/contracts/snapshot.ts';
import { inspectRequest, WafRules } from '../src/edge/waf/index.ts';
import { buildCorpus } from '../test/waf-differential/corpus.ts';
import { mixRequests } from '../test/waf-differential/wrk-mix.ts';
const s = WafSettings.parse({});
const rules = new WafRules().forSettings(s);
const reqs = mixRequests(buildCorpus(), 'benign').map((c, i) => ({ id: c.id, r: { method: c.method, uri: c.path, httpVersion: '1.1', headers: [['Host', 'shop.localhost'], ...Object.entries(c.headers)] as [string, string][], remoteAddr: '127.0.0.1', remotePort: 1, serverPort: 2, id: `x${i}` }, body: Buffer.from(c.body ?? '', 'utf8').toString('latin1') }));
const t = new Map<string, number>();
for (let k = 0; k < 8; k++) for (const q of reqs) { const t0 = performance.now(); inspectRequest(rules, s, q.r, q.body); if (k >= 3) t.set(q.id, (t.get(q.id) ?? 0) + performance.now() - t0); }
const arr = [...t].map(([id, ms]) => [id, ms / 5] as const).sort((a, b) => b[1] - a[1]);
console.log(arr.slice(0, 12).map(([id, ms]) => `${ms.toFixed(2)}ms ${id}`).join('\n'));
const tot = arr.reduce((a, b) => a + b[1], 0); console.log('total ms per pass', tot.toFixed(1), 'top 5% share', (arr.slice(0, 31).reduce((a, b) => a + b[1], 0) / tot).toFixed(2));
