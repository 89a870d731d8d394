import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, test } from 'node:test';
import type { ActionRef, Directive, SecActionDirective, SecRuleDirective } from '../types.ts';
import { WafLoadError, type WafLoadProblem } from './errors.ts';
import { crsFiles, loadRuleFiles } from './load.ts';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'tp-seclang-'));
  dirs.push(d);
  return d;
}

/** GIVEN files with these texts in a fresh directory, in this order. */
function given(...texts: string[]): string[] {
  const dir = tempDir();
  return texts.map((text, i) => {
    const path = join(dir, `rules-${i + 1}.conf`);
    writeFileSync(path, text);
    return path;
  });
}

/** WHEN the files are loaded, THEN loading fails; the problems it lists. */
function loadProblems(files: string[]): readonly WafLoadProblem[] {
  try {
    loadRuleFiles(files);
  } catch (e) {
    assert.ok(e instanceof WafLoadError, `expected WafLoadError, got ${e}`);
    return e.problems;
  }
  assert.fail('expected loading to fail');
}

test('lists the CRS files in the order of owasp-crs.load, rules sorted by name', () => {
  const setupDir = tempDir();
  const rulesDir = tempDir();
  for (const name of [
    'crs-setup.conf',
    'REQUEST-900-EXCLUSION-RULES-BEFORE-CRS.conf',
    'RESPONSE-999-EXCLUSION-RULES-AFTER-CRS.conf',
  ]) {
    writeFileSync(join(setupDir, name), '');
  }
  for (const name of [
    'RESPONSE-950-X.conf',
    'REQUEST-920-X.conf',
    'REQUEST-903.9001-X.conf',
    'lfi-os-files.data',
    'REQUEST-901-X.conf',
  ]) {
    writeFileSync(join(rulesDir, name), '');
  }
  assert.deepEqual(crsFiles({ setupDir, rulesDir }), [
    join(setupDir, 'crs-setup.conf'),
    join(setupDir, 'REQUEST-900-EXCLUSION-RULES-BEFORE-CRS.conf'),
    join(rulesDir, 'REQUEST-901-X.conf'),
    join(rulesDir, 'REQUEST-903.9001-X.conf'),
    join(rulesDir, 'REQUEST-920-X.conf'),
    join(rulesDir, 'RESPONSE-950-X.conf'),
    join(setupDir, 'RESPONSE-999-EXCLUSION-RULES-AFTER-CRS.conf'),
  ]);
});

test('leaves out the exclusion files when absent but always lists crs-setup.conf', () => {
  const setupDir = tempDir();
  const rulesDir = tempDir();
  writeFileSync(join(rulesDir, 'REQUEST-901-X.conf'), '');
  assert.deepEqual(crsFiles({ setupDir, rulesDir }), [
    join(setupDir, 'crs-setup.conf'),
    join(rulesDir, 'REQUEST-901-X.conf'),
  ]);
});

test('fails with TP_WAF_FILE when the rules directory cannot be listed', () => {
  const rulesDir = join(tempDir(), 'missing');
  assert.throws(
    () => crsFiles({ setupDir: tempDir(), rulesDir }),
    (e: unknown) => e instanceof WafLoadError && e.code === 'TP_WAF_FILE' && e.problems[0]?.file === rulesDir,
  );
});

test('reads files in the given order, locating each directive by absolute path', () => {
  const [a, b] = given('SecMarker A1\nSecMarker A2', 'SecMarker B1');
  const got = loadRuleFiles([relative(process.cwd(), b!), a!]);
  assert.deepEqual(got, [
    { kind: 'SecMarker', loc: { file: b, line: 1 }, name: 'B1' },
    { kind: 'SecMarker', loc: { file: a, line: 1 }, name: 'A1' },
    { kind: 'SecMarker', loc: { file: a, line: 2 }, name: 'A2' },
  ]);
});

