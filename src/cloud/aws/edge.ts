import { Duration } from 'aws-cdk-lib';
import type * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { acknowledge } from './acknowledge.ts';
import { assertProps, type CloudProblem } from './errors.ts';
import { HostGroup } from './hosts.ts';
import { PORTS } from './security.ts';

/** Properties of an {@link Edge}. */
export interface EdgeProps {
  readonly vpc: ec2.IVpc;
  readonly loadBalancerSecurityGroup: ec2.ISecurityGroup;
  readonly edgeSecurityGroup: ec2.ISecurityGroup;
  readonly instanceType: string;
  readonly machineImage: ec2.IMachineImage;
  /** Boot script of the edge hosts. */
  readonly userData: string;
  /**
   * Fewest edge hosts.
   * @default 1
   */
  readonly minCapacity?: number;
  /**
   * Most edge hosts.
   * @default 4
   */
  readonly maxCapacity?: number;
  /**
   * Average CPU the edge group is scaled to.
   * @default 60
   */
  readonly cpuTarget?: number;
  /**
   * Requests per edge host and minute the group is scaled to.
   * @default 6000
   */
  readonly requestsPerHostPerMinute?: number;
  /**
   * Public domains the distribution answers on.
   * @default - none: only the distribution's own *.cloudfront.net name
   */
  readonly domains?: readonly string[];
  /**
   * Certificate (us-east-1) for `domains`; required when there are domains.
   * @default - CloudFront's default certificate
   */
  readonly certificate?: acm.ICertificate;
  /**
   * Path prefixes cached at CloudFront (the stack file's `edge.cache.pathPrefixes`); every other path
   * goes to the origin with all headers, cookies and query strings.
   * @default ['/static/', '/media/']
   */
  readonly cachedPaths?: readonly string[];
  /**
   * Cookies that vary a cached page (the stack file's `edge.cache.bypassCookies`): they are part of
   * CloudFront's cache key, so a page made for one customer group is never served to another.
   * @default ['X-Magento-Vary']
   */
  readonly varyCookies?: readonly string[];
  /**
   * TTL of a cached response without Cache-Control or Expires.
   * @default Duration.seconds(0)
   */
  readonly defaultTtl?: Duration;
  /**
   * Edge locations the distribution uses (and pays for).
   * @default cloudfront.PriceClass.PRICE_CLASS_100
   */
  readonly priceClass?: cloudfront.PriceClass;
  /** Bucket for CloudFront's and the load balancer's access logs. */
  readonly logBucket: s3.IBucket;
  /**
   * Topic told about launches and terminations of edge hosts.
   * @default - none
   */
  readonly notifications?: sns.ITopic;
}

/**
 * The way in: CloudFront (static paths cached at the edge, dynamic paths forwarded with every header,
 * cookie and query string) → an internal Application Load Balancer reached as a CloudFront VPC
 * origin → an autoscaling group running `triplane edge`, which applies the store's protection policy.
 */
export class Edge extends Construct {
  readonly distribution: cloudfront.Distribution;
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  readonly hosts: HostGroup;

  constructor(scope: Construct, id: string, props: EdgeProps) {
    super(scope, id);
    const domains = props.domains ?? [];
    const cachedPaths = props.cachedPaths ?? ['/static/', '/media/'];
    const cpuTarget = props.cpuTarget ?? 60;
    const problems: CloudProblem[] = [];
    if (domains.length > 0 && !props.certificate) {
      problems.push({
        path: 'certificate',
        message: 'is required when the distribution has domains',
        value: undefined,
      });
    }
    cachedPaths.forEach((p, i) => {
      if (!/^\/[A-Za-z0-9_\-./]*$/.test(p))
        problems.push({
          path: `cachedPaths.${i}`,
          message: 'expected a path prefix like "/static/"',
          value: p,
        });
    });
    // CloudFront allows 25 cache behaviours per distribution by default.
    if (cachedPaths.length > 24)
      problems.push({
        path: 'cachedPaths',
        message: 'at most 24 cached path prefixes',
        value: cachedPaths.length,
      });
    if (cpuTarget < 10 || cpuTarget > 95)
      problems.push({ path: 'cpuTarget', message: 'must be from 10 to 95', value: cpuTarget });
    assertProps('Edge', problems);

    this.hosts = new HostGroup(this, 'Hosts', {
      vpc: props.vpc,
      role: 'edge',
      instanceType: props.instanceType,
      machineImage: props.machineImage,
      securityGroup: props.edgeSecurityGroup,
      userData: props.userData,
      minCapacity: props.minCapacity ?? 1,
      maxCapacity: props.maxCapacity ?? 4,
      rootVolumeGb: 16,
      ...(props.notifications ? { notifications: props.notifications } : {}),
    });

    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'LoadBalancer', {
      vpc: props.vpc,
      internetFacing: false,
      securityGroup: props.loadBalancerSecurityGroup,
      vpcSubnets: { subnets: props.vpc.privateSubnets },
      dropInvalidHeaderFields: true,
      idleTimeout: Duration.seconds(60),
    });
    this.loadBalancer.logAccessLogs(props.logBucket, 'alb');
    const listener = this.loadBalancer.addListener('Http', {
      port: PORTS.loadBalancer,
      protocol: elbv2.ApplicationProtocol.HTTP,
      open: false,
    });
    listener.addTargets('Edge', {
      port: PORTS.edgeHttp,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targets: [this.hosts.group],
      deregistrationDelay: Duration.seconds(30),
      healthCheck: {
        path: '/healthz',
        port: String(PORTS.edgeAdmin),
        healthyHttpCodes: '200',
        interval: Duration.seconds(15),
      },
    });
    this.hosts.group.scaleOnCpuUtilization('Cpu', { targetUtilizationPercent: cpuTarget });
    this.hosts.group.scaleOnRequestCount('Requests', {
      targetRequestsPerMinute: props.requestsPerHostPerMinute ?? 6000,
    });
    acknowledge(listener, [
      {
        id: 'AwsSolutions-ELB2',
        reason: 'checked on the load balancer, which has access logging on',
      },
    ]);

