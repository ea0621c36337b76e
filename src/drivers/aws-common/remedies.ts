/**
 * Remedy texts that several AWS message tables share word for word (awsvip, awseip, awsdns, awsazw,
 * fencing; STYLE.md 12). Only the shared text lives here: each table keeps its own entries, codes and
 * type-specific remedies, and docs/messages.md mirrors the composed texts.
 */

/** The seed's remedies for "Timeout occurred." of the EC2-based types (awsvip, awseip; doctor quotes it). */
export const AWS_TIMEOUT_REMEDY =
  "Check that this server reaches the regional EC2 endpoint: the route to the NAT gateway or internet gateway in its subnet's route table, packet filtering (security groups, network ACLs, the OS firewall), the proxy (aws.proxy) or the VPC endpoint; remove the cause when the server is heavily loaded; raise the timeout when AWS answers slowly (`tandem doctor` measures the call time).";

/** "AWS access is not set up" of awsvip and awseip. */
export const AWS_ACCESS_REMEDY =
  'Set the region (aws.region in the config, AWS_REGION, or the profile) and credentials (aws configure, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or an IAM instance role) on this server; `tandem doctor` shows what it finds and where.';

/** "AWS access is not set up on this server" of awsdns and fencing (worded for aws.environment). */
export const DAEMON_ACCESS_REMEDY =
  'Give the daemon a region (aws.region, AWS_REGION or the instance metadata) and credentials (an instance role, aws.profile, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY in aws.environment); `tandem doctor` shows where it looked.';

/** The start of the "no answer" remedies: `Check the path to the EC2 endpoint (...)`. */
export function endpointPathRemedy(service: 'EC2' | 'Route 53'): string {
  return `Check the path to the ${service} endpoint (route tables, NAT gateway, packet filters, aws.proxy)`;
}

/** Suffixes of a monitor's timeout entries (awsvipw, awseipw): what `noResponse` makes of them. */
export const TIMEOUT_AS_ERROR =
  'Shown as an error with noResponse: recover (the recovery action follows), ignored with noResponse: none.';
export const TIMEOUT_AS_WARNING = 'A warning (noResponse: warn): no recovery action follows.';

/** Suffix of a monitor's timeout-warning entry (awsdnsw, awsazw). */
export const ONLY_WARNS = 'The monitor only warns (noResponse: warn).';

/** "The resource parameters are invalid." of awsvip and awseip. */
export const FIX_RESOURCE_REMEDY =
  'Fix the resource in the config file; run `tandem config check` to see every problem.';
