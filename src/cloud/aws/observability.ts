import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { acknowledge } from './acknowledge.ts';
import { assertProps, type CloudProblem } from './errors.ts';

/** The processes whose logs get a log group each. */
export const LOG_STREAMS = ['bootstrap', 'edge', 'control', 'agent', 'containers'] as const;

/** Properties of {@link Observability}. */
export interface ObservabilityProps {
  /** Prefix of the log group names: `/triplane/<store>/<environment>`. */
  readonly logPrefix: string;
  /**
   * Retention of the log groups.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Address subscribed to the alarms topic.
   * @default - none: subscribe later
   */
  readonly alarmEmail?: string;
  /**
   * What happens to the log groups and the access-log bucket when the stack is deleted.
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** Thresholds of the alarms; each is a level at which someone should look. */
export interface AlarmThresholds {
  /**
   * Share of requests answered with a 5xx, in percent, over 5 minutes.
   * @default 5
   */
  readonly errorRatePercent?: number;
  /**
   * 95th percentile of the time to first byte from the edge hosts, over 5 minutes.
   * @default Duration.seconds(2)
   */
  readonly latencyP95?: Duration;
  /**
   * Average CPU of a host group over 10 minutes.
   * @default 85
   */
  readonly cpuPercent?: number;
  /**
   * Connections to the store's database.
   * @default 400
   */
  readonly databaseConnections?: number;
}

/**
 * CloudWatch log groups, the access-log bucket, an encrypted alarms topic (which also hears about
 * every launch and termination of the host groups) and the alarms: 5xx rate, latency, CPU per group,
 * database connections.
 */
export class Observability extends Construct {
  readonly topic: sns.Topic;
  readonly logBucket: s3.Bucket;
  readonly logGroups: Readonly<Record<(typeof LOG_STREAMS)[number], logs.LogGroup>>;
  readonly alarms: cloudwatch.Alarm[] = [];
  private readonly action: actions.SnsAction;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    const problems: CloudProblem[] = [];
    if (!/^\/[A-Za-z0-9_\-./]+[^/]$/.test(props.logPrefix)) {
      problems.push({
        path: 'logPrefix',
        message: 'expected a log group prefix like "/triplane/shop/production"',
        value: props.logPrefix,
      });
    }
    assertProps('Observability', problems);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;

    const groups = {} as Record<(typeof LOG_STREAMS)[number], logs.LogGroup>;
    for (const name of LOG_STREAMS) {
      groups[name] = new logs.LogGroup(this, `Logs-${name}`, {
        logGroupName: `${props.logPrefix}/${name}`,
        retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
        removalPolicy,
      });
    }
    this.logGroups = groups;

    // CloudFront's standard logs are written with ACLs, so the bucket keeps them enabled for its owner.
    this.logBucket = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      enforceSSL: true,
      lifecycleRules: [{ expiration: Duration.days(90) }],
      removalPolicy,
      autoDeleteObjects: false,
    });
    acknowledge(this.logBucket, [
      {
        id: 'AwsSolutions-S1',
        reason: 'this is the access-log bucket itself; logging its own accesses into it would loop',
      },
    ]);

    const key = new kms.Key(this, 'AlarmsKey', {
      description: 'Encrypts the alarms topic; CloudWatch and Auto Scaling may use it to publish',
      enableKeyRotation: true,
      removalPolicy,
    });
    for (const service of ['cloudwatch.amazonaws.com', 'autoscaling.amazonaws.com']) {
      key.addToResourcePolicy(
        new iam.PolicyStatement({
          principals: [new iam.ServicePrincipal(service)],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          resources: ['*'],
        }),
      );
    }
    this.topic = new sns.Topic(this, 'Alarms', { masterKey: key, enforceSSL: true });
    if (props.alarmEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    this.action = new actions.SnsAction(this.topic);
  }

  private alarm(
    id: string,
    props: cloudwatch.CreateAlarmOptions & { metric: cloudwatch.IMetric },
  ): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, id, {
      ...props,
      treatMissingData: props.treatMissingData ?? cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(this.action);
    alarm.addOkAction(this.action);
    this.alarms.push(alarm);
    return alarm;
  }

  /** 5xx rate and p95 latency of the store as the load balancer sees it. */
  watchLoadBalancer(loadBalancer: elbv2.ApplicationLoadBalancer, thresholds: AlarmThresholds = {}): void {
    const m = loadBalancer.metrics;
    const period = Duration.minutes(5);
    const rate = new cloudwatch.MathExpression({
      // 5xx counts are missing, not zero, in a minute without errors.
      expression: 'IF(r > 0, 100 * (FILL(e5, 0) + FILL(t5, 0)) / r, 0)',
      usingMetrics: {
        e5: m.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, { period, statistic: 'Sum' }),
        t5: m.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, { period, statistic: 'Sum' }),
        r: m.requestCount({ period, statistic: 'Sum' }),
      },
      period,
      label: '5xx share of requests (%)',
    });
    this.alarm('ErrorRate', {
      metric: rate,
      threshold: thresholds.errorRatePercent ?? 5,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      alarmDescription: 'More than the allowed share of requests were answered with a 5xx',
    });
    this.alarm('Latency', {
      metric: m.targetResponseTime({ period, statistic: 'p95' }),
      threshold: (thresholds.latencyP95 ?? Duration.seconds(2)).toMilliseconds() / 1000,
      evaluationPeriods: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      alarmDescription: '95th percentile response time of the edge hosts is high',
    });
  }

  /** Average CPU of a host group. */
  watchCpu(name: string, group: autoscaling.AutoScalingGroup, thresholds: AlarmThresholds = {}): void {
    this.alarm(`Cpu-${name}`, {
      metric: new cloudwatch.Metric({
        namespace: 'AWS/EC2',
        metricName: 'CPUUtilization',
        dimensionsMap: { AutoScalingGroupName: group.autoScalingGroupName },
        statistic: 'Average',
        period: Duration.minutes(5),
      }),
      threshold: thresholds.cpuPercent ?? 85,
      evaluationPeriods: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      alarmDescription: `CPU of the ${name} hosts stays high: the group is at its maximum or scaling lags`,
    });
  }

  /** Connections to a database, from its `DatabaseConnections` metric. */
  watchDatabaseConnections(name: string, metric: cloudwatch.IMetric, thresholds: AlarmThresholds = {}): void {
    this.alarm(`Connections-${name}`, {
      metric,
      threshold: thresholds.databaseConnections ?? 400,
      evaluationPeriods: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      alarmDescription: `Connections to the ${name} database approach its limit`,
    });
  }
}
