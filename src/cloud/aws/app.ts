import { Duration } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { assertProps, type CloudProblem } from './errors.ts';
import { HostGroup } from './hosts.ts';

/** Properties of {@link AppTier}. */
export interface AppTierProps {
  readonly vpc: ec2.IVpc;
  readonly machineImage: ec2.IMachineImage;
  readonly appSecurityGroup: ec2.ISecurityGroup;
  readonly appInstanceType: string;
  /** Boot script of the app hosts. */
  readonly appUserData: string;
  /** Fewest app hosts (the stack file's `app.replicas.min`). */
  readonly minCapacity: number;
  /** Most app hosts (the stack file's `app.replicas.max`). */
  readonly maxCapacity: number;
  /**
   * Average CPU the app group is scaled to (the stack file's `app.autoscale.cpuPercent`).
   * @default 70
   */
  readonly cpuTarget?: number;
  /**
   * The store's load balancer: the app group also scales on its requests per app host.
   * @default - CPU only
   */
  readonly loadBalancer?: elbv2.ApplicationLoadBalancer;
  /**
   * Requests per app host and minute the group is scaled to.
   * @default 3000
   */
  readonly requestsPerHostPerMinute?: number;
  /**
   * The admin group: hosts running only the admin pod, never cached.
   * @default - no admin group
   */
  readonly admin?: {
    readonly securityGroup: ec2.ISecurityGroup;
    readonly instanceType: string;
    readonly userData: string;
    /** Admin hosts (the stack file's `admin.replicas`). */
    readonly capacity: number;
  };
  /**
   * Topic told about launches and terminations.
   * @default - none
   */
  readonly notifications?: sns.ITopic;
}

/**
 * The app group (Podman + `triplane agent` on each host) scaled between the stack file's min and max
 * on CPU and on requests per host, and the optional fixed-size admin group.
 */
export class AppTier extends Construct {
  readonly app: HostGroup;
  readonly admin?: HostGroup;

  constructor(scope: Construct, id: string, props: AppTierProps) {
    super(scope, id);
    const cpuTarget = props.cpuTarget ?? 70;
    const perHost = props.requestsPerHostPerMinute ?? 3000;
    const problems: CloudProblem[] = [];
    if (!Number.isInteger(props.minCapacity) || props.minCapacity < 1) {
      problems.push({ path: 'minCapacity', message: 'must be a whole number ≥ 1', value: props.minCapacity });
    }
    if (props.maxCapacity < props.minCapacity) {
      problems.push({
        path: 'maxCapacity',
        message: `must not be less than minCapacity (${props.minCapacity})`,
        value: props.maxCapacity,
      });
    }
    if (cpuTarget < 10 || cpuTarget > 95)
      problems.push({ path: 'cpuTarget', message: 'must be from 10 to 95', value: cpuTarget });
    if (perHost < 1)
      problems.push({ path: 'requestsPerHostPerMinute', message: 'must be at least 1', value: perHost });
    if (props.admin && (!Number.isInteger(props.admin.capacity) || props.admin.capacity < 1)) {
      problems.push({
        path: 'admin.capacity',
        message: 'must be a whole number ≥ 1',
        value: props.admin.capacity,
      });
    }
    assertProps('AppTier', problems);
    const notifications = props.notifications ? { notifications: props.notifications } : {};

    this.app = new HostGroup(this, 'App', {
      vpc: props.vpc,
      role: 'app',
      instanceType: props.appInstanceType,
      machineImage: props.machineImage,
      securityGroup: props.appSecurityGroup,
      userData: props.appUserData,
      minCapacity: props.minCapacity,
      maxCapacity: props.maxCapacity,
      rootVolumeGb: 40,
      ...notifications,
    });
    this.app.group.scaleOnCpuUtilization('Cpu', { targetUtilizationPercent: cpuTarget });
    if (props.loadBalancer) this.scaleOnRequestsPerHost(props.loadBalancer, perHost);

    if (props.admin) {
      this.admin = new HostGroup(this, 'Admin', {
        vpc: props.vpc,
        role: 'admin',
        instanceType: props.admin.instanceType,
        machineImage: props.machineImage,
        securityGroup: props.admin.securityGroup,
        userData: props.admin.userData,
        minCapacity: props.admin.capacity,
        maxCapacity: props.admin.capacity,
        rootVolumeGb: 40,
        ...notifications,
      });
    }
  }

  /**
   * App hosts are not the load balancer's targets (the edge routes to their pods), so the request
   * metric is the store's whole request count divided by the app hosts in service: target tracking
   * with metric math, which only the CloudFormation resource expresses.
   */
  private scaleOnRequestsPerHost(loadBalancer: elbv2.ApplicationLoadBalancer, perHost: number): void {
    new autoscaling.CfnScalingPolicy(this, 'Requests', {
      autoScalingGroupName: this.app.group.autoScalingGroupName,
      policyType: 'TargetTrackingScaling',
      estimatedInstanceWarmup: Duration.minutes(5).toSeconds(),
      targetTrackingConfiguration: {
        targetValue: perHost,
        customizedMetricSpecification: {
          metrics: [
            {
              id: 'requests',
              returnData: false,
              metricStat: {
                metric: {
                  namespace: 'AWS/ApplicationELB',
                  metricName: 'RequestCount',
                  dimensions: [{ name: 'LoadBalancer', value: loadBalancer.loadBalancerFullName }],
                },
                stat: 'Sum',
              },
            },
            {
              id: 'hosts',
              returnData: false,
              metricStat: {
                metric: {
                  namespace: 'AWS/AutoScaling',
                  metricName: 'GroupInServiceInstances',
                  dimensions: [{ name: 'AutoScalingGroupName', value: this.app.group.autoScalingGroupName }],
                },
                stat: 'Average',
              },
            },
            {
              id: 'perHost',
              label: 'Requests per app host per minute',
              expression: 'requests / hosts',
              returnData: true,
            },
          ],
        },
      },
    });
  }
}
