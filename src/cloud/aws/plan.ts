import type { StackSpec } from '../../contracts/stack.ts';
import { validateStack } from '../../contracts/validate.ts';
import { CloudError, type CloudProblem } from './errors.ts';
import {
  AwsSettings,
  CLOUDFRONT_ORIGIN_PREFIX_LISTS,
  DEFAULT_INSTANCES,
  EnvironmentName,
  type HostTier,
  isArmInstanceType,
} from './settings.ts';

/** Names the problems of each source file carry. */
export const STACK_FILE = 'triplane.yaml';
export const SETTINGS_FILE = 'triplane.aws.yaml';

/** Everything the constructs need to know about one environment of one store, decided up front. */
export interface EnvironmentPlan {
  readonly store: string;
  readonly environment: string;
  /** CloudFormation stack name: `triplane-<store>-<environment>`. */
  readonly stackName: string;
  readonly production: boolean;
  readonly region: string;
  readonly account?: string;
  readonly zones: readonly string[];
  readonly multiAz: boolean;
  readonly natGateways: number;
  /** Public domains served through CloudFront, with records in Route 53. */
  readonly domains: readonly string[];
  /** `.localhost` names of the stack file: they only exist on a developer's machine. */
  readonly localDomains: readonly string[];
  /** Route 53 zone of {@link domains}; undefined when there are none. */
  readonly zoneName?: string;
  readonly hostedZoneId?: string;
  readonly cloudFrontCertificateArn?: string;
  readonly originPrefixListId?: string;
  readonly instances: Readonly<Record<HostTier, string>>;
}

/** A validated stack, its AWS settings and the environment's plan. */
export interface CloudPlan {
  readonly spec: StackSpec;
  readonly settings: AwsSettings;
  readonly plan: EnvironmentPlan;
}

// RFC 2606 and RFC 6761 names, plus the suffixes that private networks use; public DNS serves none.
const RESERVED_TLDS = ['test', 'example', 'invalid', 'local', 'internal', 'lan', 'home', 'onion', 'arpa'];

/** Whether public DNS and ACM can serve `domain`, and why not. */
export function publicDomainProblem(domain: string): string | undefined {
  const labels = domain.replace(/^\*\./, '').split('.');
  const tld = labels[labels.length - 1]!;
  if (labels.length < 2) return 'a public domain needs at least two labels, like "shop.example.com"';
  if (RESERVED_TLDS.includes(tld)) return `".${tld}" is a reserved name that public DNS does not serve`;
  if (!/^[a-z]{2,63}$/.test(tld) && !/^xn--[a-z0-9-]+$/.test(tld)) {
    return `".${tld}" is not a top-level domain`;
  }
  return undefined;
}

/** The zone used when `dns.zoneName` is unset: the first domain without its first label when it has 3+. */
export function defaultZoneName(domains: readonly string[]): string | undefined {
  const first = domains[0]?.replace(/^\*\./, '');
  if (!first) return undefined;
  const labels = first.split('.');
  return labels.length >= 3 ? labels.slice(1).join('.') : first;
}

const inZone = (domain: string, zone: string) => {
  const d = domain.replace(/^\*\./, '');
  return d === zone || d.endsWith(`.${zone}`);
};

/**
 * Validates the stack file, the AWS settings and the environment together and decides the plan;
 * throws TP_CLOUD_INVALID listing every problem of all three at once.
 */
