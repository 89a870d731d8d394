import { createHash } from 'node:crypto';
import type { StackSpec } from '../../contracts/stack.ts';
import type { ContainerRole } from '../../contracts/status.ts';
import { formatSizeShort, parseSize } from '../../contracts/units.ts';
import { LABEL } from '../podman/argv.ts';
import type { ContainerSpec, Mount, PodSpec, StoreUser } from '../podman/types.ts';

/** Where an apply puts the files containers mount, and what it learned before planning. */
export interface DesiredInputs {
  readonly spec: StackSpec;
  readonly user: StoreUser;
  readonly varnishPort: number;
  /**
   * Loopback port of each app pod's web server, replica 1 first: the edge reaches the app pods
   * directly when the store's Varnish is down. Replicas beyond the list publish no port.
   */
  readonly appPorts: readonly number[];
  /** Host directory holding this release of the store's code (a copy owned by the store user). */
  readonly codeDir: string;
  /** Host path of the generated VCL and the hash of its text. */
  readonly vcl: { readonly path: string; readonly hash: string };
  /** Image reference → image ID in the store user's storage; a new image means a new container. */
  readonly imageIds: Readonly<Record<string, string>>;
}

/** Everything a store should have running: the input to the planner. */
export interface DesiredStore {
  readonly user: StoreUser;
  readonly network: string;
  readonly volumes: readonly string[];
  readonly secrets: readonly string[];
  readonly pods: readonly PodSpec[];
  /** In start order: services first, then pods' containers, then Varnish and cron. */
  readonly containers: readonly ContainerSpec[];
}

/** Names of a store's Podman objects; one place so the planner, status and destroy agree. */
export function names(store: string) {
  return {
    network: `${store}-net`,
    media: `${store}-media`,
    databaseVolume: `${store}-database`,
    redisVolume: (p: string) => `${store}-redis-${p}`,
    dbPassword: `${store}-db-password`,
    dbRootPassword: `${store}-db-root-password`,
    amqpPassword: `${store}-amqp-password`,
    pod: (role: 'app' | 'admin', i: number) => `${store}-${role}-${i}`,
    service: (role: ContainerRole) => `${store}-${role}`,
  };
}

