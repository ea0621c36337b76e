/**
 * Building findings: the codes a problem would cause at run time, taken from the drivers' message tables
 * (so `tandem doctor` and the alerts agree on numbers), and one mapping from a failed AWS call to a
 * finding's status, message and remedy. Doctor's mapping differs from the drivers' on purpose: a denied
 * call names the IAM permission to grant, a missing id says which setting to correct, and a throttled
 * call is a warning ("could not check"), not a failure of the setup.
 */
import { AwsCallError, type AwsService } from '../aws/errors.ts';
import {
  AWS_SERVICE_NAMES,
  isCredentialCode,
  isPermissionCode,
  sentence,
} from '../drivers/aws-common/call.ts';
import { AWSAZW_MESSAGES } from '../drivers/awsazw/errors.ts';
import { AWSDNS_MESSAGES, AWSDNSW_MESSAGES } from '../drivers/awsdns/errors.ts';
import { AWSEIP_MESSAGES, AWSEIPW_MESSAGES } from '../drivers/awseip/errors.ts';
import { AWS_TIMEOUT_REMEDY } from '../drivers/aws-common/remedies.ts';
import { AWSVIP_MESSAGES, AWSVIPW_MESSAGES } from '../drivers/awsvip/errors.ts';
import { AWSFENCEW_MESSAGES, FENCE_MESSAGES } from '../drivers/fencing/errors.ts';
import { messageOf, type DriverMessage } from '../drivers/messages.ts';
import type { Finding, FindingStatus } from './types.ts';

/** `awsvip 53`: the type and the code of table entry `id`. */
function code<T extends readonly DriverMessage[]>(type: string, table: T, id: T[number]['id']): string {
  return `${type} ${messageOf(table, id).code}`;
}

/** Every code doctor names, looked up in the drivers' tables. */
export const CODES = {
  vipFailed: code('awsvip', AWSVIP_MESSAGES, 'AWSVIP_AWS_FAILED'),
  vipAccess: code('awsvip', AWSVIP_MESSAGES, 'AWSVIP_ACCESS_NOT_SET_UP'),
  vipTimeout: code('awsvip', AWSVIP_MESSAGES, 'AWSVIP_TIMEOUT'),
  vipInVpc: code('awsvip', AWSVIP_MESSAGES, 'AWSVIP_VIP_IN_VPC'),
  vipNoRoute: code('awsvip', AWSVIP_MESSAGES, 'AWSVIP_NO_ROUTE'),
  vipwTimeout: code('awsvipw', AWSVIPW_MESSAGES, 'AWSVIPW_TIMEOUT'),
  eipFailed: code('awseip', AWSEIP_MESSAGES, 'AWSEIP_AWS_FAILED'),
  eipAccess: code('awseip', AWSEIP_MESSAGES, 'AWSEIP_ACCESS_NOT_SET_UP'),
  eipTimeout: code('awseip', AWSEIP_MESSAGES, 'AWSEIP_TIMEOUT'),
  eipwTimeout: code('awseipw', AWSEIPW_MESSAGES, 'AWSEIPW_TIMEOUT'),
  dnsFailed: code('awsdns', AWSDNS_MESSAGES, 'AWSDNS_AWS_CALL_FAILED'),
  dnsAccess: code('awsdns', AWSDNS_MESSAGES, 'AWSDNS_ACCESS_NOT_SET_UP'),
  dnsTimeout: code('awsdns', AWSDNS_MESSAGES, 'AWSDNS_TIMEOUT'),
  dnswTimeout: code('awsdnsw', AWSDNSW_MESSAGES, 'AWSDNSW_TIMEOUT'),
  dnswResolveFailed: code('awsdnsw', AWSDNSW_MESSAGES, 'AWSDNSW_RESOLVE_FAILED'),
  azwFailed: code('awsazw', AWSAZW_MESSAGES, 'AWSAZW_CHECK_FAILED'),
  azwTimeout: code('awsazw', AWSAZW_MESSAGES, 'AWSAZW_TIMEOUT'),
  azwUnavailable: code('awsazw', AWSAZW_MESSAGES, 'AWSAZW_CHECK_FAILED'),
  azwDegraded: code('awsazw', AWSAZW_MESSAGES, 'AWSAZW_ZONE_DEGRADED'),
  fenceFailed: code('fencing', FENCE_MESSAGES, 'FENCE_STOP_FAILED'),
  fenceAccess: code('fencing', FENCE_MESSAGES, 'FENCE_ACCESS_NOT_SET_UP'),
  fenceNoAnswer: code('fencing', FENCE_MESSAGES, 'FENCE_NO_ANSWER'),
  fencewMissing: code('awsfencew', AWSFENCEW_MESSAGES, 'AWSFENCEW_INSTANCE_MISSING'),
  fencewDenied: code('awsfencew', AWSFENCEW_MESSAGES, 'AWSFENCEW_STOP_DENIED'),
  fencewTimeout: code('awsfencew', AWSFENCEW_MESSAGES, 'AWSFENCEW_TIMEOUT'),
} as const;