export function planCloud(stackInput: unknown, settingsInput: unknown, environment: string): CloudPlan {
  const problems: CloudProblem[] = [];
  const stack = validateStack(stackInput);
  if (!stack.ok) {
    problems.push(
      ...stack.problems.map((p) => ({ file: STACK_FILE, path: p.path, message: p.message, value: p.value })),
    );
  }
  const settings = AwsSettings.safeParse(settingsInput ?? {});
  if (!settings.success) {
    for (const issue of settings.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) {
          const path = [...issue.path, key];
          problems.push({
            file: SETTINGS_FILE,
            path: path.map(String).join('.'),
            message: 'unknown key',
            value: valueAt(settingsInput, path),
          });
        }
        continue;
      }
      problems.push({
        file: SETTINGS_FILE,
        path: issue.path.map(String).join('.') || '(root)',
        message: issue.message,
        value: valueAt(settingsInput, issue.path),
      });
    }
  }
  const env = EnvironmentName.safeParse(environment);
  if (!env.success) {
    problems.push({ path: '--env', message: env.error.issues[0]!.message, value: environment });
  }
  if (settings.success && env.success) {
    // The cross-field rules run on what the stack file says even when other fields of it are wrong,
    // so one run lists everything; a domain the stack schema already refused is not reported twice.
    const refused = new Set(problems.filter((p) => p.file === STACK_FILE).map((p) => p.path));
    const written = stack.ok ? stack.spec : rawStore(stackInput, refused);
    const planned = planEnvironment(written, settings.data, environment);
    problems.push(...planned.problems);
    if (stack.ok && problems.length === 0)
      return { spec: stack.spec, settings: settings.data, plan: planned.plan };
  }
  const n = problems.length;
  throw new CloudError(
    'TP_CLOUD_INVALID',
    `the stack cannot be deployed to AWS as written: ${n} problem${n === 1 ? '' : 's'}`,
    problems,
  );
}

/** The store's name and the domains the stack schema accepted, from a stack file that failed it. */
function rawStore(input: unknown, refused: ReadonlySet<string>): StoreFacts {
  const o = (input ?? {}) as { name?: unknown; domains?: unknown };
  const domains = Array.isArray(o.domains) ? o.domains : [];
  return {
    name: typeof o.name === 'string' ? o.name : 'store',
    domains: domains.map((d, i) => (typeof d === 'string' && !refused.has(`domains[${i}]`) ? d : '')),
  };
}

