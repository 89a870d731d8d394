import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Match } from 'aws-cdk-lib/assertions';
import { PORTS } from './security.ts';
import { FULL_SETTINGS, FULL_STACK, synthStore } from './testing.ts';

// GIVEN the full store in production, synthesised once for every test of this file.
const { template } = synthStore(FULL_STACK, FULL_SETTINGS, 'production');

type Resource = { Type: string; Properties?: Record<string, unknown>; DeletionPolicy?: string };
const resources = (type: string): Resource[] => Object.values(template.findResources(type)) as Resource[];
const groupByRole = (role: string) => {
  const group = resources('AWS::AutoScaling::AutoScalingGroup').find((g) =>
    (g.Properties!.Tags as { Key: string; Value: string }[]).some(
      (t) => t.Key === 'triplane:role' && t.Value === role,
    ),
  );
  assert.ok(group, `no ${role} group`);
  return group.Properties!;
};

describe('network', () => {
  test('one VPC over three zones with public, host and isolated subnets, a NAT gateway per zone and the S3 gateway endpoint', () => {
    template.resourceCountIs('AWS::EC2::VPC', 1);
    template.resourceCountIs('AWS::EC2::Subnet', 9);
    template.resourceCountIs('AWS::EC2::NatGateway', 3);
    const zones = new Set(resources('AWS::EC2::Subnet').map((s) => s.Properties!.AvailabilityZone));
    assert.deepEqual([...zones].sort(), ['us-east-1a', 'us-east-1b', 'us-east-1c']);
    template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      VpcEndpointType: 'Gateway',
      ServiceName: Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith(['.s3'])]) }),
    });
    template.hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'REJECT' });
  });
});

describe('security groups', () => {
  const ingress = [
    ...resources('AWS::EC2::SecurityGroupIngress').map((r) => r.Properties!),
    ...resources('AWS::EC2::SecurityGroup').flatMap(
      (g) => (g.Properties!.SecurityGroupIngress as Record<string, unknown>[]) ?? [],
    ),
  ];

  test('nothing is open to 0.0.0.0/0 or ::/0', () => {
    assert.ok(ingress.length > 20);
    for (const rule of ingress) {
      assert.notEqual(rule.CidrIp, '0.0.0.0/0', JSON.stringify(rule));
      assert.notEqual(rule.CidrIpv6, '::/0', JSON.stringify(rule));
    }
  });

  test('SSH, database, cache and NFS ports admit security groups only', () => {
    const sensitive = [PORTS.ssh, PORTS.sshGateway, PORTS.mysql, PORTS.postgres, PORTS.redis, PORTS.nfs];
    const rules = ingress.filter((r) => sensitive.includes(r.FromPort as never));
    assert.ok(rules.length >= 10, `${rules.length} rules`);
    for (const rule of rules) {
      assert.ok(rule.SourceSecurityGroupId, `port ${rule.FromPort} admits ${JSON.stringify(rule)}`);
      assert.equal(rule.CidrIp, undefined);
    }
  });

  test('the load balancer admits CloudFront origin-facing addresses on port 80 only', () => {
    const fromPrefixList = ingress.filter((r) => r.SourcePrefixListId);
    assert.deepEqual(
      fromPrefixList.map((r) => [r.SourcePrefixListId, r.FromPort, r.ToPort]),
      [['pl-3b927c52', 80, 80]],
    );
  });
});

describe('dns', () => {
  test('a public zone, a DNS-validated certificate for every domain, and A and AAAA aliases to CloudFront', () => {
    template.hasResourceProperties('AWS::Route53::HostedZone', { Name: 'shop.example.com.' });
    template.hasResourceProperties('AWS::CertificateManager::Certificate', {
      DomainName: 'shop.example.com',
      SubjectAlternativeNames: ['www.shop.example.com'],
      ValidationMethod: 'DNS',
    });
    const aliases = resources('AWS::Route53::RecordSet').filter((r) => r.Properties!.AliasTarget);
    assert.deepEqual(aliases.map((r) => `${r.Properties!.Type} ${r.Properties!.Name}`).sort(), [
      'A shop.example.com.',
      'A www.shop.example.com.',
      'AAAA shop.example.com.',
      'AAAA www.shop.example.com.',
    ]);
  });
});

