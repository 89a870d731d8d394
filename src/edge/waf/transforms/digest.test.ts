import assert from 'node:assert/strict';
import { test } from 'node:test';
import { length, md5, sha1 } from './digest.ts';

const hex = (s: string): string => Buffer.from(s, 'latin1').toString('hex');

test('length counts bytes in decimal', () => {
  assert.equal(length('hello'), '5');
  assert.equal(length(''), '0');
  assert.equal(length('\xff\0'), '2');
});

test('md5 gives the raw 16-byte digest of the bytes', () => {
  assert.equal(md5('abc').length, 16);
  assert.equal(hex(md5('abc')), '900150983cd24fb0d6963f7d28e17f72');
});

test('sha1 gives the raw 20-byte digest of the bytes', () => {
  assert.equal(hex(sha1('abc')), 'a9993e364706816aba3e25717850c26c9cd0d89d');
  assert.equal(hex(sha1('')), 'da39a3ee5e6b4b0d3255bfef95601890afd80709');
  assert.equal(hex(sha1('\xff')), '85e53271e14006f0265921d02d4d736cdc580b0b');
});