test('fails with every unreadable file and every parse problem of every file at once', () => {
  const [bad1, bad2] = given('SecFoo 1\nSecAction "id:1,"', 'SecRule ARGS "@rx');
  const missing = join(tempDir(), 'nope.conf');
  const problems = loadProblems([bad1!, missing, bad2!]);
  assert.deepEqual(
    problems.map((p) => [p.code, p.file, p.line, p.directive]),
    [
      ['TP_WAF_UNSUPPORTED_DIRECTIVE', bad1, 1, 'SecFoo'],
      ['TP_WAF_SYNTAX', bad1, 2, 'SecAction'],
      ['TP_WAF_FILE', missing, 0, ''],
      ['TP_WAF_SYNTAX', bad2, 1, 'SecRule'],
    ],
  );
  assert.match(problems[2]!.message, /ENOENT/);
});

// Each row: the files' texts → the problems, as [code, file number, line, directive, message].
type Expected = [WafLoadProblem['code'], number, number, string, string];
const structural: [string, string[], Expected[]][] = [
  [
    'a chain at the end of a file',
    ['SecRule ARGS "@rx a" "id:1,chain"'],
    [['TP_WAF_CHAIN', 1, 1, 'SecRule', 'chain of rule 1 is not followed by a SecRule']],
  ],
  [
    'a chain followed by a SecMarker',
    [
      [
        'SecRule ARGS "@rx a" "id:1,chain"',
        '  SecRule ARGS "@rx b" "chain"',
        'SecMarker M',
        'SecRule ARGS "@rx c" "id:2"',
      ].join('\n'),
    ],
    [['TP_WAF_CHAIN', 1, 2, 'SecRule', 'chain of rule 1 is not followed by a SecRule']],
  ],
  [
    'a chain that would continue into the next file',
    ['SecRule ARGS "@rx a" "id:1,chain"', 'SecRule ARGS "@rx b" "t:none"'],
    [
      ['TP_WAF_CHAIN', 1, 1, 'SecRule', 'chain of rule 1 is not followed by a SecRule'],
      ['TP_WAF_RULE_ID', 2, 1, 'SecRule', 'rule has no id'],
    ],
  ],
  [
    'an id used twice, across files',
    ['SecRule ARGS "@rx a" "id:942100"', 'SecAction "id:942100,pass"'],
    [['TP_WAF_RULE_ID', 2, 1, 'SecAction', 'duplicate rule id 942100 (first at {1}:1)']],
  ],
  [
    'rules without id',
    ['SecRule ARGS "@rx a" "phase:1,pass"\nSecAction "pass"\nSecRule ARGS "@rx a"'],
    [
      ['TP_WAF_RULE_ID', 1, 1, 'SecRule', 'rule has no id'],
      ['TP_WAF_RULE_ID', 1, 2, 'SecAction', 'rule has no id'],
      ['TP_WAF_RULE_ID', 1, 3, 'SecRule', 'rule has no id'],
    ],
  ],
  [
    'ids that are not positive integers, or two ids',
    ['SecAction "id:abc"\nSecAction "id:0"\nSecAction "id:1,id:2"'],
    [
      ['TP_WAF_RULE_ID', 1, 1, 'SecAction', 'id must be a positive integer, got "abc"'],
      ['TP_WAF_RULE_ID', 1, 2, 'SecAction', 'id must be a positive integer, got "0"'],
      ['TP_WAF_RULE_ID', 1, 3, 'SecAction', 'rule has more than one id'],
    ],
  ],
  [
    'a chain link with its own id or phase',
    ['SecRule ARGS "@rx a" "id:1,chain"\nSecRule ARGS "@rx b" "id:2,phase:1"'],
    [
      ['TP_WAF_CHAIN', 1, 2, 'SecRule', 'chained rule of 1 cannot have its own id'],
      ['TP_WAF_CHAIN', 1, 2, 'SecRule', 'chained rule of 1 cannot have its own phase'],
    ],
  ],
  [
    'chain on a SecAction',
    ['SecAction "id:1,chain"'],
    [['TP_WAF_CHAIN', 1, 1, 'SecAction', 'chain is only supported on SecRule']],
  ],
];
for (const [behaviour, texts, expected] of structural) {
  test(`fails on ${behaviour}`, () => {
    const files = given(...texts);
    const problems = loadProblems(files);
    assert.deepEqual(
      problems,
      expected.map(([code, n, line, directive, message]) => ({
        code,
        file: files[n - 1],
        line,
        directive,
        message: message.replace('{1}', files[0]!),
      })),
    );
  });
}

