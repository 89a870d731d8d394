import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import { Construct } from 'constructs';
import { type Acknowledgement, acknowledge } from './acknowledge.ts';
import { assertProps, type CloudProblem } from './errors.ts';

/** Days Aurora keeps its continuous backups (point-in-time restore). */
export const DATABASE_BACKUP_DAYS = 7;

/** The logs the cluster exports to CloudWatch. */
export const DATABASE_LOGS = ['audit', 'error', 'general', 'slowquery'] as const;

/** Properties of {@link Database}. */
export interface DatabaseProps {
  readonly vpc: ec2.IVpc;
  readonly securityGroup: ec2.ISecurityGroup;
  /** Cluster identifier: 1 to 63 lowercase letters, digits and dashes, starting with a letter. */
  readonly clusterIdentifier: string;
  /** Schema created at first start (the stack file's `services.database.name`). */
  readonly databaseName: string;
  /** Owner of the generated credentials (the stack file's `services.database.user`). */
  readonly username: string;
  /**
   * Instance class of the writer and the reader.
   * @default 'db.t4g.medium'
   */
  readonly instanceClass?: string;
  /**
   * A reader in another zone that takes over when the writer fails.
   * @default false
   */
  readonly multiAz?: boolean;
  /**
   * Refuse to delete the cluster; production turns it on.
   * @default false
   */
  readonly deletionProtection?: boolean;
  /**
   * What happens to the cluster when the stack is deleted.
   * @default RemovalPolicy.SNAPSHOT
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Retention of the exported logs (audit, error, general, slow query).
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * Aurora MySQL 3 for the store: encrypted, 7 days of point-in-time backups, credentials generated into
 * Secrets Manager, logs exported to CloudWatch, a reader in another zone when Multi-AZ.
 */
export class Database extends Construct {
  readonly cluster: rds.DatabaseCluster;

  constructor(scope: Construct, id: string, props: DatabaseProps) {
    super(scope, id);
    const instanceClass = props.instanceClass ?? 'db.t4g.medium';
    const problems: CloudProblem[] = [];
    if (!/^db\.[a-z0-9]+\.[a-z0-9]+$/.test(instanceClass)) {
      problems.push({
        path: 'instanceClass',
        message: 'expected an instance class like "db.t4g.medium"',
        value: instanceClass,
      });
    }
    if (
      !/^[a-z](?!.*--)[a-z0-9-]{0,62}$/.test(props.clusterIdentifier) ||
      props.clusterIdentifier.endsWith('-')
    ) {
      problems.push({
        path: 'clusterIdentifier',
        message: 'expected lowercase letters, digits and single dashes, starting with a letter',
        value: props.clusterIdentifier,
      });
    }
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(props.databaseName)) {
      problems.push({
        path: 'databaseName',
        message: 'expected a MySQL schema name',
        value: props.databaseName,
      });
    }
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,31}$/.test(props.username) || props.username === 'admin') {
      problems.push({
        path: 'username',
        message: 'expected a MySQL user name other than the reserved "admin"',
        value: props.username,
      });
    }
    if (props.vpc.isolatedSubnets.length < 2) {
      problems.push({
        path: 'vpc',
        message: 'Aurora needs isolated subnets in at least 2 zones',
        value: props.vpc.isolatedSubnets.length,
      });
    }
    assertProps('Database', problems);

    const instanceType = new ec2.InstanceType(instanceClass.replace(/^db\./, ''));
    const parameters = new rds.ParameterGroup(this, 'Parameters', {
      engine: rds.DatabaseClusterEngine.auroraMysql({ version: rds.AuroraMysqlEngineVersion.VER_3_10_4 }),
      description: 'Triplane store: slow query log and audit log on',
      parameters: {
        slow_query_log: '1',
        long_query_time: '2',
        server_audit_logging: '1',
        server_audit_events: 'CONNECT,QUERY_DDL',
        require_secure_transport: 'ON',
      },
    });
    // Exported logs go to groups made here, so their retention is a plain property and not the
    // Lambda-backed retention resource; the fixed identifier lets the groups exist before the cluster.
    const logGroups = DATABASE_LOGS.map(
      (type) =>
        new logs.LogGroup(this, `Logs-${type}`, {
          logGroupName: `/aws/rds/cluster/${props.clusterIdentifier}/${type}`,
          retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
          removalPolicy:
            props.removalPolicy === RemovalPolicy.RETAIN ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
        }),
    );
    this.cluster = new rds.DatabaseCluster(this, 'Cluster', {
      clusterIdentifier: props.clusterIdentifier,
      engine: rds.DatabaseClusterEngine.auroraMysql({ version: rds.AuroraMysqlEngineVersion.VER_3_10_4 }),
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      securityGroups: [props.securityGroup],
      credentials: rds.Credentials.fromGeneratedSecret(props.username),
      defaultDatabaseName: props.databaseName,
      writer: rds.ClusterInstance.provisioned('Writer', { instanceType, publiclyAccessible: false }),
      readers: props.multiAz
        ? [
            rds.ClusterInstance.provisioned('Reader', {
              instanceType,
              publiclyAccessible: false,
              promotionTier: 1,
            }),
          ]
        : [],
      parameterGroup: parameters,
      storageEncrypted: true,
      backup: { retention: Duration.days(DATABASE_BACKUP_DAYS), preferredWindow: '03:00-04:00' },
      deletionProtection: props.deletionProtection ?? false,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.SNAPSHOT,
      iamAuthentication: true,
      cloudwatchLogsExports: [...DATABASE_LOGS],
      monitoringInterval: Duration.seconds(60),
      enablePerformanceInsights: false,
      copyTagsToSnapshot: true,
    });

    for (const group of logGroups) this.cluster.node.addDependency(group);
    const reasons: Acknowledgement[] = [
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole]',
        reason: 'AmazonRDSEnhancedMonitoringRole is the AWS-maintained policy enhanced monitoring requires',
      },
      {
        id: 'AwsSolutions-RDS11',
        reason:
          'port 3306 is reachable only from the app, admin and services security groups; a non-default port adds no protection',
      },
      {
        id: 'AwsSolutions-RDS14',
        reason:
          'point-in-time restore over the 7-day backup retention covers what Backtrack would, without its change-record charges',
      },
      {
        id: 'AwsSolutions-SMG4',
        reason:
          'the app reads the password at boot from the secret; rotation needs the rotation Lambda, which this stack does not deploy yet',
      },
    ];
    if (!props.deletionProtection) {
      reasons.push({
        id: 'AwsSolutions-RDS10',
        reason:
          'deletion protection is on in production only; other environments are torn down with the stack',
      });
    }
    acknowledge(this.cluster, reasons);
  }
}
