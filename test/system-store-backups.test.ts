import assert from 'node:assert/strict';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { ProcessExecutor } from '../src/agent/executor.ts';
import { removeStoreUser } from '../src/agent/host/index.ts';
import { ControlProcess, spawnTriplane, stopChildren, type TriplaneChild } from './control-harness.ts';
import type { EdgeProcess } from './edge/harness.ts';
import { ROOT, triplane, triplaneAsync } from './helpers.ts';
import { podmanAs } from './podman.ts';

// Backups through the whole platform: `triplane backup …` against the control plane, whose jobs
// process hands the work to the real agent, which dumps the store's MariaDB, reads its media
// volume and writes a restic repository. Runs after store.test.ts (host prepared, images built).
describe('backups of a store run by the control plane', { timeout: 1_200_000 }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tp-backups-'));
  const procs: TriplaneChild[] = [];
  const control = new ControlProcess(dataDir);
  let url = '';
  let admin = '';
  let edge: EdgeProcess;

  const cli = (...args: string[]) =>
    triplaneAsync([...args, '--control', url, '--token', admin, '--data-dir', dataDir], {
      timeoutMs: 600_000,
    });
  const writeStack = (name: string) => {
    mkdirSync(join(dataDir, name), { recursive: true });
    const file = join(dataDir, name, 'triplane.yaml');
    writeFileSync(
      file,
      [
        `name: ${name}`,
        'app:',
        `  code: ${join(ROOT, 'examples/demo-store/app')}`,
        'services:',
        '  cron:',
        '    enabled: false',
        '  varnish:',
        '    memory: 32mb',
        '  database:',
        '    bufferPool: 64mb',
        // The load below is one client sending as fast as it can: well past the default limit.
        'edge:',
        '  rateLimits:',
        '    - class: default',
        '      ratePerSec: 5000',
        '      burst: 10000',
        '',
      ].join('\n'),
    );
    return file;
  };
  const sql = (store: string, query: string) => {
    const r = podmanAs(store, ['exec', `${store}-database`, 'mariadb', '-N', '-B', 'store', '-e', query]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim();
  };
  const media = (store: string, script: string) => {
    const r = podmanAs(store, ['exec', `${store}-app-1-php`, 'sh', '-c', script]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim();
  };
  /** What a restore must bring back: every table's rows and checksum, every media file's digest. */
  const fingerprint = (store: string) => ({
    tables: sql(
      store,
      "SELECT GROUP_CONCAT(table_name ORDER BY table_name) FROM information_schema.tables WHERE table_schema = 'store'",
    ),
    checksums: sql(store, 'CHECKSUM TABLE orders, order_items, products, categories, store_meta'),
    orders: sql(store, 'SELECT COUNT(*) FROM orders'),
    media: media(store, 'cd /var/www/media && find . -type f | sort | xargs -r sha256sum'),
  });
  // undici's request, not fetch: fetch does not let a caller set Host.
  const get = async (store: string, path = '/') => {
    const r = await request(`http://127.0.0.1:${edge.http}${path}`, {
      headers: { host: `${store}.localhost` },
    });
    return { status: r.statusCode, text: () => r.body.text() };
  };
  const answers = async (instance: string) => {
    let last = 0;
    for (let i = 0; i < 150 && last !== 200; i++) {
      last = (await get(instance)).status;
      if (last !== 200) await new Promise((res) => setTimeout(res, 200));
    }
    assert.equal(last, 200, `${instance} answers through the edge\n${edge.output.slice(-2000)}`);
  };
  const checkout = async (store: string): Promise<{ status: number; ms: number }> => {
    const t0 = performance.now();
    const add = await request(`http://127.0.0.1:${edge.http}/cart/add`, {
      method: 'POST',
      headers: { host: `${store}.localhost`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'product_id=3&qty=1',
    });
    await add.body.text();
    const setCookie = add.headers['set-cookie'];
    const cookie = (Array.isArray(setCookie) ? setCookie[0] : setCookie)?.split(';')[0] ?? '';
    const co = await request(`http://127.0.0.1:${edge.http}/checkout`, {
      method: 'POST',
      headers: { host: `${store}.localhost`, cookie },
    });
    await co.body.text();
    return { status: add.statusCode === 200 ? co.statusCode : add.statusCode, ms: performance.now() - t0 };
  };
  const backups = async (store: string) => {
    const r = await cli('backup', 'list', store, '--json');
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as {
      id: string;
      status: string;
      reason: string;
      createdAt: string;
      snapshot: { sizeBytes: number; tables: number; mediaFiles: number; takenAt: string } | null;
      verification: { status: string; problems: string[]; rows: number } | null;
    }[];
  };

  before(async () => {
    // A run that died earlier may have left these stores' users behind, and with them last run's
    // database, which a store created under the same name would take over.
    await removeStoreUser(new ProcessExecutor(), 'bk');
    await removeStoreUser(new ProcessExecutor(), 'bk--staging');
    edge = await control.init();
    url = control.url;
    admin = control.admin;
    await control.start();
    const token = await control.joinToken();
    const agent = spawnTriplane('agent', [
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
    procs.push(agent);
    await edge.start({ ready: false });
    assert.equal((await cli('stores', 'create', 'bk')).code, 0);
    const r = await cli('apply', '-f', writeStack('bk'), '--wait', '--timeout', '480');
    assert.equal(r.code, 0, `${r.stderr}\n${agent.out.slice(-3000)}\n${control.output.slice(-2000)}`);
    await answers('bk');
    // A catalogue large enough that the dump takes seconds: checkouts must go on meanwhile.
    sql(
      'bk',
      'CREATE TABLE ballast (id INT PRIMARY KEY AUTO_INCREMENT, payload VARCHAR(200)) ENGINE=InnoDB; ' +
        'INSERT INTO ballast (payload) SELECT REPEAT(UUID(), 5) FROM seq_1_to_100000',
    );
    media(
      'bk',
      'mkdir -p /var/www/media/catalog/product && head -c 300000 /dev/urandom > /var/www/media/catalog/product/a.jpg && echo banner > /var/www/media/b.txt',
    );
  });

  after(async () => {
    await edge.stop();
    edge.cleanup();
    await control.stop();
    await stopChildren(procs);
    // Destroying the store destroys its staging instance too.
    const results = [triplane(['destroy', 'bk', '--yes', '--data-dir', dataDir], { timeoutMs: 300_000 })];
    if (process.env.TRIPLANE_TEST_KEEP)
      for (const p of procs) writeFileSync(join(dataDir, `${p.name}.log`), p.out);
    else rmSync(dataDir, { recursive: true, force: true });
    for (const d of results) assert.equal(d.code, 0, d.stderr);
  });

  let first = '';
  let second = '';
  let atBackup: ReturnType<typeof fingerprint>;

  test('a backup under storefront load loses no request and blocks no checkout', async () => {
    const statuses: number[] = [];
    const checkoutMs: number[] = [];
    const lockWaits: string[] = [];
    let done = false;
    const errors: string[] = [];
    const shop = async () => {
      while (!done) {
        try {
          const c = await checkout('bk');
          statuses.push(c.status);
          checkoutMs.push(c.ms);
          const page = await get('bk', `/?load=${statuses.length}`);
          await page.text();
          statuses.push(page.status);
        } catch (e) {
          errors.push(`${(e as Error).message} after ${statuses.length} requests`);
        }
      }
    };
    // Any session waiting on a table or metadata lock while the dump runs would show here.
    const watchLocks = async () => {
      while (!done) {
        const r = podmanAs('bk', [
          'exec',
          'bk-database',
          'mariadb',
          '-N',
          '-B',
          '-e',
          "SELECT state FROM information_schema.processlist WHERE state LIKE 'Waiting for%lock%'",
        ]);
        if (r.stdout.trim()) lockWaits.push(r.stdout.trim());
        await new Promise((res) => setTimeout(res, 100));
      }
    };
    const t0 = Date.now();
    const load = [shop(), shop(), watchLocks()];
    const r = await cli('backup', 'create', 'bk', '--wait', '--json');
    const backupMs = Date.now() - t0;
    done = true;
    await Promise.all(load);
    assert.equal(r.code, 0, `${r.stderr}\n${procs[0]!.out.slice(-3000)}`);
    const out = JSON.parse(r.stdout) as { backup: { id: string } };
    first = out.backup.id;
    assert.deepEqual(errors, [], 'no request failed on the network');
    assert.ok(statuses.length > 20, `the storefront was exercised: ${statuses.length} requests`);
    assert.deepEqual(
      statuses.filter((s) => s < 200 || s >= 300),
      [],
      'every storefront request and checkout succeeded during the backup',
    );
    assert.deepEqual(lockWaits, [], 'no session waited for a lock');
    // Checkouts kept completing while the backup ran: a dump that locked tables would have held
    // them for its whole length (and the watch above would have seen them wait).
    const during = checkoutMs.length;
    assert.ok(during >= 4, `${during} checkouts completed during the ${backupMs} ms of the backup`);
  });

  test('`backup list --json`: each backup with id, time, size, status and verification', async () => {
    const list = await backups('bk');
    const b = list.find((x) => x.id === first);
    assert.ok(b, JSON.stringify(list));
    assert.equal(b.status, 'succeeded');
    assert.equal(b.reason, 'manual');
    assert.ok(Date.parse(b.createdAt) > 0);
    assert.ok((b.snapshot?.sizeBytes ?? 0) > 1_000_000, 'the ballast and the media are in it');
    assert.equal(b.snapshot?.mediaFiles, 2);
    assert.equal(b.verification?.status, 'passed', JSON.stringify(b.verification));
    assert.ok((b.verification?.rows ?? 0) >= 100_000, 'the verification counted the restored rows');
  });

  test('restore: data and media come back as they were, behind a maintenance page, after a safety backup', async () => {
    // A backup of a quiet store, so the moment it holds is the moment fingerprinted.
    atBackup = fingerprint('bk');
    const taken = await cli('backup', 'create', 'bk', '--wait', '--json');
    assert.equal(taken.code, 0, taken.stderr);
    second = (JSON.parse(taken.stdout) as { backup: { id: string } }).backup.id;
    for (let i = 0; i < 3; i++) assert.equal((await checkout('bk')).status, 201);
    sql('bk', 'DELETE FROM products WHERE id = 1; DROP TABLE ballast; CREATE TABLE intruder (x INT)');
    media(
      'bk',
      'rm /var/www/media/b.txt && echo changed > /var/www/media/catalog/product/a.jpg && echo new > /var/www/media/c.txt',
    );
    assert.notDeepEqual(fingerprint('bk'), atBackup);

    const seen = new Set<number>();
    let polling = true;
    const poll = (async () => {
      while (polling) {
        const r = await get('bk', '/?poll');
        await r.text();
        seen.add(r.status);
        await new Promise((res) => setTimeout(res, 50));
      }
    })();
    const r = await cli('backup', 'restore', 'bk', second, '--wait');
    polling = false;
    await poll;
    assert.equal(r.code, 0, `${r.stderr}\n${procs[0]!.out.slice(-3000)}`);
    assert.match(r.stderr, /taking safety backup/);
    assert.match(r.stderr, /in maintenance \(the edge serves the maintenance page\)/);
    assert.deepEqual(fingerprint('bk'), atBackup);
    assert.ok(seen.has(503), `the edge served the maintenance page during the restore (saw ${[...seen]})`);
    const again = await get('bk');
    assert.equal(again.status, 200, 'the store serves again');
    const list = await backups('bk');
    const safety = list.find((b) => b.reason === 'pre-restore');
    assert.equal(safety?.status, 'succeeded', 'the safety backup holds what the restore replaced');
  });

  test('restore into a new staging environment while production keeps serving', async () => {
    // GIVEN production serving and no staging environment yet
    const none = await cli('stacks', 'bk', '--env', 'staging', '--json');
    assert.deepEqual(JSON.parse(none.stdout), [], none.stderr);
    const statuses: number[] = [];
    let polling = true;
    const poll = (async () => {
      while (polling) {
        const res = await get('bk', '/?prod');
        await res.text();
        statuses.push(res.status);
        await new Promise((res) => setTimeout(res, 50));
      }
    })();
    // WHEN the backup is restored into staging
    const r = await cli('backup', 'restore', 'bk', second, '--env', 'staging', '--wait');
    polling = false;
    await poll;
    assert.equal(r.code, 0, `${r.stderr}\n${procs[0]!.out.slice(-3000)}`);
    assert.match(r.stderr, /staging stack version 1 created from production's/);
    // THEN staging runs as its own instance and holds exactly the data and media of the backup
    assert.deepEqual(fingerprint('bk--staging'), atBackup);
    await answers('bk--staging');
    const product = await get('bk--staging', '/product/2?staging-log');
    assert.equal(product.status, 200);
    await product.text();
    // AND its requests reach the access log as the staging environment's, not production's
    let logged = '';
    for (let i = 0; i < 50 && !logged.includes('staging-log'); i++) {
      logged = (await cli('logs', 'bk', '--env', 'staging', '--json')).stdout;
      if (!logged.includes('staging-log')) await new Promise((res) => setTimeout(res, 200));
    }
    assert.match(logged, /staging-log/);
    assert.doesNotMatch((await cli('logs', 'bk', '--json', '--limit', '1000')).stdout, /staging-log/);
    // AND production answered every request meanwhile, and kept its own data
    assert.ok(statuses.length > 10);
    assert.deepEqual(
      statuses.filter((s) => s !== 200),
      [],
      'production answered every request while its backup was restored into staging',
    );
    assert.deepEqual(fingerprint('bk'), atBackup);
    // AND the staging environment is a stack version of the store, with its own backups
    const stacks = await cli('stacks', 'bk', '--env', 'staging', '--json');
    assert.equal((JSON.parse(stacks.stdout) as { version: number }[])[0]?.version, 1);
    const staged = JSON.parse((await cli('backup', 'list', 'bk', '--env', 'staging', '--json')).stdout) as {
      reason: string;
      status: string;
    }[];
    assert.deepEqual(
      staged.map((b) => [b.reason, b.status]),
      [['pre-restore', 'succeeded']],
    );
  });

  test('a corrupted repository fails verification: reported, with a non-zero exit, never marked good', async () => {
    const packs = join(dataDir, 'backups', 'bk', 'repository', 'data');
    let n = 0;
    for (const dir of readdirSync(packs))
      for (const f of readdirSync(join(packs, dir))) {
        const file = join(packs, dir, f);
        const fd = openSync(file, 'r+');
        writeSync(fd, Buffer.alloc(64, 0xff), 0, 64, Math.floor(statSync(file).size / 2));
        closeSync(fd);
        n++;
      }
    assert.ok(n > 0);
    const r = await cli('backup', 'verify', 'bk', second, '--wait');
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /verification failed:\n {2}repository: /);
    const b = (await backups('bk')).find((x) => x.id === second);
    assert.equal(b?.verification?.status, 'failed');
    const events = await cli('events', 'bk', '--json');
    assert.match(events.stdout, /backup\.verification-failed/);
  });
});
