import { Duration, RemovalPolicy, SecretValue } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { acknowledge } from './acknowledge.ts';
import { assertProps, type CloudProblem } from './errors.ts';
import { HostGroup } from './hosts.ts';
import { PORTS } from './security.ts';

/** Private DNS name the agents and edges reach the control plane at. */
export const CONTROL_ZONE = 'triplane.internal';
export const CONTROL_HOST = `control.${CONTROL_ZONE}`;

/** Days RDS keeps the state store's backups. */
export const STATE_BACKUP_DAYS = 7;

/** Properties of {@link ControlPlane}. */
export interface ControlPlaneProps {
  readonly vpc: ec2.IVpc;
  readonly machineImage: ec2.IMachineImage;
  readonly securityGroup: ec2.ISecurityGroup;
  readonly stateStoreSecurityGroup: ec2.ISecurityGroup;
  readonly instanceType: string;
  /** Identifier of the state store instance: lowercase letters, digits and single dashes. */
  readonly stateStoreIdentifier: string;
  /** The control host's boot script, given the `TRIPLANE_*` variables this construct defines. */
  readonly renderUserData: (variables: Readonly<Record<string, string>>) => string;
  /**
   * Instance class of the PostgreSQL state store.
   * @default 'db.t4g.micro'
   */
  readonly stateStoreInstanceClass?: string;
  /**
   * gp3 storage of the state store in GiB.
   * @default 20
   */
  readonly stateStoreStorageGb?: number;
  /**
   * A standby of the state store in another zone.
   * @default false
   */
  readonly multiAz?: boolean;
  /**
   * Refuse to delete the state store.
   * @default false
   */
  readonly deletionProtection?: boolean;
  /**
   * What happens to the state store and the token secrets when the stack is deleted.
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Topic told about launches and terminations.
   * @default - none
   */
  readonly notifications?: sns.ITopic;
}

/**
 * The control plane: a self-healing group of one host running `triplane control` (API, reconciler,
 * jobs, SSH gateway) with its state in RDS PostgreSQL, a private DNS name the host claims at boot,
 * and the secrets through which it hands join tokens to agents and an API token to the edges.
 */
export class ControlPlane extends Construct {
  readonly hosts: HostGroup;
  readonly stateStore: rds.DatabaseInstance;
  readonly joinToken: secretsmanager.Secret;
  readonly edgeToken: secretsmanager.Secret;
  readonly zone: route53.PrivateHostedZone;
  /** `http://control.triplane.internal:7070`. */
  readonly url = `http://${CONTROL_HOST}:${PORTS.control}`;

