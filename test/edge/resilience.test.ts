import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Agent, request } from 'undici';
import { parseSnapshot } from '../../src/contracts/snapshot.ts';
import { TestingControlServer } from '../../src/edge/snapshot/testing-control-server.ts';
import { EdgeProcess, freePort, get, load, shopSnapshot, Upstream, until } from './harness.ts';

/** Established TCP connections to a local port, from `ss` (iproute2). */
function established(port: number): number {
  const out = spawnSync('ss', ['-Htn', 'state', 'established', `( sport = :${port} )`], {
    encoding: 'utf8',
  }).stdout;
  return out.split('\n').filter(Boolean).length;
}

const snap = (version: number, ports: number[]) => {
  const r = parseSnapshot(shopSnapshot(version, ports));
  assert.ok(r.ok);
  return r.snapshot;
};

describe('edge without its control plane', { timeout: 300_000 }, () => {
  const up = new Upstream();
  const control = new TestingControlServer();
  let controlPort = 0;
  let edge: EdgeProcess;

  before(async () => {
    await up.start();
    controlPort = await freePort();
    await control.start(controlPort);
    control.publish(snap(1, [up.port]));
    edge = new EdgeProcess(['--control', `http://127.0.0.1:${controlPort}`]);
    await edge.start();
  });
  after(async () => {
    await edge.stop();
    edge.cleanup();
    await control.stop().catch(() => {});
    await up.kill();
  });

  test('the control plane killed under load: zero failed requests', async () => {
    const r = await load(edge.http, 3000, async (served) => {
      // Served first, however long a busy machine takes to warm the edge up.
      await until('10 requests served', async () => served() >= 10, 30_000);
      await control.stop();
    });
    assert.deepEqual(r.failures, []);
    // Served before and after the control plane went: a count, not a rate, so a slow machine passes.
    assert.ok(r.ok - r.okAfter >= 10 && r.okAfter >= 10, `${r.ok - r.okAfter} before, ${r.okAfter} after`);
  });

  test('restarted while the control plane is still down, the edge serves from its persisted snapshot', async () => {
    await edge.stop();
    const again = new EdgeProcess(['--control', `http://127.0.0.1:${controlPort}`], edge.dataDir);
    again.http = edge.http;
    again.https = edge.https;
    again.metricsPort = edge.metricsPort;
    edge = await again.start();
    assert.equal((await get(edge.http, '/from-disk')).status, 200);
    assert.equal(await edge.metric('triplane_edge_snapshot_version'), 1);
  });

  test('when the control plane returns, a newer snapshot is applied', async () => {
    const up2 = await new Upstream().start();
    await control.start(controlPort);
    control.publish(snap(2, [up2.port]));
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && (await edge.metric('triplane_edge_snapshot_version')) < 2)
      await new Promise((r) => setTimeout(r, 200));
    assert.equal(await edge.metric('triplane_edge_snapshot_version'), 2);
    const r = await get(edge.http, '/new');
    assert.equal(r.headers['x-upstream'], String(up2.port));
    await up2.kill();
  });
});

describe('edge under a slow-client attack', { timeout: 300_000 }, () => {
  const up = new Upstream();
  let edge: EdgeProcess;
  before(async () => {
    await up.start();
    const control = new TestingControlServer();
    await control.start();
    control.publish(snap(1, [up.port]));
    edge = new EdgeProcess(['--control', control.url]);
    await edge.start();
    await control.stop();
  });
  after(async () => {
    await edge.stop();
    edge.cleanup();
    await up.kill();
  });

  test('1000 slowloris connections: a normal client keeps succeeding and the slow connections are closed', async () => {
    // slowhttptest (Debian package) from 127.0.0.1: 1000 connections sending a header line every 5 s.
    const slow = spawn(
      'slowhttptest',
      [
        '-c',
        '1000',
        '-H',
        '-i',
        '5',
        '-r',
        '500',
        '-l',
        '25',
        '-t',
        'GET',
        '-u',
        `http://127.0.0.1:${edge.http}/`,
        '-x',
        '24',
        '-p',
        '3',
      ],
      {
        stdio: ['ignore', 'ignore', 'ignore'],
      },
    );
    const done = new Promise<void>((r) => slow.once('exit', () => r()));
    // The normal client comes from another loopback address and opens a new connection each time.
    const agent = new Agent({ localAddress: '127.0.0.2', pipelining: 0 });
    const failures: string[] = [];
    let ok = 0;
    let heldAt5s = 0;
    let heldAt15s = 0;
    const t0 = Date.now();
    while (Date.now() - t0 < 20_000) {
      try {
        const r = await request(`http://127.0.0.1:${edge.http}/normal`, {
          headers: { host: 'shop.localhost', connection: 'close' },
          dispatcher: agent,
        });
        const body = await r.body.text();
        if (r.statusCode === 200) ok++;
        else failures.push(`${r.statusCode} ${body.trim()}`);
      } catch (e) {
        failures.push((e as Error).message);
      }
      const held = established(edge.http);
      if (Date.now() - t0 < 6000) heldAt5s = Math.max(heldAt5s, held);
      if (Date.now() - t0 > 15_000) heldAt15s = Math.max(heldAt15s, held);
      await new Promise((r) => setTimeout(r, 200));
    }
    slow.kill('SIGINT');
    await done;
    await agent.close();
    assert.deepEqual(failures, []);
    assert.ok(ok > 50, `only ${ok} normal requests`);
    // During the attack the edge holds at most its edge-wide per-IP cap (256) of slow connections...
    assert.ok(heldAt5s >= 100 && heldAt5s <= 260, `held ${heldAt5s} connections at 5 s`);
    // ...and closes each one whose headers are not complete after the headers timeout (10 s).
    assert.ok(heldAt15s < 20, `still ${heldAt15s} connections open after 15 s`);
  });

  test('a slow header sender is cut off after the headers timeout', async () => {
    const s: Socket = connect(edge.http, '127.0.0.1');
    const closedAfter = await new Promise<number>((resolve) => {
      const t0 = Date.now();
      s.write('GET / HTTP/1.1\r\nHost: shop.localhost\r\n');
      const drip = setInterval(() => s.write('X-a: b\r\n'), 1000);
      s.on('close', () => {
        clearInterval(drip);
        resolve(Date.now() - t0);
      });
      s.on('error', () => {});
    });
    assert.ok(closedAfter < 13_000, `closed after ${closedAfter} ms`);
  });
});
