import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { detectSqli } from './libinjection/sqli.ts';
import { detectXss } from './libinjection/xss.ts';

/**
 * [value, SQLi fingerprint or null, XSS] for 2,400 inputs (fuzzed payloads and token soup with every
 * byte value), as libmodsecurity 3.0.9's bundled libinjection answered them.
 */
const CORPUS = JSON.parse(
  readFileSync(join(import.meta.dirname, 'testdata', 'libinjection-corpus.json'), 'latin1'),
) as Array<[string, string | null, boolean]>;

describe('libinjection SQLi', () => {
  const cases: Array<[string, string, string | null]> = [
    ['a tautology in a quoted context', "1' or '1'='1", 's&sos'],
    ['UNION SELECT after a number', '1 union select 1,2', '1UE1'],
    ['a stacked DROP statement', '1; DROP TABLE users', '1;Tnn'],
    ['a comment after a quote', "admin'--", 'sc'],
    ['a MySQL version comment (unparsable on purpose)', '1/*!union*/select', 'X'],
    ['a call to SLEEP', "1' and sleep(5)#", 's&f(1'],
    ['plain text', 'hello world', null],
    ['a name with an apostrophe', "O'Reilly", null],
    ['1 union alone (too common to flag)', '1 union', null],
    ['an e-mail address', 'john.doe@example.com', null],
    ['an empty value', '', null],
  ];
  for (const [what, input, fp] of cases) {
    test(`${fp ? 'flags' : 'passes'} ${what}${fp ? ` with fingerprint ${fp}` : ''}`, () => {
      const r = detectSqli(input);
      assert.equal(r.sqli, fp !== null);
      assert.equal(r.fingerprint, fp ?? '');
    });
  }

  test(`agrees with libmodsecurity on all ${CORPUS.length} corpus inputs, fingerprints included`, () => {
    const diffs = CORPUS.filter(([s, fp]) => {
      const r = detectSqli(s);
      return r.sqli !== (fp !== null) || (fp !== null && r.fingerprint !== fp);
    });
    assert.deepEqual(diffs, []);
    assert.ok(CORPUS.filter(([, fp]) => fp !== null).length > 500, 'corpus has SQLi positives');
  });
});

describe('libinjection XSS', () => {
  const cases: Array<[string, string, boolean]> = [
    ['a script tag', '<script>alert(1)</script>', true],
    ['an event handler attribute', '<img src=x onerror=alert(1)>', true],
    ['a javascript: URL with entities', '<a href="&#106;avascript:alert(1)">', true],
    ['a value that breaks out of an attribute', '" onmouseover="alert(1)', true],
    ['a doctype', '<!DOCTYPE html>', true],
    ['an SVG tag', '<svg/onload=alert(1)>', true],
    ['harmless markup', '<b>bold</b> and <i>italic</i>', false],
    ['a comparison in text', 'a < b and c > d', false],
    ['a link to a web page', '<a href="https://example.com/">x</a>', false],
  ];
  for (const [what, input, xss] of cases) {
    test(`${xss ? 'flags' : 'passes'} ${what}`, () => {
      assert.equal(detectXss(input), xss);
    });
  }

  test(`agrees with libmodsecurity on all ${CORPUS.length} corpus inputs`, () => {
    const diffs = CORPUS.filter(([s, , xss]) => detectXss(s) !== xss).map(([s]) => s);
    assert.deepEqual(diffs, []);
    assert.ok(CORPUS.filter(([, , xss]) => xss).length > 300, 'corpus has XSS positives');
  });
});
