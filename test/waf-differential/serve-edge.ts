/**
 * Runs the Triplane edge with its WAF in front of an upstream that answers "ok", until SIGINT or
 * SIGTERM, for benchmarks and by hand:
 *   node --import tsx test/waf-differential/serve-edge.ts --paranoia 1 [--workers 2] [--waf-threads 1] [--mode block] [--response-body on|off]
 * Prints `ready http://127.0.0.1:PORT` once the edge is ready. Hosts: shop.localhost.
 */
import { createServer } from 'node:http';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { EdgeProcess, shopSnapshot, writeSnapshot } from '../edge/harness.ts';

const { values } = parseArgs({
  options: {
    paranoia: { type: 'string', default: '1' },
    workers: { type: 'string', default: '2' },
    'waf-threads': { type: 'string', default: '1' },
    mode: { type: 'string', default: 'block' },
    'response-body': { type: 'string', default: 'on' },
  },
});
const paranoia = Number(values.paranoia);
const workers = Number(values.workers);
const wafThreads = Number(values['waf-threads']);
const problems = [
  ...([1, 2, 3, 4].includes(paranoia) ? [] : [`--paranoia: expected 1 to 4, got "${values.paranoia}"`]),
  ...(Number.isInteger(workers) && workers >= 1
    ? []
    : [`--workers: expected a positive integer, got "${values.workers}"`]),
  ...(Number.isInteger(wafThreads) && wafThreads >= 1
    ? []
    : [`--waf-threads: expected a positive integer, got "${values['waf-threads']}"`]),
  ...(['off', 'detect', 'block'].includes(values.mode!)
    ? []
    : [`--mode: expected off, detect or block, got "${values.mode}"`]),
  ...(['on', 'off'].includes(values['response-body']!)
    ? []
    : [`--response-body: expected on or off, got "${values['response-body']}"`]),
];
if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(2);
}

// The same answer nginx gives behind ModSecurity in the reference: "ok", read bodies and all, with
// its Content-Length even for HEAD (as nginx sends it): wrk cannot frame a HEAD answer without one.
const upstream = createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' }).end('ok'));
});
await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
const port = (upstream.address() as { port: number }).port;

const edge = new EdgeProcess([]);
const file = join(edge.dataDir, 'snapshot.json');
const snap = shopSnapshot(1, [port], {
  waf: { mode: values.mode, paranoia, responseBody: { enabled: values['response-body'] === 'on' } },
});
// The benchmark measures the WAF, not the edge's own per-client limits.
(snap.policies as Record<string, unknown>[])[0]!.limits = { maxConnectionsPerIp: 100_000 };
writeSnapshot(file, snap);
edge.args.push(
  '--snapshot',
  file,
  '--access-log',
  join(edge.dataDir, 'access.ndjson'),
  '--waf-threads',
  String(wafThreads),
);
await edge.start({ workers });
// Each edge worker's inspection threads compile the CRS in the background after
// start-up; a benchmark that starts at once would time that, not the steady state.
await new Promise((r) => setTimeout(r, 5000));
console.log(`ready http://127.0.0.1:${edge.http}`);

const stop = async () => {
  await edge.stop();
  edge.cleanup();
  upstream.close();
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
