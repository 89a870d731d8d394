import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ActionRef, Directive, OperatorRef, SecRuleDirective, VariableRef } from '../types.ts';
import { CONFIG_DIRECTIVES } from './directives.ts';
import { WafLoadError, type WafLoadProblem } from './errors.ts';
import { parseSecLang } from './parse.ts';

const F = '/etc/triplane/waf/test.conf';

/** WHEN one directive is parsed, THEN exactly one comes back. */
function one(text: string): Directive {
  const got = parseSecLang(text, F);
  assert.equal(got.length, 1, `expected one directive from ${JSON.stringify(text)}`);
  return got[0]!;
}

function rule(text: string): SecRuleDirective {
  const d = one(text);
  assert.equal(d.kind, 'SecRule');
  return d as SecRuleDirective;
}

/** The problems of a text that must fail to parse. */
function problemsOf(text: string): readonly WafLoadProblem[] {
  try {
    parseSecLang(text, F);
  } catch (e) {
    assert.ok(e instanceof WafLoadError, `expected WafLoadError, got ${e}`);
    return e.problems;
  }
  assert.fail(`expected ${JSON.stringify(text)} to fail`);
}

const v = (collection: string, extra: Partial<VariableRef> = {}): VariableRef => ({
  collection,
  exclude: false,
  count: false,
  ...extra,
});

test('skips comments and blank lines and locates each directive on its first line', () => {
  const text = [
    '# a comment',
    '',
    '   # an indented comment',
    'SecMarker FIRST',
    '\t',
    'SecRule ARGS "@rx a" \\',
    '    "id:1,\\',
    '    phase:2"',
    'SecMarker LAST',
  ].join('\n');
  assert.deepEqual(parseSecLang(text, F), [
    { kind: 'SecMarker', loc: { file: F, line: 4 }, name: 'FIRST' },
    {
      kind: 'SecRule',
      loc: { file: F, line: 6 },
      variables: [v('ARGS')],
      operator: { name: 'rx', negated: false, param: 'a' },
      actions: [
        { name: 'id', value: '1' },
        { name: 'phase', value: '2' },
      ],
      chain: [],
    },
    { kind: 'SecMarker', loc: { file: F, line: 9 }, name: 'LAST' },
  ]);
});

test('reads CRLF files like LF files', () => {
  const got = parseSecLang('SecAction \\\r\n  "id:1,\\\r\n  pass"\r\nSecMarker M\r\n', F);
  assert.deepEqual(got, [
    { kind: 'SecAction', loc: { file: F, line: 1 }, actions: [{ name: 'id', value: '1' }, { name: 'pass' }] },
    { kind: 'SecMarker', loc: { file: F, line: 4 }, name: 'M' },
  ]);
});

test('joins a continued line without its indentation mattering between actions', () => {
  const r = rule('SecRule ARGS "@rx a" "id:1,\\\n        t:none,\\\n        t:lowercase"');
  assert.deepEqual(r.actions, [
    { name: 'id', value: '1' },
    { name: 't', value: 'none' },
    { name: 't', value: 'lowercase' },
  ]);
});

test('a comment ending in a backslash swallows the next line, as httpd does', () => {
  assert.deepEqual(parseSecLang('# SecRule ARGS "@rx a" \\\n    "id:1"\nSecMarker M', F), [
    { kind: 'SecMarker', loc: { file: F, line: 3 }, name: 'M' },
  ]);
});

