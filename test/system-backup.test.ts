import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  chownSync,
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  databaseDump,
  databaseWaitReady,
  resticBackup,
  volumeMountpoint,
} from '../src/agent/backup/commands.ts';
import { DumpDigester, digestDumpFile } from '../src/agent/backup/dump.ts';
import { BackupEngine, type StoreTarget } from '../src/agent/backup/engine.ts';
import { mediaManifest } from '../src/agent/backup/media.ts';
import { ProcessExecutor } from '../src/agent/executor.ts';
import { ensureStoreUser, removeStoreUser } from '../src/agent/host/index.ts';
import {
  containerRun,
  imageInspect,
  networkCreate,
  podman,
  secretCreate,
  volumeCreate,
} from '../src/agent/podman/argv.ts';
import type { StoreUser } from '../src/agent/podman/types.ts';
import { desiredStore, names } from '../src/agent/stack/desired.ts';
import { ensureStoreImages } from '../src/agent/stack/images.ts';
import type { BackupManifest, BackupTaken } from '../src/contracts/backup.ts';
import { validateStack } from '../src/contracts/validate.ts';
import { cpusAllowed, managementCpuList, SCHED_IDLE, setApartLastCpu, statField } from './control-harness.ts';
import { triplane } from './helpers.ts';

setApartLastCpu();

// The backup engine against real MariaDB, rootless Podman and restic. Runs after store.test.ts,
// which prepared the host and built the images. Sequential: later steps use the first backup.
// What a backup held is checked with checksums taken here, independently of the engine: CHECKSUM
// TABLE and row counts from MariaDB, and sha256, owner and mode of every media file as a container
// sees them.

const STORE = 'bkp';
/** A second store user: the "staging copy" a backup of STORE is restored into. */
const COPY = 'bkps';
const IMAGE = 'localhost/triplane/mariadb:latest';
const ENV = 'production';
const BIG = 2 * 1024 * 1024;

const ex = new ProcessExecutor();

/** A store user with the stack's database container and media volume, as `apply` creates them. */
async function startStore(store: string): Promise<StoreTarget> {
  const user: StoreUser = { ...(await ensureStoreUser(ex, store)), store };
  await ensureStoreImages(ex, user, [IMAGE]);
  const parsed = validateStack({
    name: store,
    services: { database: { bufferPool: '32mb' }, rabbitmq: { enabled: false }, cron: { enabled: false } },
  });
  assert.ok(parsed.ok, JSON.stringify(parsed));
  const spec = parsed.spec;
  const desired = desiredStore({
    spec,
    user,
    varnishPort: 0,
    appPorts: [],
    codeDir: user.home,
    vcl: { path: '/dev/null', hash: '' },
    imageIds: {},
  });
  const database = desired.containers.find((c) => c.role === 'database')!;
  const n = names(store);
  assert.equal(database.name, n.service('database'));
  await ex.run(networkCreate(user, desired.network));
  for (const v of [n.media, n.databaseVolume]) await ex.run(volumeCreate(user, v));
  for (const secret of [n.dbPassword, n.dbRootPassword]) {
    const file = join(user.home, `.secret-${secret}`);
    writeFileSync(file, randomBytes(18).toString('base64url'), { mode: 0o600 });
    chownSync(file, user.uid, user.gid);
    try {
      await ex.run(secretCreate(user, secret, file));
    } finally {
      rmSync(file, { force: true });
    }
  }
  await ex.run(containerRun(user, database));
  const ready = await ex.run(databaseWaitReady(user, database.name, 60));
  if (ready.exitCode !== 0)
    throw new Error(`${database.name} did not accept connections within 60 s: ${ready.stderr}`);
  return {
    user,
    databaseContainer: database.name,
    databaseName: spec.services.database.name,
    databaseImage: IMAGE,
    mediaVolume: n.media,
  };
}

/** Runs SQL as the database container's root; tab-separated rows without a header. */
async function sql(t: StoreTarget, query: string): Promise<string> {
  const r = await ex.run(
    podman(
      t.user,
      ['exec', '-i', t.databaseContainer, 'mariadb', '--default-character-set=utf8mb4', '-N', '-B'],
      { stdin: query },
    ),
  );
  return r.stdout;
}

