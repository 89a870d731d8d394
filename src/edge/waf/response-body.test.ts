import assert from 'node:assert/strict';
import { test } from 'node:test';
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { inspectedBody } from './response-body.ts';

const PAGE = Buffer.from(`<html><body>${'<p>Red dress, size M</p>'.repeat(200)}</body></html>`, 'latin1');

test('an uncompressed body is inspected up to the limit, byte for byte', async () => {
  assert.deepEqual(await inspectedBody(PAGE, true, undefined, 1 << 20), {
    text: PAGE.toString('latin1'),
    partial: false,
  });
  assert.deepEqual(await inspectedBody(PAGE, true, 'identity', 10), { text: '<html><bod', partial: true });
  assert.equal((await inspectedBody(PAGE.subarray(0, 100), false, undefined, 1000)).partial, true);
});

test('gzip, zlib deflate, raw deflate and br bodies are inspected decompressed', async () => {
  for (const [coding, data] of [
    ['gzip', gzipSync(PAGE)],
    ['x-gzip', gzipSync(PAGE)],
    ['deflate', deflateSync(PAGE)],
    ['deflate', deflateRawSync(PAGE)],
    ['br', brotliCompressSync(PAGE)],
  ] as const) {
    assert.deepEqual(
      await inspectedBody(data, true, coding, 1 << 20),
      { text: PAGE.toString('latin1'), partial: false },
      coding,
    );
  }
});

test('a compression bomb is read no further than the limit', async () => {
  const bomb = gzipSync(Buffer.alloc(64 << 20, 'a'));
  assert.ok(bomb.length < 100_000);
  const r = await inspectedBody(bomb, true, 'gzip', 4096);
  assert.equal(r.text, 'a'.repeat(4096));
  assert.equal(r.partial, true);
});

test('the start of a compressed body that goes on is decoded as far as it reaches', async () => {
  const data = gzipSync(PAGE);
  const r = await inspectedBody(data.subarray(0, Math.floor(data.length / 2)), false, 'gzip', 1 << 20);
  assert.ok(r.text.length > 0 && PAGE.toString('latin1').startsWith(r.text), 'a prefix of the page');
  assert.equal(r.partial, true);
});

test('a corrupt compressed body yields what decoded before the damage; an unknown coding is kept as is', async () => {
  const broken = Buffer.concat([gzipSync(PAGE).subarray(0, 40), Buffer.alloc(200, 0xff)]);
  const r = await inspectedBody(broken, true, 'gzip', 1 << 20);
  assert.ok(PAGE.toString('latin1').startsWith(r.text));
  const zstd = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 1, 2, 3]);
  assert.deepEqual(await inspectedBody(zstd, true, 'zstd', 100), {
    text: zstd.toString('latin1'),
    partial: false,
  });
});
