/**
 * The differential harness's pure parts: the reference's configuration and argv, audit-log and raw
 * response parsing, verdict comparison and the wrk script. No process is started here.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { BASE_CONF } from '../../src/edge/waf/index.ts';
import { compareVerdicts } from './compare.ts';
import type { CorpusRequest } from './corpus.ts';
import { buildCorpus, isAttack } from './corpus.ts';
import {
  aptInstallArgv,
  nginxArgv,
  parseAuditLog,
  type ReferenceLayout,
  renderCrsSetup,
  renderMainConf,
  renderModSecurityConf,
  renderNginxConf,
} from './modsecurity.ts';
import { parseRawResponse, rawBytes, type Verdict } from './send.ts';
import { luaString, mixRequests } from './wrk-mix.ts';

const layout: ReferenceLayout = {
  dir: '/tmp/ref',
  port: 8123,
  paranoia: 2,
  workers: 1,
  auditLog: true,
  root: true,
};

describe('reference configuration', () => {
  test('loads the module by path, proxies to an "ok" server on a unix socket, keeps files in its dir', () => {
    const conf = renderNginxConf(layout);
    assert.match(conf, /^user root;\n/);
    assert.match(conf, /load_module \/usr\/lib\/nginx\/modules\/ngx_http_modsecurity_module\.so;/);
    assert.match(conf, /listen 127\.0\.0\.1:8123 default_server;/);
    assert.match(conf, /modsecurity_rules_file \/tmp\/ref\/main\.conf;/);
    assert.match(conf, /proxy_pass http:\/\/origin;/);
    assert.match(conf, /listen unix:\/tmp\/ref\/upstream\.sock;\n\s+location \/ \{ return 200 "ok"; \}/);
    assert.match(conf, /location \/__responses\/ \{\n\s+alias \/tmp\/ref\/responses\/;/);
    assert.doesNotMatch(conf, /\/etc\/nginx|\/var\/log/);
    assert.doesNotMatch(renderNginxConf({ ...layout, root: false }), /user root/);
  });

  test('includes the setup, then Debian CRS files in owasp-crs.load order', () => {
    assert.equal(
      renderMainConf('/tmp/ref'),
      [
        'Include /tmp/ref/modsecurity.conf',
        'Include /tmp/ref/crs-setup.conf',
        'Include /etc/modsecurity/crs/REQUEST-900-EXCLUSION-RULES-BEFORE-CRS.conf',
        'Include /usr/share/modsecurity-crs/rules/*.conf',
        'Include /etc/modsecurity/crs/RESPONSE-999-EXCLUSION-RULES-AFTER-CRS.conf',
        '',
      ].join('\n'),
    );
  });

  test('sets the paranoia and executing paranoia level after Debian crs-setup.conf', () => {
    assert.deepEqual(renderCrsSetup(2).trim().split('\n'), [
      'Include /etc/modsecurity/crs/crs-setup.conf',
      'SecAction "id:900000,phase:1,nolog,pass,t:none,setvar:tx.paranoia_level=2"',
      'SecAction "id:900001,phase:1,nolog,pass,t:none,setvar:tx.executing_paranoia_level=2"',
    ]);
  });

  test("loads the edge's own engine settings first, then the audit log on or off", () => {
    const on = renderModSecurityConf(layout);
    assert.equal(on.split('\n')[0], `Include ${BASE_CONF}`);
    assert.match(readFileSync(BASE_CONF, 'utf8'), /^SecRuleEngine On$/m);
    assert.match(
      on,
      /^SecResponseBodyAccess On$/m,
      "a store's default response-body settings, as the edge's",
    );
    assert.match(on, /^SecResponseBodyMimeType text\/plain text\/html text\/xml$/m);
    assert.match(on, /^SecResponseBodyLimitAction ProcessPartial$/m);
    assert.match(on, /^SecAuditEngine On$/m);
    assert.match(on, /^SecAuditLogFormat JSON$/m);
    assert.match(on, /^SecAuditLog \/tmp\/ref\/audit\.json$/m);
    assert.match(renderModSecurityConf({ ...layout, auditLog: false }), /^SecAuditEngine Off$/m);
  });

  test('starts nginx in the foreground on its own prefix, config and error log', () => {
    assert.deepEqual(nginxArgv('/tmp/ref'), [
      '/usr/sbin/nginx',
      '-p',
      '/tmp/ref/',
      '-c',
      '/tmp/ref/nginx.conf',
      '-e',
      '/tmp/ref/error.log',
      '-g',
      'daemon off;',
    ]);
    assert.deepEqual(aptInstallArgv(['nginx', 'modsecurity-crs']), [
      'apt-get',
      'install',
      '-y',
      '-q',
      '--no-install-recommends',
      'nginx',
      'modsecurity-crs',
    ]);
  });
});

describe('audit log and raw answers', () => {
  test('reads matched rule ids per corpus id, the last transaction of an id winning', () => {
    const tx = (id: string, rules: string[]) =>
      JSON.stringify({
        transaction: {
          request: { headers: { host: 'x', 'x-request-id': id } },
          messages: rules.map((ruleId) => ({ message: 'm', details: { ruleId } })),
        },
      });
    const log = [
      tx('a', ['949110', '942100', '942100']),
      tx('b', []),
      '{"transaction": {"cut',
      tx('a', ['941100']),
    ].join('\n');
    assert.deepEqual(
      [...parseAuditLog(log)],
      [
        ['a', ['941100']],
        ['b', []],
      ],
    );
  });

  test('adds the corpus id after the request line and fills in the host', () => {
    const r = { id: 'p.1', raw: 'GET / HTTP/1.0\r\nHost: {{host}}\r\n\r\n' } as CorpusRequest;
    assert.equal(
      rawBytes(r, 'shop.localhost').toString('latin1'),
      'GET / HTTP/1.0\r\nX-Request-Id: p.1\r\nHost: shop.localhost\r\n\r\n',
    );
  });

  for (const [name, text, want] of [
    ['status only', 'HTTP/1.1 403 Forbidden\r\n', { status: 403, complete: false }],
    ['whole answer', 'HTTP/1.1 400 Bad\r\nContent-Length: 2\r\n\r\nok', { status: 400, complete: true }],
    ['body still coming', 'HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nok', { status: 200, complete: false }],
    ['HTTP/0.9 answer', 'ok', undefined],
  ] as const) {
    test(`parses a raw answer: ${name}`, () => {
      assert.deepEqual(parseRawResponse(Buffer.from(text, 'latin1')), want);
    });
  }
});

describe('comparison', () => {
  const req = (id: string): CorpusRequest => ({
    id,
    family: 'sqli',
    placement: 'query',
    method: 'GET',
    path: '/',
    headers: {},
  });
  const v = (status: number, ruleIds?: string[]): Verdict => ({
    status,
    blocked: status === 403,
    ...(ruleIds ? { ruleIds } : {}),
  });

  test('counts verdict and rule-id agreement, lists disagreements and status differences', () => {
    const corpus = ['same', 'differ', 'status', 'rules'].map(req);
    const a = new Map([
      ['same', v(403, ['942100', '949110'])],
      ['differ', v(403, ['942100', '949110'])],
      ['status', v(400)],
      ['rules', v(200, ['920350'])],
    ]);
    const b = new Map([
      ['same', v(403, ['949110', '942100'])],
      ['differ', v(200, [])],
      ['status', v(200)],
      ['rules', v(200, [])],
    ]);
    const cmp = compareVerdicts(a, b, corpus);
    assert.equal(cmp.total, 4);
    assert.equal(cmp.agreement, 0.75);
    assert.deepEqual(
      cmp.disagreements.map((d) => [d.id, d.ruleIdsA, d.ruleIdsB]),
      [['differ', ['942100', '949110'], []]],
    );
    assert.deepEqual(
      cmp.statusDiffs.map((d) => d.id),
      ['status'],
    );
    assert.deepEqual(cmp.ruleIds, { compared: 3, same: 1, agreement: 1 / 3 });
    assert.deepEqual(
      [...cmp.onlyA],
      [
        ['942100', 1],
        ['949110', 1],
        ['920350', 1],
      ],
    );
    assert.deepEqual([...cmp.onlyB], []);
  });

  test('a request one side never answered disagrees with an answer', () => {
    const cmp = compareVerdicts(
      new Map([['x', v(200)]]),
      new Map([['x', { status: 0, blocked: false, error: 'timeout' }]]),
      [req('x')],
    );
    assert.deepEqual(
      cmp.disagreements.map((d) => d.id),
      ['x'],
    );
  });
});

test('wrk scripts get Lua strings with every non-printable or non-ASCII byte escaped', () => {
  assert.equal(luaString('a"b\\c'), '"a\\034b\\092c"');
  assert.equal(luaString('é\r\n'), '"\\195\\169\\013\\010"');
});

test('wrk mixes leave out HEAD and raw requests and split benign from attack', () => {
  const corpus = buildCorpus();
  const benign = mixRequests(corpus, 'benign');
  const attack = mixRequests(corpus, 'attack');
  assert.ok(
    corpus.some((r) => r.method === 'HEAD' && !isAttack(r)),
    'the corpus has a benign HEAD',
  );
  for (const r of [...benign, ...attack]) {
    assert.notEqual(r.method, 'HEAD', r.id);
    assert.equal(r.raw, undefined, r.id);
  }
  assert.ok(benign.every((r) => !isAttack(r)) && attack.every(isAttack));
  assert.ok(benign.length > 600 && attack.length > 900, `${benign.length} benign, ${attack.length} attack`);
});
