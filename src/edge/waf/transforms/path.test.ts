import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normalizePath, normalizePathWin } from './path.ts';

// Expected values were checked against libmodsecurity 3.0.9 itself.

const rows: [string, string, string][] = [
  ['collapses /./, // and /../', '/a/./b//c/../d', '/a/b/d'],
  ['does not go above the root of an absolute path', '/../../etc/passwd', '/etc/passwd'],
  ['keeps the .. a relative path cannot resolve', 'a/../../b', '../b'],
  ['drops a leading ./ and keeps a trailing slash', './a/./b/', 'a/b/'],
  ['resolves a final ..', '/a/b/..', '/a'],
  ['collapses leading and inner slash runs', '//a///b', '/a/b'],
  ['drops a final /.', 'a/b/.', 'a/b'],
  ['turns . into the empty string', '.', ''],
  ['keeps ..', '..', '..'],
  ['keeps the root', '/', '/'],
  ['leaves backslashes alone', 'a\\..\\b', 'a\\..\\b'],
  ['keeps the trailing slash after a resolved ..', '/a/b/../', '/a/'],
  ['keeps a leading ..', '../a', '../a'],
  ['ends at .. when a relative path climbs out', 'a/b/../../..', '..'],
  ['keeps a segment of three dots', '...', '...'],
];
for (const [what, input, want] of rows) {
  test(`normalizePath ${what}`, () => assert.equal(normalizePath(input), want));
}

const winRows: [string, string, string][] = [
  ['turns backslashes into slashes and resolves . and ..', 'C:\\a\\..\\b\\.\\c', 'C:/b/c'],
  ['collapses a UNC prefix like any slash run', '\\\\server\\share\\..\\x', '/server/x'],
  ['mixes both separators and keeps a trailing one', 'a\\b/c\\', 'a/b/c/'],
  ['keeps leading .. of a relative path', '..\\..\\windows\\win.ini', '../../windows/win.ini'],
];
for (const [what, input, want] of winRows) {
  test(`normalizePathWin ${what}`, () => assert.equal(normalizePathWin(input), want));
}