const rows = (out: string) =>
  out
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('\t'));

const q = (name: string) => `\`${name.replaceAll('`', '``')}\``;

/** The database as MariaDB itself describes it: tables, views, triggers, and each table's checksum and rows. */
async function databaseState(t: StoreTarget) {
  const db = t.databaseName;
  const objects = rows(
    await sql(
      t,
      `SELECT TABLE_NAME, TABLE_TYPE, IFNULL(AUTO_INCREMENT, '-') FROM information_schema.TABLES
       WHERE TABLE_SCHEMA = '${db}' ORDER BY TABLE_NAME`,
    ),
  );
  const tables = objects.filter((o) => o[1] === 'BASE TABLE').map((o) => o[0]!);
  const checksums =
    tables.length === 0 ? [] : rows(await sql(t, `CHECKSUM TABLE ${tables.map((n) => `${q(db)}.${q(n)}`)}`));
  const counts =
    tables.length === 0
      ? []
      : rows(
          await sql(
            t,
            tables.map((n) => `SELECT '${n}', COUNT(*) FROM ${q(db)}.${q(n)}`).join(' UNION ALL '),
          ),
        );
  const triggers = rows(
    await sql(
      t,
      `SELECT TRIGGER_NAME, EVENT_OBJECT_TABLE, ACTION_TIMING, EVENT_MANIPULATION, ACTION_STATEMENT
       FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = '${db}' ORDER BY TRIGGER_NAME`,
    ),
  );
  const views = rows(
    await sql(
      t,
      `SELECT TABLE_NAME, VIEW_DEFINITION FROM information_schema.VIEWS
       WHERE TABLE_SCHEMA = '${db}' ORDER BY TABLE_NAME`,
    ),
  );
  return { objects, checksums, counts, triggers, views };
}

/** Runs a shell script in a throwaway container with the media volume at /m, as the store user. */
async function inMedia(t: StoreTarget, script: string, user?: string): Promise<string> {
  const r = await ex.run(
    podman(t.user, [
      'run',
      '--rm',
      '--network',
      'none',
      ...(user ? ['--user', user] : []),
      '--volume',
      `${t.mediaVolume}:/m`,
      t.databaseImage,
      'sh',
      '-c',
      script,
    ]),
  );
  return r.stdout;
}

/**
 * Every entry of the media volume as the store's containers see it: type, owner, mode, symlink
 * target and, for files, sha256 (the volume's root itself included, as `.`).
 */
async function mediaState(t: StoreTarget): Promise<string[]> {
  const out = await inMedia(
    t,
    ['cd /m', `find . -printf '%y %U:%G %m %p -> %l\\n'`, 'find . -type f -exec sha256sum {} +'].join(' && '),
  );
  return out
    .split('\n')
    .filter((l) => l !== '')
    .sort();
}

const SEED_SQL = (blob: string) => `
USE store;
CREATE TABLE products (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  sku VARCHAR(64) NOT NULL UNIQUE,
  name VARCHAR(255) NOT NULL,
  description TEXT NULL,
  image MEDIUMBLOB NULL,
  price DECIMAL(10, 2) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
INSERT INTO products (sku, name, description, image, price) VALUES
  ('A-1', 'O''Reilly "quoted" \\\\ backslash', 'line one\\nline two\\r\\n\\ttabbed', 0x00FF00FF0A0D27225C, 19.99),
  ('U-2', 'Ünïcödé — 日本語 🚀', NULL, NULL, 5.00),
  ('B-3', 'big blob', 'random bytes', 0x${blob}, 120.50),
  ('E-4', '', '', '', 0.00),
  ('S-5', 'semicolon; -- not a comment', '/* nor this */', 'text as blob', 1.25);
CREATE TABLE orders (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  product_id INT UNSIGNED NOT NULL,
  qty INT NOT NULL,
  total DECIMAL(10, 2) NULL,
  placed_at DATETIME NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TRIGGER orders_total BEFORE INSERT ON orders FOR EACH ROW
  SET NEW.total = NEW.qty * (SELECT price FROM products WHERE id = NEW.product_id);
INSERT INTO orders (product_id, qty, placed_at) VALUES
  (1, 2, '2024-01-01 10:00:00'), (2, 1, '2024-01-02 11:00:00'), (3, 3, '2024-01-03 12:00:00'),
  (1, 1, '2024-01-04 13:00:00'), (5, 7, '2024-01-05 14:00:00'), (2, 2, '2024-01-06 15:00:00'),
  (3, 1, '2024-01-07 16:00:00'), (1, 5, '2024-01-08 17:00:00'), (5, 1, '2024-01-09 18:00:00');
-- Gaps in the ids, and an AUTO_INCREMENT beyond the last row, must survive a restore.
DELETE FROM orders WHERE id IN (4, 9);
CREATE TABLE coupons (code VARCHAR(32) NOT NULL PRIMARY KEY, percent INT NOT NULL) ENGINE=InnoDB;
CREATE TABLE \`line items\` (
  order_id INT UNSIGNED NOT NULL,
  line INT NOT NULL,
  note VARCHAR(100) NOT NULL,
  PRIMARY KEY (order_id, line)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
INSERT INTO \`line items\` VALUES (1, 1, 'tab\\there'), (1, 2, 'ünï'), (2, 1, '');
CREATE VIEW order_totals AS SELECT product_id, SUM(total) AS revenue FROM orders GROUP BY product_id;
`;

