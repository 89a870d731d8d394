import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import type * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as targets from 'aws-cdk-lib/aws-route53-targets';
import { Construct } from 'constructs';
import { assertProps, type CloudProblem } from './errors.ts';

/** Properties of {@link Dns}. */
export interface DnsProps {
  /** The Route 53 zone that holds every domain, e.g. "example.com". */
  readonly zoneName: string;
  /**
   * An existing public hosted zone for `zoneName`.
   * @default - a new public hosted zone (delegate it from the registrar after the first deploy)
   */
  readonly hostedZoneId?: string;
  /** The store's public domains; the first names the certificate, the others are alternative names. */
  readonly domains: readonly string[];
  /**
   * An ACM certificate in us-east-1 for CloudFront.
   * @default - a DNS-validated certificate for `domains`, made in this stack (which must be in us-east-1)
   */
  readonly cloudFrontCertificateArn?: string;
}

const within = (domain: string, zone: string) => {
  const d = domain.replace(/^\*\./, '');
  return d === zone || d.endsWith(`.${zone}`);
};

/** The store's public DNS: the hosted zone, the CloudFront certificate and alias records. */
export class Dns extends Construct {
  readonly zone: route53.IHostedZone;
  readonly certificate: acm.ICertificate;
  readonly domains: readonly string[];

  constructor(scope: Construct, id: string, props: DnsProps) {
    super(scope, id);
    const problems: CloudProblem[] = [];
    if (props.domains.length === 0)
      problems.push({ path: 'domains', message: 'needs at least one domain', value: [] });
    if (props.domains.length > 100)
      problems.push({
        path: 'domains',
        message: 'ACM certificates hold at most 100 names',
        value: props.domains.length,
      });
    props.domains.forEach((d, i) => {
      if (!within(d, props.zoneName))
        problems.push({ path: `domains.${i}`, message: `is not in the zone "${props.zoneName}"`, value: d });
    });
    assertProps('Dns', problems);
    this.domains = props.domains;

    this.zone = props.hostedZoneId
      ? route53.HostedZone.fromHostedZoneAttributes(this, 'Zone', {
          hostedZoneId: props.hostedZoneId,
          zoneName: props.zoneName,
        })
      : new route53.PublicHostedZone(this, 'Zone', { zoneName: props.zoneName });

    this.certificate = props.cloudFrontCertificateArn
      ? acm.Certificate.fromCertificateArn(this, 'Certificate', props.cloudFrontCertificateArn)
      : new acm.Certificate(this, 'Certificate', {
          domainName: props.domains[0]!,
          subjectAlternativeNames: props.domains.slice(1),
          validation: acm.CertificateValidation.fromDns(this.zone),
        });
  }

  /** A and AAAA alias records of every domain to the distribution. */
  addAliasRecords(distribution: cloudfront.IDistribution): void {
    const target = route53.RecordTarget.fromAlias(new targets.CloudFrontTarget(distribution));
    this.domains.forEach((domain, i) => {
      new route53.ARecord(this, `A${i}`, { zone: this.zone, recordName: `${domain}.`, target });
      new route53.AaaaRecord(this, `Aaaa${i}`, { zone: this.zone, recordName: `${domain}.`, target });
    });
  }
}
