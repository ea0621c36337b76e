/**
 * Message tables of the forced stop (issue 4 section 4; the seed's "Fencing" step) and of the `awsfencew`
 * monitor, its periodic check. Tandem's own numbers (the seed documents no codes for fencing). Codes are never
 * reused. docs/messages.md mirrors these tables.
 */
import type { DriverMessage } from '../messages.ts';
import { DAEMON_ACCESS_REMEDY, endpointPathRemedy } from '../aws-common/remedies.ts';

const EC2_PATH = endpointPathRemedy('EC2');

const CONFIRM =
  'Check the instance in the EC2 console and stop it by hand (aws ec2 stop-instances --force --instance-ids <instance>); once it is stopped, run `tandem server confirm-down <server>` so that its groups are taken over.';

export const FENCE_MESSAGES = [
  {
    code: 1,
    id: 'FENCE_STOP_FAILED',
    message: 'The forced stop of the instance failed.',
    remedy: `Read the AWS error in the message: a wrong instance id in fencing.servers, or an IAM policy without ec2:StopInstances (ec2:RebootInstances for action: reboot) and ec2:DescribeInstances on that instance. ${CONFIRM}`,
    retryable: true,
  },
  {
    code: 2,
    id: 'FENCE_TIMEOUT',
    message: 'The instance did not stop within the fencing timeout.',
    remedy: `EC2 may take minutes to stop an instance whose host has a problem; raise fencing.timeout if it regularly takes longer. ${CONFIRM}`,
    retryable: true,
  },
  {
    code: 3,
    id: 'FENCE_ACCESS_NOT_SET_UP',
    message: 'AWS access is not set up on this server.',
    remedy: `${DAEMON_ACCESS_REMEDY} ${CONFIRM}`,
    retryable: false,
  },
  {
    code: 4,
    id: 'FENCE_NO_ANSWER',
    message: 'AWS did not answer in time.',
    remedy: `${EC2_PATH}. ${CONFIRM}`,
    retryable: true,
  },
  {
    code: 5,
    id: 'FENCE_NOT_CONFIGURED',
    message: 'No instance is configured for the server in fencing.servers.',
    remedy: `Add the server with its instanceId to fencing.servers in the config file and apply it on every server. ${CONFIRM}`,
    retryable: false,
  },
] as const satisfies readonly DriverMessage[];

export type FenceMessageId = (typeof FENCE_MESSAGES)[number]['id'];

export const AWSFENCEW_MESSAGES = [
  {
    code: 1,
    id: 'AWSFENCEW_INSTANCE_MISSING',
    message: 'The instance of a server cannot be found.',
    remedy:
      'Correct instanceId of that server in fencing.servers (the EC2 console lists the instance ids), and check that the region is the one the instances run in.',
    retryable: true,
  },
  {
    code: 2,
    id: 'AWSFENCEW_STOP_DENIED',
    message: 'This server is not allowed to stop the instance of a server.',
    remedy:
      'Add ec2:StopInstances (ec2:RebootInstances for action: reboot) on that instance to the IAM policy of the instance role or user of this server; without it a forced stop fails and failover waits for the operator.',
    retryable: true,
  },
  {
    code: 3,
    id: 'AWSFENCEW_AWS_CALL_FAILED',
    message: 'The AWS call failed.',
    remedy:
      'Read the AWS error in the message; check the IAM policy (ec2:DescribeInstances, ec2:StopInstances) and the path to the EC2 endpoint.',
    retryable: true,
  },
  {
    code: 4,
    id: 'AWSFENCEW_ACCESS_NOT_SET_UP',
    message: 'AWS access is not set up on this server.',
    remedy: DAEMON_ACCESS_REMEDY,
    retryable: false,
  },
  {
    code: 5,
    id: 'AWSFENCEW_NOT_CONFIGURED',
    message: 'Fencing is not configured.',
    remedy: 'Add a fencing: section with the instanceId of every server, or remove the awsfencew monitor.',
    retryable: false,
  },
  {
    code: 6,
    id: 'AWSFENCEW_TIMEOUT',
    message: 'AWS did not answer in time.',
    remedy: `${EC2_PATH}; set noResponse: warn (the default) to keep this a warning.`,
    retryable: true,
  },
  {
    code: 106,
    id: 'AWSFENCEW_TIMEOUT_WARNING',
    message: 'AWS did not answer in time.',
    remedy: `${EC2_PATH}; the monitor only warns (noResponse: warn).`,
    retryable: true,
  },
] as const satisfies readonly DriverMessage[];

export type AwsFenceMonitorMessageId = (typeof AWSFENCEW_MESSAGES)[number]['id'];
