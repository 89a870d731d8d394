import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import { assertProps } from './errors.ts';

/** Ports between the tiers; each rule below opens exactly one of them between two groups. */
export const PORTS = {
  /** The internal load balancer's listener (CloudFront's VPC origin speaks HTTP inside the VPC). */
  loadBalancer: 80,
  /** `triplane edge --http`. */
  edgeHttp: 8080,
  /** `triplane edge --metrics`: health, metrics and purges. */
  edgeAdmin: 8081,
  varnish: 6081,
  /** The ports the agent publishes app and admin pods on (it picks them upwards from 8180). */
  podsFrom: 8180,
  podsTo: 8279,
  amqp: 5672,
  amqps: 5671,
  control: 7070,
  sshGateway: 2222,
  ssh: 22,
  mysql: 3306,
  postgres: 5432,
  redis: 6379,
  https: 443,
  nfs: 2049,
} as const;

/** Properties of {@link Tiers}. */
export interface TiersProps {
  readonly vpc: ec2.IVpc;
  /** Managed prefix list of CloudFront's origin-facing addresses: the only source the load balancer admits. */
  readonly cloudFrontPrefixListId: string;
}

/**
 * One security group per tier and the least-privilege rules between them: every data service admits
 * only the tiers that use it, on its one port, and has no egress; SSH comes only from the EC2 Instance
 * Connect endpoint; nothing admits 0.0.0.0/0. Hosts may reach HTTP and HTTPS anywhere (Debian's
 * mirror, npm, nodejs.org, AWS APIs).
 */
export class Tiers extends Construct {
  readonly loadBalancer: ec2.SecurityGroup;
  readonly edge: ec2.SecurityGroup;
  readonly services: ec2.SecurityGroup;
  readonly app: ec2.SecurityGroup;
  readonly admin: ec2.SecurityGroup;
  readonly control: ec2.SecurityGroup;
  readonly instanceConnect: ec2.SecurityGroup;
  readonly cache: ec2.SecurityGroup;
  readonly database: ec2.SecurityGroup;
  readonly search: ec2.SecurityGroup;
  readonly media: ec2.SecurityGroup;
  readonly stateStore: ec2.SecurityGroup;
  readonly messageBroker: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: TiersProps) {
    super(scope, id);
    assertProps(
      'Tiers',
      /^pl-[0-9a-f]{8,17}$/.test(props.cloudFrontPrefixListId)
        ? []
        : [
            {
              path: 'cloudFrontPrefixListId',
              message: 'expected a prefix list id',
              value: props.cloudFrontPrefixListId,
            },
          ],
    );
    const group = (name: string, description: string) =>
      new ec2.SecurityGroup(this, name, { vpc: props.vpc, description, allowAllOutbound: false });

    this.loadBalancer = group('LoadBalancer', 'Internal load balancer: HTTP from CloudFront only');
    this.edge = group('Edge', 'triplane edge hosts');
    this.services = group('Services', 'Services host: Varnish, RabbitMQ, cron');
    this.app = group('App', 'App hosts: Podman app pods and the agent');
    this.admin = group('Admin', 'Admin hosts: the admin pod and the agent');
    this.control = group('Control', 'Control plane hosts and the SSH gateway');
    this.instanceConnect = group('InstanceConnect', 'EC2 Instance Connect endpoint');
    this.cache = group('Cache', 'ElastiCache partitions');
    this.database = group('Database', 'Aurora MySQL');
    this.search = group('Search', 'OpenSearch Service domain');
    this.media = group('Media', 'EFS media file system');
    this.stateStore = group('StateStore', 'PostgreSQL state store of the control plane');
    this.messageBroker = group('MessageBroker', 'Amazon MQ for RabbitMQ');

    const tcp = (port: number) => ec2.Port.tcp(port);
    this.loadBalancer.addIngressRule(
      ec2.Peer.prefixList(props.cloudFrontPrefixListId),
      tcp(PORTS.loadBalancer),
      'HTTP from CloudFront origin-facing addresses',
    );
    this.loadBalancer.connections.allowTo(this.edge, tcp(PORTS.edgeHttp), 'requests to the edge');
    this.loadBalancer.connections.allowTo(this.edge, tcp(PORTS.edgeAdmin), 'health checks of the edge');

    const hosts = [this.edge, this.services, this.app, this.admin, this.control];
    for (const host of hosts) {
      // Debian's mirror is plain HTTP (packages are signed); everything else is HTTPS.
      host.addEgressRule(ec2.Peer.anyIpv4(), tcp(80), 'packages from the Debian mirror');
      host.addEgressRule(ec2.Peer.anyIpv4(), tcp(PORTS.https), 'HTTPS: npm, nodejs.org, AWS APIs');
      this.instanceConnect.connections.allowTo(host, tcp(PORTS.ssh), 'SSH through EC2 Instance Connect');
    }
    this.instanceConnect.connections.allowTo(this.control, tcp(PORTS.sshGateway), 'SSH gateway');

    for (const client of [this.edge, this.services, this.app, this.admin]) {
      client.connections.allowTo(this.control, tcp(PORTS.control), 'control plane API');
    }
    this.control.connections.allowTo(this.edge, tcp(PORTS.edgeAdmin), 'purges to the edges');
    this.control.connections.allowTo(this.stateStore, tcp(PORTS.postgres), 'state store');

    this.edge.connections.allowTo(this.services, tcp(PORTS.varnish), 'Varnish');
    const pods = ec2.Port.tcpRange(PORTS.podsFrom, PORTS.podsTo);
    this.services.connections.allowTo(this.app, pods, 'Varnish to app pods');
    this.edge.connections.allowTo(this.admin, pods, 'admin requests to the admin pod');

    const workers = [this.app, this.admin, this.services];
    for (const worker of workers) {
      worker.connections.allowTo(this.cache, tcp(PORTS.redis), 'Valkey');
      worker.connections.allowTo(this.database, tcp(PORTS.mysql), 'MySQL');
      worker.connections.allowTo(this.search, tcp(PORTS.https), 'OpenSearch');
      worker.connections.allowTo(this.media, tcp(PORTS.nfs), 'NFS (media)');
      worker.connections.allowTo(this.messageBroker, tcp(PORTS.amqps), 'AMQPS (Amazon MQ)');
    }
    for (const worker of [this.app, this.admin]) {
      worker.connections.allowTo(this.services, tcp(PORTS.amqp), 'RabbitMQ on the services host');
    }
  }
}