    const dynamicRequests = new cloudfront.OriginRequestPolicy(this, 'Dynamic', {
      comment: 'Dynamic pages: every viewer header (Host included), cookie and query string',
      headerBehavior: cloudfront.OriginRequestHeaderBehavior.all(
        'CloudFront-Forwarded-Proto',
        'CloudFront-Viewer-Address',
      ),
      cookieBehavior: cloudfront.OriginRequestCookieBehavior.all(),
      queryStringBehavior: cloudfront.OriginRequestQueryStringBehavior.all(),
    });
    const varyCookies = props.varyCookies ?? ['X-Magento-Vary'];
    const cached = new cloudfront.CachePolicy(this, 'Cached', {
      comment:
        'Static paths: cached by host, query string and the cookies pages vary on; origin headers rule',
      defaultTtl: props.defaultTtl ?? Duration.seconds(0),
      minTtl: Duration.seconds(0),
      maxTtl: Duration.days(365),
      headerBehavior: cloudfront.CacheHeaderBehavior.allowList('Host'),
      cookieBehavior:
        varyCookies.length > 0
          ? cloudfront.CacheCookieBehavior.allowList(...varyCookies)
          : cloudfront.CacheCookieBehavior.none(),
      queryStringBehavior: cloudfront.CacheQueryStringBehavior.all(),
      enableAcceptEncodingGzip: true,
      enableAcceptEncodingBrotli: true,
    });

    const origin = origins.VpcOrigin.withApplicationLoadBalancer(this.loadBalancer, {
      httpPort: PORTS.loadBalancer,
      protocolPolicy: cloudfront.OriginProtocolPolicy.HTTP_ONLY,
      readTimeout: Duration.seconds(60),
    });
    const additionalBehaviors: Record<string, cloudfront.BehaviorOptions> = {};
    for (const prefix of cachedPaths) {
      additionalBehaviors[`${prefix.endsWith('/') ? prefix : `${prefix}/`}*`] = {
        origin,
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD_OPTIONS,
        cachedMethods: cloudfront.CachedMethods.CACHE_GET_HEAD_OPTIONS,
        cachePolicy: cached,
        compress: true,
      };
    }
    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'Triplane store: static paths cached, the rest forwarded to triplane edge',
      defaultBehavior: {
        origin,
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
        cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
        originRequestPolicy: dynamicRequests,
        compress: true,
      },
      additionalBehaviors,
      ...(domains.length > 0 && props.certificate
        ? { domainNames: [...domains], certificate: props.certificate }
        : {}),
      minimumProtocolVersion: cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      priceClass: props.priceClass ?? cloudfront.PriceClass.PRICE_CLASS_100,
      enableLogging: true,
      logBucket: props.logBucket,
      logFilePrefix: 'cloudfront/',
    });
    const reasons = [
      {
        id: 'AwsSolutions-CFR1',
        reason:
          'a store sells wherever its owner ships: countries are blocked by the edge IP rules of the stack file, not here',
      },
      {
        id: 'AwsSolutions-CFR2',
        reason:
          'the WAF is the Core Rule Set run by `triplane edge` behind CloudFront (every request passes it), not AWS WAF',
      },
    ];
    if (domains.length === 0) {
      reasons.push({
        id: 'AwsSolutions-CFR4',
        reason:
          'without domains the distribution uses the *.cloudfront.net certificate, whose TLS policy cannot be changed; a store with domains gets TLSv1.2_2021',
      });
    }
    acknowledge(this.distribution, reasons);
  }
}
