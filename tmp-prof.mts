import { buildCorpus } from './test/waf-differential/corpus.ts';
import { WafRules, inspectRequest } from './src/edge/waf/index.ts';
import { WafSettings } from './src/contracts/snapshot.ts';
const s = WafSettings.parse({});
const rs = new WafRules().forSettings(s);
const reqs = buildCorpus().filter((r) => r.family === 'benign' && !r.raw).map((r) => ({
  method: r.method, uri: r.path, httpVersion: '1.1',
  headers: [['Host', 'shop.localhost'], ...Object.entries(r.headers).map(([k, v]) => [k, String(v)])] as [string, string][],
  remoteAddr: '127.0.0.1', remotePort: 1, serverPort: 8080, id: r.id, body: r.body === undefined ? '' : Buffer.from(r.body).toString('latin1'),
}));
for (let round = 0; round < 4; round++) {
  const t0 = performance.now();
  for (const r of reqs) inspectRequest(rs, s, r, r.body);
  const ms = performance.now() - t0;
  console.log(`${reqs.length} benign requests: ${(ms / reqs.length).toFixed(3)} ms each, ${Math.round(reqs.length / (ms / 1000))} req/s`);
}