// Each row: the operator argument as written in the file (inside double quotes) → the param the
// operator receives. Only \" is an escape; every other backslash stays, as in libmodsecurity3.
const quoting: [string, string, string][] = [
  ['keeps regex escapes such as \\d, \\s and \\.', String.raw`@rx ^\d+\s*\.php$`, String.raw`^\d+\s*\.php$`],
  ['turns \\" into a quote', String.raw`@rx \".*\"`, '".*"'],
  // mod_security2 under Apache would halve them to [a-z]:\\inetpub (RESPONSE-954, rule 954100).
  ['keeps \\\\ as written', String.raw`@rx [a-z]:\\\\inetpub\b`, String.raw`[a-z]:\\\\inetpub\b`],
  ["keeps \\' since single quotes do not delimit here", String.raw`@rx \'.*\'`, String.raw`\'.*\'`],
  ['reads \\\\\\" as a kept \\\\ then a quote', String.raw`@rx [\\\"]`, String.raw`[\\"]`],
  ['keeps \\\\x00 as written (rule 942440)', String.raw`@rx ;?\\x00`, String.raw`;?\\x00`],
  ['ends the string at a quote after a backslash pair', String.raw`@rx a\\`, String.raw`a\\`],
  ['keeps %{…} macros', '@ge %{tx.inbound_anomaly_score_threshold}', '%{tx.inbound_anomaly_score_threshold}'],
];
for (const [behaviour, written, param] of quoting) {
  test(`double-quoted operator ${behaviour}`, () => {
    assert.equal(rule(`SecRule ARGS "${written}" "id:1"`).operator.param, param);
  });
}

test('accepts single-quoted and unquoted arguments like httpd', () => {
  const r = rule(`SecRule ARGS '@rx a"b' id:1,pass`);
  assert.deepEqual(r.operator, { name: 'rx', negated: false, param: 'a"b' });
  assert.deepEqual(r.actions, [{ name: 'id', value: '1' }, { name: 'pass' }]);
});

test('keeps the backslashes of a quoted regex selector as written', () => {
  // RESPONSE-980 writes &TX:'/LEAKAGE\\\/ERRORS/'; libmodsecurity3 takes the text between '/ and /'
  // as the regex, unchanged (mod_security2 would unescape it twice, to LEAKAGE\/ERRORS).
  const r = rule(String.raw`SecRule &TX:'/LEAKAGE\\\/ERRORS/' "@ge 1" "id:1"`);
  assert.deepEqual(r.variables, [
    v('TX', { count: true, selector: { regex: String.raw`LEAKAGE\\\/ERRORS` } }),
  ]);
});

const variables: [string, string, VariableRef[]][] = [
  ['a plain collection', 'ARGS', [v('ARGS')]],
  ['upper-cases collection names', 'args|Request_Headers', [v('ARGS'), v('REQUEST_HEADERS')]],
  [
    'a key selector, case kept',
    'REQUEST_HEADERS:User-Agent',
    [v('REQUEST_HEADERS', { selector: 'User-Agent' })],
  ],
  [
    'an exclusion with a regex',
    '!REQUEST_COOKIES:/__utm/',
    [v('REQUEST_COOKIES', { exclude: true, selector: { regex: '__utm' } })],
  ],
  ['a count', '&TX:crs_setup_version', [v('TX', { count: true, selector: 'crs_setup_version' })]],
  ['a quoted regex', "&TX:'/^x|y$/'", [v('TX', { count: true, selector: { regex: '^x|y$' } })]],
  ['a quoted key that is not a regex, its | protected', "ARGS:'a|b'", [v('ARGS', { selector: 'a|b' })]],
  [
    'a regex containing | and escaped slashes',
    String.raw`ARGS:/a\/b|c/|ARGS_NAMES`,
    [v('ARGS', { selector: { regex: String.raw`a\/b|c` } }), v('ARGS_NAMES')],
  ],
  ['an XPath that merely starts with a slash', 'XML:/*|ARGS', [v('XML', { selector: '/*' }), v('ARGS')]],
  [
    'a key with brackets and dots',
    'ARGS:body[0][value]|ARGS:json.content',
    [v('ARGS', { selector: 'body[0][value]' }), v('ARGS', { selector: 'json.content' })],
  ],
  [
    'a CRS-sized list',
    'REQUEST_COOKIES|!REQUEST_COOKIES:/__utm/|REQUEST_COOKIES_NAMES|ARGS_NAMES|ARGS|XML:/*',
    [
      v('REQUEST_COOKIES'),
      v('REQUEST_COOKIES', { exclude: true, selector: { regex: '__utm' } }),
      v('REQUEST_COOKIES_NAMES'),
      v('ARGS_NAMES'),
      v('ARGS'),
      v('XML', { selector: '/*' }),
    ],
  ],
];
for (const [behaviour, written, expected] of variables) {
  test(`variables: ${behaviour}`, () => {
    assert.deepEqual(rule(`SecRule ${written} "@rx a" "id:1"`).variables, expected);
  });
}

