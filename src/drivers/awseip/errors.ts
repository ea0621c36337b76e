/**
 * Message tables of the `awseip` resource and the `awseipw` monitor (STYLE.md 12; issue 4 sections 2-3).
 * Codes with a meaning in the seed's troubleshooting chapter keep the seed's number (awseip 50, 51, 53;
 * awseipw 52); the others are Tandem's own. Codes are never reused. docs/messages.md mirrors these tables.
 *
 * Warnings: an `awseipw` check whose AWS call gets no answer, or stays throttled/unavailable after the
 * access layer's retries, is thrown as a NoResponseError so the monitor's `noResponse` decides. The code
 * follows the seed's "100 + code when shown as a warning" convention: 153 with `noResponse: warn` (shown as
 * a warning), 53 with `recover` (an error) and with `none` (ignored). Every other code is an error.
 */
import type { DriverMessage } from '../messages.ts';
import {
  AWS_ACCESS_REMEDY,
  AWS_TIMEOUT_REMEDY,
  FIX_RESOURCE_REMEDY,
  TIMEOUT_AS_ERROR,
  TIMEOUT_AS_WARNING,
} from '../aws-common/remedies.ts';

export const AWSEIP_MESSAGES = [
  {
    code: 50,
    id: 'AWSEIP_AWS_FAILED',
    message: 'The AWS call failed.',
    remedy:
      'Read the AWS error in the message: specify a correct EIP allocation ID (allocationId) or ENI ID (eniId) when one does not exist; when not authorized, grant this server ec2:AssociateAddress, ec2:DisassociateAddress and ec2:DescribeAddresses; when AWS refuses the credentials, check them and the clock; when throttled or unavailable, retry later.',
    retryable: true,
  },
  {
    code: 51,
    id: 'AWSEIP_ACCESS_NOT_SET_UP',
    message: 'AWS access is not set up.',
    remedy: AWS_ACCESS_REMEDY,
    retryable: false,
  },
  {
    code: 53,
    id: 'AWSEIP_TIMEOUT',
    message: 'Timeout occurred.',
    remedy: AWS_TIMEOUT_REMEDY,
    retryable: true,
  },
  {
    code: 54,
    id: 'AWSEIP_NOT_ASSOCIATED_AFTER',
    message: "The EIP is not associated with this server's ENI after the association.",
    remedy:
      'Check whether another cluster or tool associates the same Elastic IP (the message says where it is now), then start the resource again.',
    retryable: true,
  },
  {
    code: 55,
    id: 'AWSEIP_INVALID_PARAMS',
    message: 'The resource parameters are invalid.',
    remedy: FIX_RESOURCE_REMEDY,
    retryable: false,
  },
] as const satisfies readonly DriverMessage[];

export type AwsEipMessageId = (typeof AWSEIP_MESSAGES)[number]['id'];

export const AWSEIPW_MESSAGES = [
  {
    code: 50,
    id: 'AWSEIPW_AWS_FAILED',
    message: 'The AWS call failed.',
    remedy:
      'Read the AWS error in the message: specify a correct EIP allocation ID (allocationId) when it does not exist; when not authorized, grant this server ec2:DescribeAddresses; when AWS refuses the credentials, check them and the clock.',
    retryable: true,
  },
  {
    code: 51,
    id: 'AWSEIPW_ACCESS_NOT_SET_UP',
    message: 'AWS access is not set up.',
    remedy: AWS_ACCESS_REMEDY,
    retryable: false,
  },
  {
    code: 52,
    id: 'AWSEIPW_NOT_ASSOCIATED',
    message: "The EIP address is not associated with this server's ENI.",
    remedy:
      'The recovery action restarts the awseip resource, which associates the Elastic IP with this server again. Check whether another cluster uses the same allocation ID by mistake.',
    retryable: true,
  },
  {
    code: 53,
    id: 'AWSEIPW_TIMEOUT',
    message: 'Timeout occurred.',
    remedy: `${AWS_TIMEOUT_REMEDY} ${TIMEOUT_AS_ERROR}`,
    retryable: true,
  },
  {
    code: 153,
    id: 'AWSEIPW_TIMEOUT_WARNING',
    message: 'Timeout occurred.',
    remedy: `${AWS_TIMEOUT_REMEDY} ${TIMEOUT_AS_WARNING}`,
    retryable: true,
  },
  {
    code: 54,
    id: 'AWSEIPW_INVALID_PARAMS',
    message: 'The monitor parameters are invalid.',
    remedy: 'Set `resource` to the name of an awseip resource; run `tandem config check`.',
    retryable: false,
  },
] as const satisfies readonly DriverMessage[];

export type AwsEipwMessageId = (typeof AWSEIPW_MESSAGES)[number]['id'];
