import assert from 'node:assert/strict';
import { test } from 'node:test';
import { appliedStack } from '../api/index.ts';
import type { StackVersion } from '../state/index.ts';
import { readStackPayload, stackPayload } from './stack-payload.ts';
import { spec } from './testing.ts';

const stored = (document: unknown): StackVersion =>
  ({ storeId: 'shop', environment: 'production', version: 3, spec: document }) as StackVersion;

test('reads the spec and source directory back from the layout the API stores', () => {
  const shop = spec('shop', { domains: ['shop.example'] });
  const read = readStackPayload(stored(stackPayload(shop, '/srv/shop')));
  assert.deepEqual(read, { ok: true, payload: { spec: shop, sourceDir: '/srv/shop' } });
  // The API's own reader splits the same document the same way.
  assert.deepEqual(appliedStack(stored(stackPayload(shop, '/srv/shop'))), {
    spec: shop,
    sourceDir: '/srv/shop',
  });
});

test('fails a stored document without a usable source directory or spec, naming the version', () => {
  const shop = spec('shop');
  const table: [string, unknown, string][] = [
    ['no sourceDir', shop, 'stored without a sourceDir (not applied through the API)'],
    [
      'a relative sourceDir',
      { ...shop, sourceDir: 'srv/shop' },
      'sourceDir: expected an absolute path, got "srv/shop"',
    ],
    [
      'a spec that is not one',
      { ...shop, name: 'Shop!', sourceDir: '/srv/shop' },
      'spec.name: expected lowercase',
    ],
  ];
  for (const [name, document, message] of table) {
    const read = readStackPayload(stored(document));
    assert.equal(read.ok, false, name);
    assert.ok(!read.ok && read.problem.startsWith(`store shop production stack version 3: ${message}`), name);
  }
});