/** What the cross-field rules need of a stack file. */
export interface StoreFacts {
  readonly name: string;
  /** The stack file's domains; an empty string stands for one already reported. */
  readonly domains: readonly string[];
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let cur = input;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

/** The cross-field rules of one environment: what each file allows alone but AWS cannot deploy. */
export function planEnvironment(
  spec: StoreFacts,
  settings: AwsSettings,
  environment: string,
): { plan: EnvironmentPlan; problems: CloudProblem[] } {
  const problems: CloudProblem[] = [];
  const written = settings.environments[environment] ?? {};
  const at = (field: string) => `environments.${environment}.${field}`;
  const production = written.production ?? (environment === 'production' || environment === 'prod');
  const azCount = written.azCount ?? (production ? 3 : 2);
  const multiAz = written.multiAz ?? production;
  const natGateways = written.natGateways ?? (production ? azCount : 1);

  // Aurora, RDS and OpenSearch refuse a subnet group that spans a single zone.
  if (azCount < 2) {
    problems.push({
      file: SETTINGS_FILE,
      path: at('azCount'),
      message: 'Aurora and RDS need subnets in at least 2 availability zones',
      value: azCount,
    });
  }
  if (multiAz && azCount < 2) {
    problems.push({
      file: SETTINGS_FILE,
      path: at('multiAz'),
      message: `Multi-AZ needs at least 2 availability zones, but azCount is ${azCount}`,
      value: multiAz,
    });
  }
  if (natGateways > azCount) {
    problems.push({
      file: SETTINGS_FILE,
      path: at('natGateways'),
      message: `at most one NAT gateway per zone (${azCount} zones)`,
      value: natGateways,
    });
  }
  if (natGateways === 0) {
    problems.push({
      file: SETTINGS_FILE,
      path: at('natGateways'),
      message: 'hosts install packages at boot and need a NAT gateway to reach them',
      value: natGateways,
    });
  }

  const zones = settings.zones ?? ['a', 'b', 'c'].map((l) => `${settings.region}${l}`);
  if (zones.length < azCount) {
    problems.push({
      file: SETTINGS_FILE,
      path: 'zones',
      message: `${azCount} availability zones are needed, ${zones.length} are listed`,
      value: zones,
    });
  }
  zones.forEach((z, i) => {
    if (!z.startsWith(settings.region)) {
      problems.push({
        file: SETTINGS_FILE,
        path: `zones.${i}`,
        message: `is not in region ${settings.region}`,
        value: z,
      });
    }
  });

  const domainsFile = written.domains ? SETTINGS_FILE : STACK_FILE;
  const domainsPath = written.domains ? at('domains') : 'domains';
  const allDomains = written.domains ?? spec.domains;
  const localDomains = allDomains.filter((d) => d === 'localhost' || d.endsWith('.localhost'));
  const publicDomains: { domain: string; index: number }[] = [];
  allDomains.forEach((domain, index) => {
    if (domain === '' || localDomains.includes(domain)) return;
    const why = publicDomainProblem(domain);
    if (why)
      problems.push({ file: domainsFile, path: `${domainsPath}[${index}]`, message: why, value: domain });
    else publicDomains.push({ domain, index });
  });
  const domains = publicDomains.map((d) => d.domain);

  const zoneName = settings.dns.zoneName ?? defaultZoneName(domains);
  if (zoneName) {
    publicDomains.forEach(({ domain: d, index }) => {
      if (!inZone(d, zoneName)) {
        problems.push({
          file: domainsFile,
          path: `${domainsPath}[${index}]`,
          message: `is not in the Route 53 zone "${zoneName}" (set dns.zoneName to a zone that holds every domain)`,
          value: d,
        });
      }
    });
  }
  if (settings.dns.hostedZoneId && !settings.dns.zoneName) {
    problems.push({
      file: SETTINGS_FILE,
      path: 'dns.zoneName',
      message: 'an existing hosted zone (dns.hostedZoneId) needs its zone name too',
      value: settings.dns.zoneName,
    });
  }
  if (domains.length > 0 && settings.region !== 'us-east-1' && !settings.dns.cloudFrontCertificateArn) {
    problems.push({
      file: SETTINGS_FILE,
      path: 'dns.cloudFrontCertificateArn',
      message: `CloudFront takes certificates from us-east-1 only: outside it (region ${settings.region}) give the ARN of one made there`,
      value: settings.dns.cloudFrontCertificateArn,
    });
  }

  const originPrefixListId =
    settings.cloudFront.originPrefixListId ?? CLOUDFRONT_ORIGIN_PREFIX_LISTS[settings.region];
  if (!originPrefixListId) {
    problems.push({
      file: SETTINGS_FILE,
      path: 'cloudFront.originPrefixListId',
      message:
        `the id of com.amazonaws.global.cloudfront.origin-facing in ${settings.region} is not known: look it up with ` +
        '`aws ec2 describe-managed-prefix-lists --filters Name=prefix-list-name,Values=com.amazonaws.global.cloudfront.origin-facing`',
      value: undefined,
    });
  }

  const defaults = DEFAULT_INSTANCES[settings.architecture];
  const instances = { ...defaults } as Record<HostTier, string>;
  for (const tier of Object.keys(defaults) as HostTier[]) {
    const type = settings.instances[tier] ?? defaults[tier];
    instances[tier] = type;
    if (isArmInstanceType(type) !== (settings.architecture === 'arm64')) {
      problems.push({
        file: SETTINGS_FILE,
        path: `instances.${tier}`,
        message: `is not an ${settings.architecture} instance type (architecture is ${settings.architecture})`,
        value: type,
      });
    }
  }

  const plan: EnvironmentPlan = {
    store: spec.name,
    environment,
    stackName: `triplane-${spec.name}-${environment}`,
    production,
    region: settings.region,
    ...(settings.account ? { account: settings.account } : {}),
    zones: zones.slice(0, azCount),
    multiAz,
    natGateways,
    domains,
    localDomains,
    ...(zoneName && domains.length > 0 ? { zoneName } : {}),
    ...(settings.dns.hostedZoneId ? { hostedZoneId: settings.dns.hostedZoneId } : {}),
    ...(settings.dns.cloudFrontCertificateArn
      ? { cloudFrontCertificateArn: settings.dns.cloudFrontCertificateArn }
      : {}),
    ...(originPrefixListId ? { originPrefixListId } : {}),
    instances,
  };
  return { plan, problems };
}
