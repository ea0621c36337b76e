/**
 * Message table of the `awsazw` monitor (STYLE.md 12; issue 4 section 3). The seed's numbers keep their
 * meaning: 5 the zone is unavailable, unknown ("Invalid availability zone"), or the AWS call failed (the last
 * two are warning 105 under noResponse: warn, as the seed's "Action when AWS CLI command failed to receive
 * response" does; an unavailable zone is an error in every mode); 6 / 106 no answer; 101 (Tandem's own) the
 * zone is impaired or has information. Codes are never reused. docs/messages.md mirrors this table.
 */
import type { DriverMessage } from '../messages.ts';
import { endpointPathRemedy, ONLY_WARNS } from '../aws-common/remedies.ts';

const CALL_FAILED_REMEDY =
  'Read the AWS error in the message. Check that availabilityZone names a zone of the region (e.g. us-east-1a, as `aws ec2 describe-availability-zones` lists them), the region and credentials (`tandem doctor` shows where they come from), the IAM policy (ec2:DescribeAvailabilityZones) and the path to the EC2 endpoint. When it only happens now and then, noResponse: warn keeps it a warning.';

const TIMEOUT_REMEDY = `${endpointPathRemedy('EC2')} and the load of this server; raise the monitor timeout above the time \`aws ec2 describe-availability-zones\` takes here.`;

export const AWSAZW_MESSAGES = [
  {
    code: 101,
    id: 'AWSAZW_ZONE_DEGRADED',
    message: 'The availability zone reports a problem.',
    remedy:
      'AWS reports the zone as impaired or with information: check the AWS Health Dashboard and be ready to move the groups to a server in another zone.',
    retryable: true,
  },
  {
    code: 5,
    id: 'AWSAZW_CHECK_FAILED',
    message: 'The availability zone is unavailable or could not be checked.',
    remedy: `When the zone is unavailable there is nothing to fix on this server: the recovery action (by default the final action stop-cluster-service) moves the groups to a server in another zone; the monitor is normal again once the zone is available. Otherwise: ${CALL_FAILED_REMEDY}`,
    retryable: true,
  },
  {
    code: 105,
    id: 'AWSAZW_CHECK_FAILED_WARNING',
    message: 'The availability zone is unavailable or could not be checked.',
    remedy: CALL_FAILED_REMEDY,
    retryable: true,
  },
  {
    code: 6,
    id: 'AWSAZW_TIMEOUT',
    message: 'AWS did not answer in time.',
    remedy: `${TIMEOUT_REMEDY} To keep a slow or throttled endpoint from triggering recovery, set noResponse: warn (the default) or none.`,
    retryable: true,
  },
  {
    code: 106,
    id: 'AWSAZW_TIMEOUT_WARNING',
    message: 'AWS did not answer in time.',
    remedy: `${TIMEOUT_REMEDY} ${ONLY_WARNS}`,
    retryable: true,
  },
  {
    code: 7,
    id: 'AWSAZW_INVALID_PARAMS',
    message: 'The monitor parameters are invalid.',
    remedy:
      'Set availabilityZone (per server: the zone of the instance of each server, e.g. us-east-1a); run `tandem config check`.',
    retryable: false,
  },
] as const satisfies readonly DriverMessage[];

export type AwsAzMessageId = (typeof AWSAZW_MESSAGES)[number]['id'];
