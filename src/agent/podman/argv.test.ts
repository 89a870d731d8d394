import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Command } from '../executor.ts';
import {
  containerInspect,
  containerList,
  containerRemove,
  containerRestart,
  containerRun,
  containerStart,
  healthcheckRun,
  imageInspect,
  imageLoad,
  imagePull,
  imageSave,
  networkCreate,
  networkList,
  networkRemove,
  podCreate,
  podList,
  podRemove,
  secretCreate,
  secretList,
  secretRemove,
  volumeCreate,
  volumeList,
  volumeRemove,
} from './argv.ts';
import { TEST_USER as u } from './testing.ts';
import type { ContainerSpec } from './types.ts';

const rootless = ['runuser', '-u', 'tp-demo', '--', 'podman'];

test('runs every store command as the store user with its own runtime dir', () => {
  const cmd = containerList(u);
  assert.deepEqual(cmd.argv, [
    ...rootless,
    'ps',
    '--all',
    '--pod',
    '--format',
    'json',
    '--filter',
    'label=triplane.store=demo',
  ]);
  assert.deepEqual(cmd.env, {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: '/home/tp-demo',
    XDG_RUNTIME_DIR: '/run/user/1001',
    LANG: 'C.UTF-8',
  });
  assert.equal(cmd.cwd, '/home/tp-demo');
});

test('creates the store network on the fixed store subnet, services leasing from their own range', () => {
  assert.deepEqual(networkCreate(u, 'demo-net').argv, [
    ...rootless,
    'network',
    'create',
    '--subnet',
    '10.90.0.0/24',
    '--ip-range',
    '10.90.0.64/26',
    '--label',
    'triplane.store=demo',
    'demo-net',
  ]);
});

test('creates secrets from a file, never with the value in argv', () => {
  const cmd = secretCreate(u, 'demo-db-password', '/home/tp-demo/.secret-demo-db-password');
  assert.deepEqual(cmd.argv, [
    ...rootless,
    'secret',
    'create',
    'demo-db-password',
    '/home/tp-demo/.secret-demo-db-password',
  ]);
});

test('creates a pod with a fixed address, a DNS alias and its loopback port', () => {
  const cmd = podCreate(u, {
    name: 'demo-app-1',
    store: 'demo',
    role: 'app',
    network: { name: 'demo-net', aliases: ['app-1'] },
    ip: '10.90.0.11',
    publish: [{ hostIp: '127.0.0.1', hostPort: 8181, containerPort: 8080 }],
    labels: { 'triplane.store': 'demo', 'triplane.hash': 'abc' },
  });
  assert.deepEqual(cmd.argv, [
    ...rootless,
    'pod',
    'create',
    '--name',
    'demo-app-1',
    '--infra-name',
    'demo-app-1-infra',
    '--network',
    'demo-net',
    '--ip',
    '10.90.0.11',
    '--network-alias',
    'app-1',
    '--publish',
    '127.0.0.1:8181:8080',
    '--label',
    'triplane.hash=abc',
    '--label',
    'triplane.store=demo',
  ]);
});

test('builds the exact podman run argv of a service container', () => {
  const spec: ContainerSpec = {
    name: 'demo-database',
    store: 'demo',
    role: 'database',
    image: 'localhost/triplane/mariadb:latest',
    network: { name: 'demo-net', aliases: ['database'] },
    env: { MARIADB_USER: 'store', MARIADB_DATABASE: 'store' },
    secretEnv: { 'demo-db-password': 'MARIADB_PASSWORD' },
    mounts: [{ type: 'volume', source: 'demo-database', target: '/var/lib/mysql' }],
    publish: [{ hostIp: '127.0.0.1', hostPort: 8180, containerPort: 6081 }],
    healthCmd: 'mariadb-admin ping',
    labels: { 'triplane.store': 'demo', 'triplane.role': 'database' },
    command: ['mariadbd'],
  };
  assert.deepEqual(containerRun(u, spec).argv, [
    ...rootless,
    'run',
    '--detach',
    '--name',
    'demo-database',
    '--restart',
    'always',
    '--pull',
    'never',
    '--network',
    'demo-net',
    '--network-alias',
    'database',
    '--publish',
    '127.0.0.1:8180:6081',
    '--volume',
    'demo-database:/var/lib/mysql',
    '--env',
    'MARIADB_DATABASE=store',
    '--env',
    'MARIADB_USER=store',
    '--secret',
    'demo-db-password,type=env,target=MARIADB_PASSWORD',
    '--health-cmd',
    'mariadb-admin ping',
    '--health-interval',
    'disable',
    '--health-retries',
    '3',
    '--health-timeout',
    '5s',
    '--log-driver',
    'k8s-file',
    '--log-opt',
    'max-size=10mb',
    '--label',
    'triplane.role=database',
    '--label',
    'triplane.store=demo',
    'localhost/triplane/mariadb:latest',
    'mariadbd',
  ]);
});

