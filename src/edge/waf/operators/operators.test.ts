import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { OperatorCompileContext, OperatorContext } from '../types.ts';
import { compileOperator, lookupOperator, operatorNames, WafOperatorError } from './index.ts';
import {
  COMPARE_CASES,
  IP_CASES,
  type OracleCase,
  PM_CASES,
  RX_CASES,
  VALIDATE_CASES,
} from './testdata/modsecurity-cases.ts';

const ctx: OperatorCompileContext = {
  baseDir: join(import.meta.dirname, 'testdata', 'data'),
  loc: { file: '/etc/triplane/waf/rules.conf', line: 42 },
};
const noMacros: OperatorContext = { expand: (t) => t };

/** Compiles `@name param` as a rule would write it. */
function op(text: string) {
  const m = /^@(\w+) ?(.*)$/s.exec(text);
  assert.ok(m, `bad operator text ${text}`);
  return compileOperator({ name: m[1]!, negated: false, param: m[2]! }, ctx);
}

function runCases(title: string, cases: readonly OracleCase[]): void {
  describe(`${title} (results checked against libmodsecurity 3.0.9)`, () => {
    for (const c of cases) {
      test(c.why, () => {
        const r = op(c.op).run(c.value, noMacros);
        assert.equal(r.matched, c.matched, `${c.op} on ${JSON.stringify(c.value)}`);
        if (c.captures) assert.deepEqual(r.captures?.slice(0, c.captures.length), c.captures);
      });
    }
  });
}

runCases('@rx', RX_CASES);
runCases('@pm and @pmFromFile', PM_CASES);
runCases('string and number comparisons', COMPARE_CASES);
runCases('@validate…', VALIDATE_CASES);
runCases('@ipMatch and @ipMatchFromFile', IP_CASES);

describe('operator names', () => {
  test('lists every operator the brief asks for', () => {
    for (const name of [
      'rx',
      'pm',
      'pmFromFile',
      'pmf',
      'detectSQLi',
      'detectXSS',
      'validateByteRange',
      'validateUrlEncoding',
      'validateUtf8Encoding',
      'within',
      'streq',
      'strmatch',
      'beginsWith',
      'endsWith',
      'contains',
      'containsWord',
      'eq',
      'ge',
      'gt',
      'le',
      'lt',
      'ipMatch',
      'ipMatchFromFile',
      'ipMatchF',
      'unconditionalMatch',
      'noMatch',
    ]) {
      assert.ok(operatorNames.includes(name), name);
    }
  });

  test('looks names up without regard to case', () => {
    assert.equal(lookupOperator('PMFROMFILE'), 'pmFromFile');
    assert.equal(lookupOperator('detectsqli'), 'detectSQLi');
    assert.equal(lookupOperator('Rx'), 'rx');
    assert.equal(lookupOperator('rbl'), undefined);
  });

  test('compiles an operator written in another case', () => {
    const o = compileOperator({ name: 'BEGINSWITH', negated: false, param: 'ab' }, ctx);
    assert.equal(o.name, 'beginsWith');
    assert.equal(o.run('abc', noMacros).matched, true);
  });
});

