// Builds every image for real (as root, into root's Podman storage), checks that each holds what it
// is for, and starts the services the way docs/containers.md says the agent will.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { ProcessExecutor } from '../src/agent/executor.ts';
import {
  type BuildProgress,
  buildImages,
  IMAGES,
  type ImageName,
  imageRef,
} from '../src/agent/images/index.ts';

const skip = process.getuid?.() === 0 ? false : 'builds into root Podman storage: run as root';
const podman = new ProcessExecutor();

/** Runs a command in a throw-away container; smoke commands need no network. */
async function runIn(image: ImageName, ...argv: string[]): Promise<string> {
  const r = await podman.run({
    argv: ['podman', 'run', '--rm', '--network=none', imageRef(image), ...argv],
    timeoutMs: 120_000,
  });
  return r.stdout + r.stderr;
}

const PHP_EXTENSIONS = [
  'bcmath',
  'ctype',
  'curl',
  'dom',
  'gd',
  'intl',
  'mbstring',
  'mysqli',
  'pdo_mysql',
  'soap',
  'xsl',
  'zip',
  'sodium',
  'redis',
  'amqp',
  'simplexml',
  'xmlwriter',
  'iconv',
  'fileinfo',
  'openssl',
  'Zend OPcache',
];

/** One command per image whose output proves the image holds what it is for. */
const SMOKE: Record<ImageName, { argv: string[]; expect: RegExp[] }> = {
  base: {
    argv: ['bash', '-c', 'echo $BASH_VERSION; test -s /etc/ssl/certs/ca-certificates.crt && echo certs'],
    expect: [/^5\./, /^certs$/m],
  },
  'php-fpm': { argv: ['php', '-m'], expect: PHP_EXTENSIONS.map((ext) => new RegExp(`^${ext}$`, 'mi')) },
  cron: {
    argv: ['bash', '-c', 'command -v cron && grep -c pam_loginuid /etc/pam.d/cron || true'],
    expect: [/^\/usr\/sbin\/cron\n0$/m],
  },
  nginx: { argv: ['nginx', '-t'], expect: [/test is successful/] },
  varnish: { argv: ['varnishd', '-V'], expect: [/varnish-7\./] },
  redis: { argv: ['redis-server', '--version'], expect: [/Redis server v=7\./] },
  mariadb: { argv: ['mariadbd', '--version'], expect: [/10\.11\.\d+-MariaDB/] },
  rabbitmq: {
    argv: ['bash', '-c', 'test -x /usr/lib/rabbitmq/bin/rabbitmq-server && dpkg-query -W rabbitmq-server'],
    expect: [/^rabbitmq-server\t3\./],
  },
};

const cold: BuildProgress[] = [];
before(async () => {
  if (skip) return;
  await buildImages({ executor: podman, onProgress: (e) => cold.push(e) });
});

for (const { name } of IMAGES) {
  test(`${name}: a container from the built image runs its smoke command`, { skip }, async () => {
    const out = await runIn(name, ...SMOKE[name].argv);
    for (const re of SMOKE[name].expect) assert.match(out, re);
  });
}

/** The health command of each long-running image, as docs/containers.md gives it, and what it needs. */
const SERVICES: { image: ImageName; health: string; env?: string[] }[] = [
  { image: 'php-fpm', health: "bash -c '</dev/tcp/127.0.0.1/9000'" },
  { image: 'nginx', health: "bash -c '</dev/tcp/127.0.0.1/8080'" },
  { image: 'varnish', health: "bash -c '</dev/tcp/127.0.0.1/6081'", env: ['VARNISH_MEMORY=32m'] },
  { image: 'redis', health: 'redis-cli ping' },
  {
    image: 'rabbitmq',
    health: "bash -c '</dev/tcp/127.0.0.1/5672'",
    env: ['RABBITMQ_DEFAULT_USER=store', 'RABBITMQ_DEFAULT_PASS=secret'],
  },
  {
    image: 'cron',
    health: 'bash -c \'kill -0 "$(cat /run/crond.pid)"\'',
    env: ['TRIPLANE_CRONTAB=* * * * * true'],
  },
];

