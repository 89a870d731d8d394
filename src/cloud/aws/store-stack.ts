import { gzipSync } from 'node:zlib';
import { Duration, Fn, RemovalPolicy, Stack, type StackProps, Tags } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import type { Construct } from 'constructs';
import { stringify } from 'yaml';
import { parseSize } from '../../contracts/units.ts';
import { AppTier } from './app.ts';
import { Backups } from './backups.ts';
import { Cache, PARTITIONS, type PartitionName, type PartitionProps } from './cache.ts';
import { ControlPlane } from './control.ts';
import { Database } from './database.ts';
import { Dns } from './dns.ts';
import { Edge } from './edge.ts';
import { debianImage } from './hosts.ts';
import { Network } from './network.ts';
import { Observability } from './observability.ts';
import type { CloudPlan } from './plan.ts';
import { Search } from './search.ts';
import { Tiers } from './security.ts';
import { ServicesHost } from './services.ts';
import { SshAccess } from './ssh.ts';
import { Storage } from './storage.ts';
import { type HostRole, renderUserData } from './userdata.ts';

/** Paths of the project left out of the release asset: only what the hosts run goes up. */
export const RELEASE_EXCLUDE = [
  '.git',
  'node_modules',
  'cdk.out',
  'test',
  'bench',
  'docs',
  '**/*.test.ts',
  'examples/*/app',
];

/** Properties of a {@link StoreStack}. */
export interface StoreStackProps extends Omit<StackProps, 'env' | 'stackName'> {
  /** The validated stack, settings and environment (see `planCloud`). */
  readonly cloud: CloudPlan;
  /** Directory of the Triplane release the hosts install (the project's root). */
  readonly releaseDir: string;
  /**
   * Directory of the store's code (the stack file's `app.code`, resolved).
   * @default - no code shipped: the app image holds it
   */
  readonly codeDir?: string;
}

const RETENTION: Record<number, logs.RetentionDays> = {
  7: logs.RetentionDays.ONE_WEEK,
  14: logs.RetentionDays.TWO_WEEKS,
  30: logs.RetentionDays.ONE_MONTH,
  90: logs.RetentionDays.THREE_MONTHS,
  365: logs.RetentionDays.ONE_YEAR,
};

const PRICE_CLASS = {
  '100': cloudfront.PriceClass.PRICE_CLASS_100,
  '200': cloudfront.PriceClass.PRICE_CLASS_200,
  all: cloudfront.PriceClass.PRICE_CLASS_ALL,
} as const;

/** One store in one environment: every construct of src/cloud/aws composed into one stack. */
export class StoreStack extends Stack {
  readonly network: Network;
  readonly tiers: Tiers;
  readonly observability: Observability;
  readonly storage: Storage;
  readonly database: Database;
  readonly cache: Cache;
  readonly search?: Search;
  readonly control: ControlPlane;
  readonly services: ServicesHost;
  readonly appTier: AppTier;
  readonly edge: Edge;
  readonly dns?: Dns;
  readonly ssh: SshAccess;
  readonly backups: Backups;