const operators: [string, string, OperatorRef][] = [
  ['a bare pattern is @rx', '^(?:GET|HEAD)$', { name: 'rx', negated: false, param: '^(?:GET|HEAD)$' }],
  ['a negated bare pattern', '!^0?$', { name: 'rx', negated: true, param: '^0?$' }],
  [
    'a named operator with a parameter',
    '@pmFromFile lfi-os-files.data',
    { name: 'pmFromFile', negated: false, param: 'lfi-os-files.data' },
  ],
  [
    'a negated operator',
    '!@within %{tx.allowed_methods}',
    { name: 'within', negated: true, param: '%{tx.allowed_methods}' },
  ],
  ['an operator without parameter', '@detectSQLi', { name: 'detectSQLi', negated: false, param: '' }],
  ['a phrase list keeps its inner spaces', '@pm a  b c', { name: 'pm', negated: false, param: 'a  b c' }],
  ['a named @rx', '@rx ^\\w+$', { name: 'rx', negated: false, param: '^\\w+$' }],
  ['an empty pattern', '', { name: 'rx', negated: false, param: '' }],
];
for (const [behaviour, written, expected] of operators) {
  test(`operator: ${behaviour}`, () => {
    assert.deepEqual(rule(`SecRule ARGS "${written}" "id:1"`).operator, expected);
  });
}

const actions: [string, string, ActionRef[]][] = [
  [
    'bare actions, names lower-cased',
    'block,multiMatch,Capture',
    [{ name: 'block' }, { name: 'multimatch' }, { name: 'capture' }],
  ],
  ['a quoted setvar with a macro', "setvar:'tx.x=+%{tx.y}'", [{ name: 'setvar', value: 'tx.x=+%{tx.y}' }]],
  [
    'an unquoted setvar',
    'setvar:tx.crs_setup_version=334',
    [{ name: 'setvar', value: 'tx.crs_setup_version=334' }],
  ],
  [
    'a msg with commas and colons',
    "msg:'a, b: c',pass",
    [{ name: 'msg', value: 'a, b: c' }, { name: 'pass' }],
  ],
  [
    'a CRS logdata',
    "logdata:'Matched Data: %{TX.0} found within %{MATCHED_VAR_NAME}: %{MATCHED_VAR}'",
    [{ name: 'logdata', value: 'Matched Data: %{TX.0} found within %{MATCHED_VAR_NAME}: %{MATCHED_VAR}' }],
  ],
  [
    'ctl:ruleRemoveTargetById',
    'ctl:ruleRemoveTargetById=942100;ARGS:foo',
    [{ name: 'ctl', value: 'ruleRemoveTargetById=942100;ARGS:foo' }],
  ],
  [
    'ctl with a regex target',
    'ctl:ruleRemoveTargetByTag=OWASP_CRS;ARGS:/^x/',
    [{ name: 'ctl', value: 'ruleRemoveTargetByTag=OWASP_CRS;ARGS:/^x/' }],
  ],
  [
    'several transformations in order',
    't:none,t:urlDecodeUni,t:lowercase',
    [
      { name: 't', value: 'none' },
      { name: 't', value: 'urlDecodeUni' },
      { name: 't', value: 'lowercase' },
    ],
  ],
  [
    "\\' inside a quoted value, other backslashes kept",
    String.raw`msg:'prefix \'UP\' in C:\temp\\'`,
    [{ name: 'msg', value: String.raw`prefix 'UP' in C:\temp\\` }],
  ],
  [
    '\\" inside a quoted value (an escape of the enclosing double quotes)',
    String.raw`msg:'the \"magic number\" crash'`,
    [{ name: 'msg', value: 'the "magic number" crash' }],
  ],
  [
    'a quote inside an unquoted value protects its comma',
    "setvar:tx.x='a,b'",
    [{ name: 'setvar', value: "tx.x='a,b'" }],
  ],
  [
    'spaces around actions',
    ' id:1 , phase:2 ',
    [
      { name: 'id', value: '1' },
      { name: 'phase', value: '2' },
    ],
  ],
  ['an empty value', 'skipAfter:', [{ name: 'skipafter', value: '' }]],
];
for (const [behaviour, written, expected] of actions) {
  test(`actions: ${behaviour}`, () => {
    assert.deepEqual(one(`SecAction "${written}"`), {
      kind: 'SecAction',
      loc: { file: F, line: 1 },
      actions: expected,
    });
  });
}

