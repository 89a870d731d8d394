import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CreateStoreRequest } from './api.ts';
import { instanceName, parseInstanceName } from './fleet.ts';

test("an environment's instance name: the store's own for production, <store>--staging for staging", () => {
  assert.equal(instanceName('demo', 'production'), 'demo');
  assert.equal(instanceName('demo', 'staging'), 'demo--staging');
  // At most 30 characters, like every stack name: a long store name leaves no room for staging.
  assert.equal(instanceName('s'.repeat(21), 'staging'), `${'s'.repeat(21)}--staging`);
  assert.equal(instanceName('s'.repeat(22), 'staging'), null);
  assert.equal(instanceName('s'.repeat(30), 'production'), 's'.repeat(30));
});

test('an instance name reads back as its store and environment', () => {
  assert.deepEqual(parseInstanceName('demo--staging'), { store: 'demo', environment: 'staging' });
  assert.deepEqual(parseInstanceName('demo'), { store: 'demo', environment: 'production' });
  assert.deepEqual(parseInstanceName('my-shop--staging'), { store: 'my-shop', environment: 'staging' });
  // Not an environment after the separator, or production spelled out: a plain name.
  assert.deepEqual(parseInstanceName('demo--qa'), { store: 'demo--qa', environment: 'production' });
  assert.deepEqual(parseInstanceName('demo--production'), {
    store: 'demo--production',
    environment: 'production',
  });
});

test('a new store may not have the separator in its name, which would clash with an instance name', () => {
  const r = CreateStoreRequest.safeParse({ id: 'demo--staging' });
  assert.ok(!r.success);
  assert.deepEqual(
    r.error.issues.map((i) => [i.path.join('.'), i.message]),
    [
      [
        'id',
        'expected no "--" (it separates a store from its environment, as in demo--staging), got "demo--staging"',
      ],
    ],
  );
  assert.ok(CreateStoreRequest.safeParse({ id: 'demo-staging' }).success);
});