  constructor(scope: Construct, id: string, props: StoreStackProps) {
    const { spec, settings, plan } = props.cloud;
    super(scope, id, {
      ...props,
      stackName: plan.stackName,
      env: { region: plan.region, ...(plan.account ? { account: plan.account } : {}) },
      description: `Triplane store ${plan.store} (${plan.environment})`,
      terminationProtection: plan.production,
    });
    Tags.of(this).add('triplane:store', plan.store);
    Tags.of(this).add('triplane:environment', plan.environment);
    const removalPolicy = plan.production ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const logRetention = RETENTION[settings.logRetentionDays]!;

    this.network = new Network(this, 'Network', {
      cidr: settings.vpcCidr,
      zones: plan.zones,
      natGateways: plan.natGateways,
      interfaceEndpoints: settings.interfaceEndpoints,
      flowLogRetention: logRetention,
      removalPolicy,
    });
    const vpc = this.network.vpc;
    this.tiers = new Tiers(this, 'Tiers', { vpc, cloudFrontPrefixListId: plan.originPrefixListId! });
    this.observability = new Observability(this, 'Observability', {
      logPrefix: `/triplane/${plan.store}/${plan.environment}`,
      logRetention,
      removalPolicy,
      ...(settings.alarmEmail ? { alarmEmail: settings.alarmEmail } : {}),
    });
    const notifications = this.observability.topic;

    this.storage = new Storage(this, 'Storage', {
      vpc,
      mediaSecurityGroup: this.tiers.media,
      stateZone: plan.zones[0]!,
      removalPolicy,
    });
    this.database = new Database(this, 'Database', {
      vpc,
      securityGroup: this.tiers.database,
      clusterIdentifier: `${plan.stackName}-store`,
      databaseName: spec.services.database.name,
      username: spec.services.database.user,
      instanceClass: settings.database.instanceClass,
      multiAz: plan.multiAz,
      deletionProtection: plan.production,
      removalPolicy,
      logRetention,
    });
    const redis = spec.services.redis.partitions;
    const partitions = Object.fromEntries(
      PARTITIONS.map((name) => [
        name,
        {
          maxmemoryBytes: parseSize(redis[name].maxmemory)!,
          policy: redis[name].policy,
          persistent: redis[name].persistence === 'aof',
        },
      ]),
    ) as Record<PartitionName, PartitionProps>;
    this.cache = new Cache(this, 'Cache', {
      vpc,
      securityGroup: this.tiers.cache,
      partitions,
      multiAz: plan.multiAz,
      removalPolicy,
      ...(settings.cache.nodeType ? { nodeType: settings.cache.nodeType } : {}),
    });
    const search = spec.services.search;
    if (search.enabled && !search.endpoint) {
      this.search = new Search(this, 'Search', {
        vpc,
        securityGroup: this.tiers.search,
        domainName: `${plan.store}-${plan.environment}`.slice(0, 28).replace(/-+$/, ''),
        zones: plan.multiAz ? plan.zones.length : 1,
        instanceType: settings.search.instanceType,
        volumeGb: settings.search.volumeGb,
        dedicatedMasters: settings.search.dedicatedMasters,
        removalPolicy,
        logRetention,
      });
    }

    const release = new s3assets.Asset(this, 'Release', { path: props.releaseDir, exclude: RELEASE_EXCLUDE });
    const code = props.codeDir ? new s3assets.Asset(this, 'Code', { path: props.codeDir }) : undefined;
    const image = debianImage(settings.architecture);
    const userData = (role: HostRole, variables: Record<string, string>) =>
      renderUserData({
        role,
        store: plan.store,
        environment: plan.environment,
        region: plan.region,
        nodeVersion: settings.nodeVersion,
        release: { bucket: release.s3BucketName, key: release.s3ObjectKey },
        ...(code ? { codeKey: code.s3ObjectKey } : {}),
        variables,
      });

    // The store's stack as the control plane applies it: code where the release put it on each host.
    const appliedSpec = code ? { ...spec, app: { ...spec.app, code: `/srv/triplane/${plan.store}` } } : spec;
    this.control = new ControlPlane(this, 'Control', {
      vpc,
      machineImage: image,
      securityGroup: this.tiers.control,
      stateStoreSecurityGroup: this.tiers.stateStore,
      instanceType: plan.instances.control,
      stateStoreIdentifier: `${plan.stackName}-state`,
      stateStoreInstanceClass: settings.controlDatabase.instanceClass,
      stateStoreStorageGb: settings.controlDatabase.storageGb,
      multiAz: plan.multiAz,
      deletionProtection: plan.production,
      removalPolicy,
      notifications,
      renderUserData: (variables) =>
        userData('control', {
          ...variables,
          TRIPLANE_STACK_YAML: gzipSync(stringify(appliedSpec), { level: 9 }).toString('base64'),
        }),
    });

    const workerVariables: Record<string, string> = {
      TRIPLANE_CONTROL_URL: this.control.url,
      TRIPLANE_JOIN_SECRET: this.control.joinToken.secretArn,
      TRIPLANE_MEDIA_FS: this.storage.media.fileSystemId,
      TRIPLANE_DB_HOST: this.database.cluster.clusterEndpoint.hostname,
      TRIPLANE_DB_READER_HOST: this.database.cluster.clusterReadEndpoint.hostname,
      TRIPLANE_DB_SECRET: this.database.cluster.secret!.secretArn,
      TRIPLANE_CACHE_SECRET: this.cache.authToken.secretArn,
      ...Object.fromEntries(
        PARTITIONS.map((p) => [
          `TRIPLANE_CACHE_${p.toUpperCase()}_HOST`,
          this.cache.groups[p].attrPrimaryEndPointAddress,
        ]),
      ),
      ...(this.search
        ? {
            TRIPLANE_SEARCH_ENDPOINT: `https://${this.search.domain.domainEndpoint}`,
            TRIPLANE_SEARCH_SECRET: this.search.masterUser.secretArn,
          }
        : search.endpoint
          ? { TRIPLANE_SEARCH_ENDPOINT: search.endpoint }
          : {}),
    };

    this.services = new ServicesHost(this, 'Services', {
      vpc,
      machineImage: image,
      securityGroup: this.tiers.services,
      instanceType: plan.instances.services,
      stateVolume: this.storage.stateVolume,
      rabbitmq: settings.rabbitmq,
      brokerSecurityGroup: this.tiers.messageBroker,
      multiAz: plan.multiAz,
      notifications,
      removalPolicy,
      userData: userData('services', {
        ...workerVariables,
        TRIPLANE_STATE_VOLUME: this.storage.stateVolume.volumeId,
      }),
    });
    if (this.services.broker) {
      workerVariables.TRIPLANE_AMQP_ENDPOINT = Fn.select(0, this.services.broker.attrAmqpEndpoints);
      workerVariables.TRIPLANE_AMQP_SECRET = this.services.brokerSecret!.secretArn;
    }

    if (plan.domains.length > 0 && plan.zoneName) {
      this.dns = new Dns(this, 'Dns', {
        zoneName: plan.zoneName,
        domains: plan.domains,
        ...(plan.hostedZoneId ? { hostedZoneId: plan.hostedZoneId } : {}),
        ...(plan.cloudFrontCertificateArn ? { cloudFrontCertificateArn: plan.cloudFrontCertificateArn } : {}),
      });
    }
    this.edge = this.edgeFor(props.cloud, image, userData, notifications);
    this.dns?.addAliasRecords(this.edge.distribution);
    this.appTier = new AppTier(this, 'App', {
      vpc,
      machineImage: image,
      appSecurityGroup: this.tiers.app,
      appInstanceType: plan.instances.app,
      appUserData: userData('app', workerVariables),
      minCapacity: spec.app.replicas.min,
      maxCapacity: spec.app.replicas.max,
      cpuTarget: spec.app.autoscale.cpuPercent,
      loadBalancer: this.edge.loadBalancer,
      notifications,
      ...(spec.admin.enabled
        ? {
            admin: {
              securityGroup: this.tiers.admin,
              instanceType: plan.instances.admin,
              userData: userData('admin', workerVariables),
              capacity: spec.admin.replicas,
            },
          }
        : {}),
    });

    for (const host of [
      this.services.hosts,
      this.appTier.app,
      ...(this.appTier.admin ? [this.appTier.admin] : []),
    ]) {
      this.control.joinToken.grantRead(host.role);
      this.database.cluster.secret!.grantRead(host.role);
      this.cache.authToken.grantRead(host.role);
      this.search?.masterUser.grantRead(host.role);
      this.services.brokerSecret?.grantRead(host.role);
      this.storage.media.grantReadWrite(host.role);
    }
    this.control.edgeToken.grantRead(this.edge.hosts.role);

    this.ssh = new SshAccess(this, 'Ssh', { vpc, securityGroup: this.tiers.instanceConnect });
    this.backups = new Backups(this, 'Backups', {
      resourceArns: [
        this.storage.media.fileSystemArn,
        this.formatArn({
          service: 'ec2',
          resource: 'volume',
          resourceName: this.storage.stateVolume.volumeId,
        }),
      ],
      removalPolicy,
    });

    const o = this.observability;
    o.watchLoadBalancer(this.edge.loadBalancer);
    o.watchCpu('edge', this.edge.hosts.group);
    o.watchCpu('app', this.appTier.app.group);
    if (this.appTier.admin) o.watchCpu('admin', this.appTier.admin.group);
    o.watchCpu('services', this.services.hosts.group);
    o.watchCpu('control', this.control.hosts.group);
    o.watchDatabaseConnections(
      'store',
      this.database.cluster.metricDatabaseConnections({ period: Duration.minutes(5) }),
    );
    o.watchDatabaseConnections(
      'control',
      this.control.stateStore.metricDatabaseConnections({ period: Duration.minutes(5) }),
      {
        databaseConnections: 60,
      },
    );
  }

