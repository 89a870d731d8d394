/**
 * The WAF engine alone, in this process on one core: the request phases of the differential corpus's
 * benign or attack mix (the requests wrk replays in bench/waf-vs-modsecurity.sh), Debian's CRS at the
 * given paranoia level, inspected over and over. Prints microseconds per request.
 *   node --import tsx bench/waf-engine.ts [benign|attack] [passes over the mix, default 20] [paranoia, default 1]
 */
import { WafSettings } from '../src/contracts/snapshot.ts';
import { inspectRequest, type WafRequest, WafRules } from '../src/edge/waf/index.ts';
import { buildCorpus } from '../test/waf-differential/corpus.ts';
import { mixRequests } from '../test/waf-differential/wrk-mix.ts';

const [mix = 'benign', passesText = '20', paranoiaText = '1'] = process.argv.slice(2);
const passes = Number(passesText);
const paranoia = Number(paranoiaText);
const problems = [
  ...(mix === 'benign' || mix === 'attack' ? [] : [`mix: expected benign or attack, got "${mix}"`]),
  ...(Number.isInteger(passes) && passes >= 1
    ? []
    : [`passes: expected a positive integer, got "${passesText}"`]),
  ...([1, 2, 3, 4].includes(paranoia) ? [] : [`paranoia: expected 1 to 4, got "${paranoiaText}"`]),
];
if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(2);
}

const settings = WafSettings.parse({ paranoia });
const rules = new WafRules().forSettings(settings);
const requests = mixRequests(buildCorpus(), mix as 'benign' | 'attack').map((c, i) => ({
  request: {
    method: c.method,
    uri: c.path,
    httpVersion: '1.1',
    headers: [['Host', 'shop.localhost'], ...Object.entries(c.headers)],
    remoteAddr: '127.0.0.1',
    remotePort: 50000,
    serverPort: 8080,
    id: `bench-${i}`,
  } satisfies WafRequest,
  body: Buffer.from(c.body ?? '', 'utf8').toString('latin1'),
}));

let blocked = 0;
const pass = () => {
  blocked = 0;
  for (const r of requests) if (inspectRequest(rules, settings, r.request, r.body).blocked) blocked++;
};
// Warm-up: the JIT, and the first-use caches (macro texts, marker jumps).
for (let i = 0; i < 3; i++) pass();
const t0 = process.hrtime.bigint();
for (let i = 0; i < passes; i++) pass();
const us = Number(process.hrtime.bigint() - t0) / 1000 / passes / requests.length;
console.log(
  `${mix} mix, paranoia ${paranoia}: ${requests.length} requests (${blocked} blocked), ${us.toFixed(1)} µs per request`,
);
