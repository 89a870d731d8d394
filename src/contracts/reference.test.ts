import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { renderStackReference } from './reference.ts';

test('docs/stack-reference.md matches the schema (run `npm run docs` after changing it)', () => {
  const committed = readFileSync(new URL('../../docs/stack-reference.md', import.meta.url), 'utf8');
  assert.equal(committed, renderStackReference());
});

test('the reference lists nested fields with their defaults', () => {
  const text = renderStackReference();
  assert.match(text, /\| `services\.redis\.partitions\.session\.policy` \| .*`"noeviction"`/);
  assert.match(text, /\| `name` \| string \| \*\*required\*\* \|/);
  assert.match(text, /\| `services\.cron\.jobs\[\]\.schedule` \| string \| \*\*required\*\* \|/);
});