  private edgeFor(
    cloud: CloudPlan,
    image: ReturnType<typeof debianImage>,
    userData: (role: HostRole, variables: Record<string, string>) => string,
    notifications: Observability['topic'],
  ): Edge {
    const { spec, settings, plan } = cloud;
    return new Edge(this, 'Edge', {
      vpc: this.network.vpc,
      loadBalancerSecurityGroup: this.tiers.loadBalancer,
      edgeSecurityGroup: this.tiers.edge,
      instanceType: plan.instances.edge,
      machineImage: image,
      userData: userData('edge', {
        TRIPLANE_CONTROL_URL: this.control.url,
        TRIPLANE_EDGE_SECRET: this.control.edgeToken.secretArn,
      }),
      minCapacity: plan.production ? 2 : 1,
      maxCapacity: plan.production ? 6 : 2,
      domains: plan.domains,
      ...(this.dns ? { certificate: this.dns.certificate } : {}),
      cachedPaths: spec.edge.cache.enabled ? spec.edge.cache.pathPrefixes : [],
      varyCookies: spec.edge.cache.bypassCookies,
      defaultTtl: Duration.seconds(spec.edge.cache.defaultTtlSec),
      priceClass: PRICE_CLASS[settings.cloudFront.priceClass],
      logBucket: this.observability.logBucket,
      notifications,
    });
  }
}
