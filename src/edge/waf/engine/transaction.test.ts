import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileOperator } from '../operators/index.ts';
import { parseSecLang } from '../seclang/parse.ts';
import { transformation } from '../transforms/index.ts';
import { compileRuleSet } from './compile.ts';
import type { WafRequest } from './request.ts';
import { WafTransaction } from './transaction.ts';

/** GIVEN these SecLang lines, WHEN a request goes through phases 1 and 2, THEN the transaction. */
function run(seclang: string, r: Partial<WafRequest> = {}, body = '', detectionOnly = false) {
  const rules = compileRuleSet(parseSecLang(seclang, '/test.conf'), { compileOperator, transformation });
  const t = new WafTransaction(rules, detectionOnly);
  t.requestHeaders({
    method: 'GET',
    uri: '/',
    httpVersion: '1.1',
    headers: [['Host', 'shop.test']],
    remoteAddr: '10.1.2.3',
    remotePort: 40000,
    serverPort: 8080,
    id: 'req-1',
    ...r,
  });
  if (!t.blocked) t.requestBody(body);
  return t;
}
const tx = (t: WafTransaction, key: string) => t.vars.collection('TX').get(key);
const ids = (t: WafTransaction) => t.verdict().matches.map((m) => m.id);

test('setvar runs for every matching value, the rest once the rule matched', () => {
  const t = run(
    `SecRule ARGS "@rx evil" "id:1,phase:2,pass,msg:'evil in %{MATCHED_VAR_NAME}',setvar:tx.score=+5"`,
    { uri: '/?a=evil&b=fine&c=evil' },
  );
  assert.equal(tx(t, 'score'), '10');
  assert.deepEqual(ids(t), [1]);
  assert.equal(t.verdict().matches[0]!.msg, 'evil in ARGS:c');
});

test('a chain matches only when every link does; setvar of the first link runs regardless', () => {
  const rules = `SecRule ARGS:a "@streq x" "id:1,phase:2,pass,chain,setvar:tx.first=1"
  SecRule ARGS:b "@streq y" "setvar:tx.second=1"`;
  const both = run(rules, { uri: '/?a=x&b=y' });
  assert.deepEqual([ids(both), tx(both, 'first'), tx(both, 'second')], [[1], '1', '1']);
  const one = run(rules, { uri: '/?a=x&b=z' });
  assert.deepEqual([ids(one), tx(one, 'first'), tx(one, 'second')], [[], '1', undefined]);
});

test('skipAfter jumps to its marker; block takes the phase default; deny interrupts', () => {
  const t = run(
    `SecDefaultAction "phase:2,log,pass"
SecRule ARGS:skip "@streq 1" "id:1,phase:2,pass,nolog,skipAfter:END"
SecRule ARGS "@rx ." "id:2,phase:2,deny"
SecMarker END
SecRule ARGS:x "@streq boom" "id:3,phase:2,block"
SecRule ARGS:x "@streq boom" "id:4,phase:2,deny,status:406"`,
    { uri: '/?skip=1&x=boom' },
  );
  assert.deepEqual(ids(t), [3, 4]);
  assert.deepEqual(t.verdict().interrupted, { ruleId: 4, status: 406, phase: 2 });
  assert.equal(t.blocked, true);
});

test('exclusions, counts, selectors by regex and ctl:ruleRemoveTargetById', () => {
  const t = run(
    `SecRule &ARGS "@eq 3" "id:1,phase:1,pass,setvar:tx.three=1"
SecRule ARGS|!ARGS:safe "@rx x" "id:2,phase:2,pass,setvar:tx.two=+1"
SecRule ARGS:/^ke/ "@rx x" "id:3,phase:2,pass,setvar:tx.regex=+1"
SecRule REQUEST_FILENAME "@beginsWith /shop" "id:4,phase:1,pass,nolog,ctl:ruleRemoveTargetById=5;ARGS:key"
SecRule ARGS "@rx x" "id:5,phase:2,pass,setvar:tx.five=+1"`,
    { uri: '/shop?safe=x&key=x&other=x' },
  );
  assert.equal(tx(t, 'three'), '1');
  assert.equal(tx(t, 'two'), '2', 'ARGS:safe is excluded');
  assert.equal(tx(t, 'regex'), '1', 'only ARGS:key matches /^ke/');
  assert.equal(tx(t, 'five'), '2', 'ARGS:key is removed for rule 5 under /shop');
});