test('reports every structural problem at once, in file order', () => {
  const files = given('SecAction "pass"\nSecRule ARGS "@rx a" "id:5,chain"', 'SecAction "id:5"');
  assert.deepEqual(
    loadProblems(files).map((p) => p.code),
    ['TP_WAF_RULE_ID', 'TP_WAF_CHAIN', 'TP_WAF_RULE_ID'],
  );
});

test('accepts rules without phase and chain links without id', () => {
  const files = given(
    'SecRule ARGS "@rx a" "id:1,chain"\n  SecRule ARGS "@rx b" "t:none"\nSecAction "id:2,pass"',
  );
  const got = loadRuleFiles(files);
  assert.equal(got.length, 2);
});

// --- Debian's CRS, as installed by the modsecurity-crs package ---

const SETUP_DIR = '/etc/modsecurity/crs';
const RULES_DIR = '/usr/share/modsecurity-crs/rules';
const MISSING =
  "Debian's CRS files are missing: install the Debian package modsecurity-crs " +
  '(apt-get install modsecurity-crs); this test does not skip';

let crsCache: { files: string[]; directives: Directive[] } | undefined;
/** GIVEN Debian's CRS files, loaded once for all the tests below. */
function crs(): { files: string[]; directives: Directive[] } {
  assert.ok(existsSync(join(SETUP_DIR, 'crs-setup.conf')) && existsSync(RULES_DIR), MISSING);
  if (crsCache === undefined) {
    const files = crsFiles();
    crsCache = { files, directives: loadRuleFiles(files) };
  }
  return crsCache;
}

function ruleWithId(id: string): SecRuleDirective | SecActionDirective {
  const found = crs().directives.find(
    (d) =>
      (d.kind === 'SecRule' || d.kind === 'SecAction') &&
      d.actions.some((a) => a.name === 'id' && a.value === id),
  );
  assert.ok(
    found !== undefined && (found.kind === 'SecRule' || found.kind === 'SecAction'),
    `rule ${id} not found`,
  );
  return found;
}

function secRule(id: string): SecRuleDirective {
  const r = ruleWithId(id);
  assert.equal(r.kind, 'SecRule');
  return r as SecRuleDirective;
}

/** The lines of a file that httpd would not skip as comments, read without the parser. */
function activeLines(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => !/^\s*#/.test(l));
}

test("loads Debian's CRS 3.3.4 with zero problems, in owasp-crs.load order", () => {
  const { files, directives } = crs();
  assert.equal(files[0], join(SETUP_DIR, 'crs-setup.conf'));
  assert.equal(files.at(-1), join(SETUP_DIR, 'RESPONSE-999-EXCLUSION-RULES-AFTER-CRS.conf'));
  assert.equal(files.filter((f) => f.startsWith(`${RULES_DIR}/`)).length, 32);
  assert.deepEqual(
    directives.filter((d) => d.kind === 'config').map((d) => [d.name, d.args]),
    [
      ['SecCollectionTimeout', ['600']],
      ['SecComponentSignature', ['OWASP_CRS/3.3.4']],
    ],
  );
});

