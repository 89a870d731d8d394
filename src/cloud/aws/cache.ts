import { RemovalPolicy } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elasticache from 'aws-cdk-lib/aws-elasticache';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { acknowledge } from './acknowledge.ts';
import { assertProps, type CloudProblem } from './errors.ts';
import { PORTS } from './security.ts';

/** The three partitions Magento uses: its cache, the full-page cache and PHP sessions. */
export const PARTITIONS = ['cache', 'page', 'session'] as const;
/** One of {@link PARTITIONS}. */
export type PartitionName = (typeof PARTITIONS)[number];

/** What one partition needs. */
export interface PartitionProps {
  /** Memory the partition must hold, in bytes (the stack file's `maxmemory`). */
  readonly maxmemoryBytes: number;
  /** `maxmemory-policy`: what Valkey drops when full. */
  readonly policy: string;
  /** Whether the data must survive a node's loss: daily snapshots kept 7 days, and a replica with Multi-AZ. */
  readonly persistent: boolean;
}

/** Properties of {@link Cache}. */
export interface CacheProps {
  readonly vpc: ec2.IVpc;
  readonly securityGroup: ec2.ISecurityGroup;
  readonly partitions: Readonly<Record<PartitionName, PartitionProps>>;
  /**
   * A replica in another zone with automatic failover for every partition.
   * @default false
   */
  readonly multiAz?: boolean;
  /**
   * Node type of every partition.
   * @default - the smallest Graviton type whose usable memory holds the partition's maxmemory
   */
  readonly nodeType?: string;
  /**
   * What happens to the auth token secret when the stack is deleted.
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
}

// Memory of each node type in bytes; ElastiCache reserves 25% for replication and snapshots.
const NODE_TYPES: readonly [string, number][] = [
  ['cache.t4g.micro', 0.5],
  ['cache.t4g.small', 1.37],
  ['cache.t4g.medium', 3.09],
  ['cache.m7g.large', 6.38],
  ['cache.m7g.xlarge', 12.93],
  ['cache.m7g.2xlarge', 26.04],
  ['cache.r7g.2xlarge', 52.82],
  ['cache.r7g.4xlarge', 105.81],
].map(([t, gib]) => [t as string, (gib as number) * 1024 ** 3]);

/** The smallest node type that holds `maxmemoryBytes` after the reserved 25%, or undefined. */
export function nodeTypeFor(maxmemoryBytes: number): string | undefined {
  return NODE_TYPES.find(([, bytes]) => bytes * 0.75 >= maxmemoryBytes)?.[0];
}

/** Snapshot retention of persistent partitions, in days. */
export const SESSION_SNAPSHOT_DAYS = 7;

/**
 * ElastiCache for Valkey: one replication group per partition, each with its own parameter group
 * (eviction policy), TLS in transit, encryption at rest and an AUTH token from Secrets Manager.
 */
export class Cache extends Construct {
  readonly groups: Readonly<Record<PartitionName, elasticache.CfnReplicationGroup>>;
  readonly authToken: secretsmanager.Secret;

  constructor(scope: Construct, id: string, props: CacheProps) {
    super(scope, id);
    const problems: CloudProblem[] = [];
    for (const name of PARTITIONS) {
      const p = props.partitions[name];
      if (!props.nodeType && !nodeTypeFor(p.maxmemoryBytes)) {
        problems.push({
          path: `partitions.${name}.maxmemoryBytes`,
          message: 'is larger than the largest node type holds; set nodeType',
          value: p.maxmemoryBytes,
        });
      }
      if (!/^(noeviction|(allkeys|volatile)-(lru|lfu|random)|volatile-ttl)$/.test(p.policy)) {
        problems.push({
          path: `partitions.${name}.policy`,
          message: 'is not a maxmemory-policy',
          value: p.policy,
        });
      }
    }
    if (props.nodeType && !/^cache\.[a-z0-9]+\.[a-z0-9]+$/.test(props.nodeType)) {
      problems.push({
        path: 'nodeType',
        message: 'expected a node type like "cache.t4g.small"',
        value: props.nodeType,
      });
    }
    assertProps('Cache', problems);
    const multiAz = props.multiAz ?? false;

    const subnets = new elasticache.CfnSubnetGroup(this, 'Subnets', {
      description: 'Isolated subnets of the store',
      subnetIds: props.vpc.isolatedSubnets.map((s) => s.subnetId),
    });
    this.authToken = new secretsmanager.Secret(this, 'AuthToken', {
      description: 'AUTH token of the Valkey partitions',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
      removalPolicy: props.removalPolicy ?? RemovalPolicy.DESTROY,
    });
    acknowledge(this.authToken, [
      {
        id: 'AwsSolutions-SMG4',
        reason:
          'ElastiCache takes a new AUTH token only through a ROTATE/SET modification of every partition; rotate by redeploying with a new secret',
      },
    ]);

    const groups = {} as Record<PartitionName, elasticache.CfnReplicationGroup>;
    for (const name of PARTITIONS) {
      const p = props.partitions[name];
      const parameters = new elasticache.CfnParameterGroup(this, `${name}-parameters`, {
        cacheParameterGroupFamily: 'valkey8',
        description: `${name} partition: maxmemory-policy ${p.policy}`,
        properties: { 'maxmemory-policy': p.policy },
      });
      const group = new elasticache.CfnReplicationGroup(this, name, {
        replicationGroupDescription: `${name} partition`,
        engine: 'valkey',
        engineVersion: '8.0',
        cacheNodeType: props.nodeType ?? nodeTypeFor(p.maxmemoryBytes)!,
        cacheParameterGroupName: parameters.ref,
        cacheSubnetGroupName: subnets.ref,
        securityGroupIds: [props.securityGroup.securityGroupId],
        port: PORTS.redis,
        numCacheClusters: multiAz ? 2 : 1,
        automaticFailoverEnabled: multiAz,
        multiAzEnabled: multiAz,
        atRestEncryptionEnabled: true,
        transitEncryptionEnabled: true,
        authToken: this.authToken.secretValue.unsafeUnwrap(),
        snapshotRetentionLimit: p.persistent ? SESSION_SNAPSHOT_DAYS : 0,
        autoMinorVersionUpgrade: true,
      });
      const reasons = [
        {
          id: 'AwsSolutions-AEC5',
          reason:
            'the port is reachable only from the app, admin and services security groups; a non-default port adds no protection',
        },
      ];
      if (!multiAz) {
        reasons.push({
          id: 'AwsSolutions-AEC4',
          reason: 'a non-production environment runs one node per partition; production turns Multi-AZ on',
        });
      }
      acknowledge(group, reasons);
      groups[name] = group;
    }
    this.groups = groups;
  }
}