/** Remedies of "no answer" per service, from the drivers' tables. */
export const TIMEOUT_REMEDIES: Record<'ec2' | 'route53', string> = {
  ec2: AWS_TIMEOUT_REMEDY,
  route53: messageOf(AWSDNS_MESSAGES, 'AWSDNS_TIMEOUT').remedy,
};

/** Remedy of refused credentials (AuthFailure and friends). */
export const CREDENTIALS_REFUSED_REMEDY =
  'Check the credentials this machine uses (the source is shown under aws access): the key pair of the profile or of AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or the instance role; check that the clock is right (signatures expire) and that the endpoint is the one the credentials belong to.';

export function isPermissionError(err: unknown): boolean {
  return err instanceof AwsCallError && err.kind === 'answered' && isPermissionCode(err.awsCode ?? '');
}

export function isCredentialError(err: unknown): boolean {
  return err instanceof AwsCallError && err.kind === 'answered' && isCredentialCode(err.awsCode ?? '');
}

/** AWS's "this id does not exist" answers. */
export function isNotFound(err: unknown): boolean {
  if (!(err instanceof AwsCallError) || err.kind !== 'answered') return false;
  const c = err.awsCode ?? '';
  return c.endsWith('.NotFound') || c.startsWith('NoSuch') || c.endsWith('.Malformed');
}

export function finding(
  id: string,
  status: FindingStatus,
  object: string,
  code: string | null,
  message: string,
  remedy: string | null,
  durationMs?: number,
): Finding {
  return {
    id,
    status,
    object,
    code,
    message,
    remedy,
    ...(durationMs === undefined ? {} : { durationMs: Math.round(durationMs) }),
  };
}

export function ok(id: string, object: string, message: string, durationMs?: number): Finding {
  return finding(id, 'ok', object, null, message, null, durationMs);
}

export function skipped(id: string, object: string, why: string, remedy: string | null = null): Finding {
  return finding(id, 'skipped', object, null, why, remedy);
}

/** The codes a failed call causes: AWS answered an error, no answer, or access not set up. */
export interface CallCodes {
  failed: string;
  timeout: string;
  access: string;
}

/** What doctor says about a failed call, before it becomes a finding. */
export interface CallProblem {
  status: 'error' | 'warning';
  code: string | null;
  message: string;
  remedy: string;
}

/**
 * Status, code, message and remedy for the failed call `operation` (about `about`, e.g. a route table id).
 * `remedies.permission` is the fix of a denied call (name the IAM action); `remedies.notFound` that of an
 * id that does not exist (name the setting).
 */
export function callProblem(
  err: unknown,
  call: { service: AwsService; operation: string; about?: string },
  codes: CallCodes,
  remedies: { permission: string; notFound?: string },
): CallProblem {
  const name = `${AWS_SERVICE_NAMES[call.service]} ${call.operation}${call.about ? ` (${call.about})` : ''}`;
  if (!(err instanceof AwsCallError)) {
    const text = err instanceof Error ? err.message : String(err);
    return {
      status: 'error',
      code: codes.failed,
      message: `${name} failed unexpectedly: ${sentence(text)}`,
      remedy:
        'This looks like a bug in Tandem or an unusual endpoint; run again, and report it with this output.',
    };
  }
  const awsText = sentence(err.awsMessage);
  switch (err.kind) {
    case 'answered': {
      const c = err.awsCode ?? `HTTP ${err.httpStatus ?? '?'}`;
      if (isPermissionCode(err.awsCode ?? '')) {
        return {
          status: 'error',
          code: codes.failed,
          message: `${name} was denied: ${awsText}`,
          remedy: remedies.permission,
        };
      }
      if (isCredentialCode(err.awsCode ?? '')) {
        return {
          status: 'error',
          code: codes.failed,
          message: `AWS refused the credentials on ${name}: ${c}: ${awsText}`,
          remedy: CREDENTIALS_REFUSED_REMEDY,
        };
      }
      return {
        status: 'error',
        code: codes.failed,
        message: `${name} answered ${c}: ${awsText}`,
        remedy:
          (isNotFound(err) ? remedies.notFound : undefined) ??
          'Read the AWS error: correct the setting it names, or the IAM policy when it is about a permission.',
      };
    }
    case 'unavailable':
      return {
        status: 'warning',
        code: null,
        message: `${name} stayed throttled or unavailable after retries (${err.awsCode ? `${err.awsCode}: ` : ''}${awsText}), so this could not be checked`,
        remedy:
          'Run tandem doctor again later; when it persists, look for other clients using up the API rate limits and at the AWS Health Dashboard.',
      };
    case 'no-answer':
      return {
        status: 'error',
        code: codes.timeout,
        message: `${name} got no answer: ${awsText}`,
        remedy: call.service === 'imds' ? TIMEOUT_REMEDIES.ec2 : TIMEOUT_REMEDIES[call.service],
      };
    case 'access':
      return {
        status: 'error',
        code: codes.access,
        message: `${name}: ${awsText}`,
        remedy: messageOf(AWSVIP_MESSAGES, 'AWSVIP_ACCESS_NOT_SET_UP').remedy,
      };
  }
}

/** A finding from a CallProblem. */
export function problemFinding(id: string, object: string, p: CallProblem, durationMs?: number): Finding {
  return finding(id, p.status, object, p.code, p.message, p.remedy, durationMs);
}
