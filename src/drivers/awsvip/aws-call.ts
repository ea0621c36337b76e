/**
 * How the AWS drivers (awsvip, awseip and their monitors) call the AWS access layer (issue 4 sections 1-3):
 *
 * - a **budget** per driver call: 90% of the resource's start/stop timeout or of the monitor's timeout, so a
 *   driver reports "no answer" with its own code and text before the executor's deadline turns the call into
 *   an anonymous timeout; every AWS call gets `{ signal, timeoutMs: what is left }`;
 * - one **mapping** of `AwsCallError` to the type's message table: `answered` -> "The AWS call failed." (50)
 *   with AWS's code and text and the remedy of that case (wrong id, missing IAM permission, refused
 *   credentials); `unavailable` -> 50 too ("throttled or unavailable after retries"); `access` -> "AWS access
 *   is not set up." (51); `no-answer` -> the type's timeout code. Monitors throw the last two (no answer,
 *   throttled/unavailable) as NoResponseError, so their `noResponse` setting decides; the code is the
 *   warning code (100 + code) when `noResponse` is `warn`, since the core then shows it as a warning.
 *
 * The remedy of a case also goes into the message text: the executor passes on code and message only, and
 * the operator reads the message in the alert log.
 */
import { AwsCallError, type AwsService } from '../../aws/errors.ts';
import type { AwsCallOptions } from '../../aws/types.ts';
import type { CompiledRecovery } from '../../shared/config/types.ts';
import { ResourceError } from '../../shared/errors.ts';
import { messageOf, NoResponseError, type DriverMessage } from '../messages.ts';

/** Share of the resource or monitor timeout a driver call may spend (the rest is the executor's margin). */
export const BUDGET_SHARE = 0.9;

/** The time one driver call may spend on AWS, with the options every AWS call of it gets. */
export class CallBudget {
  readonly totalMs: number;
  readonly #signal: AbortSignal;
  readonly #deadline: number;
  readonly #now: () => number;

  /** `timeoutMs` is the resource's or monitor's timeout; the budget is BUDGET_SHARE of it. */
  constructor(timeoutMs: number, signal: AbortSignal, now: () => number = () => performance.now()) {
    this.totalMs = Math.max(1, Math.floor(timeoutMs * BUDGET_SHARE));
    this.#signal = signal;
    this.#now = now;
    this.#deadline = now() + this.totalMs;
  }