for (const { image, health, env = [] } of SERVICES) {
  test(`${image}: the default command starts and passes the contract's health command`, {
    skip,
  }, async () => {
    const name = `tp-images-test-${image}-${process.pid}`;
    await podman.run({ argv: ['podman', 'rm', '-f', name], okExitCodes: [0, 1] });
    try {
      await podman.run({
        argv: [
          ...['podman', 'run', '-d', '--name', name, '--network=none'],
          ...['--health-cmd', health, '--health-interval', 'disable'],
          ...env.flatMap((e) => ['-e', e]),
          imageRef(image),
        ],
      });
      let exitCode = -1;
      for (let i = 0; i < 60 && exitCode !== 0; i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, 500));
        exitCode = (
          await podman.run({ argv: ['podman', 'healthcheck', 'run', name], okExitCodes: [0, 1, 125] })
        ).exitCode;
      }
      const logs = await podman.run({ argv: ['podman', 'logs', '--tail', '20', name] });
      assert.equal(exitCode, 0, `unhealthy after 30 s:\n${logs.stdout}${logs.stderr}`);
    } finally {
      await podman.run({ argv: ['podman', 'rm', '-f', '-t', '0', name], okExitCodes: [0, 1] });
    }
  });
}

test('php-fpm: the entrypoint writes a valid FPM config from the environment', { skip }, async () => {
  // The image's entrypoint has already run once without these; `env` re-runs it with them.
  const out = await runIn(
    'php-fpm',
    'env',
    'PHP_FPM_MAX_CHILDREN=3',
    'REDIS_SESSION_HOST=redis-session',
    'php-fpm-entrypoint',
    'bash',
    '-c',
    `php-fpm8.2 -t && php -r 'echo ini_get("session.save_path"), PHP_EOL;' && cat /etc/php/8.2/fpm/pool.d/www.conf`,
  );
  assert.match(out, /test is successful/);
  assert.match(out, /tcp:\/\/redis-session:6379/);
  assert.match(out, /pm\.max_children = 3/);
});

test('mariadb: a first start on an empty volume creates the database and its user', { skip }, async () => {
  const name = `tp-images-test-db-${process.pid}`;
  const cleanup = async () => {
    await podman.run({ argv: ['podman', 'rm', '-f', name], okExitCodes: [0, 1] });
    await podman.run({ argv: ['podman', 'volume', 'rm', '-f', name], okExitCodes: [0, 1] });
  };
  await cleanup();
  try {
    await podman.run({
      argv: [
        'podman',
        'run',
        '-d',
        '--name',
        name,
        '--network=none',
        '-v',
        `${name}:/var/lib/mysql`,
        '-e',
        'MARIADB_DATABASE=store',
        '-e',
        'MARIADB_USER=store',
        '-e',
        "MARIADB_PASSWORD=it's",
        '-e',
        'MARIADB_ROOT_PASSWORD=root',
        imageRef('mariadb'),
      ],
    });
    let answered = false;
    for (let i = 0; i < 60 && !answered; i++) {
      const ping = await podman.run({
        argv: ['podman', 'exec', name, 'mariadb-admin', 'ping'],
        okExitCodes: [0, 1],
      });
      answered = ping.exitCode === 0;
      if (!answered) await new Promise((r) => setTimeout(r, 500));
    }
    assert.ok(answered, 'mariadb did not answer within 30 s');
    const q = await podman.run({
      argv: [
        'podman',
        'exec',
        name,
        'mariadb',
        '-h127.0.0.1',
        '-ustore',
        "-pit's",
        'store',
        '-N',
        '-e',
        'SELECT DATABASE(), @@innodb_flush_log_at_trx_commit',
      ],
    });
    assert.equal(q.stdout.trim(), 'store\t1');
  } finally {
    await cleanup();
  }
});

test('a second build skips every image', { skip }, async (t) => {
  const events: BuildProgress[] = [];
  const started = Date.now();
  await buildImages({ executor: podman, onProgress: (e) => events.push(e) });
  assert.deepEqual(
    events.map((e) => `${e.image}:${e.phase}`),
    IMAGES.map((s) => `${s.name}:skip`),
  );
  const built = cold.filter((e) => e.phase === 'done').map((e) => `${e.image} ${e.seconds}s`);
  t.diagnostic(
    `first build: ${built.join(', ') || 'nothing to build'}; second: ${(Date.now() - started) / 1000}s`,
  );
});
