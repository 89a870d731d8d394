import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PcreTranslateError, translatePcre } from './pcre.ts';
import { CompiledPattern } from './rx.ts';

/** Runs a pattern the way `@rx` does and returns [matched, TX.0…]. */
function run(pattern: string, value: string): [boolean, ...string[]] {
  const r = new CompiledPattern(pattern).exec(value);
  return [r.matched, ...(r.captures ?? [])];
}

describe('PCRE to JavaScript translation', () => {
  test('uses the JS i flag when the whole pattern is caseless', () => {
    const t = translatePcre('(?i)select\\s+from');
    assert.equal(t.flags, 'i');
    assert.equal(t.source, 'select[\\x09-\\x0d\\x20]+from');
  });

  test('uses the i flag when case-sensitive parts cannot tell case anyway', () => {
    assert.equal(translatePcre('^\\d+(?i:abc)[a-zA-Z_]').flags, 'i');
  });

  test('expands letters instead when only part of the pattern is caseless', () => {
    const t = translatePcre('(?i:a)b');
    assert.equal(t.flags, '');
    assert.equal(t.source, '(?:[Aa])b');
  });

  test('expands letters when the i flag would fold Latin-1 letters PCRE keeps apart', () => {
    const t = translatePcre('(?i)caf\xe9');
    assert.equal(t.flags, '');
    assert.equal(run('(?i)caf\xe9', 'CAF\xe9')[0], true);
    assert.equal(run('(?i)caf\xe9', 'caf\xc9')[0], false);
  });

  test('expandCase avoids the i flag except for caseless backreferences', () => {
    assert.equal(translatePcre('(?i)select', { expandCase: true }).flags, '');
    assert.equal(translatePcre('(?i)select', { expandCase: true }).source, '[Ss][Ee][Ll][Ee][Cc][Tt]');
    assert.equal(translatePcre('(?i)(a)\\1', { expandCase: true }).flags, 'i');
  });

  test('refuses a caseless backreference in a pattern that is not caseless throughout', () => {
    assert.throws(() => translatePcre('(?i:(a)\\1)b'), PcreTranslateError);
  });

  test('writes a second, lookaround-free source for values without a newline', () => {
    const t = translatePcre('^a$');
    assert.equal(t.source, '(?:^|(?<=\\n)(?!$))a(?=\\n|$)');
    assert.equal(t.simpleSource, '^a$');
    assert.equal(translatePcre('a.b').simpleSource, undefined);
  });

  test('keeps PCRE group numbers around atomic helper groups', () => {
    const t = translatePcre('(?>(a)+)(b)');
    assert.deepEqual(t.groupIndex, [0, 2, 3]);
    assert.deepEqual(run('(?>(a)+)(b)', 'aab'), [true, 'aab', 'a', 'b']);
  });

  test('numbers named groups like plain ones', () => {
    assert.deepEqual(run('(?<x>a)(?P<y>b)\\k<x>(?P=y)', 'abab'), [true, 'abab', 'a', 'b']);
  });

  test('treats \\10 as a backreference only when there are ten groups', () => {
    assert.deepEqual(run('(a)\\10', 'a\x08'), [true, 'a\x08', 'a']);
    assert.equal(run('(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)\\10', 'abcdefghijj')[0], true);
  });

  test('(?U) swaps greedy and lazy quantifiers', () => {
    assert.deepEqual(run('(?U)a+', 'aaa'), [true, 'a']);
    assert.deepEqual(run('(?U)a+?', 'aaa'), [true, 'aaa']);
  });

  test('(?x) ignores white space and comments outside classes', () => {
    assert.deepEqual(run('(?x) a [ ] b # comment', 'a b'), [true, 'a b']);
  });

  test('(?i) set inside a group lasts to the end of the group, across branches', () => {
    assert.equal(run('(?:x(?i)y|z)Q', 'Zq')[0], false);
    assert.equal(run('(?:x(?i)y|z)Q', 'ZQ')[0], true);
  });

  test('\\R matches CRLF as one newline', () => {
    assert.deepEqual(run('a\\Rb', 'a\r\nb'), [true, 'a\r\nb']);
  });

  test('a negated class also matches newlines and Latin-1 bytes', () => {
    assert.deepEqual(run('[^a]+', '\n\xe9'), [true, '\n\xe9']);
  });

  const refused: Array<[string, string]> = [
    ['recursion', '(a(?R)?)'],
    ['subroutine calls', '(a)(?1)'],
    ['conditionals', '(a)?(?(1)b|c)'],
    ['backtracking verbs', '(*SKIP)a'],
    ['Unicode properties', '\\p{L}'],
    ['\\K', 'a\\Kb'],
    ['an unknown letter escape', '\\i'],
    ['an unterminated class', '[abc'],
    ['a quantifier without an item', '*a'],
    ['a quantified assertion', '^*a'],
    ['\\x{} above 0xFF', '\\x{100}'],
  ];
  for (const [what, pattern] of refused) {
    test(`refuses ${what}`, () => {
      assert.throws(() => translatePcre(pattern), PcreTranslateError);
    });
  }
});
