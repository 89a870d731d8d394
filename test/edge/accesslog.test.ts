import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { parseSnapshot } from '../../src/contracts/snapshot.ts';
import { TestingControlServer } from '../../src/edge/snapshot/testing-control-server.ts';
import { EdgeProcess, freePort, get, shopSnapshot, Upstream } from './harness.ts';

/** The control plane's intake, standing in: receives NDJSON batches. */
function intake(port: number, lines: string[]): Promise<Server> {
  const s = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      lines.push(...body.split('\n').filter(Boolean));
      res.writeHead(204).end();
    });
  });
  return new Promise((r) => s.listen(port, '127.0.0.1', () => r(s)));
}

describe('edge access log', { timeout: 180_000 }, () => {
  const up = new Upstream();
  const control = new TestingControlServer();
  let intakePort = 0;
  before(async () => {
    await up.start();
    await control.start();
    const r = parseSnapshot(shopSnapshot(1, [up.port]));
    assert.ok(r.ok);
    control.publish(r.snapshot);
    intakePort = await freePort();
  });
  after(async () => {
    await control.stop();
    await up.kill();
  });

  test('with the sink down, records spool to disk and are delivered once it returns', async () => {
    const edge = await new EdgeProcess([
      '--control',
      control.url,
      '--access-log',
      `http://127.0.0.1:${intakePort}/api/edge/access-log`,
    ]).start();
    try {
      for (let i = 0; i < 50; i++) assert.equal((await get(edge.http, `/logged/${i}`)).status, 200);
      const deadline = Date.now() + 15_000;
      while (
        Date.now() < deadline &&
        (await edge.metric('triplane_edge_access_log_records', '{state="spooled"}')) < 50
      ) {
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.equal(await edge.metric('triplane_edge_access_log_records', '{state="spooled"}'), 50);
      const lines: string[] = [];
      const server = await intake(intakePort, lines);
      const until = Date.now() + 60_000;
      while (Date.now() < until && lines.length < 50) await new Promise((r) => setTimeout(r, 250));
      server.close();
      const paths = lines.map((l) => (JSON.parse(l) as { path: string }).path).sort();
      assert.deepEqual(paths, Array.from({ length: 50 }, (_, i) => `/logged/${i}`).sort());
      const rec = JSON.parse(lines[0]!) as Record<string, unknown>;
      assert.equal(rec.store, 'shop');
      assert.equal(rec.status, 200);
      assert.equal(rec.host, 'shop.localhost');
      assert.equal(typeof rec.requestId, 'string');
    } finally {
      await edge.stop();
      edge.cleanup();
    }
  });

  test('with the spool full, requests still succeed and the drop counter rises', async () => {
    const edge = await new EdgeProcess([
      '--control',
      control.url,
      '--access-log',
      `http://127.0.0.1:${intakePort}/api/edge/access-log`,
      '--spool-mb',
      '0.001',
    ]).start();
    try {
      // More records than the memory buffer (10 000) holds, while the sink is down and the spool is full.
      const { Agent, request } = await import('undici');
      const agent = new Agent({ connections: 16 });
      let ok = 0;
      let next = 0;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next < 12_000) {
            next++;
            const r = await request(`http://127.0.0.1:${edge.http}/x`, {
              headers: { host: 'shop.localhost' },
              dispatcher: agent,
            });
            await r.body.dump();
            if (r.statusCode === 200) ok++;
          }
        }),
      );
      await agent.close();
      assert.equal(ok, next);
      const deadline = Date.now() + 15_000;
      while (
        Date.now() < deadline &&
        (await edge.metric('triplane_edge_access_log_records', '{state="dropped"}')) === 0
      ) {
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.ok((await edge.metric('triplane_edge_access_log_records', '{state="dropped"}')) > 0);
    } finally {
      await edge.stop();
      edge.cleanup();
    }
  });
});
