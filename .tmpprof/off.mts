import { WafSettings } from '../src/contracts/snapshot.ts';
import { WafOffload } from '../src/edge/waf/offload.ts';
import { buildCorpus, isAttack } from '../test/waf-differential/corpus.ts';
const s = WafSettings.parse({});
const keep = process.argv[2] === 'keep';
const corpus = buildCorpus().filter((r) => !r.raw && !isAttack(r));
const reqs = corpus.map((c, i) => ({
  r: { method: c.method, uri: c.path, httpVersion: '1.1', headers: [['Host', 'shop.localhost'], ...Object.entries(c.headers)] as [string,string][], remoteAddr: '127.0.0.1', remotePort: 5000, serverPort: 80, id: `id${i}` },
  body: Buffer.from(c.body ?? '', 'utf8').toString('latin1'),
}));
const off = new WafOffload({ timeoutMs: 5000 });
off.prepare([s]);
const resp = { status: 200, headers: [['content-type', 'text/plain'], ['content-length', '2']] as [string, string][], body: 'ok', partial: false };
async function one(q: (typeof reqs)[0]) {
  const x = await off.inspect(s, q.r, q.body, keep);
  if (keep && x.kept !== undefined) await off.respond(s, x.kept, resp);
}
async function round() { let i = 0; await Promise.all([0, 1, 2, 3].map(async () => { while (i < reqs.length) await one(reqs[i++]!); })); }
await round(); await round();
const c0 = process.cpuUsage(); const t0 = performance.now();
for (let k = 0; k < 10; k++) await round();
const ms = performance.now() - t0; const c = process.cpuUsage(c0);
console.log(`keep=${keep}: ${(ms * 1000 / (10 * reqs.length)).toFixed(1)} us/request wall; process cpu ${((c.user + c.system) / (10 * reqs.length)).toFixed(1)} us/request`);
await off.close();
