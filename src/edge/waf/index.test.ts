import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WafSettings } from '../../contracts/snapshot.ts';
import {
  inspectRequest,
  inspectResponse,
  responseBodyDirectives,
  type WafRequest,
  WafRules,
} from './index.ts';
import { PRODUCT_GET } from './testing.ts';

// The Core Rule Set as Debian ships it, compiled once for every test here.
const rules = new WafRules();
const settings = (input: Record<string, unknown> = {}) => WafSettings.parse(input);

const GET: WafRequest = {
  ...PRODUCT_GET,
  headers: [...PRODUCT_GET.headers, ['Accept', 'text/html']],
};
const HTML: [string, string][] = [['content-type', 'text/html; charset=UTF-8']];
const SQL_ERROR =
  "<p>You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use near ''' at line 1</p>";

test('a store reads response bodies by default: the directives a ModSecurity user would write', () => {
  assert.deepEqual(
    responseBodyDirectives(settings()).map((d) => [d.name, ...d.args].join(' ')),
    [
      'SecResponseBodyAccess On',
      'SecResponseBodyMimeType text/plain text/html text/xml',
      'SecResponseBodyLimit 524288',
      'SecResponseBodyLimitAction ProcessPartial',
    ],
  );
  const config = rules.forSettings(settings()).config;
  assert.equal(config.responseBodyAccess, true, "overrides base.conf's Off");
  assert.equal(config.responseBodyLimit, 524_288);
  assert.deepEqual(config.responseBodyMimeTypes, ['text/plain', 'text/html', 'text/xml']);
});

test('each response-body setting compiles its own rule set', () => {
  const off = rules.forSettings(settings({ responseBody: { enabled: false } }));
  assert.equal(off.config.responseBodyAccess, false);
  const json = rules.forSettings(
    settings({ responseBody: { mimeTypes: ['application/json'], limitBytes: 1024 } }),
  );
  assert.deepEqual(
    [json.config.responseBodyMimeTypes, json.config.responseBodyLimit],
    [['application/json'], 1024],
  );
  assert.equal(rules.forSettings(settings()).config.responseBodyAccess, true);
});

test('a leaked SQL error is refused by the outbound score (959100), with the inbound score kept apart', () => {
  const s = settings();
  const t = inspectRequest(rules.forSettings(s), s, GET, '');
  const r = inspectResponse(t, s, { status: 500, headers: HTML, body: SQL_ERROR, partial: false });
  assert.deepEqual(r.interrupted, { ruleId: 959100, status: 403 });
  assert.equal(r.event?.action, 'blocked');
  assert.equal(r.event?.anomalyScore, 0, 'the request scored nothing');
  assert.ok((r.event?.outboundScore ?? 0) >= 4, `outbound score ${r.event?.outboundScore}`);
  const sql = r.event?.matches.find((m) => m.id >= 951000 && m.id < 952000);
  assert.equal(sql?.phase, 4);
  assert.equal(sql?.variable, 'RESPONSE_BODY');
});

test('a PHP source leak is refused; a benign page, or the leak in a type not inspected, passes', () => {
  const s = settings();
  const run = (headers: [string, string][], body: string | undefined) =>
    inspectResponse(inspectRequest(rules.forSettings(s), s, GET, ''), s, {
      status: 200,
      headers,
      body,
      partial: false,
    });
  const php = run(HTML, '<?php $db = new PDO($dsn, "root", "secret"); ?>');
  assert.equal(php.interrupted?.ruleId, 959100);
  assert.ok(php.event?.matches.some((m) => m.id >= 953000 && m.id < 954000));
  const page = run(HTML, `<html><body>${'<p>Red dress, £10</p>'.repeat(500)}</body></html>`);
  assert.deepEqual([page.interrupted, page.event], [undefined, undefined]);
  assert.deepEqual(run([['content-type', 'application/octet-stream']], undefined).event, undefined);
});

test("in detection-only mode a request rule's would-be deny is not the response's", () => {
  const s = settings({ mode: 'detect' });
  const attack = { ...GET, uri: "/catalogsearch/result/?q=1'+or+'1'='1" };
  const t = inspectRequest(rules.forSettings(s), s, attack, '');
  assert.equal(t.verdict().interrupted?.ruleId, 949110);
  const r = inspectResponse(t, s, { status: 200, headers: HTML, body: '<p>no results</p>', partial: false });
  assert.equal(r.interrupted, undefined);
  assert.equal(r.event?.action, 'detected');
  assert.ok((r.event?.anomalyScore ?? 0) >= 5);
  assert.equal(r.event?.outboundScore, 0);
});
