import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { ProcessExecutor } from '../src/agent/executor.ts';
import { removeStoreUser } from '../src/agent/host/index.ts';
import { ControlProcess, spawnTriplane, stopChildren, type TriplaneChild } from './control-harness.ts';
import { type EdgeProcess, get } from './edge/harness.ts';
import { ROOT, triplane, triplaneAsync } from './helpers.ts';

// The control plane driving a real node: `triplane apply` through the API, the real agent
// (`triplane agent --control`) converging rootless Podman containers, and an edge that follows the
// control plane's snapshots. Runs after store.test.ts, which prepared the host and built the images.
describe('a store run by the control plane on a real node', { timeout: 900_000 }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tp-fleet-'));
  const home = join(dataDir, 'home');
  const procs: TriplaneChild[] = [];
  const control = new ControlProcess(dataDir);
  let url = '';
  let admin = '';
  let edge: EdgeProcess;
  const stackFile = join(dataDir, 'fleet', 'triplane.yaml');

  const start = (name: string, args: string[]) => {
    const p = spawnTriplane(name, args);
    procs.push(p);
    return p;
  };
  const cli = (...args: string[]) =>
    triplaneAsync([...args, '--control', url, '--token', admin, '--data-dir', dataDir], {
      timeoutMs: 600_000,
    });
  const writeStack = (replicas: number) =>
    writeFileSync(
      stackFile,
      [
        'name: fleet',
        'app:',
        `  code: ${join(ROOT, 'examples/demo-store/app')}`,
        '  replicas:',
        `    min: ${replicas}`,
        `    max: ${Math.max(replicas, 2)}`,
        'services:',
        '  rabbitmq:',
        '    enabled: false',
        '  cron:',
        '    enabled: false',
        '  varnish:',
        '    memory: 32mb',
        '  database:',
        '    bufferPool: 32mb',
        '',
      ].join('\n'),
    );

  before(async () => {
    // A run that died earlier may have left the store's user behind, with last run's database.
    await removeStoreUser(new ProcessExecutor(), 'fleet');
    mkdirSync(home);
    mkdirSync(join(dataDir, 'fleet'));
    edge = await control.init();
    url = control.url;
    admin = control.admin;
    await control.start();
    const token = await control.joinToken();
    start('agent', [
      'agent',
      '--control',
      url,
      '--join-token',
      token,
      '--name',
      'node-1',
      '--data-dir',
      dataDir,
    ]);
    await edge.start({ ready: false });
  });

  after(async () => {
    await edge.stop();
    edge.cleanup();
    await control.stop();
    await stopChildren(procs);
    const d = triplane(['destroy', 'fleet', '--yes', '--data-dir', dataDir], { timeoutMs: 300_000 });
    if (process.env.TRIPLANE_TEST_KEEP)
      for (const p of procs) writeFileSync(join(dataDir, `${p.name}.log`), p.out);
    else rmSync(dataDir, { recursive: true, force: true });
    assert.equal(d.code, 0, d.stderr);
  });

  test('apply through the API: the agent converges the store and the edge serves it', async () => {
    assert.equal((await cli('stores', 'create', 'fleet')).code, 0);
    writeStack(1);
    const r = await cli('apply', '-f', stackFile, '--wait', '--timeout', '480');
    const logs = [
      ...procs.map((p) => `--- ${p.name}\n${p.out.slice(-3000)}`),
      `--- control\n${control.output.slice(-3000)}`,
    ];
    assert.equal(r.code, 0, `${r.stderr}\n${logs.join('\n')}`);
    let page = await get(edge.http, '/', 'fleet.localhost');
    for (let i = 0; i < 100 && page.status !== 200; i++) {
      await new Promise((res) => setTimeout(res, 100));
      page = await get(edge.http, '/', 'fleet.localhost');
    }
    assert.equal(page.status, 200, page.body.slice(0, 500));
    assert.match(page.body, /store=fleet/);
  });

  test('a new stack version with 2 app replicas: the agent converges and traffic reaches both', async () => {
    writeStack(2);
    const r = await cli('apply', '-f', stackFile, '--wait', '--timeout', '300', '--json');
    assert.equal(r.code, 0, r.stderr);
    const status = JSON.parse((await cli('status', 'fleet', '--json')).stdout);
    assert.equal(status.appliedVersion, 2);
    assert.equal(status.converged, true);
    // An app pod is two containers (nginx and PHP-FPM): count the pods.
    const pods = new Set(
      status.containers
        .filter((c: { role: string }) => c.role === 'app')
        .map((c: { name: string }) => c.name.replace(/-(php|web)$/, '')),
    );
    assert.deepEqual([...pods].sort(), ['fleet-app-1', 'fleet-app-2'], JSON.stringify(status.containers));
    // The edge acknowledged the control plane's newest snapshot.
    let synced = false;
    for (let i = 0; i < 50 && !synced; i++) {
      const es = (await (
        await request(`${url}/api/edge/status`, { headers: { authorization: `Bearer ${admin}` } })
      ).body.json()) as { snapshot: { version: number }; edges: { version: number; accepted: boolean }[] };
      synced = es.edges.some((e) => e.accepted && e.version === es.snapshot.version);
      if (!synced) await new Promise((res) => setTimeout(res, 100));
    }
    assert.ok(synced, 'the edge runs the newest snapshot');
    // That snapshot lists both app pods (the route's fallback while Varnish is down) beside Varnish.
    const snap = (await (
      await request(`${url}/api/edge/snapshot?after=0`, {
        headers: { authorization: `Bearer ${control.edgeToken}` },
      })
    ).body.json()) as {
      routes: { id: string; pool: string; fallbackPool?: string }[];
      pools: { id: string; members: { host: string; port: number }[] }[];
    };
    const appPorts = status.upstreams
      .filter((u: { role: string }) => u.role === 'app')
      .map((u: { port: number }) => u.port)
      .sort();
    assert.equal(appPorts.length, 2, JSON.stringify(status.upstreams));
    assert.deepEqual(
      snap.routes.find((r) => r.id === 'fleet'),
      {
        id: 'fleet',
        store: 'fleet',
        hosts: ['fleet.localhost'],
        pathPrefix: '/',
        pool: 'fleet-varnish',
        fallbackPool: 'fleet-app',
      },
    );
    assert.deepEqual(
      snap.pools
        .find((p) => p.id === 'fleet-app')
        ?.members.map((m) => `${m.host}:${m.port}`)
        .sort(),
      appPorts.map((p: number) => `127.0.0.1:${p}`),
    );
    // Each listed member is an app pod of its own.
    const direct = new Set<string>();
    for (const port of appPorts) {
      const r = await request(`http://127.0.0.1:${port}/`, { headers: { host: 'fleet.localhost' } });
      const m = /host=(\S+) role=app/.exec(await r.body.text());
      if (m) direct.add(m[1]!);
    }
    assert.deepEqual([...direct].sort(), ['fleet-app-1', 'fleet-app-2']);
    // Every URL is a Varnish miss the first time, so each goes to an app pod: both must answer. The
    // new Varnish (its VCL names two backends now) uses a pod once its own health probe passed.
    const hosts = new Set<string>();
    for (let i = 0; i < 150 && hosts.size < 2; i++) {
      const p = await get(edge.http, `/?replica-probe=${i}`, 'fleet.localhost');
      assert.equal(p.status, 200);
      const m = /host=(\S+) role=app/.exec(p.body);
      if (m) hosts.add(m[1]!);
      if (i >= 10) await new Promise((res) => setTimeout(res, 100));
    }
    assert.equal(hosts.size, 2, `served by ${[...hosts]}`);
  });
});
