import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import { assertProps } from './errors.ts';

/** Properties of {@link SshAccess}. */
export interface SshAccessProps {
  readonly vpc: ec2.IVpc;
  /** The endpoint's security group: it may reach port 22 of the hosts and the SSH gateway, nothing else. */
  readonly securityGroup: ec2.ISecurityGroup;
  /**
   * Subnet of the endpoint.
   * @default - the first private subnet with egress
   */
  readonly subnet?: ec2.ISubnet;
}

/**
 * SSH without a public port: an EC2 Instance Connect endpoint, through which operators reach a host's
 * port 22 (`aws ec2-instance-connect ssh`) and store users reach the control plane's SSH gateway
 * (`aws ec2-instance-connect open-tunnel --remote-port 2222`), with IAM deciding who may.
 */
export class SshAccess extends Construct {
  readonly endpoint: ec2.CfnInstanceConnectEndpoint;

  constructor(scope: Construct, id: string, props: SshAccessProps) {
    super(scope, id);
    const subnet = props.subnet ?? props.vpc.privateSubnets[0];
    assertProps(
      'SshAccess',
      subnet ? [] : [{ path: 'subnet', message: 'the VPC has no private subnet', value: undefined }],
    );
    this.endpoint = new ec2.CfnInstanceConnectEndpoint(this, 'Endpoint', {
      subnetId: subnet!.subnetId,
      securityGroupIds: [props.securityGroup.securityGroupId],
      preserveClientIp: false,
    });
  }
}
