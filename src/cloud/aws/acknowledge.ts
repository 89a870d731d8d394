import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** A finding of a cdk-nag rule that is accepted on purpose, and why. */
export interface Acknowledgement {
  /** Rule id, with the finding in brackets where a rule reports several (`AwsSolutions-IAM4[Policy::…]`). */
  readonly id: string;
  /** Why the finding is acceptable here, in words a reviewer can check. */
  readonly reason: string;
}

/** Acknowledges findings on `scope` and everything under it (CDK's own validation metadata, read by cdk-nag). */
export function acknowledge(scope: IConstruct, acknowledgements: readonly Acknowledgement[]): void {
  for (const a of acknowledgements) Validations.of(scope).acknowledge({ id: a.id, reason: a.reason });
}
