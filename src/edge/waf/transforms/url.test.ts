import assert from 'node:assert/strict';
import { test } from 'node:test';
import { urlDecode, urlDecodeUni, urlEncode, utf8toUnicode } from './url.ts';

// Expected values were checked against libmodsecurity 3.0.9 itself.

const urlDecodeRows: [string, string, string][] = [
  ['decodes %XX and turns + into a space', 'a%20b+c', 'a b c'],
  ['accepts both cases of hex digits', '%41%4a%4A', 'AJJ'],
  ['keeps a % at the end', '100%', '100%'],
  ['keeps invalid and truncated escapes as they are', '%zz%4', '%zz%4'],
  ['goes on right after an invalid %', '%4g%%41', '%4g%A'],
  ['decodes NUL and high bytes', '%00x%ff', '\0x\xff'],
  ['leaves %u alone', '%u0041', '%u0041'],
];
for (const [what, input, want] of urlDecodeRows) {
  test(`urlDecode ${what}`, () => assert.equal(urlDecode(input), want));
}

const urlDecodeUniRows: [string, string, string][] = [
  ['decodes %uXXXX (either case of u) to its low byte', '%u0041%U0042', 'AB'],
  ['shifts full-width ASCII by 0x20, but only FF01–FF5E', '%uff21%uFF5E%uff5f%uff00', 'A~_\0'],
  ['keeps the low byte of any other code point (no unicode map)', '%u4e41', 'A'],
  ['keeps a truncated %u escape', '%u12', '%u12'],
  ['keeps a %u escape with bad digits', '%u00zz', '%u00zz'],
  ['decodes %XX and + like urlDecode', 'a+%2F%zz', 'a /%zz'],
  ['keeps a lone %u', '%u', '%u'],
];
for (const [what, input, want] of urlDecodeUniRows) {
  test(`urlDecodeUni ${what}`, () => assert.equal(urlDecodeUni(input), want));
}

test('urlEncode keeps letters, digits and * and encodes the rest in lower-case hex', () => {
  assert.equal(urlEncode('a b*c/\xe9~'), 'a+b*c%2f%e9%7e');
  assert.equal(urlEncode('abcXYZ019*'), 'abcXYZ019*');
});

const utf8Rows: [string, string, string][] = [
  ['encodes a two-byte sequence', 'caf\xc3\xa9', 'caf%u00e9'],
  ['encodes a three-byte sequence', '\xe2\x82\xac', '%u20ac'],
  ['encodes a four-byte sequence with five digits', '\xf0\x9f\x98\x80', '%u1f600'],
  ['keeps ASCII', 'plain ascii', 'plain ascii'],
  ['drops NUL bytes', 'a\0b', 'ab'],
  ['drops a lead byte without its continuation', '\xc3x', 'x'],
  ['drops a lead byte at the end', '\xc3', ''],
  ['encodes an overlong form and appends its lead byte', '\xc0\xaf', '%u002f\xc0'],
  ['encodes a surrogate and appends its lead byte', '\xed\xa0\x80', '%ud800\xed'],
  ['keeps bytes that cannot start a sequence', '\xff\x80', '\xff\x80'],
  ['copies a lead byte above 0xF4 before its encoding', '\xf5\x80\x80\x80', '\xf5%u140000'],
];
for (const [what, input, want] of utf8Rows) {
  test(`utf8toUnicode ${what}`, () => assert.equal(utf8toUnicode(input), want));
}