describe('edge', () => {
  test('CloudFront caches the static paths and forwards the rest with every header, cookie and query string', () => {
    template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        Aliases: ['shop.example.com', 'www.shop.example.com'],
        ViewerCertificate: Match.objectLike({
          MinimumProtocolVersion: 'TLSv1.2_2021',
          SslSupportMethod: 'sni-only',
        }),
        DefaultCacheBehavior: Match.objectLike({
          // Managed policy CachingDisabled.
          CachePolicyId: '4135ea2d-6df8-44a3-9df3-4b5a84be39ad',
          ViewerProtocolPolicy: 'redirect-to-https',
        }),
        CacheBehaviors: [
          Match.objectLike({ PathPattern: '/static/*', AllowedMethods: ['GET', 'HEAD', 'OPTIONS'] }),
          Match.objectLike({ PathPattern: '/media/*', AllowedMethods: ['GET', 'HEAD', 'OPTIONS'] }),
        ],
        Logging: Match.objectLike({ Prefix: 'cloudfront/' }),
      }),
    });
    template.hasResourceProperties('AWS::CloudFront::OriginRequestPolicy', {
      OriginRequestPolicyConfig: Match.objectLike({
        CookiesConfig: { CookieBehavior: 'all' },
        QueryStringsConfig: { QueryStringBehavior: 'all' },
        HeadersConfig: {
          HeaderBehavior: 'allViewerAndWhitelistCloudFront',
          Headers: ['CloudFront-Forwarded-Proto', 'CloudFront-Viewer-Address'],
        },
      }),
    });
    template.hasResourceProperties('AWS::CloudFront::CachePolicy', {
      CachePolicyConfig: Match.objectLike({
        ParametersInCacheKeyAndForwardedToOrigin: Match.objectLike({
          CookiesConfig: { CookieBehavior: 'whitelist', Cookies: ['X-Magento-Vary'] },
          HeadersConfig: { HeaderBehavior: 'whitelist', Headers: ['Host'] },
        }),
      }),
    });
  });

  test('the origin is an internal load balancer in front of the edge group, health-checked on the admin port', () => {
    template.resourceCountIs('AWS::CloudFront::VpcOrigin', 1);
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      Scheme: 'internal',
      Type: 'application',
    });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      Port: PORTS.edgeHttp,
      HealthCheckPath: '/healthz',
      HealthCheckPort: String(PORTS.edgeAdmin),
    });
    const edge = groupByRole('edge');
    assert.deepEqual([edge.MinSize, edge.MaxSize], ['2', '6']);
    assert.equal((edge.TargetGroupARNs as unknown[]).length, 1);
  });
});

describe('app', () => {
  test('the app group runs between the stack file min and max, scaling on CPU and on requests per host', () => {
    const app = groupByRole('app');
    assert.deepEqual(
      [app.MinSize, app.MaxSize],
      [String(FULL_STACK.app.replicas.min), String(FULL_STACK.app.replicas.max)],
    );
    template.hasResourceProperties('AWS::AutoScaling::ScalingPolicy', {
      TargetTrackingConfiguration: Match.objectLike({
        PredefinedMetricSpecification: { PredefinedMetricType: 'ASGAverageCPUUtilization' },
        TargetValue: FULL_STACK.app.autoscale.cpuPercent,
      }),
    });
    template.hasResourceProperties('AWS::AutoScaling::ScalingPolicy', {
      TargetTrackingConfiguration: Match.objectLike({
        CustomizedMetricSpecification: {
          Metrics: Match.arrayWith([
            Match.objectLike({ Id: 'perHost', Expression: 'requests / hosts', ReturnData: true }),
          ]),
        },
      }),
    });
  });

  test('the admin group has exactly the admin replicas', () => {
    const admin = groupByRole('admin');
    assert.deepEqual([admin.MinSize, admin.MaxSize], ['1', '1']);
  });

  test('every host: IMDSv2 only, encrypted gp3 root volume, detailed monitoring, Debian 12 from its SSM parameter', () => {
    const templates = resources('AWS::EC2::LaunchTemplate');
    assert.equal(templates.length, 5);
    for (const lt of templates) {
      const data = lt.Properties!.LaunchTemplateData as {
        MetadataOptions: { HttpTokens: string };
        Monitoring: unknown;
        BlockDeviceMappings: { Ebs: { Encrypted: boolean; VolumeType: string } }[];
        ImageId: unknown;
      };
      assert.equal(data.MetadataOptions.HttpTokens, 'required');
      assert.deepEqual(data.Monitoring, { Enabled: true });
      const ebs = data.BlockDeviceMappings[0]!.Ebs;
      assert.deepEqual([ebs.Encrypted, ebs.VolumeType], [true, 'gp3']);
      assert.match(JSON.stringify(data.ImageId), /debianrelease12latestarm64/);
    }
  });
});

