/**
 * Message tables of the `awsvip` resource and the `awsvipw` monitor (STYLE.md 12; issue 4 sections 2-3).
 * Codes with a meaning in the seed's troubleshooting chapter keep the seed's number (awsvip 9, 50, 51, 53;
 * awsvipw 56); the others are Tandem's own. Codes are never reused: retire an entry by leaving its code out
 * for good. docs/messages.md mirrors these tables.
 *
 * Warnings: an `awsvipw` check whose AWS call gets no answer, or stays throttled/unavailable after the
 * access layer's retries, is thrown as a NoResponseError, so the monitor's `noResponse` decides what it
 * means. The code follows the seed's "100 + code when shown as a warning" convention: 109 with
 * `noResponse: warn` (the core shows it as a warning), 9 with `recover` (an error) and with `none` (ignored).
 * Every other code of the monitor is an error.
 */
import type { DriverMessage } from '../messages.ts';
import {
  AWS_ACCESS_REMEDY,
  AWS_TIMEOUT_REMEDY,
  FIX_RESOURCE_REMEDY,
  TIMEOUT_AS_ERROR,
  TIMEOUT_AS_WARNING,
} from '../aws-common/remedies.ts';

export const AWSVIP_MESSAGES = [
  {
    code: 9,
    id: 'AWSVIP_TIMEOUT',
    message: 'Timeout occurred.',
    remedy: AWS_TIMEOUT_REMEDY,
    retryable: true,
  },
  {
    code: 50,
    id: 'AWSVIP_AWS_FAILED',
    message: 'The AWS call failed.',
    remedy:
      'Read the AWS error in the message: specify a correct VPC ID (vpcId) or ENI ID (eniId) when one does not exist; when not authorized, grant this server ec2:DescribeVpcs, ec2:DescribeRouteTables, ec2:DescribeNetworkInterfaces and ec2:ReplaceRoute on every route table holding the VIP route; when AWS refuses the credentials, check them and the clock; when throttled or unavailable, retry later.',
    retryable: true,
  },
  {
    code: 51,
    id: 'AWSVIP_ACCESS_NOT_SET_UP',
    message: 'AWS access is not set up.',
    remedy: AWS_ACCESS_REMEDY,
    retryable: false,
  },
  {
    code: 53,
    id: 'AWSVIP_VIP_IN_VPC',
    message: 'The VIP address belongs to a CIDR block of the VPC.',
    remedy: 'Choose a VIP address outside every CIDR block of the VPC.',
    retryable: false,
  },
  {
    code: 54,
    id: 'AWSVIP_NO_ROUTE',
    message: 'No route table of the VPC has a route for the VIP address.',
    remedy:
      "Add a route for <ip>/32 targeting one of the servers' ENIs to every route table of the VPC whose subnets hold clients that must reach the VIP.",
    retryable: false,
  },
  {
    code: 55,
    id: 'AWSVIP_ROUTE_NOT_UPDATED',
    message: "A route table does not route the VIP address to this server's ENI after the update.",
    remedy:
      'Check whether another cluster or tool manages the same VIP route (the route table shows its target), then start the resource again.',
    retryable: true,
  },
  {
    code: 57,
    id: 'AWSVIP_NO_INTERFACE',
    message: 'The network interface for the VIP address was not found on this server.',
    remedy:
      "Set `interface:` to the interface that holds the ENI's private IP address (see `ip -4 address`), or set `assignAddress: false`.",
    retryable: false,
  },
  {
    code: 58,
    id: 'AWSVIP_IP_COMMAND_FAILED',
    message: 'The ip command failed.',
    remedy:
      'Run the daemon as root (or with CAP_NET_ADMIN) and run the ip command shown by hand to see why it fails.',
    retryable: true,
  },
  {
    code: 59,
    id: 'AWSVIP_IP_NOT_INSTALLED',
    message: 'The ip command (iproute2) is not installed.',
    remedy:
      'Install iproute2 (dnf install iproute, or apt-get install iproute2), or set `assignAddress: false`.',
    retryable: false,
  },
  {
    code: 60,
    id: 'AWSVIP_INVALID_PARAMS',
    message: 'The resource parameters are invalid.',
    remedy: FIX_RESOURCE_REMEDY,
    retryable: false,
  },
] as const satisfies readonly DriverMessage[];

export type AwsVipMessageId = (typeof AWSVIP_MESSAGES)[number]['id'];

export const AWSVIPW_MESSAGES = [
  {
    code: 9,
    id: 'AWSVIPW_TIMEOUT',
    message: 'Timeout occurred.',
    remedy: `${AWS_TIMEOUT_REMEDY} ${TIMEOUT_AS_ERROR}`,
    retryable: true,
  },
  {
    code: 109,
    id: 'AWSVIPW_TIMEOUT_WARNING',
    message: 'Timeout occurred.',
    remedy: `${AWS_TIMEOUT_REMEDY} ${TIMEOUT_AS_WARNING}`,
    retryable: true,
  },
  {
    code: 50,
    id: 'AWSVIPW_AWS_FAILED',
    message: 'The AWS call failed.',
    remedy:
      'Read the AWS error in the message: specify a correct VPC ID (vpcId) when it does not exist; when not authorized, grant this server ec2:DescribeRouteTables; when AWS refuses the credentials, check them and the clock.',
    retryable: true,
  },
  {
    code: 51,
    id: 'AWSVIPW_ACCESS_NOT_SET_UP',
    message: 'AWS access is not set up.',
    remedy: AWS_ACCESS_REMEDY,
    retryable: false,
  },
  {
    code: 56,
    id: 'AWSVIPW_ROUTE_CHANGED',
    message: 'The routing for VIP was changed.',
    remedy:
      "The recovery action restarts the awsvip resource, which points the routes at this server's ENI again. Check whether another cluster uses the same VIP address by mistake.",
    retryable: true,
  },
  {
    code: 57,
    id: 'AWSVIPW_ADDRESS_MISSING',
    message: "The VIP address is no longer on this server's network interface.",
    remedy:
      'The recovery action restarts the awsvip resource, which puts the address back. Check what removed it (network configuration tools such as NetworkManager or cloud-init).',
    retryable: true,
  },
  {
    code: 58,
    id: 'AWSVIPW_INVALID_PARAMS',
    message: 'The monitor parameters are invalid.',
    remedy: 'Set `resource` to the name of an awsvip resource; run `tandem config check`.',
    retryable: false,
  },
] as const satisfies readonly DriverMessage[];

export type AwsVipwMessageId = (typeof AWSVIPW_MESSAGES)[number]['id'];
