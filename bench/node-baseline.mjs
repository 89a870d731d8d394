// The floor under any Node.js proxy: Node's own HTTP server and undici with nothing else — no routing,
// protection, cache, metrics or access log. bench/edge-vs-nginx.sh runs it beside the edge so the
// report separates what Node itself costs from what the edge adds.
//   node bench/node-baseline.mjs PORT_STATIC PORT_PROXY ORIGIN_PORT WORKERS
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { Pool } from 'undici';

const [staticPort, proxyPort, originPort, workers, file] = process.argv.slice(2);
if (cluster.isPrimary) {
  for (let i = 0; i < Number(workers); i++) cluster.fork();
} else {
  const body = readFileSync(file);
  http
    .createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/css', 'cache-control': 'public, max-age=3600' });
      res.end(body);
    })
    .listen(Number(staticPort), '127.0.0.1');
  const pool = new Pool(`http://127.0.0.1:${originPort}`, { connections: 64 });
  http
    .createServer(async (req, res) => {
      try {
        const r = await pool.request({ method: req.method, path: req.url, headers: req.headers });
        res.writeHead(r.statusCode, r.headers);
        for await (const chunk of r.body) res.write(chunk);
        res.end();
      } catch {
        res.writeHead(502).end();
      }
    })
    .listen(Number(proxyPort), '127.0.0.1');
}