describe('compile errors', () => {
  const failures: Array<[string, string, RegExp]> = [
    ['an unknown operator', '@rbl sbl.example', /@rbl: unknown or unsupported operator/],
    ['a regex PCRE refuses', '@rx (a', /missing closing parenthesis/],
    ['a class range that starts with a class', '@rx [\\d-z]', /invalid range in character class/],
    ['a variable-length lookbehind', '@rx (?<=a+)b', /lookbehind assertion is not fixed length/],
    ['a stacked quantifier', '@rx x{2}{3}', /quantifier does not follow a repeatable item/],
    ['a backreference to a missing group', '@rx (a)(?P=x)', /non-existent subpattern/],
    ['PCRE syntax with no JS equivalent', '@rx a\\K', /unsupported escape \\K/],
    ['branch reset groups', '@rx (?|a)', /unsupported group syntax/],
    ['a missing data file', '@pmFromFile missing.data', /cannot read .*missing\.data/],
    ['a remote data file', '@pmFromFile https://example.com/list', /remote lists are not supported/],
    ['an IP block with prefix length 0', '@ipMatch 0.0.0.0/0', /invalid prefix length/],
    ['an IP list with spaces', '@ipMatch 1.2.3.4, 5.6.7.8', /" 5.6.7.8" is not an IP address/],
    ['an IPv6 address with an explicit /128', '@ipMatch ::1/128', /"::1\/128" is not an IP address/],
    ['a byte range beyond 255', '@validateByteRange 1-300', /not a byte value 0-255/],
    ['a byte range out of order', '@validateByteRange 9-1', /ends before it starts/],
  ];
  for (const [what, text, message] of failures) {
    test(`fails on ${what} with a coded error naming file:line and operator`, () => {
      assert.throws(
        () => op(text),
        (e: unknown) => {
          assert.ok(e instanceof WafOperatorError);
          assert.equal(e.code, 'TP_WAF_OPERATOR');
          assert.match(e.message, /^\/etc\/triplane\/waf\/rules\.conf:42: @\w+: /);
          assert.match(e.message, message);
          return true;
        },
      );
    });
  }
});

describe('macros', () => {
  const tx = (vars: Record<string, string>): OperatorContext => ({
    expand: (t) => t.replace(/%\{tx\.(\w+)\}/g, (_, k: string) => vars[k] ?? ''),
  });

  test('a static parameter gives a static operator', () => {
    assert.equal(op('@lt 5').dynamic, false);
    assert.equal(op('@rx ^a').dynamic, false);
  });

  test('@lt %{tx.x} expands the macro on every call', () => {
    const o = op('@lt %{tx.max}');
    assert.equal(o.dynamic, true);
    assert.equal(o.run('3', tx({ max: '5' })).matched, true);
    assert.equal(o.run('3', tx({ max: '2' })).matched, false);
  });

  test('@within %{tx.allowed_methods} reads the configured list', () => {
    const o = op('@within %{tx.allowed_methods}');
    const c = tx({ allowed_methods: 'GET HEAD POST OPTIONS' });
    assert.equal(o.run('POST', c).matched, true);
    assert.equal(o.run('DELETE', c).matched, false);
  });

  test('@rx with a macro compiles the expanded pattern (cached per text)', () => {
    const o = op('@rx ^%{tx.charset}$');
    assert.equal(o.dynamic, true);
    assert.equal(o.run('utf-8', tx({ charset: 'utf-8|iso-8859-1' })).matched, true);
    assert.equal(o.run('latin1', tx({ charset: 'utf-8|iso-8859-1' })).matched, false);
  });

  test('@rx with a macro that expands to an invalid pattern does not match', () => {
    assert.equal(op('@rx %{tx.p}').run('(', tx({ p: '(' })).matched, false);
  });

  test('@pm does not expand macros (ModSecurity passes its parameter raw)', () => {
    const o = op('@pm %{tx.x}');
    assert.equal(o.dynamic, false);
    assert.equal(o.run('a %{tx.x} b', tx({ x: 'y' })).matched, true);
  });
});

describe('special parameters', () => {
  test('an empty @rx always matches', () => {
    assert.equal(
      compileOperator({ name: 'rx', negated: false, param: '' }, ctx).run('x', noMacros).matched,
      true,
    );
  });

  test('the result is not negated by the operator; the engine applies !', () => {
    const o = compileOperator({ name: 'streq', negated: true, param: 'a' }, ctx);
    assert.equal(o.run('a', noMacros).matched, true);
  });

  test('@unconditionalMatch and @noMatch ignore the value', () => {
    assert.equal(op('@unconditionalMatch').run('', noMacros).matched, true);
    assert.equal(op('@noMatch').run('anything', noMacros).matched, false);
  });

  test('@detectXSS captures the whole value and @detectSQLi the fingerprint', () => {
    assert.deepEqual(op('@detectXSS').run('<script>alert(1)</script>', noMacros).captures, [
      '<script>alert(1)</script>',
    ]);
    assert.deepEqual(op('@detectSQLi').run("1' or '1'='1", noMacros).captures, ['s&sos']);
  });
});