  remainingMs(): number {
    return Math.max(0, Math.floor(this.#deadline - this.#now()));
  }

  /**
   * Options for the next AWS call. Throws a `no-answer` AwsCallError naming `operation` when the budget is
   * used up, so running out of time reads like any other missing answer.
   */
  options(service: AwsService, operation: string): AwsCallOptions {
    const left = this.remainingMs();
    if (left <= 0) {
      throw new AwsCallError({
        kind: 'no-answer',
        service,
        operation,
        awsMessage: `no time left of the ${this.totalMs} ms budget (90% of the timeout)`,
      });
    }
    return { signal: this.#signal, timeoutMs: left };
  }
}

type Id<T extends readonly DriverMessage[]> = T[number]['id'];

/** How one driver maps AWS failures to its message table. */
export interface AwsFailureSpec<T extends readonly DriverMessage[]> {
  table: T;
  ids: { failed: Id<T>; access: Id<T>; timeout: Id<T>; timeoutWarning?: Id<T> };
  /** The resource or monitor name. */
  object: string;
  /**
   * Remedies of AWS error codes, by the code's first part (`InvalidVpcID` matches `InvalidVpcID.NotFound`
   * and `.Malformed`), plus `permission` for UnauthorizedOperation / AccessDenied.
   */
  remedies: Record<string, string> & { permission: string };
  /** Monitors: their `noResponse` (no answer is then a NoResponseError). Null for resources. */
  noResponse: CompiledRecovery['noResponse'] | null;
}

const PERMISSION_CODES = new Set([
  'UnauthorizedOperation',
  'AccessDenied',
  'AccessDeniedException',
  'Client.UnauthorizedOperation',
]);
const CREDENTIAL_CODES = new Set([
  'AuthFailure',
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'UnrecognizedClientException',
  'ExpiredToken',
  'ExpiredTokenException',
  'RequestExpired',
  'IncompleteSignature',
  'MissingAuthenticationToken',
]);
const CREDENTIAL_REMEDY =
  'Check the credentials this server uses (aws configure, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or the instance role) and that its clock is right; `tandem doctor` shows where they come from.';

const SERVICE_NAMES: Record<AwsService, string> = {
  ec2: 'EC2',
  route53: 'Route 53',
  imds: 'the instance metadata service (IMDS)',
};

/** `EC2 ReplaceRoute (rtb-1)`: the call that failed, with the object it was about when given. */
function callName(err: AwsCallError, about: string | undefined): string {
  return `${SERVICE_NAMES[err.service]} ${err.operation}${about ? ` (${about})` : ''}`;
}

function sentence(s: string): string {
  const t = s.trim();
  return /[.!?)]$/.test(t) ? t : `${t}.`;
}

/** The remedy of an answered error, or null when the table's generic remedy is all there is. */
function remedyOf<T extends readonly DriverMessage[]>(spec: AwsFailureSpec<T>, code: string): string | null {
  if (PERMISSION_CODES.has(code)) return spec.remedies.permission;
  if (CREDENTIAL_CODES.has(code)) return CREDENTIAL_REMEDY;
  // AWS spells the same id differently across codes (InvalidVpcID.NotFound, InvalidVpcId.Malformed).
  const head = (code.split('.')[0] ?? code).toLowerCase();
  for (const [k, v] of Object.entries(spec.remedies)) if (k.toLowerCase() === head) return v;
  return null;
}

function build<T extends readonly DriverMessage[]>(
  spec: AwsFailureSpec<T>,
  id: Id<T>,
  detail: string,
  remedy: string | null,
  noResponse: boolean,
  cause: unknown,
): ResourceError {
  const e = messageOf(spec.table, id);
  const args = {
    code: e.code,
    object: spec.object,
    message: `${e.message} ${detail}${remedy ? ` ${remedy}` : ''}`,
    remedy: remedy ?? e.remedy,
    retryable: e.retryable,
  };
  return noResponse ? new NoResponseError(args, { cause }) : new ResourceError(args, { cause });
}

/**
 * The ResourceError (or NoResponseError) for a failed AWS call. `about` names the object of the call
 * (`vpc-1`, `rtb-1`), shown after the operation.
 */
export function awsFailure<T extends readonly DriverMessage[]>(
  spec: AwsFailureSpec<T>,
  err: AwsCallError,
  about?: string,
): ResourceError {
  const call = callName(err, about);
  switch (err.kind) {
    case 'answered': {
      const code = err.awsCode ?? `HTTP ${err.httpStatus ?? '?'}`;
      const detail = `${call} answered ${code}: ${sentence(err.awsMessage)}`;
      return build(spec, spec.ids.failed, detail, remedyOf(spec, err.awsCode ?? ''), false, err);
    }
    case 'access':
      return build(spec, spec.ids.access, `${call}: ${sentence(err.awsMessage)}`, null, false, err);
    case 'unavailable': {
      const detail = `${call} stayed throttled or unavailable after retries: ${err.awsCode ? `${err.awsCode}: ` : ''}${sentence(err.awsMessage)}`;
      const remedy =
        'AWS throttles this account or the service is unavailable; it clears by itself. When it persists, look for other clients using up the API rate limits and at the AWS Health Dashboard.';
      if (spec.noResponse === null) return build(spec, spec.ids.failed, detail, remedy, false, err);
      return build(spec, timeoutId(spec), detail, remedy, true, err);
    }
    case 'no-answer': {
      const detail = `${call} got no answer: ${sentence(err.awsMessage)}`;
      return build(spec, timeoutId(spec), detail, null, spec.noResponse !== null, err);
    }
  }
}

function timeoutId<T extends readonly DriverMessage[]>(spec: AwsFailureSpec<T>): Id<T> {
  return spec.noResponse === 'warn' && spec.ids.timeoutWarning !== undefined
    ? spec.ids.timeoutWarning
    : spec.ids.timeout;
}

/** Run one AWS call within `budget`; an AwsCallError (or a spent budget) becomes the mapped error. */
export async function awsCall<T extends readonly DriverMessage[], R>(
  spec: AwsFailureSpec<T>,
  budget: CallBudget,
  service: AwsService,
  operation: string,
  about: string | undefined,
  fn: (o: AwsCallOptions) => Promise<R>,
): Promise<R> {
  try {
    return await fn(budget.options(service, operation));
  } catch (err) {
    throw err instanceof AwsCallError ? awsFailure(spec, err, about) : err;
  }
}

/**
 * Settle every promise, then throw the first rejection in list order (so the reported failure does not
 * depend on which call lost the race) or return the values. Unlike Promise.all, nothing is left running
 * unobserved when one call fails early.
 */
export async function allOrFirstError<T extends readonly unknown[] | []>(
  ps: T,
): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const rs = await Promise.allSettled(ps);
  for (const r of rs) if (r.status === 'rejected') throw r.reason;
  return rs.map((r) => (r as PromiseFulfilledResult<unknown>).value) as {
    -readonly [K in keyof T]: Awaited<T[K]>;
  };
}
