import { RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as amazonmq from 'aws-cdk-lib/aws-amazonmq';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { acknowledge } from './acknowledge.ts';
import { assertProps, type CloudProblem } from './errors.ts';
import { HostGroup } from './hosts.ts';

/** Properties of {@link ServicesHost}. */
export interface ServicesHostProps {
  readonly vpc: ec2.IVpc;
  readonly machineImage: ec2.IMachineImage;
  readonly securityGroup: ec2.ISecurityGroup;
  readonly instanceType: string;
  /** Boot script of the host. */
  readonly userData: string;
  /** The EBS volume the host attaches at boot; the host runs in its zone. */
  readonly stateVolume: ec2.Volume;
  /**
   * Where RabbitMQ runs: on this host, or as Amazon MQ for RabbitMQ.
   * @default 'host'
   */
  readonly rabbitmq?: 'host' | 'amazon-mq';
  /** Security group of the Amazon MQ broker; required with `rabbitmq: 'amazon-mq'`. */
  readonly brokerSecurityGroup?: ec2.ISecurityGroup;
  /**
   * A three-node broker cluster across zones (Amazon MQ only).
   * @default false
   */
  readonly multiAz?: boolean;
  /**
   * Topic told about launches and terminations.
   * @default - none
   */
  readonly notifications?: sns.ITopic;
  /**
   * What happens to the broker's password secret when the stack is deleted.
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The services host: one self-healing instance (a group of one) that runs Varnish, RabbitMQ and the
 * cron runner under `triplane agent`, keeping their state on an EBS volume it attaches at boot; or
 * Amazon MQ for RabbitMQ instead of the local RabbitMQ.
 */
export class ServicesHost extends Construct {
  readonly hosts: HostGroup;
  readonly broker?: amazonmq.CfnBroker;
  readonly brokerSecret?: secretsmanager.Secret;

  constructor(scope: Construct, id: string, props: ServicesHostProps) {
    super(scope, id);
    const rabbitmq = props.rabbitmq ?? 'host';
    const problems: CloudProblem[] = [];
    if (rabbitmq === 'amazon-mq' && !props.brokerSecurityGroup) {
      problems.push({
        path: 'brokerSecurityGroup',
        message: "is required with rabbitmq 'amazon-mq'",
        value: undefined,
      });
    }
    const zone = props.stateVolume.availabilityZone;
    const subnets = props.vpc.selectSubnets({
      subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS,
      availabilityZones: [zone],
    });
    if (subnets.subnets.length === 0) {
      problems.push({
        path: 'stateVolume.availabilityZone',
        message: 'has no private subnet in the VPC',
        value: zone,
      });
    }
    assertProps('ServicesHost', problems);

    this.hosts = new HostGroup(this, 'Hosts', {
      vpc: props.vpc,
      role: 'services',
      instanceType: props.instanceType,
      machineImage: props.machineImage,
      securityGroup: props.securityGroup,
      userData: props.userData,
      minCapacity: 1,
      maxCapacity: 1,
      vpcSubnets: { subnets: subnets.subnets },
      ...(props.notifications ? { notifications: props.notifications } : {}),
    });
    // Attaching is limited to this one volume; the instance is whichever the group launched.
    this.hosts.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['ec2:AttachVolume'],
        resources: [
          Stack.of(this).formatArn({
            service: 'ec2',
            resource: 'volume',
            resourceName: props.stateVolume.volumeId,
          }),
        ],
      }),
    );
    this.hosts.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['ec2:AttachVolume'],
        resources: [Stack.of(this).formatArn({ service: 'ec2', resource: 'instance', resourceName: '*' })],
        conditions: { StringEquals: { 'aws:ResourceTag/triplane:role': 'services' } },
      }),
    );
    acknowledge(this.hosts.role, [
      {
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:${regionInFindings(this)}:<AWS::AccountId>:instance/*]`,
        reason:
          'the instance id is not known before launch; the statement is limited to instances tagged triplane:role=services',
      },
    ]);

    if (rabbitmq === 'amazon-mq') {
      this.brokerSecret = new secretsmanager.Secret(this, 'BrokerPassword', {
        description: 'Amazon MQ for RabbitMQ: password of the store user',
        generateSecretString: {
          secretStringTemplate: JSON.stringify({ username: 'store' }),
          generateStringKey: 'password',
          passwordLength: 32,
          excludeCharacters: ',:=%',
        },
        removalPolicy: props.removalPolicy ?? RemovalPolicy.DESTROY,
      });
      acknowledge(this.brokerSecret, [
        {
          id: 'AwsSolutions-SMG4',
          reason: 'Amazon MQ changes a user password only through a broker update; rotate by redeploying',
        },
      ]);
      const isolated = props.vpc.isolatedSubnets;
      this.broker = new amazonmq.CfnBroker(this, 'Broker', {
        brokerName: `${Stack.of(this).stackName}-mq`.slice(0, 50),
        engineType: 'RABBITMQ',
        engineVersion: '3.13',
        hostInstanceType: props.multiAz ? 'mq.m5.large' : 'mq.t3.micro',
        deploymentMode: props.multiAz ? 'CLUSTER_MULTI_AZ' : 'SINGLE_INSTANCE',
        publiclyAccessible: false,
        autoMinorVersionUpgrade: true,
        subnetIds: (props.multiAz ? isolated : isolated.slice(0, 1)).map((s) => s.subnetId),
        securityGroups: [props.brokerSecurityGroup!.securityGroupId],
        logs: { general: true },
        users: [
          {
            username: this.brokerSecret.secretValueFromJson('username').unsafeUnwrap(),
            password: this.brokerSecret.secretValueFromJson('password').unsafeUnwrap(),
          },
        ],
      });
    }
  }
}

/** How cdk-nag writes the region in a finding: the name when the stack has one, else the pseudo parameter. */
function regionInFindings(scope: Construct): string {
  const region = Stack.of(scope).region;
  return Token.isUnresolved(region) ? '<AWS::Region>' : region;
}