/** Regular files in the seeded media volume. */
const SEED_MEDIA_FILES = 6;

const SEED_MEDIA = [
  'set -e',
  'mkdir -p /m/catalog/product/a/b /m/catalog/category "/m/wysiwyg/2024/01" /m/import',
  `printf 'jpeg\\000data' > /m/catalog/product/a/b/shoe.jpg`,
  `head -c ${BIG} /dev/urandom > /m/catalog/product/a/b/big.bin`,
  'head -c 3000 /dev/urandom > /m/catalog/category/banner.png',
  `printf 'naïve — ünïcödé\\n' > '/m/wysiwyg/2024/01/naïve file.txt'`,
  ': > /m/import/empty.csv',
  `printf 'sku,qty\\nA-1,1\\n' > /m/import/stock.csv`,
  'chmod 0640 /m/import/stock.csv',
  'ln -s catalog/product /m/current',
  // www-data in the app images: what PHP writes is owned by a container uid, not the store user.
  'chown -R 33:33 /m/catalog',
  'chown 33:0 /m/wysiwyg',
].join('\n');

/** The snapshot restic printed in its JSON summary (restic 0.14 prints the short id). */
function snapshotOf(stdout: string): string {
  const summary = stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { message_type?: string; snapshot_id?: string })
    .find((m) => m.message_type === 'summary');
  assert.ok(summary?.snapshot_id, stdout);
  return summary.snapshot_id;
}

/** MariaDB servers running as management work (nice 19; a store's own runs at 0) on this host. */
function managedServers(): { cpus: string; nice: number; policy: number }[] {
  const out: { cpus: string; nice: number; policy: number }[] = [];
  for (const name of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    const pid = Number(name);
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) !== 'mariadbd') continue;
      if (statField(pid, 19) !== 19) continue;
      out.push({ cpus: cpusAllowed(pid), nice: 19, policy: statField(pid, 41) });
    } catch (e) {
      // A process that exited between the listing and the read is not one of them.
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' && (e as NodeJS.ErrnoException).code !== 'ESRCH')
        throw e;
    }
  }
  return out;
}