test('transformations run in order, t:none clears the defaults, capture fills TX.0', () => {
  const t = run(
    `SecRule ARGS:q "@rx (select)\\s+(\\w+)" "id:1,phase:2,pass,t:none,t:urlDecodeUni,t:lowercase,capture,setvar:tx.word=%{TX.2}"`,
    { uri: '/?q=SELECT%2520Password' },
  );
  assert.equal(tx(t, 'word'), 'password');
  assert.equal(tx(t, '0'), 'select password');
});

test('rules sharing a prefix of transformations each see their own whole list applied', () => {
  // ARGS:q is "%2527OR" (the query decodes once): each further urlDecodeUni peels one level.
  const t = run(
    `SecRule ARGS:q "@streq %27OR" "id:1,phase:2,pass,t:none,t:urlDecodeUni,setvar:tx.a=1"
SecRule ARGS:q "@streq 'OR" "id:2,phase:2,pass,t:none,t:urlDecodeUni,t:urlDecodeUni,setvar:tx.b=1"
SecRule ARGS:q "@streq 'or" "id:3,phase:2,pass,t:none,t:urlDecodeUni,t:urlDecodeUni,t:lowercase,setvar:tx.c=1"
SecRule ARGS:q "@streq %27or" "id:4,phase:2,pass,t:none,t:urlDecodeUni,t:lowercase,setvar:tx.d=1"
SecRule ARGS:q "@streq 'or" "id:5,phase:2,pass,t:none,t:urlDecodeUni,t:lowercase,setvar:tx.e=1"
SecRule ARGS:q "@streq %2527or" "id:6,phase:2,pass,t:none,t:lowercase,setvar:tx.f=1"`,
    { uri: '/?q=%252527OR' },
  );
  assert.deepEqual(
    ['a', 'b', 'c', 'd', 'e', 'f'].map((k) => tx(t, k)),
    ['1', '1', '1', '1', undefined, '1'],
  );
});

test("the phase's default transformations come first and are part of the list rules share", () => {
  const t = run(
    `SecDefaultAction "phase:2,log,pass,t:lowercase"
SecRule ARGS:q "@streq abc" "id:1,phase:2,pass,setvar:tx.defaults=1"
SecRule ARGS:q "@streq ABC" "id:2,phase:2,pass,t:none,setvar:tx.none=1"
SecRule ARGS:q "@streq abc" "id:3,phase:2,pass,t:trim,setvar:tx.trimmed=1"`,
    { uri: '/?q=%20ABC' },
  );
  assert.deepEqual(
    ['defaults', 'none', 'trimmed'].map((k) => tx(t, k)),
    [undefined, undefined, '1'],
    'id 1: " abc" is not "abc"; id 2: " ABC" is not "ABC"; id 3: lowercase then trim',
  );
});

test('multiMatch tests the value before any transformation and after each step', () => {
  const rule = (op: string) =>
    `SecRule ARGS:q "${op}" "id:1,phase:2,pass,multiMatch,t:none,t:urlDecodeUni,t:lowercase,setvar:tx.hits=+1"`;
  const seen = (op: string) => tx(run(rule(op), { uri: '/?q=A%2542' }), 'hits');
  assert.equal(seen('@streq A%42'), '1', 'the value as it came');
  assert.equal(seen('@streq AB'), '1', 'after urlDecodeUni');
  assert.equal(seen('@streq ab'), '1', 'after lowercase');
  assert.equal(seen('@rx ^[Aa]'), '3', 'every step');
  const once = run(rule('@streq A%42').replace('multiMatch,', ''), { uri: '/?q=A%2542' });
  assert.equal(tx(once, 'hits'), undefined, 'without multiMatch only the last value');
});