test("counts of Debian's CRS match counts taken from the raw text", () => {
  const { files, directives } = crs();
  const lines = files.flatMap(activeLines);
  const count = (re: RegExp) => lines.reduce((n, l) => n + (l.match(re)?.length ?? 0), 0);
  const rules = directives.filter((d): d is SecRuleDirective => d.kind === 'SecRule');
  const links = rules.reduce((n, r) => n + r.chain.length, 0);
  const kinds = (k: Directive['kind']) => directives.filter((d) => d.kind === k).length;

  // Every top-level SecRule and SecAction carries one `id:`; chain links carry none.
  assert.equal(rules.length + kinds('SecAction'), count(/\bid:\d+/g));
  assert.equal(rules.length + links, count(/^\s*SecRule\s/g));
  assert.equal(links, count(/(?<=^\s*"?|,)\s*chain\s*(?=[,"\\]|$)/g));
  assert.equal(kinds('SecAction'), count(/^\s*SecAction\b/g));
  assert.equal(kinds('SecMarker'), count(/^\s*SecMarker\s/g));
  assert.equal(kinds('SecDefaultAction'), 2);
  // The figures of this Debian release, so a parser that drops rules cannot pass by agreeing with itself.
  assert.deepEqual([rules.length, links, kinds('SecAction'), kinds('SecMarker')], [624, 166, 10, 40]);
});

test("every skipAfter in Debian's CRS names one of its 40 SecMarkers", () => {
  const { directives } = crs();
  const markers = new Set(directives.flatMap((d) => (d.kind === 'SecMarker' ? [d.name] : [])));
  assert.equal(markers.size, 40);
  assert.ok(markers.has('END-REQUEST-942-APPLICATION-ATTACK-SQLI'));
  const actionsOf = (d: Directive): readonly ActionRef[] =>
    d.kind === 'SecRule'
      ? [...d.actions, ...d.chain.flatMap((l) => l.actions)]
      : d.kind === 'SecAction'
        ? d.actions
        : [];
  const targets = directives.flatMap(actionsOf).filter((a) => a.name === 'skipafter');
  assert.ok(targets.length > 100);
  assert.deepEqual(
    targets.filter((a) => !markers.has(a.value ?? '')),
    [],
  );
});

const crsTags = (...extra: string[]): ActionRef[] => [
  { name: 'tag', value: 'application-multi' },
  { name: 'tag', value: 'language-multi' },
  { name: 'tag', value: 'platform-multi' },
  ...extra.map((value) => ({ name: 'tag', value })),
];

test('942100 parses exactly: @detectSQLi over the usual targets', () => {
  const r = secRule('942100');
  assert.deepEqual(r, {
    kind: 'SecRule',
    loc: { file: join(RULES_DIR, 'REQUEST-942-APPLICATION-ATTACK-SQLI.conf'), line: 46 },
    variables: [
      { collection: 'REQUEST_COOKIES', exclude: false, count: false },
      { collection: 'REQUEST_COOKIES', exclude: true, count: false, selector: { regex: '__utm' } },
      { collection: 'REQUEST_COOKIES_NAMES', exclude: false, count: false },
      { collection: 'REQUEST_HEADERS', exclude: false, count: false, selector: 'User-Agent' },
      { collection: 'REQUEST_HEADERS', exclude: false, count: false, selector: 'Referer' },
      { collection: 'ARGS_NAMES', exclude: false, count: false },
      { collection: 'ARGS', exclude: false, count: false },
      { collection: 'XML', exclude: false, count: false, selector: '/*' },
    ],
    operator: { name: 'detectSQLi', negated: false, param: '' },
    actions: [
      { name: 'id', value: '942100' },
      { name: 'phase', value: '2' },
      { name: 'block' },
      { name: 'capture' },
      { name: 't', value: 'none' },
      { name: 't', value: 'utf8toUnicode' },
      { name: 't', value: 'urlDecodeUni' },
      { name: 't', value: 'removeNulls' },
      { name: 'msg', value: 'SQL Injection Attack Detected via libinjection' },
      { name: 'logdata', value: 'Matched Data: %{TX.0} found within %{MATCHED_VAR_NAME}: %{MATCHED_VAR}' },
      ...crsTags('attack-sqli', 'paranoia-level/1', 'OWASP_CRS', 'capec/1000/152/248/66', 'PCI/6.5.2'),
      { name: 'ver', value: 'OWASP_CRS/3.3.4' },
      { name: 'severity', value: 'CRITICAL' },
      { name: 'multimatch' },
      { name: 'setvar', value: 'tx.anomaly_score_pl1=+%{tx.critical_anomaly_score}' },
      { name: 'setvar', value: 'tx.sql_injection_score=+%{tx.critical_anomaly_score}' },
    ],
    chain: [],
  });
});

