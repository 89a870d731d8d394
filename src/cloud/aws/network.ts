import { RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { assertProps, type CloudProblem } from './errors.ts';

/** Properties of a {@link Network}. */
export interface NetworkProps {
  /**
   * Address range of the VPC.
   * @default '10.40.0.0/16'
   */
  readonly cidr?: string;
  /** Availability zones, 2 or 3 (Aurora and RDS need two). */
  readonly zones: readonly string[];
  /**
   * NAT gateways (1 to one per zone); the hosts reach Debian's mirror, npm and nodejs.org through them.
   * @default - one per zone
   */
  readonly natGateways?: number;
  /**
   * Interface endpoints for SSM, CloudWatch Logs and Secrets Manager, so that traffic does not cross
   * the NAT gateways (worth it when that traffic costs more than ~$7/month per endpoint and zone).
   * @default false
   */
  readonly interfaceEndpoints?: boolean;
  /**
   * Retention of the VPC flow log (rejected flows).
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly flowLogRetention?: logs.RetentionDays;
  /**
   * What happens to the flow log group when the stack is deleted.
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The VPC: public subnets (NAT gateways only; the load balancer is internal), private subnets with
 * egress for the hosts, isolated subnets for the data services, the free S3 gateway endpoint (release
 * downloads, backups and Debian's S3-backed mirror traffic bypass the NAT gateways) and a flow log.
 */
export class Network extends Construct {
  readonly vpc: ec2.Vpc;
  /** Security group of the interface endpoints; undefined without them. */
  readonly endpointsSecurityGroup?: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);
    const nat = props.natGateways ?? props.zones.length;
    const problems: CloudProblem[] = [];
    if (props.zones.length < 2 || props.zones.length > 3) {
      problems.push({ path: 'zones', message: 'needs 2 or 3 availability zones', value: props.zones });
    }
    if (!Number.isInteger(nat) || nat < 1 || nat > props.zones.length) {
      // The hosts install packages at boot: without a NAT gateway they cannot.
      problems.push({ path: 'natGateways', message: `must be from 1 to ${props.zones.length}`, value: nat });
    }
    assertProps('Network', problems);

    const flowLogs = new logs.LogGroup(this, 'FlowLogs', {
      retention: props.flowLogRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.DESTROY,
    });
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(props.cidr ?? '10.40.0.0/16'),
      availabilityZones: [...props.zones],
      natGateways: nat,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24, mapPublicIpOnLaunch: false },
        { name: 'hosts', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 },
        { name: 'data', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
      ],
      gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 } },
      flowLogs: {
        rejected: {
          destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs),
          trafficType: ec2.FlowLogTrafficType.REJECT,
        },
      },
      restrictDefaultSecurityGroup: false,
    });

    if (props.interfaceEndpoints) {
      this.endpointsSecurityGroup = new ec2.SecurityGroup(this, 'Endpoints', {
        vpc: this.vpc,
        description: 'Interface endpoints: HTTPS from inside the VPC',
        allowAllOutbound: false,
      });
      this.endpointsSecurityGroup.addIngressRule(
        ec2.Peer.ipv4(this.vpc.vpcCidrBlock),
        ec2.Port.tcp(443),
        'HTTPS from the VPC',
      );
      const services = {
        Ssm: ec2.InterfaceVpcEndpointAwsService.SSM,
        SsmMessages: ec2.InterfaceVpcEndpointAwsService.SSM_MESSAGES,
        Ec2Messages: ec2.InterfaceVpcEndpointAwsService.EC2_MESSAGES,
        Logs: ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
        SecretsManager: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
      };
      for (const [name, service] of Object.entries(services)) {
        this.vpc.addInterfaceEndpoint(name, {
          service,
          securityGroups: [this.endpointsSecurityGroup],
          subnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
        });
      }
    }
  }
}