test('a SecRule without an action list has no actions', () => {
  assert.deepEqual(rule('SecRule ARGS "@rx a"').actions, []);
});

const L = { file: F, line: 1 };
const directives: [string, string, Directive][] = [
  ['SecMarker', 'SecMarker END-REQUEST-942', { kind: 'SecMarker', loc: L, name: 'END-REQUEST-942' }],
  [
    'a quoted SecMarker',
    'SecMarker "END-REQUEST-942"',
    { kind: 'SecMarker', loc: L, name: 'END-REQUEST-942' },
  ],
  [
    'SecDefaultAction',
    'SecDefaultAction "phase:1,log,auditlog,pass"',
    {
      kind: 'SecDefaultAction',
      loc: L,
      actions: [{ name: 'phase', value: '1' }, { name: 'log' }, { name: 'auditlog' }, { name: 'pass' }],
    },
  ],
  [
    'SecRuleRemoveById with ids, ranges and a comma list',
    'SecRuleRemoveById 942100 920000-920999 "1,2"',
    { kind: 'SecRuleRemoveById', loc: L, args: ['942100', '920000-920999', '1', '2'] },
  ],
  [
    'SecRuleRemoveByTag',
    'SecRuleRemoveByTag "attack-injection-php"',
    { kind: 'SecRuleRemoveByTag', loc: L, args: ['attack-injection-php'] },
  ],
  [
    'SecRuleRemoveByMsg',
    'SecRuleRemoveByMsg "SQL Injection Attack"',
    { kind: 'SecRuleRemoveByMsg', loc: L, args: ['SQL Injection Attack'] },
  ],
  [
    'SecRuleUpdateTargetById',
    'SecRuleUpdateTargetById 942100 "!ARGS:password|!REQUEST_COOKIES:/^sess/"',
    {
      kind: 'SecRuleUpdateTargetById',
      loc: L,
      target: '942100',
      variables: [
        v('ARGS', { exclude: true, selector: 'password' }),
        v('REQUEST_COOKIES', { exclude: true, selector: { regex: '^sess' } }),
      ],
    },
  ],
  [
    'SecRuleUpdateTargetByTag',
    'SecRuleUpdateTargetByTag "attack-sqli" "!ARGS:foo"',
    {
      kind: 'SecRuleUpdateTargetByTag',
      loc: L,
      target: 'attack-sqli',
      variables: [v('ARGS', { exclude: true, selector: 'foo' })],
    },
  ],
  [
    'SecRuleUpdateTargetByMsg',
    'SecRuleUpdateTargetByMsg "Bad Thing" "!ARGS:foo"',
    {
      kind: 'SecRuleUpdateTargetByMsg',
      loc: L,
      target: 'Bad Thing',
      variables: [v('ARGS', { exclude: true, selector: 'foo' })],
    },
  ],
  [
    'SecRuleUpdateActionById',
    'SecRuleUpdateActionById 942100 "pass,nolog"',
    { kind: 'SecRuleUpdateActionById', loc: L, id: '942100', actions: [{ name: 'pass' }, { name: 'nolog' }] },
  ],
  [
    'a config directive',
    'SecComponentSignature "OWASP_CRS/3.3.4"',
    { kind: 'config', loc: L, name: 'SecComponentSignature', args: ['OWASP_CRS/3.3.4'] },
  ],
  [
    'a config directive with two arguments',
    'SecUnicodeMapFile unicode.mapping 20127',
    { kind: 'config', loc: L, name: 'SecUnicodeMapFile', args: ['unicode.mapping', '20127'] },
  ],
  [
    'a name in any case, reported canonically',
    'secruleengine DetectionOnly',
    { kind: 'config', loc: L, name: 'SecRuleEngine', args: ['DetectionOnly'] },
  ],
  [
    'SecAction in another case',
    'SECACTION "id:1"',
    { kind: 'SecAction', loc: L, actions: [{ name: 'id', value: '1' }] },
  ],
];
for (const [behaviour, text, expected] of directives) {
  test(`directive: ${behaviour}`, () => {
    assert.deepEqual(one(text), expected);
  });
}