describe('backups of a store on real MariaDB, Podman and restic', { timeout: 900_000 }, () => {
  const scratch = mkdtempSync(join(tmpdir(), 'tp-backup-'));
  const password = randomBytes(24).toString('base64url');
  /** What the main engine reported doing, in order (the agent logs it; bench/decoupling splits by it). */
  const steps: string[] = [];
  /** How the throwaway MariaDB's server ran, looked at as the dump was loaded into it. */
  const verifierServers: { cpus: string; nice: number; policy: number }[] = [];
  const engineAt = (dir: string) =>
    new BackupEngine({
      executor: ex,
      root: join(scratch, dir),
      password,
      onProgress:
        dir === 'main'
          ? (step) => {
              steps.push(step);
              if (step === 'loading the dump into the throwaway database')
                verifierServers.push(...managedServers());
            }
          : undefined,
    });
  const engine = engineAt('main');
  let source: StoreTarget;
  let copy: StoreTarget | undefined;
  // Taken right before the first backup, the moment every restore must bring back.
  let firstTaken: BackupTaken | undefined;
  let dbAtBackup: Awaited<ReturnType<typeof databaseState>>;
  let mediaAtBackup: string[];
  /** The first test's backup, which later tests build on. */
  const backedUp = (): BackupTaken => {
    assert.ok(firstTaken, 'the first test did not take its backup');
    return firstTaken;
  };

  const via = () => ({ user: source.user, image: IMAGE });
  const meta = (time?: Date) => ({ environment: ENV, stackVersion: 1, spec: { name: STORE }, time }) as const;

  before(async () => {
    // A run that died earlier may have left its users behind.
    await removeStoreUser(ex, STORE);
    await removeStoreUser(ex, COPY);
    if ((await ex.run(imageInspect(null, [IMAGE]))).exitCode !== 0) {
      const r = triplane(['images', 'build', 'mariadb'], { timeoutMs: 15 * 60_000 });
      assert.equal(r.code, 0, `images build failed:\n${r.stderr}`);
    }
    source = await startStore(STORE);
    await sql(source, SEED_SQL(randomBytes(40_000).toString('hex')));
    await inMedia(source, SEED_MEDIA);
  });

  after(async () => {
    // removeStoreUser resets the user's Podman first: containers, volumes, network, secrets, images.
    const failures: unknown[] = [];
    for (const store of [STORE, COPY]) {
      try {
        await removeStoreUser(ex, store);
      } catch (e) {
        failures.push(e);
      }
    }
    rmSync(scratch, { recursive: true, force: true });
    if (failures.length > 0) throw failures[0];
  });

  test('a backup verifies, and a restore brings back the database and media of its moment', async () => {
    dbAtBackup = await databaseState(source);
    mediaAtBackup = await mediaState(source);
    // GIVEN the seeded store (guard: the seed is what the checks below compare)
    assert.deepEqual(
      dbAtBackup.objects.map((o) => `${o[0]} ${o[1]}`),
      [
        'coupons BASE TABLE',
        'line items BASE TABLE',
        'orders BASE TABLE',
        'order_totals VIEW',
        'products BASE TABLE',
      ],
    );
    // Two orders were deleted, the last among them: the next id is still 10.
    assert.deepEqual(
      dbAtBackup.objects.find((o) => o[0] === 'orders'),
      ['orders', 'BASE TABLE', '10'],
    );
    assert.deepEqual(dbAtBackup.counts, [
      ['coupons', '0'],
      ['line items', '3'],
      ['orders', '7'],
      ['products', '5'],
    ]);
    assert.deepEqual(
      dbAtBackup.triggers.map((t) => t[0]),
      ['orders_total'],
    );
    assert.ok(
      mediaAtBackup.includes('f 33:33 644 ./catalog/product/a/b/shoe.jpg -> '),
      mediaAtBackup.join('\n'),
    );

    // WHEN it is backed up and verified
    firstTaken = await engine.create(source, meta());
    const first = firstTaken;
    assert.equal(first.tables, 4);
    assert.equal(first.mediaFiles, SEED_MEDIA_FILES);
    const v = await engine.verify(STORE, first.snapshotId, via());
    // THEN verification passes, having counted what was seeded
    assert.deepEqual(v.problems, []);
    assert.equal(v.status, 'passed');
    assert.equal(v.tables, 4);
    assert.equal(v.rows, 0 + 3 + 7 + 5);
    assert.equal(v.mediaFiles, SEED_MEDIA_FILES);
    assert.deepEqual(steps, [
      'dumping the database',
      'reading the media volume',
      'writing the snapshot',
      'checking the repository',
      'restoring the snapshot',
      'checking the restored dump',
      'checking the media',
      'starting a throwaway database',
      'loading the dump into the throwaway database',
      'dumping the restored copy',
      'comparing the restored copy',
      'removing the throwaway database',
    ]);
    // AND the throwaway MariaDB, started through rootless Podman, ran as management work: the CPUs,
    // niceness and policy of the backup's commands reach the server inside the container
    assert.ok(verifierServers.length > 0, 'no throwaway mariadbd was seen while the dump was loaded');
    for (const s of verifierServers) {
      assert.deepEqual(s, { cpus: managementCpuList(), nice: 19, policy: SCHED_IDLE });
    }

    // WHEN rows change, rows go, a table goes, a table comes, and media files change
    await sql(
      source,
      `USE store;
       UPDATE products SET name = 'renamed', price = 1.00 WHERE id = 1;
       DELETE FROM orders WHERE id IN (1, 2);
       INSERT INTO orders (product_id, qty, placed_at) VALUES (2, 9, NOW());
       DELETE FROM \`line items\` WHERE line = 2;
       DROP TABLE coupons;
       DROP TRIGGER orders_total;
       CREATE TABLE added_later (id INT PRIMARY KEY, v TEXT);
       INSERT INTO added_later VALUES (1, 'must not survive the restore');`,
    );
    await inMedia(
      source,
      [
        'set -e',
        'rm /m/catalog/category/banner.png',
        `printf 'changed' > /m/catalog/product/a/b/shoe.jpg`,
        'head -c 100 /dev/urandom >> /m/catalog/product/a/b/big.bin',
        'chown 0:0 /m/import/stock.csv && chmod 0600 /m/import/stock.csv',
        'mkdir -p /m/new/dir && echo new > /m/new/dir/file.txt',
        'rm /m/current && ln -s import /m/current',
      ].join('\n'),
    );
    const changedDb = await databaseState(source);
    const changedMedia = await mediaState(source);
    assert.notDeepEqual(changedDb, dbAtBackup);
    assert.notDeepEqual(changedMedia, mediaAtBackup);

    // AND the backup is restored into the same store
    const manifest = await engine.restore(STORE, first.snapshotId, source);

    // THEN both are exactly as they were when the backup was taken, and the new table is gone
    assert.equal(manifest.takenAt, first.takenAt);
    const restoredDb = await databaseState(source);
    assert.deepEqual(restoredDb, dbAtBackup);
    assert.ok(!restoredDb.objects.some((o) => o[0] === 'added_later'));
    assert.deepEqual(await mediaState(source), mediaAtBackup);
  });

  test('a second backup of an unchanged store adds only a small fraction of the first', async (t) => {
    const first = backedUp();
    // GIVEN the first backup into an empty repository, holding the 2 MiB of random media
    assert.ok(first.addedBytes > BIG, `first backup added ${first.addedBytes} bytes`);
    // WHEN the unchanged store is backed up again
    const second = await engine.create(source, meta());
    t.diagnostic(
      `first backup added ${first.addedBytes} bytes; the second read ${second.sizeBytes} and added ${second.addedBytes}`,
    );
    // THEN it read as much as the first but stored next to nothing new
    assert.ok(second.sizeBytes >= BIG, `second backup processed ${second.sizeBytes} bytes`);
    assert.ok(
      second.addedBytes < 64 * 1024 && second.addedBytes < first.addedBytes / 20,
      `second backup added ${second.addedBytes} bytes, the first ${first.addedBytes}`,
    );
    // The restored database dumps byte for byte as the original did: that is what deduplicates.
    assert.equal(second.dumpSha256, first.dumpSha256);
  });

  test('pruning with a 7-day retention keeps exactly the backups taken within it', async () => {
    // GIVEN 10 backups in a repository of their own, taken one day apart
    const retention = engineAt('retention');
    const start = Date.parse('2024-03-01T06:00:00Z');
    const day = 24 * 3600_000;
    const made: BackupTaken[] = [];
    for (let i = 0; i < 10; i++) made.push(await retention.create(source, meta(new Date(start + i * day))));
    assert.deepEqual(
      (await retention.list(STORE)).map((s) => s.id),
      made.map((r) => r.snapshotId),
    );
    // WHEN pruned one minute after the last
    const now = new Date(start + 9 * day + 60_000);
    const pruned = await retention.prune(STORE, now, 7);
    // THEN the 3 oldest are gone (the third by one minute) and the 7 newest remain
    const oldest = made.slice(0, 3).map((r) => r.snapshotId);
    const newest = made.slice(3).map((r) => r.snapshotId);
    assert.deepEqual([...pruned.removed].sort(), [...oldest].sort());
    assert.deepEqual(pruned.kept, newest);
    const left = await retention.list(STORE);
    assert.deepEqual(
      left.map((s) => s.id),
      newest,
    );
    assert.deepEqual(
      left.map((s) => s.time.toISOString()),
      made.slice(3).map((r) => r.takenAt),
    );
    // AND a removed backup cannot be restored, while a kept one still has its data
    await assert.rejects(retention.restore(STORE, oldest[0]!, source), { code: 'TP_BACKUP_NOT_FOUND' });
    const kept = await retention.manifest(STORE, newest[0]!);
    assert.equal(kept.takenAt, made[3]!.takenAt);
    assert.equal(await retention.size(STORE, newest[0]!), made[3]!.sizeBytes);
  });

  test('fails verification of a repository whose packs were overwritten, and refuses to restore it', async (t) => {
    // GIVEN a good backup in a repository of its own
    const damaged = engineAt('damaged');
    const rec = await damaged.create(source, meta());
    // WHEN bytes in the middle of every pack file are overwritten
    const data = join(damaged.repository(STORE).location, 'data');
    const packs = readdirSync(data).flatMap((d) => readdirSync(join(data, d)).map((f) => join(data, d, f)));
    assert.ok(packs.length > 0);
    for (const pack of packs) {
      const size = statSync(pack).size;
      const fd = openSync(pack, 'r+');
      try {
        writeSync(fd, Buffer.alloc(Math.min(64, size >> 1), 0xa5), 0, Math.min(64, size >> 1), size >> 1);
      } finally {
        closeSync(fd);
      }
    }
    // THEN verification fails and says the repository is the problem
    const v = await damaged.verify(STORE, rec.snapshotId, via());
    t.diagnostic(`problems: ${v.problems.join(' || ')}`);
    assert.equal(v.status, 'failed');
    assert.ok(
      v.problems.some((p) => p.startsWith('repository: ')),
      v.problems.join('\n'),
    );
    // AND a restore fails before it touches the store
    await assert.rejects(damaged.restore(STORE, rec.snapshotId, source), { code: 'TP_CMD_FAILED' });
    assert.deepEqual(await databaseState(source), dbAtBackup);
    assert.deepEqual(await mediaState(source), mediaAtBackup);
  });

  test('fails verification of a snapshot whose dump was cut short, whether its manifest knew or not', async (t) => {
    const first = backedUp();
    // GIVEN the store's full dump, and the same dump cut in the middle of the orders' rows
    const work = join(scratch, 'cut');
    mkdirSync(work, { mode: 0o700 });
    const fullFile = join(work, 'full.sql');
    await ex.run(databaseDump(source.user, source.databaseContainer, source.databaseName, fullFile));
    const full = await digestDumpFile(fullFile, source.databaseName);
    assert.ok(full.complete);
    assert.equal(full.tables.orders?.rows, 7);
    const lines = readFileSync(fullFile).toString('latin1').split('\n');
    const orderRows = lines.flatMap((l, i) => (l.startsWith('INSERT INTO `orders` VALUES ') ? [i] : []));
    const cut = Buffer.from(`${lines.slice(0, orderRows[2]! + 1).join('\n')}\n`, 'latin1');
    const cutDigester = new DumpDigester();
    cutDigester.update(cut);
    const cutDigest = cutDigester.finish(source.databaseName);
    assert.equal(cutDigest.complete, false);
    assert.equal(cutDigest.tables.orders?.rows, 3);

    const mount = (await ex.run(volumeMountpoint(source.user, source.mediaVolume))).stdout.trim();
    const media = await mediaManifest(mount);
    const base = await engine.manifest(STORE, first.snapshotId);
    const manifestFor = (database: BackupManifest['database']): BackupManifest => ({
      ...base,
      takenAt: new Date().toISOString(),
      database,
      media,
    });
    // A snapshot laid out as the engine lays out its own: staging directory and media volume.
    const snapshotWith = async (manifest: BackupManifest): Promise<string> => {
      const staging = join(dirname(engine.repository(STORE).location), 'staging');
      mkdirSync(staging, { recursive: true, mode: 0o700 });
      try {
        writeFileSync(join(staging, 'database.sql'), cut, { mode: 0o600 });
        writeFileSync(join(staging, 'backup.json'), `${JSON.stringify(manifest)}\n`, { mode: 0o600 });
        const r = await ex.run(
          resticBackup(engine.repository(STORE), {
            paths: [staging, mount],
            tags: [`store=${STORE}`, `env=${ENV}`],
            host: 'triplane',
          }),
        );
        return snapshotOf(r.stdout);
      } finally {
        rmSync(staging, { recursive: true, force: true });
      }
    };

    // WHEN (a) the manifest describes the whole dump: the file was cut after it was digested
    const a = await snapshotWith(manifestFor(full));
    const va = await engine.verify(STORE, a, via());
    t.diagnostic(`(a) problems: ${va.problems.join(' || ')}`);
    // THEN verification fails on the dump's bytes and on the rows of the table that was cut
    assert.equal(va.status, 'failed');
    assert.ok(
      va.problems.some((p) => /^database\.sql: \d+ bytes .* restored, \d+ bytes .* dumped$/.test(p)),
      va.problems.join('\n'),
    );
    // The cut table's rows were never committed (the dump commits each table at its end), so the
    // restored copy has none of them.
    assert.ok(va.problems.includes('table orders: 0 rows restored, 7 dumped'), va.problems.join('\n'));

    // WHEN (b) the manifest describes the cut dump itself
    const b = await snapshotWith(manifestFor(cutDigest));
    const vb = await engine.verify(STORE, b, via());
    // THEN verification fails because the dump taken at backup time was cut short, and the rows it
    // holds of the cut table were never committed
    assert.equal(vb.status, 'failed');
    assert.deepEqual(vb.problems, [
      'database.complete: the dump taken at backup time was cut short',
      'table orders: 0 rows restored, 3 dumped',
    ]);

    // AND neither is restored: the store keeps its data
    await assert.rejects(engine.restore(STORE, a, source), { code: 'TP_BACKUP_DUMP' });
    await assert.rejects(engine.restore(STORE, b, source), { code: 'TP_BACKUP_DUMP' });
    assert.deepEqual(await databaseState(source), dbAtBackup);
  });

  test('a backup restores into another store user, files keeping the owners its containers saw', async () => {
    const first = backedUp();
    // GIVEN a second store user with its own empty database and media volume
    copy = await startStore(COPY);
    assert.deepEqual((await databaseState(copy)).objects, []);
    assert.deepEqual(await mediaState(copy), ['d 0:0 755 . -> ']);
    // WHEN the first backup of the source store is restored into it
    await engine.restore(STORE, first.snapshotId, copy);
    // THEN its database and media equal the backup's, owners and modes as its containers see them
    assert.deepEqual(await databaseState(copy), dbAtBackup);
    assert.deepEqual(await mediaState(copy), mediaAtBackup);
    assert.equal((await inMedia(copy, 'stat -c %u:%g /m/catalog/product/a/b/shoe.jpg')).trim(), '33:33');
    // On the host, uid 33 of the copy's containers is its own subordinate uid, not the source's.
    const copyMount = (await ex.run(volumeMountpoint(copy.user, copy.mediaVolume))).stdout.trim();
    const sourceMount = (await ex.run(volumeMountpoint(source.user, source.mediaVolume))).stdout.trim();
    const hostUid = (p: string) => statSync(p).uid;
    assert.notEqual(
      hostUid(join(copyMount, 'catalog/product/a/b/shoe.jpg')),
      hostUid(join(sourceMount, 'catalog/product/a/b/shoe.jpg')),
    );
    assert.equal(hostUid(copyMount), copy.user.uid);
    // AND the copy's containers can write where the source's could: www-data into the catalog.
    assert.equal(
      (
        await inMedia(
          copy,
          'echo x > /m/catalog/upload && cat /m/catalog/upload && rm /m/catalog/upload',
          '33:33',
        )
      ).trim(),
      'x',
    );
  });
});
