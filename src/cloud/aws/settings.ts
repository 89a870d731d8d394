import { z } from 'zod';

/**
 * What a store needs on AWS beyond its stack file: region, zones, instance sizes, DNS and one entry per
 * environment. It lives in its own file (`triplane.aws.yaml` beside `triplane.yaml`) so the stack file
 * stays the same on every host; every field has a default, so the file is optional.
 */

const REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$/;

const Hostname = z
  .string()
  .regex(/^(?=.{1,253}$)(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, {
    error: (iss) => `expected a domain name like "shop.example.com", got ${JSON.stringify(iss.input)}`,
  });

const Ec2InstanceType = z.string().regex(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/, {
  error: (iss) => `expected an EC2 instance type like "t4g.small", got ${JSON.stringify(iss.input)}`,
});

/** Environment names become part of CloudFormation stack names and resource names. */
export const EnvironmentName = z.string().regex(/^[a-z][a-z0-9-]{0,15}$/, {
  error: (iss) =>
    `expected lowercase letters, digits and dashes, starting with a letter, at most 16 characters, got ${JSON.stringify(iss.input)}`,
});

/** Settings of one environment (`production`, `staging` …); what is unset follows from `production`. */
export const EnvironmentSettings = z.strictObject({
  production: z
    .boolean()
    .optional()
    .describe(
      'Deletion protection, Multi-AZ and RETAIN removal policies; default: true for `production` and `prod`.',
    ),
  azCount: z
    .int()
    .min(1)
    .max(3)
    .optional()
    .describe('Availability zones the VPC spans; default: 3 in production, 2 otherwise.'),
  multiAz: z
    .boolean()
    .optional()
    .describe(
      'Standby/replica nodes in a second zone for Aurora, RDS, ElastiCache, OpenSearch; default: production.',
    ),
  natGateways: z
    .int()
    .min(0)
    .max(3)
    .optional()
    .describe('NAT gateways; default: one per zone in production, 1 otherwise.'),
  domains: z
    .array(Hostname)
    .optional()
    .describe("Domains of this environment; default: the stack file's `domains`."),
});

const InstanceTypes = z.strictObject({
  edge: Ec2InstanceType.optional().describe(
    'Edge group (`triplane edge`); default t4g.small (t3.small on x86_64).',
  ),
  app: Ec2InstanceType.optional().describe('App group (Podman + agent); default t4g.large (t3.large).'),
  admin: Ec2InstanceType.optional().describe('Admin group; default t4g.medium (t3.medium).'),
  services: Ec2InstanceType.optional().describe(
    'Services host (Varnish, RabbitMQ, cron); default t4g.medium.',
  ),
  control: Ec2InstanceType.optional().describe('Control plane group; default t4g.small (t3.small).'),
});

/** The whole `triplane.aws.yaml`. */
export const AwsSettings = z.strictObject({
  region: z
    .string()
    .regex(REGION, { error: (iss) => `expected a region like "us-east-1", got ${JSON.stringify(iss.input)}` })
    .default('us-east-1')
    .describe('AWS region of the stacks.'),
  account: z
    .string()
    .regex(/^\d{12}$/, { error: (iss) => `expected a 12-digit account id, got ${JSON.stringify(iss.input)}` })
    .optional()
    .describe('AWS account id; default: the account of the credentials `cdk deploy` runs with.'),
  architecture: z
    .enum(['arm64', 'x86_64'])
    .default('arm64')
    .describe('CPU architecture of the EC2 instances (Debian 12 AMI of that architecture).'),
  zones: z
    .array(z.string().regex(/^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d[a-z]$/))
    .optional()
    .describe('Availability zone names to use, in order; default: the region with the letters a, b, c.'),
  vpcCidr: z
    .string()
    .regex(/^10\.\d{1,3}\.0\.0\/16$/, {
      error: (iss) => `expected a /16 in 10.0.0.0/8 like "10.40.0.0/16", got ${JSON.stringify(iss.input)}`,
    })
    .default('10.40.0.0/16')
    .describe('Address range of the VPC.'),
  interfaceEndpoints: z
    .boolean()
    .default(false)
    .describe(
      'Interface endpoints (SSM, CloudWatch Logs, Secrets Manager) besides the free S3 gateway endpoint; each costs about $7/month per zone.',
    ),
  dns: z
    .strictObject({
      zoneName: Hostname.optional().describe(
        'Route 53 zone holding the domains; default: the first domain without its first label when it has three or more.',
      ),
      hostedZoneId: z
        .string()
        .regex(/^Z[0-9A-Z]{1,32}$/, {
          error: (iss) => `expected a hosted zone id like "Z0123456789ABC", got ${JSON.stringify(iss.input)}`,
        })
        .optional()
        .describe('Use this existing hosted zone instead of creating one (needs `zoneName`).'),
      cloudFrontCertificateArn: z
        .string()
        .regex(/^arn:aws[a-z-]*:acm:us-east-1:\d{12}:certificate\/[0-9a-f-]+$/, {
          error: (iss) => `expected an ACM certificate ARN in us-east-1, got ${JSON.stringify(iss.input)}`,
        })
        .optional()
        .describe(
          'Certificate for CloudFront; required outside us-east-1 (CloudFront takes certificates from us-east-1 only).',
        ),
    })
    .prefault({}),
  cloudFront: z
    .strictObject({
      priceClass: z.enum(['100', '200', 'all']).default('100').describe('CloudFront price class.'),
      originPrefixListId: z
        .string()
        .regex(/^pl-[0-9a-f]{8,17}$/, {
          error: (iss) => `expected a prefix list id like "pl-3b927c52", got ${JSON.stringify(iss.input)}`,
        })
        .optional()
        .describe(
          'Id of the managed prefix list `com.amazonaws.global.cloudfront.origin-facing` in the region; known for us-east-1, required elsewhere.',
        ),
    })
    .prefault({}),
  instances: InstanceTypes.prefault({}),
  database: z
    .strictObject({
      instanceClass: z
        .string()
        .regex(/^db\.[a-z0-9]+\.[a-z0-9]+$/)
        .default('db.t4g.medium')
        .describe('Aurora MySQL instance class.'),
    })
    .prefault({}),
  controlDatabase: z
    .strictObject({
      instanceClass: z
        .string()
        .regex(/^db\.[a-z0-9]+\.[a-z0-9]+$/)
        .default('db.t4g.micro')
        .describe('RDS PostgreSQL instance class of the control plane.'),
      storageGb: z.int().min(20).max(1000).default(20).describe('gp3 storage of the state store.'),
    })
    .prefault({}),
  cache: z
    .strictObject({
      nodeType: z
        .string()
        .regex(/^cache\.[a-z0-9]+\.[a-z0-9]+$/)
        .optional()
        .describe(
          "ElastiCache node type of every partition; default: the smallest that holds the partition's maxmemory.",
        ),
    })
    .prefault({}),
  search: z
    .strictObject({
      instanceType: z
        .string()
        .regex(/^[a-z0-9]+\.[a-z0-9]+\.search$/)
        .default('t3.small.search')
        .describe('OpenSearch data node type.'),
      volumeGb: z.int().min(10).max(1000).default(20).describe('EBS (gp3) per data node.'),
      dedicatedMasters: z.boolean().default(false).describe('Three dedicated master nodes (large stores).'),
    })
    .prefault({}),
  rabbitmq: z
    .enum(['host', 'amazon-mq'])
    .default('host')
    .describe('RabbitMQ on the services host, or Amazon MQ for RabbitMQ.'),
  logRetentionDays: z
    .union([z.literal(7), z.literal(14), z.literal(30), z.literal(90), z.literal(365)])
    .default(30)
    .describe('Retention of the CloudWatch log groups.'),
  alarmEmail: z.email().optional().describe('Address subscribed to the alarms topic.'),
  nodeVersion: z
    .string()
    .regex(/^20\.\d+\.\d+$/)
    .default('20.20.2')
    .describe('Node.js version the hosts install (Debian 12 ships 18).'),
  environments: z
    .record(EnvironmentName, EnvironmentSettings)
    .default({})
    .describe('Per-environment settings, by the name given to `--env`.'),
});

/** Validated settings with defaults. */
export type AwsSettings = z.infer<typeof AwsSettings>;
/** What a user may write in `triplane.aws.yaml`. */
export type AwsSettingsInput = z.input<typeof AwsSettings>;
/** One environment's written settings. */
export type EnvironmentSettings = z.infer<typeof EnvironmentSettings>;

/** Instance types used when `instances` leaves one unset. */
export const DEFAULT_INSTANCES = {
  arm64: {
    edge: 't4g.small',
    app: 't4g.large',
    admin: 't4g.medium',
    services: 't4g.medium',
    control: 't4g.small',
  },
  x86_64: {
    edge: 't3.small',
    app: 't3.large',
    admin: 't3.medium',
    services: 't3.medium',
    control: 't3.small',
  },
} as const;

/** A tier that runs on its own EC2 instances. */
export type HostTier = keyof typeof DEFAULT_INSTANCES.arm64;

/**
 * The managed prefix list of CloudFront's origin-facing addresses, by region. Only the ids that
 * were looked up are listed; other regions must name theirs in `cloudFront.originPrefixListId`.
 */
export const CLOUDFRONT_ORIGIN_PREFIX_LISTS: Readonly<Record<string, string>> = {
  'us-east-1': 'pl-3b927c52',
};

/** Graviton instance families carry a `g` after the generation digit (t4g, m7g, c7gn, r8g). */
export function isArmInstanceType(type: string): boolean {
  return /^[a-z]+\d+g[a-z]*\./.test(type);
}
