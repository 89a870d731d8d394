import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Transformation } from '../types.ts';
import { removeComments, removeCommentsChar, replaceComments } from './comments.ts';

// Expected values were checked against libmodsecurity 3.0.9 itself.

const rows: [string, Transformation, string, string][] = [
  ['replaceComments turns a comment into a space', replaceComments, 'a/*b*/c', 'a c'],
  ['replaceComments turns an unterminated comment into a space', replaceComments, 'a/*b', 'a '],
  [
    'replaceComments does not end a comment on the star that opened it',
    replaceComments,
    '/**/x/*/y*/z',
    ' x z',
  ],
  ['replaceComments keeps a stray comment end', replaceComments, 'a*/b', 'a*/b'],
  ['removeComments removes a C comment', removeComments, 'a/*b*/c', 'ac'],
  ['removeComments leaves a NUL for a comment that ends the value', removeComments, 'a/*b*/', 'a\0'],
  ['removeComments turns an unterminated comment into a space', removeComments, 'a/*b', 'a '],
  ['removeComments removes an HTML comment', removeComments, 'a<!--b-->c', 'ac'],
  ['removeComments cuts at --', removeComments, 'select 1 -- x', 'select 1 '],
  ['removeComments cuts at #', removeComments, 'select 1 # x', 'select 1 '],
  ['removeComments copies the byte after a comment unread', removeComments, 'a/**//*b*/c', 'a/*b*/c'],
  ['removeComments keeps text without comments', removeComments, 'no comment here', 'no comment here'],
  ['removeCommentsChar removes every comment token', removeCommentsChar, 'a/*b*/c<!--d-->e--f#g', 'abcdefg'],
  ['removeCommentsChar prefers --> to --', removeCommentsChar, '--->', '->'],
  ['removeCommentsChar does not reuse the star of /*', removeCommentsChar, '/*/', '/'],
];
for (const [what, f, input, want] of rows) {
  test(what, () => assert.equal(f(input), want));
}
