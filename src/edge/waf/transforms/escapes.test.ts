import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cssDecode, escapeSeqDecode, htmlEntityDecode, jsDecode } from './escapes.ts';

// Expected values were checked against libmodsecurity 3.0.9 itself.

const htmlRows: [string, string, string][] = [
  ['decodes hex, decimal and named entities (NBSP is 0xA0)', '&#x41;&#65;&lt;&nbsp;', 'AA<\xa0'],
  ['decodes entities without the trailing semicolon', '&#x41&#65&lt&gt&quot&amp', 'AA<>"&'],
  ['matches entity names case-insensitively', '&LT;&Amp;&QUOT;', '<&"'],
  ['keeps entities it does not know', '&copy; &foo;bar', '&copy; &foo;bar'],
  ['keeps entities without digits or name', '&#;&#x;&;&', '&#;&#x;&;&'],
  ['keeps a truncated numeric entity', '&#', '&#'],
  ['keeps a truncated hex entity', '&#x', '&#x'],
  ['keeps the low byte of a large code point', '&#321;&#x141;', 'AA'],
  ['gives 0xFF for a number that overflows a long', '&#99999999999999999999;', '\xff'],
  ['overflows hex above 0x7FFFFFFFFFFFFFFF only', '&#x8000000000000041;&#x7fffffffffffff41;', '\xffA'],
  ['ignores leading zeros', '&#0000000000000000000000065;', 'A'],
  ['decodes an entity right after a lone &', '&&lt;', '&<'],
  ['keeps a lone & in text', 'AT&T', 'AT&T'],
];
for (const [what, input, want] of htmlRows) {
  test(`htmlEntityDecode ${what}`, () => assert.equal(htmlEntityDecode(input), want));
}

const jsRows: [string, string, string][] = [
  ['decodes \\xHH, \\uHHHH and octal', '\\x41\\u0041\\101', 'AAA'],
  ['keeps the low byte of \\u, shifting full-width ASCII', '\\uff21\\u4e41', 'AA'],
  ['decodes the C letters', '\\a\\b\\f\\n\\r\\t\\v', '\x07\b\f\n\r\t\x0b'],
  ['drops the backslash before any other character', '\\\'\\"\\\\\\z', '\'"\\z'],
  ['reads three octal digits only when they fit one byte', '\\477\\377\\8', "'7\xff8"],
  ['reads short octal escapes', '\\0\\07x', '\0\x07x'],
  ['treats upper-case U and X as plain letters', '\\U0041\\X41', 'U0041X41'],
  ['drops the backslash of a truncated \\x', '\\x4', 'x4'],
  ['drops the backslash of a truncated \\u', '\\u004', 'u004'],
  ['keeps a trailing backslash', 'abc\\', 'abc\\'],
];
for (const [what, input, want] of jsRows) {
  test(`jsDecode ${what}`, () => assert.equal(jsDecode(input), want));
}

const cssRows: [string, string, string][] = [
  ['decodes hex escapes and eats one whitespace after them', '\\41\\041\\0041 x', 'AAAx'],
  ['decodes a single hex digit', '\\a', '\n'],
  ['shifts full-width ASCII for 4 digits, or 5–6 with leading zeros', '\\ff21\\0ff21\\00ff21', 'AAA'],
  ['does not shift 5 digits without a leading zero', '\\1ff21', '!'],
  ['reads at most 6 hex digits and keeps the last two', '\\4142434445', 'C4445'],
  ['drops an escaped newline', 'a\\\nb', 'ab'],
  ['turns \\C into C', '\\g\\\\', 'g\\'],
  ['drops a trailing backslash', 'trailing\\', 'trailing'],
  ['eats a tab after a hex escape', '\\41\tx', 'Ax'],
  ['stops at a decoded NUL', 'ja\\0vascript', 'ja'],
  ['stops at a NUL of the input', 'a\0b', 'a'],
];
for (const [what, input, want] of cssRows) {
  test(`cssDecode ${what}`, () => assert.equal(cssDecode(input), want));
}

const escapeRows: [string, string, string][] = [
  ['decodes the ANSI C escapes', '\\n\\t\\\\\\?\\\'\\"', '\n\t\\?\'"'],
  ['decodes \\x and \\X, and drops the backslash of an invalid one', '\\x41\\X42\\xZZ', 'ABxZZ'],
  ['decodes octal modulo 256', '\\101\\777\\0', 'A\xff\0'],
  ['drops the backslash of an unknown escape and keeps a trailing one', '\\q\\', 'q\\'],
];
for (const [what, input, want] of escapeRows) {
  test(`escapeSeqDecode ${what}`, () => assert.equal(escapeSeqDecode(input), want));
}
