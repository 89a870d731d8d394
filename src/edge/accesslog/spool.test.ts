import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { toNdjson } from './sink.ts';
import { Spool } from './spool.ts';
import { ids, record, records, tempDir } from './testing.ts';

const LINE = Buffer.byteLength(toNdjson([record(0)]));

test('writes the prefix of a batch that fits as one segment and says how many records it took', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const spool = new Spool(dir, LINE * 5);
    await spool.open();
    assert.equal(await spool.append(records(0, 3)), 3);
    assert.equal(await spool.append(records(3, 6)), 2);
    assert.equal(await spool.append(records(6, 7)), 0);
    assert.equal(spool.records, 5);
    assert.equal(spool.bytes, LINE * 5);
    assert.deepEqual(await readdir(dir), ['spool-000000000001-3.ndjson', 'spool-000000000002-2.ndjson']);
    assert.equal(await readFile(join(dir, 'spool-000000000002-2.ndjson'), 'utf8'), toNdjson(records(3, 5)));
  } finally {
    await cleanup();
  }
});

test('opens segments of a previous run oldest first, continues their numbering and removes temp files', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    await writeFile(join(dir, 'spool-000000000010-1.ndjson'), toNdjson([record(10)]));
    await writeFile(join(dir, 'spool-000000000002-2.ndjson'), toNdjson(records(2, 4)));
    await writeFile(join(dir, 'spool-000000000011-1.ndjson.tmp'), '{"half');
    await writeFile(join(dir, 'notes.txt'), 'not a segment');
    const spool = new Spool(dir, 1 << 20);
    await spool.open();
    assert.equal(spool.records, 3);
    assert.equal(spool.oldest()?.seq, 2);
    assert.equal(await spool.append([record(11)]), 1);
    assert.deepEqual((await readdir(dir)).sort(), [
      'notes.txt',
      'spool-000000000002-2.ndjson',
      'spool-000000000010-1.ndjson',
      'spool-000000000011-1.ndjson',
    ]);
  } finally {
    await cleanup();
  }
});

test('reads a segment back in order, counting lines that are not JSON, and removes it', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    await writeFile(join(dir, 'spool-000000000001-3.ndjson'), `${toNdjson(records(0, 2))}{"torn\n`);
    const spool = new Spool(dir, 1 << 20);
    await spool.open();
    const seg = spool.oldest()!;
    const content = await spool.read(seg);
    assert.deepEqual(ids(content.records), ['r-000000', 'r-000001']);
    assert.equal(content.corrupt, 1);
    await spool.remove(seg);
    assert.equal(spool.oldest(), undefined);
    assert.equal(spool.records, 0);
    assert.equal(spool.bytes, 0);
    assert.deepEqual(await readdir(dir), []);
  } finally {
    await cleanup();
  }
});

test('fails with TP_ACCESSLOG_SPOOL_IO when the directory cannot be created', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    await writeFile(join(dir, 'file'), '');
    const spool = new Spool(join(dir, 'file', 'spool'), 1024);
    await assert.rejects(spool.open(), { code: 'TP_ACCESSLOG_SPOOL_IO' });
  } finally {
    await cleanup();
  }
});
