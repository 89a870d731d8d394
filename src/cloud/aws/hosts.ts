import { Duration, Tags } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { acknowledge } from './acknowledge.ts';
import { assertProps, type CloudProblem } from './errors.ts';
import type { HostRole } from './userdata.ts';

/** Debian 12 images published by the Debian cloud team, resolved when an instance launches. */
export function debianImage(architecture: 'arm64' | 'x86_64'): ec2.IMachineImage {
  return ec2.MachineImage.fromSsmParameter(
    `/aws/service/debian/release/12/latest/${architecture === 'arm64' ? 'arm64' : 'amd64'}`,
    { os: ec2.OperatingSystemType.LINUX },
  );
}

/**
 * An upper bound of a text's size once CloudFormation fills in its tokens: each token is counted as
 * 200 bytes, more than the longest ARN or endpoint it stands for.
 */
export function resolvedSizeBound(text: string): number {
  return (
    Buffer.byteLength(text.replace(/\$\{Token\[[^\]]+\]\}/g, '')) +
    200 * (text.match(/\$\{Token\[[^\]]+\]\}/g)?.length ?? 0)
  );
}

/** Properties of a {@link HostGroup}. */
export interface HostGroupProps {
  readonly vpc: ec2.IVpc;
  /** What the hosts run; names the group and tags its instances `triplane:role`. */
  readonly role: HostRole;
  readonly instanceType: string;
  readonly machineImage: ec2.IMachineImage;
  /** The tier's security group; the group gets no other. */
  readonly securityGroup: ec2.ISecurityGroup;
  /** The boot script (see `renderUserData`). */
  readonly userData: string;
  /**
   * Fewest instances.
   * @default 1
   */
  readonly minCapacity?: number;
  /**
   * Most instances.
   * @default - minCapacity
   */
  readonly maxCapacity?: number;
  /**
   * Size of the encrypted gp3 root volume (Podman's image and container storage lives on it).
   * @default 30
   */
  readonly rootVolumeGb?: number;
  /**
   * Subnets the instances start in.
   * @default - the private subnets with egress of every zone
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /**
   * Topic told about every launch, termination and failure of the group.
   * @default - no notifications
   */
  readonly notifications?: sns.ITopic;
  /**
   * Time a new instance gets to boot before its health counts.
   * @default Duration.minutes(10)
   */
  readonly healthGrace?: Duration;
}

/** An autoscaling group of Debian 12 hosts: IMDSv2 only, encrypted gp3, Session Manager, no SSH key. */
export class HostGroup extends Construct {
  readonly group: autoscaling.AutoScalingGroup;
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: HostGroupProps) {
    super(scope, id);
    const min = props.minCapacity ?? 1;
    const max = props.maxCapacity ?? min;
    const rootGb = props.rootVolumeGb ?? 30;
    const problems: CloudProblem[] = [];
    if (!Number.isInteger(min) || min < 0)
      problems.push({ path: 'minCapacity', message: 'must be a whole number ≥ 0', value: min });
    if (!Number.isInteger(max) || max < 1 || max > 100)
      problems.push({ path: 'maxCapacity', message: 'must be a whole number from 1 to 100', value: max });
    if (max < min)
      problems.push({
        path: 'maxCapacity',
        message: `must not be less than minCapacity (${min})`,
        value: max,
      });
    if (!Number.isInteger(rootGb) || rootGb < 8 || rootGb > 1000)
      problems.push({ path: 'rootVolumeGb', message: 'must be from 8 to 1000', value: rootGb });
    const userDataBytes = resolvedSizeBound(props.userData);
    if (userDataBytes > 16_384)
      problems.push({
        path: 'userData',
        message: 'may be larger than EC2 accepts (16 KiB) once its values are filled in',
        value: userDataBytes,
      });
    assertProps(`HostGroup ${props.role}`, problems);

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: `Triplane ${props.role} hosts`,
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AmazonSSMManagedInstanceCore')],
    });
    acknowledge(this.role, [
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore]',
        reason:
          'AmazonSSMManagedInstanceCore is the minimal AWS-maintained policy for Session Manager and Run Command; a copy would go stale as the agent changes',
      },
    ]);

    const userData = ec2.UserData.custom(props.userData);
    const template = new ec2.LaunchTemplate(this, 'LaunchTemplate', {
      instanceType: new ec2.InstanceType(props.instanceType),
      machineImage: props.machineImage,
      userData,
      role: this.role,
      securityGroup: props.securityGroup,
      requireImdsv2: true,
      httpPutResponseHopLimit: 2,
      detailedMonitoring: true,
      blockDevices: [
        {
          deviceName: '/dev/xvda',
          volume: ec2.BlockDeviceVolume.ebs(rootGb, {
            encrypted: true,
            volumeType: ec2.EbsDeviceVolumeType.GP3,
            deleteOnTermination: true,
          }),
        },
      ],
    });

    this.group = new autoscaling.AutoScalingGroup(this, 'Group', {
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      launchTemplate: template,
      minCapacity: min,
      maxCapacity: max,
      healthChecks: autoscaling.HealthChecks.ec2({ gracePeriod: props.healthGrace ?? Duration.minutes(10) }),
      updatePolicy: autoscaling.UpdatePolicy.rollingUpdate({
        maxBatchSize: 1,
        minInstancesInService: min > 1 ? min - 1 : 0,
      }),
      groupMetrics: [autoscaling.GroupMetrics.all()],
      ...(props.notifications ? { notifications: [{ topic: props.notifications }] } : {}),
    });
    Tags.of(this.group).add('triplane:role', props.role);
  }
}
