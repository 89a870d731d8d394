/** Stable codes of what can go wrong while turning a stack into a CDK app. */
export type CloudErrorCode =
  | 'TP_CLOUD_INVALID'
  | 'TP_CLOUD_INVALID_PROPS'
  | 'TP_CLOUD_SETTINGS_FILE'
  | 'TP_CLOUD_SYNTH_FAILED';

/** One reason a stack cannot be deployed as written: the field's path, what is wrong and the value. */
export interface CloudProblem {
  /** The file the field is written in (`triplane.yaml`, `triplane.aws.yaml`), when it came from one. */
  readonly file?: string;
  /** Dotted path such as `environments.production.multiAz` or `app.replicas.min`. */
  readonly path: string;
  readonly message: string;
  readonly value?: unknown;
}

/** Renders problems one per line as `path: message (got value)`. */
export function formatCloudProblems(problems: readonly CloudProblem[]): string {
  return problems
    .map(
      (p) =>
        `${p.file ? `${p.file}: ` : ''}${p.path}: ${p.message}${p.value === undefined ? '' : ` (got ${JSON.stringify(p.value)})`}`,
    )
    .join('\n');
}

/** A coded error of the AWS synthesis; `problems` lists every failing rule at once. */
export class CloudError extends Error {
  readonly code: CloudErrorCode;
  readonly problems: readonly CloudProblem[];
  constructor(
    code: CloudErrorCode,
    message: string,
    problems: readonly CloudProblem[] = [],
    cause?: unknown,
  ) {
    super(problems.length > 0 ? `${message}\n${formatCloudProblems(problems)}` : message);
    this.name = 'CloudError';
    this.code = code;
    this.problems = problems;
    if (cause !== undefined) this.cause = cause;
  }
}

/** Throws TP_CLOUD_INVALID_PROPS naming the construct when `problems` is not empty. */
export function assertProps(construct: string, problems: readonly CloudProblem[]): void {
  if (problems.length === 0) return;
  const n = problems.length;
  throw new CloudError(
    'TP_CLOUD_INVALID_PROPS',
    `${construct}: ${n} invalid propert${n === 1 ? 'y' : 'ies'}`,
    problems,
  );
}