test('941100 uses @detectXSS and 930120 reads lfi-os-files.data with @pmFromFile', () => {
  assert.deepEqual(secRule('941100').operator, { name: 'detectXSS', negated: false, param: '' });
  assert.ok(secRule('941100').actions.some((a) => a.name === 'ctl' && a.value === 'auditLogParts=+E'));
  const lfi = secRule('930120');
  assert.deepEqual(lfi.operator, { name: 'pmFromFile', negated: false, param: 'lfi-os-files.data' });
  assert.ok(existsSync(join(RULES_DIR, lfi.operator.param)));
  assert.deepEqual(
    lfi.actions.filter((a) => a.name === 't').map((a) => a.value),
    ['none', 'utf8toUnicode', 'urlDecodeUni', 'normalizePathWin', 'lowercase'],
  );
});

test('920100 keeps its negated request-line regex, and 920170 carries its chain', () => {
  const r = secRule('920100');
  assert.equal(r.operator.negated, true);
  assert.equal(r.operator.name, 'rx');
  assert.ok(
    r.operator.param.startsWith(String.raw`^(?i:(?:[a-z]{3,10}\s+(?:\w{3,7}?://[\w\-\./]*(?::\d+)?)?/[^?#]*`),
  );
  assert.ok(r.operator.param.endsWith(String.raw`|get /[^?#]*(?:\?[^#\s]*)?(?:#[\S]*)?)$`));
  const chained = secRule('920170');
  assert.deepEqual(chained.chain, [
    {
      kind: 'SecRule',
      loc: { file: join(RULES_DIR, 'REQUEST-920-PROTOCOL-ENFORCEMENT.conf'), line: 179 },
      variables: [
        { collection: 'REQUEST_HEADERS', exclude: false, count: false, selector: 'Content-Length' },
      ],
      operator: { name: 'rx', negated: true, param: '^0?$' },
      actions: [
        { name: 't', value: 'none' },
        { name: 'setvar', value: 'tx.anomaly_score_pl1=+%{tx.critical_anomaly_score}' },
      ],
      chain: [],
    },
  ]);
});

test('9002800 flattens its nested chain of four links with ctl:ruleRemoveTargetById', () => {
  const r = secRule('9002800');
  assert.deepEqual(
    r.chain.map((l) => [
      l.loc.line,
      l.variables.map((v) => `${v.count ? '&' : ''}${v.collection}:${v.selector}`),
      l.operator.name,
    ]),
    [
      [653, ['ARGS:option_page'], 'streq'],
      [656, ['&ARGS:option_page'], 'eq'],
      [659, ['ARGS:action'], 'streq'],
      [662, ['&ARGS:action'], 'eq'],
    ],
  );
  assert.deepEqual(
    r.chain[3]!.actions.filter((a) => a.name === 'ctl'),
    [
      { name: 'ctl', value: 'ruleRemoveTargetById=931130;ARGS:home' },
      { name: 'ctl', value: 'ruleRemoveTargetById=931130;ARGS:siteurl' },
    ],
  );
});