describe('services host', () => {
  test('a group of one in the state volume zone, allowed to attach that volume only', () => {
    const services = groupByRole('services');
    assert.deepEqual([services.MinSize, services.MaxSize], ['1', '1']);
    assert.equal((services.VPCZoneIdentifier as unknown[]).length, 1);
    template.hasResourceProperties('AWS::EC2::Volume', {
      AvailabilityZone: 'us-east-1a',
      Encrypted: true,
      VolumeType: 'gp3',
    });
  });
});

describe('cache', () => {
  const groups = resources('AWS::ElastiCache::ReplicationGroup').map((g) => g.Properties!);

  test('three Valkey partitions, encrypted in transit and at rest, with AUTH, Multi-AZ in production', () => {
    assert.equal(groups.length, 3);
    for (const g of groups) {
      assert.deepEqual(
        [
          g.Engine,
          g.TransitEncryptionEnabled,
          g.AtRestEncryptionEnabled,
          g.MultiAZEnabled,
          g.NumCacheClusters,
        ],
        ['valkey', true, true, true, 2],
      );
      assert.match(JSON.stringify(g.AuthToken), /resolve:secretsmanager/);
    }
  });

  test('each partition has its own eviction policy; only sessions keep snapshots', () => {
    const policies = resources('AWS::ElastiCache::ParameterGroup').map(
      (p) => (p.Properties!.Properties as Record<string, string>)['maxmemory-policy'],
    );
    assert.deepEqual(policies.sort(), ['allkeys-lru', 'allkeys-lru', 'noeviction']);
    const byDescription = Object.fromEntries(groups.map((g) => [g.ReplicationGroupDescription, g]));
    assert.equal(byDescription['session partition']!.SnapshotRetentionLimit, 7);
    assert.equal(byDescription['cache partition']!.SnapshotRetentionLimit, 0);
    assert.equal(byDescription['page partition']!.SnapshotRetentionLimit, 0);
    // 1 GiB of cache needs the node whose usable memory holds it.
    assert.equal(byDescription['cache partition']!.CacheNodeType, 'cache.t4g.small');
    assert.equal(byDescription['page partition']!.CacheNodeType, 'cache.t4g.micro');
  });
});

describe('search', () => {
  test('an OpenSearch domain in the VPC, encrypted, HTTPS only, with fine-grained access control across 3 zones', () => {
    template.hasResourceProperties('AWS::OpenSearchService::Domain', {
      EncryptionAtRestOptions: { Enabled: true },
      NodeToNodeEncryptionOptions: { Enabled: true },
      DomainEndpointOptions: Match.objectLike({
        EnforceHTTPS: true,
        TLSSecurityPolicy: 'Policy-Min-TLS-1-2-2019-07',
      }),
      AdvancedSecurityOptions: Match.objectLike({ Enabled: true, InternalUserDatabaseEnabled: true }),
      ClusterConfig: Match.objectLike({ InstanceCount: 3, ZoneAwarenessEnabled: true }),
      VPCOptions: Match.objectLike({ SubnetIds: Match.anyValue() }),
    });
  });
});

describe('database', () => {
  test('Aurora MySQL: encrypted, 7-day backups, deletion protection and a reader in production, retained on delete', () => {
    template.hasResource('AWS::RDS::DBCluster', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({
        Engine: 'aurora-mysql',
        StorageEncrypted: true,
        BackupRetentionPeriod: 7,
        DeletionProtection: true,
        EnableCloudwatchLogsExports: ['audit', 'error', 'general', 'slowquery'],
        MasterUserSecret: Match.absent(),
      }),
    });
    const instances = resources('AWS::RDS::DBInstance').filter(
      (i) => i.Properties!.Engine === 'aurora-mysql',
    );
    assert.equal(instances.length, 2);
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: Match.objectLike({ SecretStringTemplate: '{"username":"store"}' }),
    });
  });
});