test('keeps every known config directive as config', () => {
  for (const name of CONFIG_DIRECTIVES) {
    if (name === 'SecResponseBodyMimeTypesClear') continue;
    assert.deepEqual(one(`${name} x`), { kind: 'config', loc: L, name, args: ['x'] });
  }
});

test('SecResponseBodyMimeTypesClear takes no argument', () => {
  const name = 'SecResponseBodyMimeTypesClear';
  assert.deepEqual(one(name), { kind: 'config', loc: L, name, args: [] });
  assert.throws(() => one(`${name} text/html`), /expects no argument|expects 0/);
});

test('folds chained rules, nested chains flattened in order, into the starter', () => {
  const text = [
    'SecRule REQUEST_FILENAME "@endsWith /wp-admin/options.php" "id:9002800,phase:2,pass,chain"',
    '    SecRule ARGS:option_page "@streq general" "t:none,chain"',
    '        SecRule &ARGS:option_page "@eq 1" "t:none,chain"',
    '            SecRule ARGS:action "@streq update" "ctl:ruleRemoveTargetById=931130;ARGS:home"',
    'SecRule ARGS "@rx b" "id:2"',
  ].join('\n');
  const link = (
    line: number,
    variables: VariableRef[],
    operator: OperatorRef,
    actions: ActionRef[],
  ): SecRuleDirective => ({
    kind: 'SecRule',
    loc: { file: F, line },
    variables,
    operator,
    actions,
    chain: [],
  });
  assert.deepEqual(parseSecLang(text, F), [
    {
      ...link(
        1,
        [v('REQUEST_FILENAME')],
        { name: 'endsWith', negated: false, param: '/wp-admin/options.php' },
        [
          { name: 'id', value: '9002800' },
          { name: 'phase', value: '2' },
          { name: 'pass' },
          { name: 'chain' },
        ],
      ),
      chain: [
        link(
          2,
          [v('ARGS', { selector: 'option_page' })],
          { name: 'streq', negated: false, param: 'general' },
          [{ name: 't', value: 'none' }, { name: 'chain' }],
        ),
        link(
          3,
          [v('ARGS', { count: true, selector: 'option_page' })],
          { name: 'eq', negated: false, param: '1' },
          [{ name: 't', value: 'none' }, { name: 'chain' }],
        ),
        link(4, [v('ARGS', { selector: 'action' })], { name: 'streq', negated: false, param: 'update' }, [
          { name: 'ctl', value: 'ruleRemoveTargetById=931130;ARGS:home' },
        ]),
      ],
    },
    link(5, [v('ARGS')], { name: 'rx', negated: false, param: 'b' }, [{ name: 'id', value: '2' }]),
  ]);
});

test('leaves a chain open when a non-SecRule follows, for the structural check to report', () => {
  const got = parseSecLang('SecRule ARGS "@rx a" "id:1,chain"\nSecMarker M\nSecRule ARGS "@rx b" "id:2"', F);
  assert.deepEqual(
    got.map((d) => (d.kind === 'SecRule' ? `${d.kind}:${d.chain.length}` : d.kind)),
    ['SecRule:0', 'SecMarker', 'SecRule:0'],
  );
});

