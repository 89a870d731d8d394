import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { compareMedia, mediaManifest } from './media.ts';

const dir = mkdtempSync(join(tmpdir(), 'tp-media-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a media manifest lists every regular file with size and checksum, links not followed', async () => {
  mkdirSync(join(dir, 'catalog/product'), { recursive: true });
  writeFileSync(join(dir, 'catalog/product/a.jpg'), 'jpeg bytes');
  writeFileSync(join(dir, 'b.txt'), '');
  symlinkSync('/etc/passwd', join(dir, 'escape'));
  const m = await mediaManifest(dir);
  assert.equal(m.files, 2);
  assert.equal(m.bytes, 10);
  assert.deepEqual(
    m.entries.map((e) => e.path),
    ['b.txt', 'catalog/product/a.jpg'],
  );
  assert.equal(m.entries[1]!.sha256, createHash('sha256').update('jpeg bytes').digest('hex'));

  writeFileSync(join(dir, 'catalog/product/a.jpg'), 'jpeg bytez');
  writeFileSync(join(dir, 'new.png'), 'png');
  rmSync(join(dir, 'b.txt'));
  assert.deepEqual(compareMedia(m, await mediaManifest(dir)), [
    'media b.txt: missing from the restore',
    "media catalog/product/a.jpg: checksum differs from the backup's",
    "media new.png: restored but not in the backup's manifest",
  ]);
  assert.deepEqual(compareMedia(m, m), []);
  const many = { files: 30, bytes: 0, entries: m.entries.slice(0, 1) };
  const lots = Array.from({ length: 30 }, (_, i) => ({ path: `f${i}`, size: 0, sha256: '0'.repeat(64) }));
  const listed = compareMedia({ files: 30, bytes: 0, entries: lots }, many, 5);
  assert.equal(listed.length, 6);
  assert.equal(listed[5], 'media: 26 more differences');
});
