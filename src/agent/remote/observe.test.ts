import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ObservedStore } from '../../contracts/fleet.ts';
import { layout, readJson, type StoreRecord } from '../datadir.ts';
import { applyStack } from '../stack/apply.ts';
import { observeStore, type StoreFacts } from './observe.ts';
import { desired, tempDirs, testUser } from './testing.ts';
import { FakePodman } from './testing-podman.ts';

/** GIVEN store `shop` applied for real against the in-memory Podman, every container healthy. */
async function appliedShop() {
  const dirs = tempDirs();
  const podman = new FakePodman();
  const d = desired('shop', 3, dirs.sourceDir, {
    app: { code: './app' },
    services: { varnish: { port: 18_188 } },
  });
  const user = testUser('shop', dirs.home);
  await applyStack({
    dataDir: dirs.dataDir,
    executor: podman,
    spec: d.spec,
    source: `${dirs.sourceDir}/triplane.yaml`,
    ensureUser: async () => user,
  });
  for (const c of podman.containers.values()) c.health = 'healthy';
  const facts: StoreFacts = { store: 'shop', applied: 3, wanted: 3, spec: d.spec, error: null, user };
  return { dirs, podman, facts };
}

const cases: {
  name: string;
  change: (p: FakePodman, f: StoreFacts) => StoreFacts;
  converged: boolean;
  varnishHealthy: boolean;
  appHealthy?: boolean;
}[] = [
  {
    name: 'converged when every container of the spec runs healthy',
    change: (_p, f) => f,
    converged: true,
    varnishHealthy: true,
  },
  {
    name: 'not converged while a container has not passed a health check yet',
    change: (p, f) => {
      p.containers.get('shop-redis-cache')!.health = 'starting';
      return f;
    },
    converged: false,
    varnishHealthy: true,
  },
  {
    name: 'not converged, and the upstream unhealthy, when Varnish has exited',
    change: (p, f) => {
      p.containers.get('shop-varnish')!.state = 'exited';
      return f;
    },
    converged: false,
    varnishHealthy: false,
  },
  {
    name: 'not converged, and the app upstream unhealthy, while its PHP-FPM fails its health check',
    change: (p, f) => {
      p.containers.get('shop-app-1-php')!.health = 'unhealthy';
      return f;
    },
    converged: false,
    varnishHealthy: true,
    appHealthy: false,
  },
  {
    name: 'not converged when a container of the spec is missing',
    change: (p, f) => {
      p.containers.delete('shop-cron');
      return f;
    },
    converged: false,
    varnishHealthy: true,
  },
  {
    name: 'not converged while a newer version is desired',
    change: (_p, f) => ({ ...f, wanted: 4 }),
    converged: false,
    varnishHealthy: true,
  },
  {
    name: 'converged for a store no longer desired, judged against the spec it last ran',
    change: (_p, f) => ({ ...f, wanted: undefined, spec: undefined }),
    converged: true,
    varnishHealthy: true,
  },
];

for (const c of cases) {
  test(c.name, async () => {
    const { dirs, podman, facts } = await appliedShop();
    const o = await observeStore(podman, dirs.dataDir, c.change(podman, facts));
    assert.ok(ObservedStore.safeParse(o).success);
    assert.equal(o.converged, c.converged);
    const record = readJson<StoreRecord>(layout(dirs.dataDir).record('shop'))!;
    assert.equal(record.appPorts?.length, 1);
    assert.deepEqual(o.upstreams, [
      { role: 'varnish', host: '127.0.0.1', port: 18_188, healthy: c.varnishHealthy },
      { role: 'app', host: '127.0.0.1', port: record.appPorts![0], healthy: c.appHealthy ?? true },
    ]);
  });
}

test('reports a store never applied with no containers and no upstream', async () => {
  const dirs = tempDirs();
  const o = await observeStore(new FakePodman(), dirs.dataDir, {
    store: 'new',
    applied: null,
    wanted: 1,
    spec: undefined,
    error: 'TP_IMAGE_MISSING: image localhost/x is missing',
    user: undefined,
  });
  assert.deepEqual(o, {
    store: 'new',
    stackVersion: null,
    converged: false,
    containers: [],
    upstreams: [],
    error: 'TP_IMAGE_MISSING: image localhost/x is missing',
  });
});