test('fails with every problem of the file at once, each naming file, line and directive', () => {
  const text = [
    'SecRule ARGS "@rx a" "id:1"',
    'SecFoo bar',
    'SecRule ARGS|| "@rx a" "id:2"',
    'SecRule ARGS "@rx a" "id:3,msg:\'x"',
    'SecRule ARGS "@rx a',
    'SecAction',
    '# fine',
    'SecRule ARGS:\'/x "@ bogus" "id:4,,deny"',
    'Include other.conf',
  ].join('\n');
  let error: unknown;
  try {
    parseSecLang(text, F);
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof WafLoadError);
  assert.equal(error.code, 'TP_WAF_UNSUPPORTED_DIRECTIVE');
  const p = (
    code: WafLoadProblem['code'],
    line: number,
    directive: string,
    message: string,
  ): WafLoadProblem => ({
    code,
    file: F,
    line,
    directive,
    message,
  });
  assert.deepEqual(error.problems, [
    p('TP_WAF_UNSUPPORTED_DIRECTIVE', 2, 'SecFoo', 'unsupported directive'),
    p('TP_WAF_SYNTAX', 3, 'SecRule', 'invalid variable at "|"'),
    p('TP_WAF_SYNTAX', 4, 'SecRule', "missing closing ' in actions: 'x"),
    p('TP_WAF_SYNTAX', 5, 'SecRule', 'missing closing " in "@rx a'),
    p('TP_WAF_SYNTAX', 6, 'SecAction', 'expects 1 argument, got 0'),
    p('TP_WAF_SYNTAX', 8, 'SecRule', "missing closing ' in '/x"),
    p('TP_WAF_SYNTAX', 8, 'SecRule', 'invalid operator "@ bogus"'),
    p('TP_WAF_SYNTAX', 8, 'SecRule', 'empty action (two commas in a row, or a trailing comma)'),
    p('TP_WAF_UNSUPPORTED_DIRECTIVE', 9, 'Include', 'unsupported directive'),
  ]);
  assert.match(error.message, /^waf configuration failed to load \(9 problems\)\n/);
  assert.ok(error.message.includes(`\n  ${F}:2 SecFoo: unsupported directive`), error.message);
  assert.ok(error.message.includes(`\n  ${F}:6 SecAction: expects 1 argument, got 0`), error.message);
});

const failures: [string, string, string][] = [
  [
    'an unterminated single-quoted action value',
    'SecAction "id:1,msg:\'oops"',
    "missing closing ' in actions: 'oops",
  ],
  [
    'text after a closing quote',
    'SecAction "id:1,msg:\'a\'b"',
    "unexpected text after closing quote in 'a'b",
  ],
  ['an invalid action name', 'SecAction "id:1,9lives"', 'invalid action name "9lives"'],
  ['an empty selector', 'SecRule ARGS: "@rx a" "id:1"', 'empty selector after ":" in ARGS:'],
  [
    'junk after a regex selector',
    'SecRule ARGS:\'/a/\'x "@rx a" "id:1"',
    'unexpected "x" after variable in ARGS:\'/a/\'x',
  ],
  ['both ! and &', 'SecRule !&ARGS "@rx a" "id:1"', 'invalid variable at "!&ARGS"'],
  [
    'a SecRule with too many arguments',
    'SecRule ARGS "@rx a" "id:1" extra',
    'expects 2 to 3 arguments, got 4',
  ],
  ['a replacement target', 'SecRuleUpdateTargetById 1 "ARGS:a" "ARGS:b"', 'expects 2 arguments, got 3'],
  [
    'a bad id to remove',
    'SecRuleRemoveById 12a',
    'expected rule ids or ranges like 942100 or 942100-942199, got 12a',
  ],
  [
    'a bad id to update',
    'SecRuleUpdateTargetById abc "!ARGS:a"',
    'expected a rule id like 942100, got "abc"',
  ],
  ['a bad id for actions', 'SecRuleUpdateActionById 1-2 "pass"', 'expected a rule id like 942100, got "1-2"'],
  ['a config directive without value', 'SecRuleEngine', 'expects at least 1 argument, got 0'],
  ['an empty marker', 'SecMarker ""', 'empty marker name'],
];
for (const [behaviour, text, message] of failures) {
  test(`fails on ${behaviour}`, () => {
    const [only, ...rest] = problemsOf(text);
    assert.deepEqual(rest, []);
    assert.equal(only?.code, 'TP_WAF_SYNTAX');
    assert.equal(only?.line, 1);
    assert.equal(only?.message, message);
  });
}