test('bodies: URL-encoded, JSON and multipart arguments get ModSecurity names', () => {
  const form = run(
    `SecRule ARGS_POST:a "@streq 1 2" "id:1,phase:2,pass"`,
    {
      method: 'POST',
      headers: [
        ['Host', 'x'],
        ['Content-Type', 'application/x-www-form-urlencoded'],
      ],
    },
    'a=1+2',
  );
  assert.deepEqual(ids(form), [1]);
  const json = run(
    `SecRule REQUEST_HEADERS:Content-Type "^application/json" "id:9,phase:1,pass,nolog,ctl:requestBodyProcessor=JSON"
SecRule ARGS:json.items.array_1.sku "@streq B" "id:1,phase:2,pass"`,
    {
      method: 'POST',
      headers: [
        ['Host', 'x'],
        ['Content-Type', 'application/json'],
      ],
    },
    '{"items":[{"sku":"A"},{"sku":"B"}]}',
  );
  assert.deepEqual(ids(json), [1]);
  const body =
    '--b\r\nContent-Disposition: form-data; name="f"; filename="x.php"\r\n\r\n<?php\r\n--b\r\nContent-Disposition: form-data; name="n"\r\n\r\nv\r\n--b--\r\n';
  const mp = run(
    `SecRule FILES "@endsWith .php" "id:1,phase:2,pass"
SecRule ARGS_POST:n "@streq v" "id:2,phase:2,pass"
SecRule MULTIPART_STRICT_ERROR "!@eq 0" "id:3,phase:2,pass"`,
    {
      method: 'POST',
      headers: [
        ['Host', 'x'],
        ['Content-Type', 'multipart/form-data; boundary=b'],
      ],
    },
    body,
  );
  assert.deepEqual(ids(mp), [1, 2]);
  const broken = run(
    `SecRule REQBODY_ERROR "!@eq 0" "id:1,phase:2,deny,status:400"`,
    {
      method: 'POST',
      headers: [
        ['Host', 'x'],
        ['Content-Type', 'multipart/form-data; boundary=b'],
      ],
    },
    '--b\r\nno end',
  );
  assert.deepEqual(broken.verdict().interrupted, { ruleId: 1, status: 400, phase: 2 });
});

test('detection-only records what would have been denied and never blocks', () => {
  const t = run(
    `SecRule ARGS "@rx x" "id:1,phase:1,deny"
SecRule ARGS "@rx x" "id:2,phase:2,pass"`,
    { uri: '/?a=x' },
    '',
    true,
  );
  assert.equal(t.blocked, false);
  assert.deepEqual(ids(t), [1, 2], 'processing goes on after the would-be deny');
  assert.equal(t.verdict().interrupted?.ruleId, 1);
});

test('response phases: status and headers in phase 3, the body in phase 4 when body access is on', () => {
  const rules = compileRuleSet(
    parseSecLang(
      `SecResponseBodyAccess On
SecRule RESPONSE_STATUS "@streq 500" "id:1,phase:3,pass,setvar:tx.err=1"
SecRule RESPONSE_BODY "@rx SQL syntax.*MySQL" "id:2,phase:4,deny"`,
      '/test.conf',
    ),
    { compileOperator, transformation },
  );
  const t = new WafTransaction(rules);
  t.response(
    500,
    [['Content-Type', 'text/html']],
    'You have an error in your SQL syntax; check the manual for MySQL',
  );
  assert.equal(tx(t, 'err'), '1');
  assert.deepEqual(t.verdict().interrupted, { ruleId: 2, status: 403, phase: 4 });
});

