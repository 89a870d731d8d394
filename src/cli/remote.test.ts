import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseExclusion } from './remote.ts';

const cases: [string, Record<string, unknown>][] = [
  ['942100', { ruleIds: ['942100'] }],
  ['942100,942190', { ruleIds: ['942100', '942190'] }],
  ['942100:ARGS:q', { ruleIds: ['942100'], targets: ['ARGS:q'] }],
  ['942100@/search/', { ruleIds: ['942100'], pathPrefix: '/search/' }],
  [
    '942100,942190:REQUEST_COOKIES:session@/checkout/',
    { ruleIds: ['942100', '942190'], targets: ['REQUEST_COOKIES:session'], pathPrefix: '/checkout/' },
  ],
];

for (const [text, want] of cases) {
  test(`--waf-exclude ${text} becomes ${JSON.stringify(want)}`, () => {
    assert.deepEqual(parseExclusion(text), want);
  });
}
