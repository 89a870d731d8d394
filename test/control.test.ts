import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { NodeDesired, type NodeReport } from '../src/contracts/fleet.ts';
import { EdgeProcess, freePort, get, Upstream } from './edge/harness.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TRIPLANE = join(ROOT, 'triplane');

// The control plane as a real process, with a real edge that follows it and the CLI driving it. The
// node's agent is played by the test over the fleet protocol (src/contracts/fleet.ts) — the real
// agent is tested against the protocol in src/agent/remote and with Podman in test/store.test.ts —
// and the store's Varnish by a plain HTTP server.
describe('control plane with an edge and the CLI', { timeout: 300_000 }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tp-control-'));
  const home = join(dataDir, 'home');
  const varnish = new Upstream();
  let port = 0;
  let url = '';
  let control: ChildProcess | undefined;
  let controlOut = '';
  let edge: EdgeProcess;
  let admin = '';
  let agentToken = '';
  let desiredVersion = 0;

  // Asynchronous on purpose: the store's "Varnish" lives in this process and must keep answering
  // (a purge reaches it) while the CLI runs.
  const cli = (...args: string[]) =>
    new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const c = spawn(TRIPLANE, [...args, '--control', url, '--data-dir', dataDir], {
        env: { ...process.env, XDG_CONFIG_HOME: home, TRIPLANE_TOKEN: admin },
      });
      let out = '';
      let err = '';
      c.stdout.on('data', (d) => {
        out += d;
      });
      c.stderr.on('data', (d) => {
        err += d;
      });
      c.once('close', (code) => resolve({ code, out, err }));
    });
  const api = async (method: 'GET' | 'POST', path: string, token: string, body?: unknown) => {
    const r = await request(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await r.body.text();
    return { status: r.statusCode, json: text ? JSON.parse(text) : undefined };
  };
  const startControl = async () => {
    control = spawn(
      TRIPLANE,
      [
        'control',
        '--data-dir',
        dataDir,
        '--listen',
        `127.0.0.1:${port}`,
        '--edge-admin',
        `http://127.0.0.1:${edge.metricsPort}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    control.stdout!.on('data', (d) => {
      controlOut += d;
    });
    control.stderr!.on('data', (d) => {
      controlOut += d;
    });
    for (let i = 0; i < 300; i++) {
      try {
        if ((await request(`${url}/api/health`)).statusCode === 200) return;
      } catch {
        // Not listening yet.
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`control plane did not start:\n${controlOut}`);
  };
  const report = (stackVersion: number): NodeReport => ({
    desiredVersion,
    at: new Date().toISOString(),
    stores: [
      {
        store: 'shop',
        stackVersion,
        converged: true,
        containers: [],
        upstreams: [{ role: 'varnish', host: '127.0.0.1', port: varnish.port, healthy: true }],
        error: null,
      },
    ],
  });

  before(async () => {
    mkdirSync(home);
    await varnish.start();
    port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const init = spawnSync(TRIPLANE, ['control', '--data-dir', dataDir, 'init'], { encoding: 'utf8' });
    assert.equal(init.status, 0, init.stderr);
    admin = readFileSync(join(dataDir, 'control', 'admin-token'), 'utf8').trim();
    const edgeToken = readFileSync(join(dataDir, 'control', 'edge-token'), 'utf8').trim();
    // The edge's ports are picked first: the control plane purges through the edge's admin port.
    edge = new EdgeProcess([
      '--control',
      url,
      '--token',
      edgeToken,
      '--access-log',
      `${url}/api/edge/access-log`,
    ]);
    edge.metricsPort = await freePort();
    await startControl();
  });
  after(async () => {
    await edge.stop();
    edge.cleanup();
    const c = control;
    if (c && c.exitCode === null) {
      const exited = new Promise((r) => c.once('exit', r));
      const t0 = Date.now();
      c.kill('SIGTERM');
      const kill = setTimeout(() => c.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(kill);
      // A stop that waits out held polls or a stuck job would hold up every restart.
      assert.ok(Date.now() - t0 < 10_000, `control plane took ${Date.now() - t0} ms to stop:\n${controlOut}`);
    }
    await varnish.kill();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('init wrote the admin token for its owner only; the API serves its OpenAPI document', async () => {
    const mode = spawnSync('stat', ['-c', '%a', join(dataDir, 'control', 'admin-token')], {
      encoding: 'utf8',
    });
    assert.equal(mode.stdout.trim(), '600');
    const doc = await (await request(`${url}/api/openapi.json`)).body.json();
    assert.ok((doc as { paths: Record<string, unknown> }).paths['/api/stores/{store}/stacks']);
  });

  test('apply through the CLI, a node joins and reports: the edge gets the store and serves it', async () => {
    assert.equal((await cli('stores', 'create', 'shop')).code, 0);
    const dir = join(dataDir, 'shop');
    mkdirSync(dir);
    writeFileSync(join(dir, 'triplane.yaml'), 'name: shop\n');
    const applied = await cli('apply', '-f', join(dir, 'triplane.yaml'), '--json');
    assert.equal(applied.code, 0, applied.err);
    assert.equal(JSON.parse(applied.out).version, 1);
    const jt = await api('POST', '/api/join-tokens', admin, {});
    assert.equal(jt.status, 201);
    const join_ = await request(`${url}/api/agent/join`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ joinToken: jt.json.token, name: 'node-1' }),
    });
    agentToken = ((await join_.body.json()) as { agentToken: string }).agentToken;
    const d = await api('GET', '/api/agent/desired?after=0', agentToken);
    const desired = NodeDesired.parse(d.json);
    assert.deepEqual(
      desired.stores.map((s) => [s.store, s.stackVersion, s.sourceDir]),
      [['shop', 1, dir]],
    );
    desiredVersion = desired.version;
    await edge.start({ ready: false });
    assert.equal((await api('POST', '/api/agent/report', agentToken, report(1))).status, 204);
    let r = await get(edge.http, '/p/1');
    for (let i = 0; i < 50 && r.status !== 200; i++) {
      await new Promise((res) => setTimeout(res, 100));
      r = await get(edge.http, '/p/1');
    }
    assert.equal(r.status, 200, r.body);
    assert.match(r.body, /hello from/);
  });

  test("the edge's access log reaches the control plane: `triplane logs` shows the requests", async () => {
    for (let i = 0; i < 3; i++) await get(edge.http, `/logged/${i}`);
    let rows: { path: string }[] = [];
    for (let i = 0; i < 100 && rows.length < 3; i++) {
      await new Promise((res) => setTimeout(res, 100));
      const r = await cli('logs', 'shop', '--path', '/logged', '--json');
      rows = r.code === 0 ? JSON.parse(r.out) : [];
    }
    assert.deepEqual(rows.map((x) => x.path).sort(), ['/logged/0', '/logged/1', '/logged/2']);
  });

  test('a rate-limit change through the CLI is enforced by the edge within 2 s', async () => {
    const waitForNewSnapshot = async (since: number, t0: number) => {
      while ((await edge.metric('triplane_edge_snapshot_version')) <= since) {
        assert.ok(Date.now() - t0 < 2000, 'the edge did not get the new snapshot within 2 s');
        await new Promise((res) => setTimeout(res, 20));
      }
    };
    const before = await edge.metric('triplane_edge_snapshot_version');
    const t0 = Date.now();
    // A refill of one request per 100 s: the burst alone decides what gets through.
    const r = await cli('policy', 'shop', '--rate', '0.01', '--burst', '3');
    try {
      assert.equal(r.code, 0, r.err);
      await waitForNewSnapshot(before, t0);
      const took = Date.now() - t0;
      const statuses = await Promise.all(
        Array.from({ length: 10 }, () => get(edge.http, '/limited').then((x) => x.status)),
      );
      assert.equal(statuses.filter((s) => s === 200).length, 3, `${statuses} after ${took} ms`);
      assert.equal(statuses.filter((s) => s === 429).length, 7);
    } finally {
      // Back to a limit the other tests do not notice.
      const v = await edge.metric('triplane_edge_snapshot_version');
      assert.equal((await cli('policy', 'shop', '--rate', '100000', '--burst', '100000')).code, 0);
      await waitForNewSnapshot(v, Date.now());
    }
  });

  test("`triplane purge --tag` bans the tag at the store's Varnish and purges the edge cache", async () => {
    varnish.requests = [];
    const r = await cli('purge', 'shop', '--tag', 'cat_p_1', '--json');
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(JSON.parse(r.out), { edges: 1, varnishes: 1 });
    const purge = varnish.requests.find((q) => q.method === 'PURGE');
    assert.equal(purge?.headers['x-magento-tags-pattern'], '((^|,)cat_p_1(,|$))');
  });

  test('control plane kill -9 under load: no storefront request fails; restarted, nothing is re-applied', async () => {
    const agent = new Agent({ connections: 8 });
    let ok = 0;
    const failures: string[] = [];
    const until = Date.now() + 6000;
    const one = async () => {
      while (Date.now() < until) {
        try {
          const r = await request(`http://127.0.0.1:${edge.http}/load`, {
            headers: { host: 'shop.localhost' },
            dispatcher: agent,
          });
          await r.body.dump();
          if (r.statusCode === 200) ok++;
          else failures.push(`HTTP ${r.statusCode} ${r.headers['x-request-id']}`);
        } catch (e) {
          failures.push((e as Error).message);
        }
      }
    };
    const load = Promise.all(Array.from({ length: 8 }, one));
    await new Promise((res) => setTimeout(res, 1500));
    control!.kill('SIGKILL');
    await new Promise((res) => setTimeout(res, 2000));
    await startControl();
    await load;
    await agent.close();
    assert.deepEqual(failures, []);
    assert.ok(ok > 100, `only ${ok} requests`);
    // The restarted control plane holds the same desired state for the node: no new version, so the
    // agent has nothing to apply and no healthy container is touched.
    const d = await api('GET', `/api/agent/desired?after=0`, agentToken);
    assert.equal(NodeDesired.parse(d.json).version, desiredVersion);
    assert.equal((await api('POST', '/api/agent/report', agentToken, report(1))).status, 204);
    const st = await cli('status', 'shop', '--json');
    assert.equal(st.code, 0, st.err);
    const s = JSON.parse(st.out);
    assert.deepEqual([s.desiredVersion, s.appliedVersion, s.converged, s.node], [1, 1, true, 'node-1']);
  });
});
