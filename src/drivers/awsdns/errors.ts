/**
 * Message tables of the `awsdns` resource and the `awsdnsw` monitor (STYLE.md 12; issue 4 sections 2-3).
 * The numbers the seed's troubleshooting chapter documents keep their meaning (awsdns 50 / 51 / 52, awsdnsw
 * 51 / 151 / 52 / 53 / 54 / 55); the rest are Tandem's own. Codes are never reused. docs/messages.md mirrors
 * these tables.
 */
import type { DriverMessage } from '../messages.ts';
import { DAEMON_ACCESS_REMEDY, endpointPathRemedy, ONLY_WARNS } from '../aws-common/remedies.ts';

const AWS_CALL_REMEDY =
  'Read the AWS error in the message. Check the hosted zone id (Route 53 console), the IAM policy of the instance role or user (route53:ChangeResourceRecordSets, route53:ListResourceRecordSets, route53:GetChange), that the hosted zone is associated with the VPC of every server (private zones), that the VPC has enableDnsSupport, that recordName is a lowercase FQDN ending with a dot, and that Route 53 is reachable (a VPC endpoint does not serve Route 53: use a NAT gateway or aws.proxy). `tandem doctor` checks all of these.';

const TIMEOUT_REMEDY = `${endpointPathRemedy('Route 53')} and the load of this server; when the credentials come from the instance role, check that the instance metadata answers quickly, or configure a profile. Raise the timeout above the time \`aws route53 list-resource-record-sets\` takes here.`;

export const AWSDNS_MESSAGES = [
  {
    code: 50,
    id: 'AWSDNS_AWS_CALL_FAILED',
    message: 'The AWS call failed.',
    remedy: AWS_CALL_REMEDY,
    retryable: true,
  },
  {
    code: 51,
    id: 'AWSDNS_TIMEOUT',
    message: 'AWS did not answer in time.',
    remedy: TIMEOUT_REMEDY,
    retryable: true,
  },
  {
    code: 52,
    id: 'AWSDNS_ACCESS_NOT_SET_UP',
    message: 'AWS access is not set up on this server.',
    remedy: DAEMON_ACCESS_REMEDY,
    retryable: false,
  },
  {
    code: 53,
    id: 'AWSDNS_NOT_INSYNC',
    message: 'The record change did not reach INSYNC within the timeout.',
    remedy:
      'Route 53 normally applies a change within 60 seconds: raise the resource timeout (the change is polled for 90% of it), and check the Route 53 service health.',
    retryable: true,
  },
  {
    code: 54,
    id: 'AWSDNS_INVALID_PARAMS',
    message: 'The resource parameters are invalid.',
    remedy:
      'Set hostedZoneId, recordName (a lowercase FQDN ending with a dot), ipAddress (per server) and ttl; run `tandem config check`.',
    retryable: false,
  },
] as const satisfies readonly DriverMessage[];

export type AwsDnsMessageId = (typeof AWSDNS_MESSAGES)[number]['id'];

export const AWSDNSW_MESSAGES = [
  {
    code: 50,
    id: 'AWSDNSW_AWS_CALL_FAILED',
    message: 'The AWS call failed.',
    remedy: AWS_CALL_REMEDY,
    retryable: true,
  },
  {
    code: 51,
    id: 'AWSDNSW_TIMEOUT',
    message: 'AWS did not answer in time.',
    remedy: `${TIMEOUT_REMEDY} To keep a slow or throttled endpoint from failing the group over, set noResponse: warn (the default) or none.`,
    retryable: true,
  },
  {
    code: 151,
    id: 'AWSDNSW_TIMEOUT_WARNING',
    message: 'AWS did not answer in time.',
    remedy: `${TIMEOUT_REMEDY} ${ONLY_WARNS}`,
    retryable: true,
  },
  {
    code: 52,
    id: 'AWSDNSW_RECORD_MISSING',
    message: 'The resource record set does not exist in the hosted zone.',
    remedy:
      'Check that no other cluster uses the same record set (recovery restarts the awsdns resource, which creates it again), that the IAM policy allows route53:ChangeResourceRecordSets and route53:ListResourceRecordSets, that the hosted zone is associated with the VPC, and that recordName is an FQDN ending with a dot.',
    retryable: true,
  },
  {
    code: 53,
    id: 'AWSDNSW_RECORD_OTHER_IP',
    message: 'The resource record set does not hold the IP address of this server.',
    remedy:
      'Check that no other cluster or tool writes the same record set; recovery restarts the awsdns resource, which sets it back.',
    retryable: true,
  },
  {
    code: 54,
    id: 'AWSDNSW_RESOLVE_FAILED',
    message: 'Failed to resolve the domain name.',
    remedy:
      'Check the resolver (the resolver setting of the monitor, else /etc/resolv.conf) and the network path to it; for a public hosted zone, check that the NS records at the registrar point at Route 53. Right after activation the change may not have propagated yet (up to 60 s): raise startWait of the monitor above that.',
    retryable: true,
  },
  {
    code: 55,
    id: 'AWSDNSW_RESOLVED_OTHER_IP',
    message: 'The domain name does not resolve to the IP address of this server.',
    remedy:
      'Check the resolver setting and /etc/hosts for entries of the name, and the TTL of the record (resolvers cache the previous answer that long). Right after a failover the old answer may still be cached: raise startWait of the monitor above the TTL and the propagation time.',
    retryable: true,
  },
  {
    code: 56,
    id: 'AWSDNSW_ACCESS_NOT_SET_UP',
    message: 'AWS access is not set up on this server.',
    remedy: DAEMON_ACCESS_REMEDY,
    retryable: false,
  },
  {
    code: 57,
    id: 'AWSDNSW_INVALID_PARAMS',
    message: 'The monitor parameters are invalid.',
    remedy:
      'Set resource to the name of an awsdns resource, resolveCheck to true or false and resolver to a host or IP address with an optional port (or leave it out for the system resolver); run `tandem config check`.',
    retryable: false,
  },
] as const satisfies readonly DriverMessage[];

export type AwsDnsMonitorMessageId = (typeof AWSDNSW_MESSAGES)[number]['id'];
