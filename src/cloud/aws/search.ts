import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as opensearch from 'aws-cdk-lib/aws-opensearchservice';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { acknowledge } from './acknowledge.ts';
import { assertProps, type CloudProblem } from './errors.ts';

/** Properties of {@link Search}. */
export interface SearchProps {
  readonly vpc: ec2.IVpc;
  readonly securityGroup: ec2.ISecurityGroup;
  /** Domain name: 3 to 28 lowercase letters, digits and dashes, starting with a letter. */
  readonly domainName: string;
  /** Zones of the data nodes (one node per zone). */
  readonly zones: number;
  /**
   * Data node type.
   * @default 't3.small.search'
   */
  readonly instanceType?: string;
  /**
   * EBS (gp3) per data node, in GiB.
   * @default 20
   */
  readonly volumeGb?: number;
  /**
   * Three dedicated master nodes.
   * @default false
   */
  readonly dedicatedMasters?: boolean;
  /**
   * What happens to the domain when the stack is deleted.
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Retention of the slow-log and error-log groups.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * Amazon OpenSearch Service for the catalog: inside the VPC, encrypted at rest and between nodes,
 * HTTPS only (TLS 1.2), fine-grained access control with a master user in Secrets Manager.
 */
export class Search extends Construct {
  readonly domain: opensearch.Domain;
  /** The generated password of the fine-grained access control master user. */
  readonly masterUser: secretsmanager.ISecret;

  constructor(scope: Construct, id: string, props: SearchProps) {
    super(scope, id);
    const problems: CloudProblem[] = [];
    if (!Number.isInteger(props.zones) || props.zones < 1 || props.zones > 3) {
      problems.push({ path: 'zones', message: 'must be 1, 2 or 3', value: props.zones });
    }
    if (props.instanceType && !/\.search$/.test(props.instanceType)) {
      problems.push({
        path: 'instanceType',
        message: 'expected an OpenSearch type like "t3.small.search"',
        value: props.instanceType,
      });
    }
    if (!/^[a-z][a-z0-9-]{2,27}$/.test(props.domainName)) {
      problems.push({
        path: 'domainName',
        message: 'expected 3 to 28 lowercase letters, digits and dashes, starting with a letter',
        value: props.domainName,
      });
    }
    const volumeGb = props.volumeGb ?? 20;
    if (volumeGb < 10) problems.push({ path: 'volumeGb', message: 'must be at least 10', value: volumeGb });
    assertProps('Search', problems);

    const removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;
    this.masterUser = new secretsmanager.Secret(this, 'MasterUser', {
      description: 'OpenSearch fine-grained access control master user',
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ username: 'triplane' }),
        generateStringKey: 'password',
        passwordLength: 32,
      },
      removalPolicy,
    });
    acknowledge(this.masterUser, [
      {
        id: 'AwsSolutions-SMG4',
        reason:
          "the master user's password is changed through OpenSearch's security plugin, which a Secrets Manager rotation cannot reach",
      },
    ]);
    const retention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const slowLogs = new logs.LogGroup(this, 'SlowLogs', { retention, removalPolicy });
    const appLogs = new logs.LogGroup(this, 'AppLogs', { retention, removalPolicy });
    this.domain = new opensearch.Domain(this, 'Domain', {
      domainName: props.domainName,
      version: opensearch.EngineVersion.OPENSEARCH_2_19,
      vpc: props.vpc,
      vpcSubnets: [{ subnets: props.vpc.isolatedSubnets.slice(0, props.zones) }],
      securityGroups: [props.securityGroup],
      capacity: {
        dataNodes: props.zones,
        dataNodeInstanceType: props.instanceType ?? 't3.small.search',
        ...(props.dedicatedMasters ? { masterNodes: 3, masterNodeInstanceType: 'm7g.large.search' } : {}),
        multiAzWithStandbyEnabled: false,
      },
      zoneAwareness:
        props.zones > 1 ? { enabled: true, availabilityZoneCount: props.zones } : { enabled: false },
      ebs: { volumeSize: volumeGb, volumeType: ec2.EbsDeviceVolumeType.GP3 },
      encryptionAtRest: { enabled: true },
      nodeToNodeEncryption: true,
      enforceHttps: true,
      tlsSecurityPolicy: opensearch.TLSSecurityPolicy.TLS_1_2,
      fineGrainedAccessControl: {
        masterUserName: 'triplane',
        masterUserPassword: this.masterUser.secretValueFromJson('password'),
      },
      logging: {
        slowSearchLogEnabled: true,
        slowSearchLogGroup: slowLogs,
        slowIndexLogEnabled: true,
        slowIndexLogGroup: slowLogs,
        appLogEnabled: true,
        appLogGroup: appLogs,
      },
      removalPolicy,
      // The construct's own log policy is a Lambda-backed custom resource; a plain one is made below.
      suppressLogsResourcePolicy: true,
    });
    new logs.CfnResourcePolicy(this, 'LogsPolicy', {
      policyName: `${props.domainName}-opensearch-logs`,
      policyDocument: Stack.of(this).toJsonString({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Service: 'es.amazonaws.com' },
            Action: ['logs:PutLogEvents', 'logs:CreateLogStream'],
            Resource: [slowLogs.logGroupArn, appLogs.logGroupArn],
          },
        ],
      }),
    });
    // Magento signs no requests: it logs in as an internal user of fine-grained access control. So the
    // domain policy admits any principal and the users, the VPC and the security group do the guarding.
    // The policy is set on the resource itself: the construct's own way goes through a Lambda-backed
    // custom resource, and the domain's name is known here.
    const cfn = this.domain.node.defaultChild as opensearch.CfnDomain;
    cfn.accessPolicies = new iam.PolicyDocument({
      statements: [
        new iam.PolicyStatement({
          principals: [new iam.AnyPrincipal()],
          actions: ['es:ESHttp*'],
          resources: [
            Stack.of(this).formatArn({
              service: 'es',
              resource: 'domain',
              resourceName: `${props.domainName}/*`,
            }),
          ],
        }),
      ],
    }).toJSON();
    const reasons = [
      {
        id: 'AwsSolutions-OS3',
        reason: 'the domain is inside the VPC and admits only the app, admin and services security groups',
      },
      {
        id: 'AwsSolutions-OS5',
        reason:
          'requests are authenticated by fine-grained access control (internal users), which Magento supports and IAM signing it does not',
      },
    ];
    if (!props.dedicatedMasters) {
      reasons.push({
        id: 'AwsSolutions-OS4',
        reason:
          'a store catalog fits 1–3 data nodes; search.dedicatedMasters turns dedicated masters on for large stores',
      });
    }
    if (props.zones < 2) {
      reasons.push({
        id: 'AwsSolutions-OS7',
        reason: 'a single-zone environment: production spans 2–3 zones with zone awareness',
      });
    }
    acknowledge(this.domain, reasons);
  }
}