/** GIVEN these SecLang lines, a transaction that passed its request phases, ready for the response. */
function forResponse(seclang: string, detectionOnly = false): WafTransaction {
  return run(seclang, {}, '', detectionOnly);
}

test('phase 4 runs only for the listed content types, compared without parameters or case', () => {
  const rules = `SecResponseBodyAccess On
SecResponseBodyMimeType text/html text/plain
SecRule RESPONSE_BODY "@contains secret" "id:1,phase:4,deny"`;
  const html = forResponse(rules);
  html.responseHeaders(200, [['Content-Type', 'Text/HTML; charset=UTF-8']]);
  assert.equal(html.inspectsResponseBody, true);
  html.responseBody('a secret');
  assert.deepEqual(html.verdict().interrupted, { ruleId: 1, status: 403, phase: 4 });
  const json = forResponse(rules);
  json.responseHeaders(200, [['Content-Type', 'application/json']]);
  assert.equal(json.inspectsResponseBody, false);
  json.responseBody('a secret');
  assert.deepEqual(ids(json), [], 'phase 4 skipped for a type not listed');
});

test('without body access, or with SecResponseBodyMimeTypesClear anywhere, phase 4 never runs', () => {
  for (const conf of [
    'SecResponseBodyAccess Off',
    'SecResponseBodyAccess On\nSecResponseBodyMimeType text/html\nSecResponseBodyMimeTypesClear',
    // libmodsecurity 3 merges a clear over the whole set, types named after it included.
    'SecResponseBodyAccess On\nSecResponseBodyMimeTypesClear\nSecResponseBodyMimeType text/html',
  ]) {
    const t = forResponse(`${conf}\nSecRule RESPONSE_STATUS "@streq 200" "id:1,phase:4,deny"`);
    t.response(200, [['Content-Type', 'text/html']], '');
    assert.deepEqual(ids(t), [], conf);
  }
  // With no SecResponseBodyMimeType at all, libmodsecurity inspects every type.
  const any = forResponse(
    'SecResponseBodyAccess On\nSecRule RESPONSE_STATUS "@streq 200" "id:1,phase:4,deny"',
  );
  any.response(200, [['Content-Type', 'image/png']], '');
  assert.deepEqual(ids(any), [1]);
});

test('a partial body sets OUTBOUND_DATA_ERROR; the body length and protocol are variables', () => {
  const t = forResponse(`SecResponseBodyAccess On
SecRule OUTBOUND_DATA_ERROR "@eq 1" "id:1,phase:4,pass,setvar:tx.partial=1"
SecRule RESPONSE_CONTENT_LENGTH "@eq 5" "id:2,phase:4,pass,setvar:tx.length=5"
SecRule RESPONSE_PROTOCOL "@streq HTTP/1.1" "id:3,phase:3,pass,setvar:tx.protocol=1"`);
  t.responseHeaders(200, [['Content-Type', 'text/plain']]);
  t.responseBody('12345', true);
  assert.deepEqual([tx(t, 'partial'), tx(t, 'length'), tx(t, 'protocol')], ['1', '5', '1']);
});

test('a phase-3 deny stops before phase 4; detection-only runs both and records the deny', () => {
  const rules = `SecResponseBodyAccess On
SecRule RESPONSE_HEADERS:X-Debug "@streq 1" "id:1,phase:3,deny,status:502"
SecRule RESPONSE_BODY "@contains x" "id:2,phase:4,pass"`;
  const block = forResponse(rules);
  block.response(200, [['X-Debug', '1']], 'x');
  assert.deepEqual([ids(block), block.blocked], [[1], true]);
  assert.deepEqual(block.verdict().interrupted, { ruleId: 1, status: 502, phase: 3 });
  const detect = forResponse(rules, true);
  detect.response(200, [['X-Debug', '1']], 'x');
  assert.deepEqual([ids(detect), detect.blocked], [[1, 2], false]);
});
