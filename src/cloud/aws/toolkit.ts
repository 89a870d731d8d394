/**
 * `diff`, `deploy` and `destroy` are the standard CDK toolkit run on the synthesised assembly. The
 * toolkit is not a dependency of Triplane (it is large and only needed where AWS credentials are):
 * npx fetches this exact version on first use.
 */
export const CDK_CLI_PACKAGE = 'aws-cdk@2.1148.1';

/** What the toolkit is asked to do. */
export type ToolkitAction = 'bootstrap' | 'diff' | 'deploy' | 'destroy';

/** Options of {@link cdkArgv}. */
export interface ToolkitOptions {
  /** The cloud assembly directory written by `synthesize` (`cdk.out`). */
  readonly appDir: string;
  /** The store's CloudFormation stack. */
  readonly stackName: string;
  /**
   * Named AWS profile.
   * @default - the toolkit's own credential chain
   */
  readonly profile?: string;
  /**
   * When `deploy` stops for approval.
   * @default 'broadening' (changes that widen security groups or IAM)
   */
  readonly requireApproval?: 'never' | 'any-change' | 'broadening';
  /**
   * `destroy` without asking.
   * @default false
   */
  readonly force?: boolean;
  /** `aws://ACCOUNT/REGION` for `bootstrap`. */
  readonly environment?: string;
}

/** The command line of one toolkit action; pure, so tests assert it exactly. */
export function cdkArgv(action: ToolkitAction, options: ToolkitOptions): string[] {
  const base = ['npx', '--yes', CDK_CLI_PACKAGE, action, '--app', options.appDir];
  const profile = options.profile ? ['--profile', options.profile] : [];
  switch (action) {
    case 'bootstrap':
      return [...base, ...profile, ...(options.environment ? [options.environment] : [])];
    case 'diff':
      return [...base, ...profile, options.stackName];
    case 'deploy':
      return [
        ...base,
        ...profile,
        '--require-approval',
        options.requireApproval ?? 'broadening',
        options.stackName,
      ];
    case 'destroy':
      return [...base, ...profile, ...(options.force ? ['--force'] : []), options.stackName];
  }
}
