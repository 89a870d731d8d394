import { RemovalPolicy, Size } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as efs from 'aws-cdk-lib/aws-efs';
import { Construct } from 'constructs';
import { assertProps, type CloudProblem } from './errors.ts';

/** Properties of {@link Storage}. */
export interface StorageProps {
  readonly vpc: ec2.IVpc;
  /** Security group of the media file system's mount targets. */
  readonly mediaSecurityGroup: ec2.ISecurityGroup;
  /** Zone of the services host, where its state volume lives. */
  readonly stateZone: string;
  /**
   * Size of the services host's state volume (RabbitMQ, cron) in GiB.
   * @default 20
   */
  readonly stateVolumeGb?: number;
  /**
   * What happens to the media file system and the state volume when the stack is deleted.
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Shared media on EFS (encrypted, elastic throughput, files unread for 30 days move to Infrequent
 * Access) mounted by every app, admin and services host, and the services host's encrypted gp3 state
 * volume, which outlives any one instance.
 */
export class Storage extends Construct {
  readonly media: efs.FileSystem;
  readonly stateVolume: ec2.Volume;

  constructor(scope: Construct, id: string, props: StorageProps) {
    super(scope, id);
    const stateGb = props.stateVolumeGb ?? 20;
    const problems: CloudProblem[] = [];
    if (!Number.isInteger(stateGb) || stateGb < 1 || stateGb > 16384) {
      problems.push({ path: 'stateVolumeGb', message: 'must be from 1 to 16384', value: stateGb });
    }
    assertProps('Storage', problems);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;

    this.media = new efs.FileSystem(this, 'Media', {
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      securityGroup: props.mediaSecurityGroup,
      encrypted: true,
      performanceMode: efs.PerformanceMode.GENERAL_PURPOSE,
      throughputMode: efs.ThroughputMode.ELASTIC,
      lifecyclePolicy: efs.LifecyclePolicy.AFTER_30_DAYS,
      outOfInfrequentAccessPolicy: efs.OutOfInfrequentAccessPolicy.AFTER_1_ACCESS,
      // AWS Backup's plan (see Backups) takes the daily copies, so EFS's own is off.
      enableAutomaticBackups: false,
      removalPolicy,
    });

    this.stateVolume = new ec2.Volume(this, 'State', {
      availabilityZone: props.stateZone,
      size: Size.gibibytes(stateGb),
      volumeType: ec2.EbsDeviceVolumeType.GP3,
      encrypted: true,
      removalPolicy,
    });
  }
}
