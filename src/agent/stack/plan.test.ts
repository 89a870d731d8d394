import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StackSpec } from '../../contracts/stack.ts';
import { LABEL } from '../podman/argv.ts';
import { TEST_USER as u } from '../podman/testing.ts';
import { desiredStore } from './desired.ts';
import { type ObservedStore, planStore } from './plan.ts';

function desired(input: Record<string, unknown> = {}) {
  const spec = StackSpec.parse({ name: 'demo', ...input });
  return desiredStore({
    spec,
    user: u,
    varnishPort: 8180,
    appPorts: [8181, 8182],
    codeDir: '/home/tp-demo/releases/abc',
    vcl: { path: '/home/tp-demo/varnish/x.vcl', hash: 'x' },
    imageIds: {},
  });
}

/** What Podman would report after applying `d` successfully. */
function runningAs(d: ReturnType<typeof desired>): ObservedStore {
  return {
    networks: ['podman', d.network],
    volumes: [...d.volumes],
    secrets: [...d.secrets],
    pods: d.pods.map((p) => ({ name: p.name, hash: p.labels[LABEL.hash] })),
    containers: d.containers.map((c) => ({
      name: c.name,
      hash: c.labels[LABEL.hash],
      state: 'running',
      pod: c.pod,
    })),
  };
}

const empty: ObservedStore = { networks: [], volumes: [], secrets: [], pods: [], containers: [] };

test('creates everything on an empty host, services before pods and Varnish last but cron', () => {
  const d = desired();
  const kinds = planStore(d, empty).map((a) =>
    a.kind === 'run-container'
      ? `run ${a.container.name}`
      : a.kind === 'create-pod'
        ? `pod ${a.pod.name}`
        : `${a.kind} ${a.name}`,
  );
  assert.deepEqual(kinds, [
    'create-network demo-net',
    'create-volume demo-media',
    'create-volume demo-database',
    'create-volume demo-redis-session',
    'create-secret demo-db-password',
    'create-secret demo-db-root-password',
    'create-secret demo-amqp-password',
    'run demo-database',
    'run demo-redis-cache',
    'run demo-redis-page',
    'run demo-redis-session',
    'run demo-rabbitmq',
    'pod demo-app-1',
    'run demo-app-1-php',
    'run demo-app-1-web',
    'run demo-varnish',
    'run demo-cron',
  ]);
});

test('plans nothing when everything runs as desired', () => {
  const d = desired();
  assert.deepEqual(planStore(d, runningAs(d)), []);
});

test('starts a stopped container instead of replacing it', () => {
  const d = desired();
  const obs = runningAs(d);
  const stopped = {
    ...obs,
    containers: obs.containers.map((c) => (c.name === 'demo-redis-cache' ? { ...c, state: 'exited' } : c)),
  };
  assert.deepEqual(planStore(d, stopped), [{ kind: 'start-container', name: 'demo-redis-cache' }]);
});

test('replaces only the containers whose settings changed', () => {
  const before = desired();
  const after = desired({ services: { redis: { partitions: { cache: { maxmemory: '512mb' } } } } });
  const actions = planStore(after, runningAs(before));
  assert.deepEqual(
    actions.map((a) => `${a.kind} ${'name' in a ? a.name : 'container' in a ? a.container.name : ''}`),
    ['remove-container demo-redis-cache', 'run-container demo-redis-cache'],
  );
});

test('scales app pods up by adding pods and down by removing them', () => {
  const one = desired();
  const three = desired({ app: { replicas: { min: 3, max: 4 } } });
  const up = planStore(three, runningAs(one)).map((a) =>
    a.kind === 'create-pod' ? `pod ${a.pod.name} ${a.pod.ip}` : a.kind,
  );
  assert.deepEqual(up, [
    'pod demo-app-2 10.90.0.12',
    'run-container',
    'run-container',
    'pod demo-app-3 10.90.0.13',
    'run-container',
    'run-container',
  ]);
  const down = planStore(one, runningAs(three));
  assert.deepEqual(
    down.map((a) => `${a.kind} ${'name' in a ? a.name : ''}`),
    ['remove-pod demo-app-2', 'remove-pod demo-app-3'],
  );
});