test('joins a pod instead of a network and mounts read-only binds with :ro', () => {
  const argv = containerRun(u, {
    name: 'demo-app-1-php',
    store: 'demo',
    role: 'app',
    image: 'localhost/triplane/php-fpm:latest',
    pod: 'demo-app-1',
    env: {},
    secretEnv: {},
    mounts: [{ type: 'bind', source: '/home/tp-demo/releases/abc', target: '/var/www/app', readonly: true }],
    publish: [],
    healthCmd: "bash -c '</dev/tcp/127.0.0.1/9000'",
    labels: {},
  }).argv;
  assert.deepEqual(argv.slice(rootless.length, rootless.length + 12), [
    'run',
    '--detach',
    '--name',
    'demo-app-1-php',
    '--restart',
    'always',
    '--pull',
    'never',
    '--pod',
    'demo-app-1',
    '--volume',
    '/home/tp-demo/releases/abc:/var/www/app:ro',
  ]);
});

test('cuts a hung health check with timeout and treats its exit as an answer, not a failure', () => {
  const cmd = healthcheckRun(u, 'demo-redis-cache');
  assert.deepEqual(cmd.argv, [
    'runuser',
    '-u',
    'tp-demo',
    '--',
    'timeout',
    '--kill-after=2',
    '10',
    'podman',
    'healthcheck',
    'run',
    'demo-redis-cache',
  ]);
  assert.deepEqual(cmd.okExitCodes, [0, 1, 124, 125]);
});

test('copies images from root to the store user through one multi-image archive', () => {
  assert.deepEqual(imageSave(['a', 'b'], '/home/tp-demo/x.tar').argv, [
    'podman',
    'save',
    '--multi-image-archive',
    '--output',
    '/home/tp-demo/x.tar',
    'a',
    'b',
  ]);
  assert.deepEqual(imageLoad(u, '/home/tp-demo/x.tar').argv, [
    ...rootless,
    'load',
    '--input',
    '/home/tp-demo/x.tar',
  ]);
});

test('builds the exact argv of every other store command', () => {
  const cases: [Command, string[]][] = [
    [networkList(u), ['network', 'ls', '--format', 'json']],
    [volumeCreate(u, 'demo-media'), ['volume', 'create', '--label', 'triplane.store=demo', 'demo-media']],
    [volumeList(u), ['volume', 'ls', '--format', 'json']],
    [secretList(u), ['secret', 'ls', '--noheading', '--format', '{{.Name}}']],
    [podList(u), ['pod', 'ps', '--format', 'json', '--filter', 'label=triplane.store=demo']],
    [containerInspect(u, ['a', 'b']), ['container', 'inspect', 'a', 'b']],
    [containerRemove(u, ['a']), ['rm', '--force', '--time', '10', 'a']],
    [podRemove(u, ['demo-app-1']), ['pod', 'rm', '--force', '--time', '10', 'demo-app-1']],
    [containerStart(u, ['a', 'b']), ['start', 'a', 'b']],
    [containerRestart(u, 'a'), ['restart', '--time', '5', 'a']],
    [imageInspect(u, ['localhost/x']), ['image', 'inspect', '--format', '{{.Id}}', 'localhost/x']],
    [imagePull(u, 'docker.io/library/redis:7'), ['pull', 'docker.io/library/redis:7']],
    [
      volumeRemove(u, ['demo-media', 'demo-database']),
      ['volume', 'rm', '--force', 'demo-media', 'demo-database'],
    ],
    [networkRemove(u, 'demo-net'), ['network', 'rm', '--force', 'demo-net']],
    [secretRemove(u, ['demo-db-password']), ['secret', 'rm', 'demo-db-password']],
  ];
  for (const [cmd, args] of cases) assert.deepEqual(cmd.argv, [...rootless, ...args]);
  // Root's own storage is where images are built; only that inspect runs without runuser.
  assert.deepEqual(imageInspect(null, ['localhost/x']).argv, [
    'podman',
    'image',
    'inspect',
    '--format',
    '{{.Id}}',
    'localhost/x',
  ]);
});