  constructor(scope: Construct, id: string, props: ControlPlaneProps) {
    super(scope, id);
    const instanceClass = props.stateStoreInstanceClass ?? 'db.t4g.micro';
    const storageGb = props.stateStoreStorageGb ?? 20;
    const problems: CloudProblem[] = [];
    if (!/^db\.[a-z0-9]+\.[a-z0-9]+$/.test(instanceClass)) {
      problems.push({
        path: 'stateStoreInstanceClass',
        message: 'expected an instance class like "db.t4g.micro"',
        value: instanceClass,
      });
    }
    if (!Number.isInteger(storageGb) || storageGb < 20 || storageGb > 65536) {
      problems.push({ path: 'stateStoreStorageGb', message: 'must be from 20 to 65536', value: storageGb });
    }
    if (
      !/^[a-z](?!.*--)[a-z0-9-]{0,62}$/.test(props.stateStoreIdentifier) ||
      props.stateStoreIdentifier.endsWith('-')
    ) {
      problems.push({
        path: 'stateStoreIdentifier',
        message: 'expected lowercase letters, digits and single dashes, starting with a letter',
        value: props.stateStoreIdentifier,
      });
    }
    assertProps('ControlPlane', problems);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;

    // Exported logs go to groups made here (see Database for why).
    const logGroups = ['postgresql', 'upgrade'].map(
      (type) =>
        new logs.LogGroup(this, `Logs-${type}`, {
          logGroupName: `/aws/rds/instance/${props.stateStoreIdentifier}/${type}`,
          retention: logs.RetentionDays.ONE_MONTH,
          removalPolicy:
            removalPolicy === RemovalPolicy.RETAIN ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
        }),
    );
    this.stateStore = new rds.DatabaseInstance(this, 'StateStore', {
      instanceIdentifier: props.stateStoreIdentifier,
      engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_17_9 }),
      instanceType: new ec2.InstanceType(instanceClass.replace(/^db\./, '')),
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      securityGroups: [props.stateStoreSecurityGroup],
      credentials: rds.Credentials.fromGeneratedSecret('triplane'),
      databaseName: 'triplane',
      allocatedStorage: storageGb,
      storageType: rds.StorageType.GP3,
      storageEncrypted: true,
      multiAz: props.multiAz ?? false,
      backupRetention: Duration.days(STATE_BACKUP_DAYS),
      deletionProtection: props.deletionProtection ?? false,
      removalPolicy,
      iamAuthentication: true,
      cloudwatchLogsExports: ['postgresql', 'upgrade'],
      publiclyAccessible: false,
      autoMinorVersionUpgrade: true,
    });
    for (const group of logGroups) this.stateStore.node.addDependency(group);
    const stateReasons: { id: string; reason: string }[] = [
      {
        id: 'AwsSolutions-RDS11',
        reason:
          'port 5432 is reachable only from the control plane security group; a non-default port adds no protection',
      },
      {
        id: 'AwsSolutions-SMG4',
        reason:
          'the control plane reads the password once at boot; rotation needs the rotation Lambda, which this stack does not deploy yet',
      },
    ];
    if (!props.multiAz) {
      stateReasons.push({
        id: 'AwsSolutions-RDS3',
        reason: 'a non-production environment runs one state store instance; production has a standby',
      });
    }
    if (!props.deletionProtection) {
      stateReasons.push({ id: 'AwsSolutions-RDS10', reason: 'deletion protection is on in production only' });
    }
    acknowledge(this.stateStore, stateReasons);

    this.zone = new route53.PrivateHostedZone(this, 'Zone', { zoneName: CONTROL_ZONE, vpc: props.vpc });
    const tokenSecret = (name: string, description: string) => {
      const secret = new secretsmanager.Secret(this, name, {
        description,
        // The control host replaces this placeholder once it has made the first token.
        secretStringValue: SecretValue.unsafePlainText('pending'),
        removalPolicy,
      });
      acknowledge(secret, [
        {
          id: 'AwsSolutions-SMG4',
          reason:
            'the control host writes a fresh single-use token into it every minute; the token itself expires',
        },
      ]);
      return secret;
    };
    this.joinToken = tokenSecret(
      'JoinToken',
      'Current join token for new agents (written by the control host)',
    );
    this.edgeToken = tokenSecret('EdgeToken', 'API token of the edges (written by the control host)');

    const variables = {
      TRIPLANE_STATE_SECRET: this.stateStore.secret!.secretArn,
      TRIPLANE_JOIN_SECRET: this.joinToken.secretArn,
      TRIPLANE_EDGE_SECRET: this.edgeToken.secretArn,
      TRIPLANE_PRIVATE_ZONE_ID: this.zone.hostedZoneId,
      TRIPLANE_CONTROL_HOST: CONTROL_HOST,
      TRIPLANE_CONTROL_URL: this.url,
    };
    this.hosts = new HostGroup(this, 'Hosts', {
      vpc: props.vpc,
      role: 'control',
      instanceType: props.instanceType,
      machineImage: props.machineImage,
      securityGroup: props.securityGroup,
      userData: props.renderUserData(variables),
      minCapacity: 1,
      maxCapacity: 1,
      ...(props.notifications ? { notifications: props.notifications } : {}),
    });
    this.stateStore.secret!.grantRead(this.hosts.role);
    this.joinToken.grantRead(this.hosts.role);
    this.joinToken.grantWrite(this.hosts.role);
    this.edgeToken.grantRead(this.hosts.role);
    this.edgeToken.grantWrite(this.hosts.role);
    this.hosts.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['route53:ChangeResourceRecordSets'],
        resources: [this.zone.hostedZoneArn],
      }),
    );
  }
}