test('each app pod publishes its web server on its own loopback port; admin pods publish none', () => {
  const d = desired({ app: { replicas: { min: 2, max: 4 } }, admin: { enabled: true } });
  assert.deepEqual(
    d.pods.map((p) => [p.name, p.publish.map((x) => `${x.hostIp}:${x.hostPort}:${x.containerPort}`)]),
    [
      ['demo-app-1', ['127.0.0.1:8181:8080']],
      ['demo-app-2', ['127.0.0.1:8182:8080']],
      ['demo-admin-1', []],
    ],
  );
});

test('a store network without a lease range is made again, with everything on it', () => {
  const d = desired();
  const running = runningAs(d);
  const actions = planStore(d, { ...running, staleNetworks: ['demo-net', 'podman'] });
  const kinds = actions.map(
    (a) => `${a.kind} ${'name' in a ? a.name : 'pod' in a ? a.pod.name : a.container.name}`,
  );
  const removeNet = kinds.indexOf('remove-network demo-net');
  assert.deepEqual(kinds.slice(0, removeNet).sort(), [
    'remove-container demo-cron',
    'remove-container demo-database',
    'remove-container demo-rabbitmq',
    'remove-container demo-redis-cache',
    'remove-container demo-redis-page',
    'remove-container demo-redis-session',
    'remove-container demo-varnish',
    'remove-pod demo-app-1',
  ]);
  assert.equal(kinds[removeNet + 1], 'create-network demo-net');
  assert.deepEqual(
    kinds.slice(removeNet + 2).filter((k) => !k.startsWith('run-container') && !k.startsWith('create-pod')),
    [],
  );
  assert.equal(kinds.filter((k) => k.startsWith('run-container')).length, d.containers.length);
  assert.deepEqual(
    planStore(d, { ...running, staleNetworks: ['podman'] }),
    [],
    'another stale network is not ours',
  );
});

test('removes disabled services and replaces the PHP containers that lose their settings', () => {
  const all = desired();
  const noMq = desired({ services: { rabbitmq: { enabled: false }, cron: { enabled: false } } });
  const names = planStore(noMq, runningAs(all))
    .filter((a) => a.kind === 'remove-container')
    .map((a) => ('name' in a ? a.name : ''));
  assert.deepEqual(names.sort(), ['demo-app-1-php', 'demo-cron', 'demo-rabbitmq']);
});

test('a new image ID replaces the containers using that image and nothing else', () => {
  const spec = StackSpec.parse({ name: 'demo' });
  const mk = (id: string) =>
    desiredStore({
      spec,
      user: u,
      varnishPort: 8180,
      appPorts: [8181],
      codeDir: '/c',
      vcl: { path: '/v', hash: 'x' },
      imageIds: { 'localhost/triplane/redis:latest': id },
    });
  const actions = planStore(mk('new'), runningAs(mk('old')));
  const removed = actions
    .filter((a) => a.kind === 'remove-container')
    .map((a) => ('name' in a ? a.name : ''));
  assert.deepEqual(removed, ['demo-redis-cache', 'demo-redis-page', 'demo-redis-session']);
});

test('gives redis partitions their eviction policy and persistence', () => {
  const d = desired();
  const cmd = (role: string) => d.containers.find((c) => c.role === role)!.command!.join(' ');
  assert.match(
    cmd('redis-cache'),
    /--maxmemory 256m --maxmemory-policy allkeys-lru --save {2}--appendonly no$/,
  );
  assert.match(cmd('redis-page'), /--maxmemory-policy allkeys-lru .*--appendonly no$/);
  assert.match(
    cmd('redis-session'),
    /--maxmemory 128m --maxmemory-policy noeviction --save {2}--appendonly yes --appendfsync everysec --dir \/var\/lib\/redis$/,
  );
});

test('runs exactly one cron runner whose jobs never overlap', () => {
  const d = desired({
    services: {
      cron: { jobs: [{ name: 'orders', schedule: '* * * * *', command: 'php bin/consume-orders.php' }] },
    },
  });
  const cron = d.containers.filter((c) => c.role === 'cron');
  assert.equal(cron.length, 1);
  assert.equal(
    cron[0]!.env.TRIPLANE_CRONTAB,
    '* * * * * cd /var/www/app && flock -n /tmp/triplane-cron-orders.lock php bin/consume-orders.php',
  );
});
