import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Transformation } from '../types.ts';
import {
  cmdLine,
  compressWhitespace,
  lowercase,
  parityEven7bit,
  parityOdd7bit,
  parityZero7bit,
  removeNulls,
  removeWhitespace,
  replaceNulls,
  trim,
  trimLeft,
  trimRight,
  uppercase,
} from './text.ts';

// Expected values were checked against libmodsecurity 3.0.9 itself.

const rows: [string, Transformation, string, string][] = [
  ['lowercase changes ASCII letters only', lowercase, 'ABC xyz \xc0\xd6', 'abc xyz \xc0\xd6'],
  ['uppercase changes ASCII letters only', uppercase, 'abc XYZ \xe0\xf6', 'ABC XYZ \xe0\xf6'],
  [
    'cmdLine deletes backslashes and lower-cases',
    cmdLine,
    'C:\\WINDOWS\\system32\\cmd.exe',
    'c:windowssystem32cmd.exe',
  ],
  ['cmdLine deletes quotes and carets', cmdLine, 'w"h\'o^a\\mi', 'whoami'],
  [
    'cmdLine collapses separators and drops the space before /',
    cmdLine,
    'cat  ,; /etc/passwd',
    'cat/etc/passwd',
  ],
  ['cmdLine drops the space before ( and collapses CR LF tab ;', cmdLine, 'echo (1)\t\r\n;x', 'echo(1) x'],
  ['cmdLine keeps a plain command', cmdLine, 'ls -la', 'ls -la'],
  ['cmdLine lower-cases ASCII only', cmdLine, '\xc0B', '\xc0b'],
  [
    'compressWhitespace collapses every kind of whitespace',
    compressWhitespace,
    'a \t\n\r\x0b\fb  c',
    'a b c',
  ],
  ['compressWhitespace keeps single spaces', compressWhitespace, 'a b c', 'a b c'],
  ['compressWhitespace leaves NBSP alone', compressWhitespace, 'a\xa0\xa0b', 'a\xa0\xa0b'],
  [
    'removeWhitespace removes whitespace and the bytes A0 and C2',
    removeWhitespace,
    ' a\tb\nc\xa0d\xc2e ',
    'abcde',
  ],
  ['removeWhitespace keeps other high bytes', removeWhitespace, '\xc3\xa9', '\xc3\xa9'],
  ['removeNulls removes NULs', removeNulls, 'a\0b\0', 'ab'],
  ['replaceNulls turns NULs into spaces', replaceNulls, 'a\0b\0', 'a b '],
  ['trim removes C whitespace at both ends', trim, ' \t\n\x0b\f\r a b \r\n', 'a b'],
  ['trim keeps NBSP', trim, '\xa0a\xa0', '\xa0a\xa0'],
  ['trimLeft trims the start only', trimLeft, '  a  ', 'a  '],
  ['trimRight trims the end only', trimRight, '  a  ', '  a'],
  ['parityEven7bit sets bit 7 on bytes of odd parity', parityEven7bit, 'ABC\xc1', 'AB\xc3\xc1'],
  ['parityOdd7bit sets bit 7 on bytes of even parity', parityOdd7bit, 'ABC\xc1', '\xc1\xc2CA'],
  ['parityZero7bit clears bit 7', parityZero7bit, 'ABC\xc1\xff', 'ABCA\x7f'],
];
for (const [what, f, input, want] of rows) {
  test(what, () => assert.equal(f(input), want));
}
