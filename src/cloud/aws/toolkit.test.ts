import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CDK_CLI_PACKAGE, cdkArgv } from './toolkit.ts';

const BASE = { appDir: '/srv/shop/cdk.out', stackName: 'triplane-shop-production' };

test('diff, deploy and destroy run the pinned CDK toolkit on the synthesised assembly', () => {
  assert.equal(CDK_CLI_PACKAGE, 'aws-cdk@2.1148.1');
  assert.deepEqual(cdkArgv('diff', BASE), [
    'npx',
    '--yes',
    'aws-cdk@2.1148.1',
    'diff',
    '--app',
    '/srv/shop/cdk.out',
    'triplane-shop-production',
  ]);
  assert.deepEqual(cdkArgv('deploy', BASE), [
    'npx',
    '--yes',
    'aws-cdk@2.1148.1',
    'deploy',
    '--app',
    '/srv/shop/cdk.out',
    '--require-approval',
    'broadening',
    'triplane-shop-production',
  ]);
  assert.deepEqual(cdkArgv('destroy', { ...BASE, force: true }), [
    'npx',
    '--yes',
    'aws-cdk@2.1148.1',
    'destroy',
    '--app',
    '/srv/shop/cdk.out',
    '--force',
    'triplane-shop-production',
  ]);
});

test('a profile, an approval level and a bootstrap environment go where the toolkit reads them', () => {
  assert.deepEqual(cdkArgv('deploy', { ...BASE, profile: 'shop', requireApproval: 'never' }), [
    'npx',
    '--yes',
    'aws-cdk@2.1148.1',
    'deploy',
    '--app',
    '/srv/shop/cdk.out',
    '--profile',
    'shop',
    '--require-approval',
    'never',
    'triplane-shop-production',
  ]);
  assert.deepEqual(cdkArgv('bootstrap', { ...BASE, environment: 'aws://123456789012/us-east-1' }), [
    'npx',
    '--yes',
    'aws-cdk@2.1148.1',
    'bootstrap',
    '--app',
    '/srv/shop/cdk.out',
    'aws://123456789012/us-east-1',
  ]);
});
