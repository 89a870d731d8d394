import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { App, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AppTier } from './app.ts';
import { Backups } from './backups.ts';
import { Cache, nodeTypeFor } from './cache.ts';
import { Database } from './database.ts';
import { Dns } from './dns.ts';
import { Edge } from './edge.ts';
import { CloudError } from './errors.ts';
import { HostGroup, resolvedSizeBound } from './hosts.ts';
import { Network } from './network.ts';
import { Observability } from './observability.ts';
import { Search } from './search.ts';

// Validation runs in each constructor before any resource is made, so these need no synthesis.
function scope() {
  const stack = new Stack(new App(), 'S', { env: { region: 'us-east-1' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { availabilityZones: ['us-east-1a', 'us-east-1b'] });
  const sg = new ec2.SecurityGroup(stack, 'Sg', { vpc });
  return { stack, vpc, sg };
}

function fails(run: () => unknown, construct: string, paths: string[]): void {
  try {
    run();
  } catch (e) {
    assert.ok(e instanceof CloudError, String(e));
    assert.equal(e.code, 'TP_CLOUD_INVALID_PROPS');
    assert.match(e.message, new RegExp(`^${construct}: ${paths.length} invalid propert`));
    assert.deepEqual(
      e.problems.map((p) => p.path),
      paths,
    );
    for (const p of e.problems) assert.ok(e.message.includes(`${p.path}: ${p.message}`));
    return;
  }
  assert.fail(`${construct} accepted invalid properties`);
}

describe('construct properties', () => {
  test('HostGroup fails listing max < min and an impossible root volume', () => {
    const { stack, vpc, sg } = scope();
    fails(
      () =>
        new HostGroup(stack, 'H', {
          vpc,
          role: 'app',
          instanceType: 't4g.small',
          machineImage: ec2.MachineImage.latestAmazonLinux2023(),
          securityGroup: sg,
          userData: '#!/bin/bash\n',
          minCapacity: 4,
          maxCapacity: 2,
          rootVolumeGb: 4,
        }),
      'HostGroup app',
      ['maxCapacity', 'rootVolumeGb'],
    );
  });

  test('AppTier fails on replicas max < min and a CPU target out of range', () => {
    const { stack, vpc, sg } = scope();
    fails(
      () =>
        new AppTier(stack, 'A', {
          vpc,
          machineImage: ec2.MachineImage.latestAmazonLinux2023(),
          appSecurityGroup: sg,
          appInstanceType: 't4g.large',
          appUserData: '',
          minCapacity: 3,
          maxCapacity: 1,
          cpuTarget: 99,
        }),
      'AppTier',
      ['maxCapacity', 'cpuTarget'],
    );
  });

  test('Network fails on one zone and no NAT gateway', () => {
    const stack = new Stack(new App(), 'N');
    fails(() => new Network(stack, 'N', { zones: ['us-east-1a'], natGateways: 0 }), 'Network', [
      'zones',
      'natGateways',
    ]);
  });

  test('Dns fails on a domain outside its zone', () => {
    const { stack } = scope();
    fails(
      () =>
        new Dns(stack, 'D', { zoneName: 'example.com', domains: ['shop.example.com', 'shop.example.org'] }),
      'Dns',
      ['domains.1'],
    );
  });

  test('Edge fails on domains without a certificate and a cached path that is not a path', () => {
    const { stack, vpc, sg } = scope();
    fails(
      () =>
        new Edge(stack, 'E', {
          vpc,
          loadBalancerSecurityGroup: sg,
          edgeSecurityGroup: sg,
          instanceType: 't4g.small',
          machineImage: ec2.MachineImage.latestAmazonLinux2023(),
          userData: '',
          domains: ['shop.example.com'],
          cachedPaths: ['static'],
          logBucket: new s3.Bucket(stack, 'Logs'),
        }),
      'Edge',
      ['certificate', 'cachedPaths.0'],
    );
  });

  test('Cache fails on a partition too large for any node and an unknown eviction policy', () => {
    const { stack, vpc, sg } = scope();
    const ok = { maxmemoryBytes: 1024 ** 2, policy: 'allkeys-lru', persistent: false };
    fails(
      () =>
        new Cache(stack, 'C', {
          vpc,
          securityGroup: sg,
          partitions: {
            cache: { ...ok, maxmemoryBytes: 1024 ** 4 },
            page: ok,
            session: { ...ok, policy: 'keep-all' },
          },
        }),
      'Cache',
      ['partitions.cache.maxmemoryBytes', 'partitions.session.policy'],
    );
  });

  test('Search fails on a domain name OpenSearch refuses and a volume too small', () => {
    const { stack, vpc, sg } = scope();
    fails(
      () =>
        new Search(stack, 'Se', { vpc, securityGroup: sg, domainName: 'Shop_Prod', zones: 2, volumeGb: 5 }),
      'Search',
      ['domainName', 'volumeGb'],
    );
  });

  test('Database fails on the reserved user name, a bad identifier and a VPC without isolated subnets', () => {
    const { stack, vpc, sg } = scope();
    fails(
      () =>
        new Database(stack, 'Db', {
          vpc,
          securityGroup: sg,
          clusterIdentifier: 'shop--db',
          databaseName: 'store',
          username: 'admin',
        }),
      'Database',
      ['clusterIdentifier', 'username', 'vpc'],
    );
  });

  test('Backups fails on nothing to back up and a retention of 0 days', () => {
    const { stack } = scope();
    fails(() => new Backups(stack, 'B', { resourceArns: [], retentionDays: 0 }), 'Backups', [
      'resourceArns',
      'retentionDays',
    ]);
  });

  test('Observability fails on a log prefix that is not a path', () => {
    const { stack } = scope();
    fails(() => new Observability(stack, 'O', { logPrefix: 'triplane/' }), 'Observability', ['logPrefix']);
  });
});

describe('sizes', () => {
  test('a partition gets the smallest node whose usable memory (75%) holds it', () => {
    assert.equal(nodeTypeFor(256 * 1024 ** 2), 'cache.t4g.micro');
    assert.equal(nodeTypeFor(512 * 1024 ** 2), 'cache.t4g.small');
    assert.equal(nodeTypeFor(2 * 1024 ** 3), 'cache.t4g.medium');
    assert.equal(nodeTypeFor(1024 ** 4), undefined);
  });

  test('user data size is bounded with every token counted at 200 bytes', () => {
    assert.equal(resolvedSizeBound('abc'), 3);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: CDK's token placeholders, not a template
    assert.equal(resolvedSizeBound('a${Token[TOKEN.12]}b${Token[X.1]}'), 2 + 400);
  });
});
