import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as backup from 'aws-cdk-lib/aws-backup';
import * as events from 'aws-cdk-lib/aws-events';
import { Construct } from 'constructs';
import { acknowledge } from './acknowledge.ts';
import { assertProps, type CloudProblem } from './errors.ts';

/** Days AWS Backup keeps each daily recovery point. */
export const BACKUP_RETENTION_DAYS = 7;

/** Properties of {@link Backups}. */
export interface BackupsProps {
  /** ARNs of the EFS file systems and EBS volumes to back up. */
  readonly resourceArns: readonly string[];
  /**
   * Days each recovery point is kept.
   * @default 7
   */
  readonly retentionDays?: number;
  /**
   * UTC hour the daily backup starts.
   * @default 3
   */
  readonly hour?: number;
  /**
   * What happens to the vault (and so its recovery points) when the stack is deleted.
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * An AWS Backup vault and a daily plan for the media file system and the EBS state volume. Aurora
 * keeps its own continuous backups (see Database), so the database is not in this plan.
 */
export class Backups extends Construct {
  readonly vault: backup.BackupVault;
  readonly plan: backup.BackupPlan;

  constructor(scope: Construct, id: string, props: BackupsProps) {
    super(scope, id);
    const days = props.retentionDays ?? BACKUP_RETENTION_DAYS;
    const hour = props.hour ?? 3;
    const problems: CloudProblem[] = [];
    if (props.resourceArns.length === 0)
      problems.push({ path: 'resourceArns', message: 'names nothing to back up', value: [] });
    if (!Number.isInteger(days) || days < 1 || days > 36500)
      problems.push({ path: 'retentionDays', message: 'must be from 1 to 36500', value: days });
    if (!Number.isInteger(hour) || hour < 0 || hour > 23)
      problems.push({ path: 'hour', message: 'must be from 0 to 23', value: hour });
    assertProps('Backups', problems);

    this.vault = new backup.BackupVault(this, 'Vault', {
      removalPolicy: props.removalPolicy ?? RemovalPolicy.DESTROY,
    });
    this.plan = new backup.BackupPlan(this, 'Plan', { backupVault: this.vault });
    this.plan.addRule(
      new backup.BackupPlanRule({
        ruleName: 'daily',
        scheduleExpression: events.Schedule.cron({ minute: '0', hour: String(hour) }),
        startWindow: Duration.hours(1),
        completionWindow: Duration.hours(4),
        deleteAfter: Duration.days(days),
      }),
    );
    this.plan.addSelection('Resources', {
      resources: props.resourceArns.map((arn) => backup.BackupResource.fromArn(arn)),
      allowRestores: true,
    });
    acknowledge(this.plan, [
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup]',
        reason:
          'the AWS-maintained role policy AWS Backup documents for taking backups; it follows new resource types',
      },
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores]',
        reason:
          'the AWS-maintained role policy AWS Backup documents for restores; without it a restore needs a hand-made role',
      },
    ]);
  }
}
