import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { hostLowestPriority, lowestPriority } from '../../contracts/priority.ts';
import { ProcessExecutor } from '../executor.ts';
import type { StoreUser } from '../podman/types.ts';
import {
  BACKUP_NICENESS,
  batchInserts,
  bounded,
  containerRemoveNow,
  databaseDrop,
  databaseDump,
  databaseWaitReady,
  resticBackup,
  VERIFIER_TMPFS_MAX_BYTES,
  verifierRun,
  verifierTmpfsBytes,
  volumeMountpoint,
} from './commands.ts';
import { DumpDigester } from './dump.ts';
import { mapOwner } from './engine.ts';

const u: StoreUser = {
  store: 'shop',
  user: 'tp-shop',
  uid: 1005,
  gid: 1005,
  home: '/home/tp-shop',
  runtimeDir: '/run/user/1005',
};
const repo = {
  location: '/var/lib/tp/backups/shop/repository',
  cacheDir: '/var/lib/tp/backups/cache',
  password: 'k3y',
};

test('the dump runs inside the database container at the lowest priority, without locking tables', () => {
  const c = databaseDump(u, 'shop-database', 'store', '/tmp/x/database.sql');
  assert.deepEqual(c.argv, [
    ...hostLowestPriority(),
    'runuser',
    '-u',
    'tp-shop',
    '--',
    'podman',
    'exec',
    'shop-database',
    // Inside the container without taskset: its own CPU set may not hold the host's list.
    ...lowestPriority(undefined),
    'mariadb-dump',
    '--single-transaction',
    '--quick',
    '--skip-extended-insert',
    '--no-autocommit',
    '--order-by-primary',
    '--skip-dump-date',
    '--routines',
    '--triggers',
    '--events',
    '--hex-blob',
    '--default-character-set=utf8mb4',
    '--databases',
    'store',
  ]);
  assert.equal(c.stdoutFile, '/tmp/x/database.sql');
  assert.ok(!c.argv.includes('--lock-tables') && !c.argv.includes('--lock-all-tables'));
});

test('a bounded command runs, as the kernel sees it, at nice 19, in the idle I/O class and SCHED_IDLE', async () => {
  // The shell reports on itself: its I/O class, and /proc's stat fields 19 (niceness) and 41 (policy).
  const r = await new ProcessExecutor().run(
    bounded({ argv: ['sh', '-c', 'ionice -p $$; cat /proc/$$/stat'] }),
  );
  const [ioClass, stat] = r.stdout.trim().split('\n');
  const fields = stat!.slice(stat!.lastIndexOf(')') + 2).split(' ');
  assert.equal(ioClass, 'idle');
  assert.equal(Number(fields[19 - 3]), BACKUP_NICENESS);
  const SCHED_IDLE = 5;
  assert.equal(Number(fields[41 - 3]), SCHED_IDLE);
});

test('every podman command of a backup, a verification or a restore runs bounded', () => {
  for (const c of [
    databaseWaitReady(u, 'v', 60),
    databaseDrop(u, 'shop-database', 'store'),
    containerRemoveNow(u, 'v'),
    volumeMountpoint(u, 'shop-media'),
  ]) {
    assert.deepEqual(c.argv.slice(0, hostLowestPriority().length), hostLowestPriority(), c.argv.join(' '));
  }
});