test('932100 gets its long regex with \\" unescaped and every other backslash kept', () => {
  const { param } = secRule('932100').operator;
  // Written in the file as: |\'.*\'|\".*\")\s+  and  [\\\\'\"]*(?:l[\\\\'\"]*(?:w[\\\\'\"]*p
  assert.ok(param.startsWith(String.raw`(?:;|\{|\||\|\||&|&&|\n|\r|\$\(|\$\(\(|`), param.slice(0, 80));
  assert.ok(param.includes(String.raw`|\'.*\'|".*")\s+|!\s*|\$)*\s*(?:'|")*`));
  assert.ok(param.includes(String.raw`[\\\\'"]*(?:l[\\\\'"]*(?:w[\\\\'"]*p[\\\\'"]*-`));
  assert.ok(!param.includes('\\"'), 'no \\" may remain');
  assert.ok(param.length > 1500);
});

test('901001 counts TX:crs_setup_version and 900990 in crs-setup.conf sets it', () => {
  const r = secRule('901001');
  assert.deepEqual(r.variables, [
    { collection: 'TX', exclude: false, count: true, selector: 'crs_setup_version' },
  ]);
  assert.deepEqual(r.operator, { name: 'eq', negated: false, param: '0' });
  const setup = ruleWithId('900990');
  assert.deepEqual(setup, {
    kind: 'SecAction',
    loc: { file: join(SETUP_DIR, 'crs-setup.conf'), line: setup.loc.line },
    actions: [
      { name: 'id', value: '900990' },
      { name: 'phase', value: '1' },
      { name: 'nolog' },
      { name: 'pass' },
      { name: 't', value: 'none' },
      { name: 'setvar', value: 'tx.crs_setup_version=334' },
    ],
  });
});

test('920460 and 954100 keep their doubled backslashes, as libmodsecurity3 compiles them', () => {
  // The file has "@rx (?:^|[^\\\\])\\\\[cdeghijklmpqwxyz123456789]"; under Apache, httpd would
  // turn each \\\\ into \\ before mod_security2 compiled it.
  assert.equal(secRule('920460').operator.param, String.raw`(?:^|[^\\\\])\\\\[cdeghijklmpqwxyz123456789]`);
  assert.equal(secRule('954100').operator.param, String.raw`[a-z]:\\\\inetpub\b`);
});

test('980 correlation keeps its triple-escaped TX regex selectors as written', () => {
  const selectors = crs()
    .directives.flatMap((d) => (d.kind === 'SecRule' ? [d, ...d.chain] : []))
    .flatMap((r) => r.variables)
    .filter((v) => v.collection === 'TX' && typeof v.selector === 'object')
    .map((v) => (typeof v.selector === 'object' ? v.selector.regex : ''));
  assert.ok(selectors.includes(String.raw`LEAKAGE\\\/ERRORS`), selectors.join(' '));
  assert.ok(selectors.includes(String.raw`AVAILABILITY\\\/APP_NOT_AVAIL`), selectors.join(' '));
  // As in libmodsecurity3, the regex wants a literal backslash, so it never sees CRS's TX keys.
  assert.ok(!/LEAKAGE\\\/ERRORS/.test('950100-OWASP_CRS/LEAKAGE/ERRORS-ARGS:x'));
});

test('the exclusion forms documented only in comments parse as expected when written out', () => {
  const [file] = given(
    [
      'SecRuleUpdateTargetById 942100 "!ARGS:password"',
      'SecRuleUpdateTargetByTag "attack-sqli" "!ARGS:foo"',
      'SecRuleRemoveById 942100',
      'SecRule REQUEST_FILENAME "@endsWith /login" \\',
      '    "id:1000,phase:2,pass,nolog,ctl:ruleRemoveTargetById=942100;ARGS:password"',
    ].join('\n'),
  );
  const got = loadRuleFiles([file!]);
  assert.deepEqual(
    got.map((d) => d.kind),
    ['SecRuleUpdateTargetById', 'SecRuleUpdateTargetByTag', 'SecRuleRemoveById', 'SecRule'],
  );
  assert.deepEqual((got[3] as SecRuleDirective).actions.at(-1), {
    name: 'ctl',
    value: 'ruleRemoveTargetById=942100;ARGS:password',
  });
});
