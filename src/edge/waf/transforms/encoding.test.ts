import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Transformation } from '../types.ts';
import {
  base64Decode,
  base64DecodeExt,
  base64Encode,
  hexDecode,
  hexEncode,
  sqlHexDecode,
} from './encoding.ts';

// Expected values were checked against libmodsecurity 3.0.9 itself.

const rows: [string, Transformation, string, string][] = [
  ['base64Decode decodes', base64Decode, 'QUJD', 'ABC'],
  ['base64Decode decodes padding', base64Decode, 'QUJDRA==', 'ABCD'],
  ['base64Decode drops a partial group', base64Decode, 'QUJDRA', 'ABC'],
  ['base64Decode allows line breaks', base64Decode, 'QUJD\r\nRA==', 'ABCD'],
  ['base64Decode allows spaces at the end', base64Decode, 'QUJD  ', 'ABC'],
  ['base64Decode fails on a space inside a line', base64Decode, 'QU JD', ''],
  ['base64Decode fails on a byte outside the alphabet', base64Decode, 'QUJD*', ''],
  ['base64Decode fails on more than two =', base64Decode, 'QUJDRA====', ''],
  ['base64Decode fails on data after =', base64Decode, 'QUJD=x', ''],
  ['base64Decode stops at a NUL', base64Decode, 'QUJD\0QUJD', 'ABC'],
  ['base64Decode decodes the empty string', base64Decode, '', ''],
  ['base64DecodeExt decodes a partial group', base64DecodeExt, 'QUJDRA', 'ABCD'],
  ['base64DecodeExt skips bytes outside the alphabet', base64DecodeExt, 'Q U*J.D', 'ABC'],
  ['base64DecodeExt ignores = inside the data', base64DecodeExt, 'QU=JD', 'ABC'],
  ['base64DecodeExt gives nothing for = after 4k+1 characters', base64DecodeExt, 'Q=', ''],
  ['base64DecodeExt gives nothing when 4k+1 characters end in 9', base64DecodeExt, 'QUJD9', ''],
  ['base64DecodeExt does not read the URL-safe alphabet', base64DecodeExt, '-_-_', ''],
  ['base64DecodeExt decodes', base64DecodeExt, 'Zm9vYmFy', 'foobar'],
  ['base64Encode encodes with padding', base64Encode, '\0\xff', 'AP8='],
  ['base64Encode encodes', base64Encode, 'foobar', 'Zm9vYmFy'],
  ['hexDecode decodes pairs', hexDecode, '414243', 'ABC'],
  ['hexDecode drops an odd last digit', hexDecode, '41424', 'AB'],
  ['hexDecode accepts both cases', hexDecode, '4a4A', 'JJ'],
  ['hexDecode does not check digits, like ModSecurity', hexDecode, 'zz', 'S'],
  ['hexEncode encodes in lower case', hexEncode, 'AB\0\xff', '414200ff'],
  ['sqlHexDecode decodes 0x runs (and drops the last byte)', sqlHexDecode, '0x414243 x', 'ABC '],
  ['sqlHexDecode decodes a run at the end', sqlHexDecode, 'SELECT 0x41', 'SELECT A'],
  ['sqlHexDecode keeps a digit left after the pairs', sqlHexDecode, '0x414', 'A4'],
  ['sqlHexDecode accepts 0X and keeps the byte after a run', sqlHexDecode, '0X41z', 'Az'],
  ['sqlHexDecode keeps 0x without digits', sqlHexDecode, '0xZZ 0x', '0xZZ 0'],
  ['sqlHexDecode drops the last byte of plain text', sqlHexDecode, 'abc', 'ab'],
  ['sqlHexDecode stops at a decoded NUL', sqlHexDecode, '0x410042z', 'A'],
  ['sqlHexDecode stops at a NUL', sqlHexDecode, 'a\0bcd', 'a'],
];
for (const [what, f, input, want] of rows) {
  test(what, () => assert.equal(f(input), want));
}