test('waiting for a MariaDB is one exec that asks inside the container until it answers or time is up', async () => {
  const c = databaseWaitReady(u, 'shop-backup-verify-1', 60);
  const sh = c.argv.indexOf('sh');
  assert.deepEqual(c.argv.slice(c.argv.indexOf('exec'), sh), ['exec', 'shop-backup-verify-1']);
  assert.deepEqual([c.argv[sh + 1], c.argv.at(-2), c.argv.at(-1)], ['-c', 'ready', '300']);
  assert.deepEqual(c.okExitCodes, [0, 1]);
  assert.equal(c.timeoutMs, 75_000);
  // The loop itself, run here against stand-ins for mariadb-admin: one that answers on its third
  // call, one that never does.
  const script = c.argv[sh + 2]!;
  const dir = mkdtempSync(join(tmpdir(), 'tp-ready-'));
  try {
    const fake = (body: string) => {
      writeFileSync(join(dir, 'mariadb-admin'), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    };
    const run = (tries: string) =>
      new ProcessExecutor().run({
        argv: ['sh', '-c', script, 'ready', tries],
        env: { PATH: `${dir}:/usr/bin:/bin` },
        okExitCodes: [0, 1],
      });
    fake(
      `n=$(cat ${dir}/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${dir}/n; [ $n -ge 3 ] && echo "mysqld is alive"; exit 0`,
    );
    assert.equal((await run('10')).exitCode, 0);
    assert.equal(readFileSync(join(dir, 'n'), 'utf8').trim(), '3');
    fake('echo "connect to server at localhost failed" >&2; exit 1');
    assert.equal((await run('2')).exitCode, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('restic gets the repository key in its environment, never in argv', () => {
  const c = resticBackup(repo, {
    paths: ['/a/staging', '/home/tp-shop/media'],
    tags: ['store=shop', 'env=production'],
    host: 'triplane',
    time: '2026-11-30 03:30:00',
  });
  assert.deepEqual(c.argv, [
    ...hostLowestPriority(),
    'restic',
    '--repo',
    repo.location,
    '--cache-dir',
    repo.cacheDir,
    'backup',
    '--json',
    '--host',
    'triplane',
    '--tag',
    'store=shop',
    '--tag',
    'env=production',
    '--time',
    '2026-11-30 03:30:00',
    '/a/staging',
    '/home/tp-shop/media',
  ]);
  assert.equal(c.env?.RESTIC_PASSWORD, 'k3y');
  assert.ok(!c.argv.some((a) => a.includes('k3y')));
});

test("the verifier's passwords come from the environment, and it has no network", () => {
  const c = verifierRun(u, 'shop-backup-verify-1', 'localhost/triplane/mariadb:latest', 'pw');
  assert.ok(!c.argv.some((a) => a.includes('pw') && a !== 'MARIADB_PASSWORD'));
  assert.deepEqual(c.argv.slice(c.argv.indexOf('--network'), c.argv.indexOf('--network') + 2), [
    '--network',
    'none',
  ]);
  assert.equal(c.env?.MARIADB_ROOT_PASSWORD, 'pw');
  assert.deepEqual(c.argv.slice(0, hostLowestPriority().length), hostLowestPriority());
});

test("the verifier's data directory is in memory, sized from the dump, unless the dump is too big", () => {
  const MiB = 1024 ** 2;
  assert.equal(verifierTmpfsBytes(80 * MiB), 672 * MiB);
  assert.equal(verifierTmpfsBytes(768 * MiB), VERIFIER_TMPFS_MAX_BYTES);
  assert.equal(verifierTmpfsBytes(768 * MiB + 1), null);
  const inMemory = verifierRun(u, 'v', 'img', 'pw', 672 * MiB);
  const at = inMemory.argv.indexOf('--tmpfs');
  assert.deepEqual(inMemory.argv.slice(at, at + 2), [
    '--tmpfs',
    `/var/lib/mysql:rw,size=${672 * MiB},mode=0750`,
  ]);
  // Before the image: an option after it would be an argument to mariadbd.
  assert.ok(at < inMemory.argv.indexOf('img'));
  assert.ok(!verifierRun(u, 'v', 'img', 'pw', null).argv.includes('--tmpfs'));
});

test("restored media moves from one store user's ids to another's", () => {
  const from = { own: 1002, subStart: 165_536 };
  const to = { own: 1005, subStart: 362_144 };
  assert.equal(mapOwner(1002, from, to), 1005, "the user's own id");
  assert.equal(mapOwner(165_536 + 32, from, to), 362_144 + 32, 'www-data in the container');
  assert.equal(mapOwner(0, from, to), 0, 'an id outside both stays');
  assert.equal(mapOwner(165_536 + 65_536, from, to), 165_536 + 65_536, 'past the range stays');
});

test('batchInserts joins runs of one-row INSERTs into statements of many rows, digesting the same', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tp-batch-'));
  try {
    // GIVEN a dump with one statement per row: two tables, values holding what could confuse a join
    const big = `'${'x'.repeat(600_000)}'`;
    const dump = [
      'CREATE TABLE `t` (`id` int, `v` text);',
      'set autocommit=0;',
      "INSERT INTO `t` VALUES (1,'a;b');",
      "INSERT INTO `t` VALUES (2,'%s \\' (x);\\n');",
      `INSERT INTO \`t\` VALUES (3,${big});`,
      `INSERT INTO \`t\` VALUES (4,${big});`,
      "INSERT INTO `o``dd` VALUES (5,'z');",
      'commit;',
      '-- Dump completed',
      '',
    ].join('\n');
    writeFileSync(join(dir, 'in.sql'), dump, 'latin1');
    const cmd = batchInserts(join(dir, 'in.sql'), join(dir, 'out.sql'));
    assert.deepEqual(cmd.argv.slice(0, cmd.argv.indexOf('awk')), bounded({ argv: [] }).argv);
    // WHEN it runs
    await new ProcessExecutor().run(cmd);
    // THEN runs of one table become statements of a row per line, each under a megabyte, and every
    // other line is as it was
    const out = readFileSync(join(dir, 'out.sql'), 'latin1');
    assert.equal(
      out,
      [
        'CREATE TABLE `t` (`id` int, `v` text);',
        'set autocommit=0;',
        'INSERT INTO `t` VALUES',
        "(1,'a;b'),",
        "(2,'%s \\' (x);\\n'),",
        `(3,${big});`,
        'INSERT INTO `t` VALUES',
        `(4,${big});`,
        'INSERT INTO `o``dd` VALUES',
        "(5,'z');",
        'commit;',
        '-- Dump completed',
        '',
      ].join('\n'),
    );
    // AND the rows digest as they did
    const digest = (text: string) => {
      const d = new DumpDigester();
      d.update(Buffer.from(text, 'latin1'));
      return d.finish('store');
    };
    assert.deepEqual(digest(out).tables, digest(dump).tables);
    assert.equal(digest(out).tables.t!.rows, 4);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