/** Stable hash of a JSON value (object keys sorted) — the identity of a desired object. */
export function hashOf(value: unknown): string {
  const canonical = JSON.stringify(value, (_k, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

type Unhashed = Omit<ContainerSpec, 'labels'> & { labels?: Record<string, string> };

function finish(
  c: Unhashed,
  imageIds: Readonly<Record<string, string>>,
  extra: unknown = null,
): ContainerSpec {
  const labels = { ...(c.labels ?? {}), [LABEL.store]: c.store, [LABEL.role]: c.role };
  const hash = hashOf({ c: { ...c, labels }, image: imageIds[c.image] ?? null, extra });
  return { ...c, labels: { ...labels, [LABEL.hash]: hash } };
}

function finishPod(p: Omit<PodSpec, 'labels'>): PodSpec {
  const labels = { [LABEL.store]: p.store, [LABEL.role]: p.role };
  return { ...p, labels: { ...labels, [LABEL.hash]: hashOf({ p, labels }) } };
}

const tcp = (port: number) => `bash -c '</dev/tcp/127.0.0.1/${port}'`;

/** Turns a validated stack spec into the exact set of Podman objects it needs. Pure. */
export function desiredStore(inp: DesiredInputs): DesiredStore {
  const { spec, user } = inp;
  const store = spec.name;
  const n = names(store);
  const s = spec.services;
  const net = n.network;
  const aliasNet = (alias: string) => ({ name: net, aliases: [alias] });

  const appEnv: Record<string, string> = {
    ...spec.app.env,
    TRIPLANE_STORE: store,
    DB_HOST: 'database',
    DB_PORT: '3306',
    DB_NAME: s.database.name,
    DB_USER: s.database.user,
    REDIS_CACHE_HOST: 'redis-cache',
    REDIS_PAGE_HOST: 'redis-page',
    REDIS_SESSION_HOST: 'redis-session',
    VARNISH_HOST: 'varnish',
    VARNISH_PORT: '6081',
    MEDIA_DIR: '/var/www/media',
    PHP_MEMORY_LIMIT: `${Math.floor(parseSize(spec.app.php.memoryLimit)! / 1024 ** 2)}M`,
    PHP_MAX_EXECUTION_TIME: String(spec.app.php.maxExecutionTime),
    PHP_FPM_MAX_CHILDREN: String(spec.app.php.fpmMaxChildren),
    PHP_OPCACHE: spec.app.php.opcache ? '1' : '0',
  };
  const appSecrets: Record<string, string> = { [n.dbPassword]: 'DB_PASSWORD' };
  if (s.rabbitmq.enabled) {
    Object.assign(appEnv, { AMQP_HOST: 'rabbitmq', AMQP_PORT: '5672', AMQP_USER: 'store', AMQP_VHOST: '/' });
    appSecrets[n.amqpPassword] = 'AMQP_PASSWORD';
  }
  const codeMounts: Mount[] = [
    { type: 'bind', source: inp.codeDir, target: '/var/www/app', readonly: true },
    { type: 'volume', source: n.media, target: '/var/www/media' },
  ];

  const volumes = [n.media, n.databaseVolume];
  const containers: ContainerSpec[] = [];
  const fin = (c: Unhashed, extra?: unknown) => containers.push(finish(c, inp.imageIds, extra));
  const common = { store, env: {}, secretEnv: {}, mounts: [], publish: [] };

  fin({
    ...common,
    name: n.service('database'),
    role: 'database',
    image: s.database.image,
    network: aliasNet('database'),
    env: {
      MARIADB_DATABASE: s.database.name,
      MARIADB_USER: s.database.user,
      MARIADB_INNODB_BUFFER_POOL_SIZE: formatSizeShort(parseSize(s.database.bufferPool)!),
    },
    secretEnv: { [n.dbPassword]: 'MARIADB_PASSWORD', [n.dbRootPassword]: 'MARIADB_ROOT_PASSWORD' },
    mounts: [{ type: 'volume', source: n.databaseVolume, target: '/var/lib/mysql' }],
    healthCmd: 'mariadb-admin ping',
  });

  for (const part of ['cache', 'page', 'session'] as const) {
    const p = s.redis.partitions[part];
    const aof = p.persistence === 'aof';
    if (aof) volumes.push(n.redisVolume(part));
    fin({
      ...common,
      name: n.service(`redis-${part}`),
      role: `redis-${part}`,
      image: s.redis.image,
      network: aliasNet(`redis-${part}`),
      command: [
        'redis-server',
        '--bind',
        '0.0.0.0',
        '--protected-mode',
        'no',
        '--port',
        '6379',
        '--maxmemory',
        formatSizeShort(parseSize(p.maxmemory)!),
        '--maxmemory-policy',
        p.policy,
        '--save',
        '',
        '--appendonly',
        aof ? 'yes' : 'no',
        // /var/lib/redis belongs to the redis user in the image; a new volume copies that ownership.
        ...(aof ? ['--appendfsync', 'everysec', '--dir', '/var/lib/redis'] : []),
      ],
      mounts: aof ? [{ type: 'volume', source: n.redisVolume(part), target: '/var/lib/redis' }] : [],
      healthCmd: 'redis-cli ping',
    });
  }

  if (s.rabbitmq.enabled) {
    fin({
      ...common,
      name: n.service('rabbitmq'),
      role: 'rabbitmq',
      image: s.rabbitmq.image,
      network: aliasNet('rabbitmq'),
      env: { RABBITMQ_DEFAULT_USER: 'store' },
      secretEnv: { [n.amqpPassword]: 'RABBITMQ_DEFAULT_PASS' },
      healthCmd: tcp(5672),
    });
  }

  const pods: PodSpec[] = [];
  const podGroup = (role: 'app' | 'admin', count: number) => {
    for (let i = 1; i <= count; i++) {
      const ip = podIp(role, i);
      const port = role === 'app' ? inp.appPorts[i - 1] : undefined;
      const pod = finishPod({
        name: n.pod(role, i),
        store,
        role,
        network: aliasNet(`${role}-${i}`),
        ip,
        publish: port === undefined ? [] : [{ hostIp: '127.0.0.1', hostPort: port, containerPort: 8080 }],
      });
      pods.push(pod);
      const env = { ...appEnv, TRIPLANE_ROLE: role };
      fin(
        {
          ...common,
          name: `${pod.name}-php`,
          role,
          image: spec.app.image,
          pod: pod.name,
          env,
          secretEnv: appSecrets,
          mounts: codeMounts,
          healthCmd: tcp(9000),
        },
        pod.labels[LABEL.hash],
      );
      fin(
        {
          ...common,
          name: `${pod.name}-web`,
          role,
          image: spec.app.webImage,
          pod: pod.name,
          env: { TRIPLANE_STORE: store, TRIPLANE_ROLE: role },
          mounts: codeMounts,
          healthCmd: tcp(8080),
        },
        pod.labels[LABEL.hash],
      );
    }
  };
  podGroup('app', spec.app.replicas.min);
  if (spec.admin.enabled) podGroup('admin', spec.admin.replicas);

  fin(
    {
      ...common,
      name: n.service('varnish'),
      role: 'varnish',
      image: s.varnish.image,
      network: aliasNet('varnish'),
      env: { VARNISH_MEMORY: formatSizeShort(parseSize(s.varnish.memory)!) },
      mounts: [{ type: 'bind', source: inp.vcl.path, target: '/etc/varnish/default.vcl', readonly: true }],
      publish: [{ hostIp: '127.0.0.1', hostPort: inp.varnishPort, containerPort: 6081 }],
      healthCmd: tcp(6081),
    },
    inp.vcl.hash,
  );

  if (s.cron.enabled) {
    fin({
      ...common,
      name: n.service('cron'),
      role: 'cron',
      image: s.cron.image,
      network: aliasNet('cron'),
      env: { ...appEnv, TRIPLANE_ROLE: 'cron', TRIPLANE_CRONTAB: crontab(spec) },
      secretEnv: appSecrets,
      mounts: codeMounts,
      healthCmd: `bash -c 'kill -0 "$(cat /run/crond.pid)"'`,
    });
  }

  const secrets = [n.dbPassword, n.dbRootPassword, ...(s.rabbitmq.enabled ? [n.amqpPassword] : [])];
  return { user, network: net, volumes, secrets, pods, containers };
}

/**
 * User-crontab lines for the cron runner (its image runs each job as www-data); flock keeps a slow
 * run from overlapping the next one.
 */
export function crontab(spec: StackSpec): string {
  return spec.services.cron.jobs
    .map((j) => `${j.schedule} cd /var/www/app && flock -n /tmp/triplane-cron-${j.name}.lock ${j.command}`)
    .join('\n');
}

/** Fixed address of pod `i` (1-based): app pods from .11, admin pods from .201. */
export function podIp(role: 'app' | 'admin', i: number): string {
  return `10.90.0.${(role === 'app' ? 10 : 200) + i}`;
}

/** Addresses Varnish balances over, in the same order as the pods. */
export function vclHosts(spec: StackSpec): { appHosts: string[]; adminHosts: string[] } {
  const range = (role: 'app' | 'admin', k: number) => Array.from({ length: k }, (_, i) => podIp(role, i + 1));
  return {
    appHosts: range('app', spec.app.replicas.min),
    adminHosts: spec.admin.enabled ? range('admin', spec.admin.replicas) : [],
  };
}
