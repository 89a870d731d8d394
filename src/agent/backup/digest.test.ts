import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { hostLowestPriority } from '../../contracts/priority.ts';
import { ProcessExecutor } from '../executor.ts';
import { AGENT_NODE, digest, digestCommand } from './digest.ts';
import { digestDumpFile } from './dump.ts';
import { mediaManifest } from './media.ts';

const dir = mkdtempSync(join(tmpdir(), 'tp-digest-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const MAIN = fileURLToPath(new URL('./digest-main.ts', import.meta.url));

test('a digest is a Node process of its own at the lowest priority, run as the agent runs Node', () => {
  const node = ['/usr/bin/node', '--import', '/opt/triplane/node_modules/tsx/dist/loader.mjs'];
  assert.deepEqual(
    digestCommand({ kind: 'dump', path: '/b/staging/database.sql', database: 'store' }, node).argv,
    [...hostLowestPriority(), ...node, MAIN, 'dump', '/b/staging/database.sql', 'store'],
  );
  assert.deepEqual(digestCommand({ kind: 'media', root: '/b/restore/media' }, node).argv, [
    ...hostLowestPriority(),
    ...node,
    MAIN,
    'media',
    '/b/restore/media',
  ]);
  // By default the agent's own executable and flags, so the TypeScript loader comes along.
  assert.deepEqual(digestCommand({ kind: 'media', root: '/m' }).argv.slice(hostLowestPriority().length, -3), [
    process.execPath,
    ...process.execArgv,
  ]);
  assert.deepEqual(AGENT_NODE, [process.execPath, ...process.execArgv]);
});

test('the digest process gives the same digest as one taken in-process', async () => {
  const dump = join(dir, 'database.sql');
  writeFileSync(
    dump,
    [
      '-- Table structure for table `orders`',
      'CREATE TABLE `orders` (`id` int);',
      'INSERT INTO `orders` VALUES (1);',
      'INSERT INTO `orders` VALUES (2);',
      '-- Dump completed',
      '',
    ].join('\n'),
  );
  const media = join(dir, 'media');
  mkdirSync(join(media, 'catalog'), { recursive: true });
  writeFileSync(join(media, 'catalog/a.jpg'), 'jpeg');
  const ex = new ProcessExecutor();

  const d = await digest(ex, { kind: 'dump', path: dump, database: 'store' });
  assert.deepEqual(d, await digestDumpFile(dump, 'store'));
  assert.equal(d.tables.orders?.rows, 2);
  assert.equal(d.complete, true);

  const m = await digest(ex, { kind: 'media', root: media });
  assert.deepEqual(m, await mediaManifest(media));
  assert.equal(m.files, 1);
});

test('a digest that fails says why, and the command fails', async () => {
  await assert.rejects(
    digest(new ProcessExecutor(), { kind: 'media', root: join(dir, 'missing') }),
    (e: Error & { stderr?: string }) => {
      assert.match(e.stderr ?? '', /^digest: .*ENOENT.*missing/);
      return true;
    },
  );
});
