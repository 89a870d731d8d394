import assert from 'node:assert/strict';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { IMAGES, IMAGES_DIR, imageHashes, imageRef } from './catalogue.ts';
import { hashImageDir } from './hash.ts';

const scratch = mkdtempSync(join(tmpdir(), 'triplane-hash-test-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** A fresh copy of an image folder with two files, one of them in a subfolder. */
function imageDir(name: string): string {
  const dir = join(scratch, name);
  mkdirSync(join(dir, 'conf'), { recursive: true });
  writeFileSync(join(dir, 'Containerfile'), 'FROM x\n');
  writeFileSync(join(dir, 'conf', 'a.conf'), 'a = 1\n');
  return dir;
}

test('the hash is stable for the same files and parent', () => {
  const dir = imageDir('stable');
  assert.equal(hashImageDir(dir, 'p'), hashImageDir(dir, 'p'));
  assert.match(hashImageDir(dir, 'p'), /^[0-9a-f]{64}$/);
});

test('the hash changes when a file in a subfolder changes', () => {
  const dir = imageDir('edit');
  const before = hashImageDir(dir, 'p');
  writeFileSync(join(dir, 'conf', 'a.conf'), 'a = 2\n');
  assert.notEqual(hashImageDir(dir, 'p'), before);
});

test('the hash changes when a file is added or renamed', () => {
  const dir = imageDir('add');
  const before = hashImageDir(dir, 'p');
  writeFileSync(join(dir, 'conf', 'b.conf'), 'a = 1\n');
  const added = hashImageDir(dir, 'p');
  rmSync(join(dir, 'conf', 'a.conf'));
  assert.notEqual(added, before);
  assert.notEqual(hashImageDir(dir, 'p'), before);
});

test('the hash changes when a file loses its executable bit', () => {
  const dir = imageDir('mode');
  chmodSync(join(dir, 'Containerfile'), 0o755);
  const before = hashImageDir(dir, 'p');
  chmodSync(join(dir, 'Containerfile'), 0o644);
  assert.notEqual(hashImageDir(dir, 'p'), before);
});

test('the hash changes with the parent hash and with the recipe', () => {
  const dir = imageDir('parent');
  assert.notEqual(hashImageDir(dir, 'p1'), hashImageDir(dir, 'p2'));
  assert.notEqual(hashImageDir(dir, null), hashImageDir(dir, 'p1'));
  assert.notEqual(hashImageDir(dir, null, 'mmdebstrap a'), hashImageDir(dir, null, 'mmdebstrap b'));
});

test('a change to the base folder changes every image hash, php-fpm changes only cron besides itself', () => {
  const copy = join(scratch, 'images');
  cpSync(IMAGES_DIR, copy, { recursive: true });
  const before = imageHashes(copy);
  writeFileSync(join(copy, 'php-fpm', 'extra.ini'), 'x = 1\n');
  const afterPhp = imageHashes(copy);
  const changed = IMAGES.filter((s) => afterPhp.get(s.name) !== before.get(s.name)).map((s) => s.name);
  assert.deepEqual(changed, ['php-fpm', 'cron']);

  writeFileSync(join(copy, 'base', 'NOTE'), 'rebuild\n');
  const afterBase = imageHashes(copy);
  for (const spec of IMAGES) assert.notEqual(afterBase.get(spec.name), afterPhp.get(spec.name), spec.name);
});

test('imageRef names the image by the first 12 characters of its hash', () => {
  const hash = imageHashes().get('redis')!;
  assert.equal(imageRef('redis'), `localhost/triplane/redis:${hash.slice(0, 12)}`);
});

test('the catalogue lists every parent before its children and has a folder per image', () => {
  const seen = new Set<string>();
  for (const spec of IMAGES) {
    if (spec.parent) assert.ok(seen.has(spec.parent), `${spec.name} comes before its parent ${spec.parent}`);
    seen.add(spec.name);
  }
  assert.deepEqual(
    [...imageHashes().keys()],
    IMAGES.map((s) => s.name),
  );
});
