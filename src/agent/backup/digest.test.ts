import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { getPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { BACKUP_NICENESS } from './commands.ts';
import { digestInThread } from './digest.ts';
import { digestDumpFile } from './dump.ts';
import { mediaManifest } from './media.ts';

const dir = mkdtempSync(join(tmpdir(), 'tp-digest-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a digest in the thread equals the one taken in-process, and its thread ran at backup priority', async () => {
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

  const before = getPriority();
  const d = await digestInThread({ kind: 'dump', path: dump, database: 'store' });
  assert.deepEqual(d.result, await digestDumpFile(dump, 'store'));
  assert.equal(d.result.tables.orders?.rows, 2);
  assert.equal(d.niceness, BACKUP_NICENESS);

  const m = await digestInThread({ kind: 'media', root: media });
  assert.deepEqual(m.result, await mediaManifest(media));
  assert.equal(m.result.files, 1);
  assert.equal(m.niceness, BACKUP_NICENESS);
  // Only the digest's thread: the agent's main thread keeps its priority.
  assert.equal(getPriority(), before);
});

test("a digest that fails in the thread rejects with the thread's error", async () => {
  await assert.rejects(digestInThread({ kind: 'media', root: join(dir, 'missing') }), /ENOENT/);
});
