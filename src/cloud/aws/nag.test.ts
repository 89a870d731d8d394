import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { FULL_SETTINGS, FULL_STACK, synthStore } from './testing.ts';

// GIVEN the full store synthesised once in production and once in staging.
const production = synthStore(FULL_STACK, FULL_SETTINGS, 'production');
const staging = synthStore(FULL_STACK, FULL_SETTINGS, 'staging');

function findings(stack: Stack): string[] {
  return new AwsSolutionsChecks()
    .validateScope(stack)
    .violations.map(
      (v) =>
        `${v.ruleName} at ${v.violatingResources.map((r) => r.locations.join('|') || r.resourceLogicalId).join(', ')}`,
    );
}

/** Every cdk-nag acknowledgement in the tree: rule id and reason, once per construct that carries it. */
function acknowledgements(root: IConstruct): { path: string; id: string; reason: string }[] {
  return root.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) => Object.entries(m.data as Record<string, string>))
      // CDK acknowledges some CloudFormation-Validate rules of its own; these are the project's.
      .filter(([id]) => id.startsWith('Annotation::AwsSolutions-'))
      .map(([id, reason]) => ({ path: c.node.path, id: id.slice('Annotation::'.length), reason })),
  );
}

describe('cdk-nag AwsSolutions', () => {
  test('the production stack has no unacknowledged finding', () => {
    assert.deepEqual(findings(production.stack), []);
  });

  test('the staging stack has no unacknowledged finding', () => {
    assert.deepEqual(findings(staging.stack), []);
  });

  test('every acknowledgement names a rule and gives a reason a reviewer can check', () => {
    const all = [...acknowledgements(production.stack), ...acknowledgements(staging.stack)];
    assert.ok(all.length >= 10, `${all.length} acknowledgements`);
    for (const a of all) {
      assert.match(a.id, /^AwsSolutions-[A-Z]+\d+(\[.+\])?$/, a.path);
      assert.ok(a.reason.length >= 40, `${a.path} ${a.id}: "${a.reason}" is too short to be a reason`);
    }
  });

  test('staging needs acknowledgements production does not: single-zone data services and no deletion protection', () => {
    const ids = (root: IConstruct) => new Set(acknowledgements(root).map((a) => a.id));
    const onlyStaging = [...ids(staging.stack)].filter((id) => !ids(production.stack).has(id)).sort();
    assert.deepEqual(onlyStaging, [
      'AwsSolutions-AEC4',
      'AwsSolutions-OS7',
      'AwsSolutions-RDS10',
      'AwsSolutions-RDS3',
    ]);
  });

  test('the checks do report what they are meant to catch', () => {
    // GIVEN a stack with SSH open to the world WHEN checked THEN the finding is reported
    const stack = new Stack(new App(), 'Open');
    const group = new ec2.SecurityGroup(stack, 'Open', { vpc: new ec2.Vpc(stack, 'Vpc') });
    group.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(22));
    // CDK's own template check flags it too; only cdk-nag's answer is under test.
    Validations.of(stack).acknowledge({
      id: 'CloudFormation-Validate::W2508',
      reason: 'the open port is the point of this test',
    });
    Template.fromStack(stack);
    assert.ok(findings(stack).some((f) => f.startsWith('AwsSolutions-EC23')));
  });
});

describe('staging', () => {
  const t = staging.template;
  test('spans two zones with one NAT gateway', () => {
    t.resourceCountIs('AWS::EC2::Subnet', 6);
    t.resourceCountIs('AWS::EC2::NatGateway', 1);
  });

  test('runs single-zone data services without deletion protection, deleted with the stack', () => {
    t.hasResource('AWS::RDS::DBCluster', {
      DeletionPolicy: 'Delete',
      Properties: Match.objectLike({
        DeletionProtection: false,
        BackupRetentionPeriod: 7,
        StorageEncrypted: true,
      }),
    });
    t.hasResourceProperties('AWS::RDS::DBInstance', {
      Engine: 'postgres',
      MultiAZ: false,
      DeletionProtection: false,
    });
    assert.equal(
      Object.values(t.findResources('AWS::RDS::DBInstance', { Properties: { Engine: 'aurora-mysql' } }))
        .length,
      1,
    );
    for (const g of Object.values(t.findResources('AWS::ElastiCache::ReplicationGroup'))) {
      assert.deepEqual([g.Properties.NumCacheClusters, g.Properties.MultiAZEnabled], [1, false]);
    }
    t.hasResourceProperties('AWS::OpenSearchService::Domain', {
      ClusterConfig: Match.objectLike({ InstanceCount: 1, ZoneAwarenessEnabled: false }),
    });
    t.hasResource('AWS::EFS::FileSystem', { DeletionPolicy: 'Delete' });
  });

  test('keeps the same group sizes from the stack file', () => {
    const app = Object.values(t.findResources('AWS::AutoScaling::AutoScalingGroup')).find((g) =>
      JSON.stringify(g.Properties.Tags).includes('"Value":"app"'),
    )!;
    assert.deepEqual([app.Properties.MinSize, app.Properties.MaxSize], ['2', '6']);
  });
});