describe('storage and backups', () => {
  test('EFS media is encrypted; AWS Backup keeps daily copies of it and the state volume for 7 days', () => {
    template.hasResourceProperties('AWS::EFS::FileSystem', { Encrypted: true, ThroughputMode: 'elastic' });
    template.resourceCountIs('AWS::EFS::MountTarget', 3);
    template.hasResourceProperties('AWS::Backup::BackupPlan', {
      BackupPlan: Match.objectLike({
        BackupPlanRule: [
          Match.objectLike({
            RuleName: 'daily',
            ScheduleExpression: 'cron(0 3 * * ? *)',
            Lifecycle: { DeleteAfterDays: 7 },
          }),
        ],
      }),
    });
    const selection = resources('AWS::Backup::BackupSelection')[0]!.Properties!.BackupSelection as {
      Resources: unknown[];
    };
    assert.equal(selection.Resources.length, 2);
    assert.match(JSON.stringify(selection.Resources), /"Fn::GetAtt":\["StorageMedia[0-9A-F]+","Arn"\]/);
    assert.match(JSON.stringify(selection.Resources), /:volume\//);
  });
});

describe('ssh', () => {
  test('an EC2 Instance Connect endpoint is the only way to port 22 and to the SSH gateway', () => {
    template.resourceCountIs('AWS::EC2::InstanceConnectEndpoint', 1);
    const endpoint = resources('AWS::EC2::InstanceConnectEndpoint')[0]!.Properties!;
    const endpointGroup = JSON.stringify((endpoint.SecurityGroupIds as unknown[])[0]);
    const sshRules = resources('AWS::EC2::SecurityGroupIngress')
      .map((r) => r.Properties!)
      .filter((r) => r.FromPort === PORTS.ssh || r.FromPort === PORTS.sshGateway);
    assert.equal(sshRules.length, 6);
    for (const rule of sshRules) assert.equal(JSON.stringify(rule.SourceSecurityGroupId), endpointGroup);
  });
});

describe('control plane', () => {
  test('a group of one with a Multi-AZ, encrypted PostgreSQL state store and a private name', () => {
    const control = groupByRole('control');
    assert.deepEqual([control.MinSize, control.MaxSize], ['1', '1']);
    template.hasResource('AWS::RDS::DBInstance', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({
        Engine: 'postgres',
        MultiAZ: true,
        StorageEncrypted: true,
        BackupRetentionPeriod: 7,
        DeletionProtection: true,
        PubliclyAccessible: false,
      }),
    });
    template.hasResourceProperties('AWS::Route53::HostedZone', {
      Name: 'triplane.internal.',
      VPCs: [Match.objectLike({ VPCRegion: 'us-east-1' })],
    });
  });
});

describe('observability', () => {
  test('alarms on 5xx rate, latency, CPU of every group and database connections, sent to an encrypted topic', () => {
    const alarms = resources('AWS::CloudWatch::Alarm').map((a) => a.Properties!);
    const described = alarms.map((a) => String(a.AlarmDescription));
    assert.equal(alarms.length, 9);
    assert.equal(described.filter((d) => d.startsWith('CPU of the')).length, 5);
    assert.ok(described.some((d) => d.includes('5xx')));
    assert.ok(described.some((d) => d.includes('response time')));
    assert.equal(described.filter((d) => d.startsWith('Connections to the')).length, 2);
    const rate = alarms.find((a) => String(a.AlarmDescription).includes('5xx'))!;
    assert.match(JSON.stringify(rate.Metrics), /HTTPCode_Target_5XX_Count/);
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    });
  });

  test('every log group has a retention', () => {
    const groups = resources('AWS::Logs::LogGroup');
    assert.ok(groups.length >= 10);
    for (const g of groups) assert.equal(g.Properties!.RetentionInDays, 30);
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: '/triplane/shop/production/agent',
    });
  });
});

describe('stack', () => {
  test('production stacks keep their data: termination protection and RETAIN on the stores of data', () => {
    for (const type of [
      'AWS::EFS::FileSystem',
      'AWS::EC2::Volume',
      'AWS::Backup::BackupVault',
      'AWS::RDS::DBCluster',
    ]) {
      for (const r of resources(type)) assert.equal(r.DeletionPolicy, 'Retain', type);
    }
  });
});
