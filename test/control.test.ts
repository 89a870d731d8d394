import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Agent, request } from 'undici';
import { NodeDesired, type NodeReport } from '../src/contracts/fleet.ts';
import { ControlProcess, childrenOf, running, SCHED_IDLE, statField } from './control-harness.ts';
import { type EdgeProcess, get, load, Upstream } from './edge/harness.ts';
import { triplaneAsync } from './helpers.ts';

// The control plane as a real process, with a real edge that follows it and the CLI driving it. The
// node's agent is played by the test over the fleet protocol (src/contracts/fleet.ts) — the real
// agent is tested against the protocol in src/agent/remote and with Podman in test/store.test.ts —
// and the store's Varnish by a plain HTTP server.
describe('control plane with an edge and the CLI', { timeout: 300_000 }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tp-control-'));
  const home = join(dataDir, 'home');
  const varnish = new Upstream();
  const control = new ControlProcess(dataDir);
  let url = '';
  let edge: EdgeProcess;
  let admin = '';
  let agentToken = '';
  let desiredVersion = 0;

  // Asynchronous on purpose: the store's "Varnish" lives in this process and must keep answering
  // (a purge reaches it) while the CLI runs.
  const cli = async (...args: string[]) => {
    const r = await triplaneAsync([...args, '--control', url, '--data-dir', dataDir], {
      env: { XDG_CONFIG_HOME: home, TRIPLANE_TOKEN: admin },
    });
    return { code: r.code, out: r.stdout, err: r.stderr };
  };
  const api = async (method: 'GET' | 'POST' | 'PUT', path: string, token: string, body?: unknown) => {
    const r = await request(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await r.body.text();
    return { status: r.statusCode, json: text ? JSON.parse(text) : undefined };
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
    edge = await control.init();
    url = control.url;
    admin = control.admin;
    await control.start();
  });
  after(async () => {
    await edge.stop();
    edge.cleanup();
    const took = await control.stop();
    // A stop that waits out held polls or a stuck job would hold up every restart.
    assert.ok(took < 10_000, `control plane took ${took} ms to stop:\n${control.output}`);
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
    const joinToken = await control.joinToken();
    const join_ = await request(`${url}/api/agent/join`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ joinToken, name: 'node-1' }),
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
    // The edge compiles the store's WAF rules before it serves it: seconds on a slow machine.
    let r = await get(edge.http, '/p/1');
    for (const deadline = Date.now() + 60_000; r.status !== 200 && Date.now() < deadline; ) {
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

  test('the reads come from the analytics reader at the idle policy; killed, it is started again and `logs` answers', async () => {
    const readerOf = () =>
      childrenOf(control.child!.pid!).find((c) => c.argv.includes('analytics-reader'))?.pid;
    const first = readerOf();
    assert.ok(first, `no analytics reader under the control plane:\n${control.output}`);
    assert.deepEqual([statField(first, 19), statField(first, 41)], [19, SCHED_IDLE], 'nice 19, SCHED_IDLE');
    process.kill(first, 'SIGKILL');
    // The CLI's read waits for the reader the control plane starts again (2 s later).
    const r = await cli('logs', 'shop', '--path', '/logged', '--json');
    assert.equal(r.code, 0, r.err);
    assert.equal(JSON.parse(r.out).length, 3);
    const second = readerOf();
    assert.ok(second && second !== first, 'a new reader answered');
    assert.match(control.output, /analytics reader exited; starting it again in 2 s/);
  });

  test('a rate-limit change through the CLI is enforced by the edge within 2 s', async () => {
    // The first snapshot with the change, then every worker of the edge on it: an earlier snapshot
    // still on its way would pass a request or two without the limit.
    const waitForBurst = async (burst: number, t0: number) => {
      let version = 0;
      while (version === 0) {
        const r = await request(`${url}/api/edge/snapshot?after=0`, {
          headers: { authorization: `Bearer ${control.edgeToken}` },
        });
        const s = (await r.body.json()) as {
          version: number;
          policies: { store: string; rateLimits: { burst: number }[] }[];
        };
        if (s.policies.find((p) => p.store === 'shop')?.rateLimits[0]?.burst === burst) version = s.version;
        else await new Promise((res) => setTimeout(res, 20));
        assert.ok(Date.now() - t0 < 2000, 'the control plane did not publish the change within 2 s');
      }
      while ((await edge.metric('triplane_edge_snapshot_version')) < version) {
        assert.ok(Date.now() - t0 < 2000, 'the edge did not get the new snapshot within 2 s');
        await new Promise((res) => setTimeout(res, 20));
      }
    };
    // A refill of one request per 100 s: the burst alone decides what gets through.
    const r = await cli('policy', 'shop', '--rate', '0.01', '--burst', '3');
    // The clock starts when the change is in (the CLI has exited), not with the CLI's own start-up.
    const t0 = Date.now();
    try {
      assert.equal(r.code, 0, r.err);
      await waitForBurst(3, t0);
      const took = Date.now() - t0;
      // Fresh connections: a keep-alive connection from before may sit on the other worker (one made
      // while its own worker was starting), and buckets are per worker.
      const agent = new Agent({ connections: 10 });
      const statuses = await Promise.all(
        Array.from({ length: 10 }, () =>
          request(`http://127.0.0.1:${edge.http}/limited`, {
            headers: { host: 'shop.localhost' },
            dispatcher: agent,
          }).then(async (x) => {
            await x.body.dump();
            return x.statusCode;
          }),
        ),
      );
      await agent.close();
      assert.equal(
        statuses.filter((s) => s === 200).length,
        3,
        `${statuses} after ${took} ms\n${edge.output
          .split('\n')
          .filter((l) => /"level":(40|50)|snapshot applied/.test(l))
          .slice(-12)
          .join('\n')}`,
      );
      assert.equal(statuses.filter((s) => s === 429).length, 7);
    } finally {
      // Back to a limit the other tests do not notice.
      assert.equal((await cli('policy', 'shop', '--rate', '100000', '--burst', '100000')).code, 0);
      await waitForBurst(100000, Date.now());
    }
  });

  test('`triplane policy --waf --paranoia --waf-exclude` sets the WAF; a bad level is refused naming it', async () => {
    const r = await cli(
      'policy',
      'shop',
      '--waf',
      'detect',
      '--paranoia',
      '2',
      '--waf-exclude',
      '942100:ARGS:q@/search/',
      '--waf-response-body',
      'off',
      '--json',
    );
    assert.equal(r.code, 0, r.err);
    const out = JSON.parse(r.out) as { policy?: { waf: unknown }; waf?: unknown };
    const waf = (out.policy ?? out).waf;
    assert.deepEqual(waf, {
      mode: 'detect',
      paranoia: 2,
      inboundThreshold: 5,
      outboundThreshold: 4,
      exclusions: [{ ruleIds: ['942100'], tags: [], targets: ['ARGS:q'], pathPrefix: '/search/' }],
      responseBody: {
        enabled: false,
        limitBytes: 524_288,
        mimeTypes: ['text/plain', 'text/html', 'text/xml'],
      },
    });
    const bad = await cli('policy', 'shop', '--paranoia', '7');
    assert.equal(bad.code, 2);
    assert.match(bad.err, /waf\.paranoia/);
    assert.match(bad.err, /7/);
    // Back to the defaults the other tests expect.
    assert.equal(
      (
        await api('PUT', '/api/stores/shop/policy', admin, {
          ...(out.policy ?? out),
          store: undefined,
          waf: {},
        })
      ).status,
      200,
    );
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
    let children: number[] = [];
    const { ok, failures } = await load(edge.http, 6000, async () => {
      await new Promise((res) => setTimeout(res, 1500));
      children = childrenOf(control.child!.pid!).map((c) => c.pid);
      control.child!.kill('SIGKILL');
      await new Promise((res) => setTimeout(res, 2000));
      await control.start();
    });
    // The jobs process and the analytics reader stop with the control plane, however it ends. They
    // run at the idle policy, so on a busy machine they may take a while to get to it.
    assert.equal(children.length, 2, 'the jobs process and the analytics reader');
    const until = Date.now() + 60_000;
    while (children.some(running) && Date.now() < until) await new Promise((res) => setTimeout(res, 100));
    assert.deepEqual(children.filter(running), [], 'children of the killed control plane still running');
    assert.deepEqual(failures, []);
    // The load ran: a count, not a rate, so a slow machine passes (the restart may take the rest).
    assert.ok(ok >= 10, `only ${ok} requests`);
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

test("the analytics reads' share of a core is checked before the control plane starts", async () => {
  for (const bad of ['0', '1.5', 'half', '']) {
    const r = await triplaneAsync(['control', '--data-dir', '/nonexistent/tp', '--analytics-share', bad], {
      timeoutMs: 30_000,
    });
    assert.notEqual(r.code, 0);
    assert.ok(
      r.stderr.includes(
        `option '--analytics-share <fraction>' argument '${bad}' is invalid. expected a number from 0.01 to 1, got ${JSON.stringify(bad)}`,
      ),
      r.stderr,
    );
  }
});
