/**
 * How every AWS driver (awsvip, awseip, awsdns, awsazw and the forced stop with its awsfencew monitor) calls
 * the AWS access layer (issue 4 sections 1-4). One module, so that the budget, the reading of an
 * `AwsCallError` and the wording of AWS failures cannot drift apart between types:
 *
 * - a **budget** per driver call: 90% of the resource's start/stop timeout or of the monitor's timeout, so a
 *   driver reports "no answer" with its own code and text before the executor's deadline turns the call into
 *   an anonymous timeout; every AWS call gets `{ signal, timeoutMs: what is left }`, and waits between polls
 *   end with the budget;
 * - one **classification** of what an AWS call threw, as far as a driver cares (`classifyAwsCallError`,
 *   `awsFailureOf`):
 *   - `failed`: AWS answered with an error (`answered` kind): the AWS code and text go into the message;
 *   - `no-answer`: no answer in time, or throttling / 5xx that outlasted the retries (`throttled`): the
 *     monitors' `noResponse` decides (a throttled API is never a reason to fail a group over by itself);
 *   - `access`: no region or no credentials: the SDK equivalent of the seed's "AWS CLI not found".
 *   An abort of `ctx.signal` (the executor's deadline or a cancel) counts as `no-answer` whatever the AWS
 *   layer threw for it;
 * - a **table-driven mapping** to a type's message table (`awsFailure`, `awsCall`), used by awsvip and
 *   awseip: `failed` -> "The AWS call failed." (50) with AWS's code and text and the remedy of that case
 *   (wrong id, missing IAM permission, refused credentials); `no-answer` that was throttling -> 50 too for a
 *   resource; `access` -> "AWS access is not set up." (51); `no-answer` -> the type's timeout code. Monitors
 *   throw the no-answer cases as NoResponseError, so their `noResponse` setting decides; the code is the
 *   warning code (100 + code) when `noResponse` is `warn`, since the core then shows it as a warning.
 *   awsdns, awsazw and fencing map the classification to their tables themselves (their codes differ).
 *
 * The remedy of a case also goes into the message text: the executor passes on code and message only, and
 * the operator reads the message in the alert log.
 */
import { setTimeout as sleepFor } from 'node:timers/promises';
import { AwsCallError, type AwsService } from '../../aws/errors.ts';
import type { AwsCallOptions } from '../../aws/types.ts';
import type { CompiledRecovery } from '../../shared/config/types.ts';
import { ResourceError } from '../../shared/errors.ts';
import { messageOf, NoResponseError, type DriverMessage } from '../messages.ts';

/** Share of the resource or monitor timeout a driver call may spend (the rest is the executor's margin). */
export const BUDGET_SHARE = 0.9;

/** The time one driver call may spend on AWS calls and waits, with the options every AWS call of it gets. */
export class CallBudget {
  readonly totalMs: number;
  readonly #signal: AbortSignal;
  readonly #deadline: number;
  readonly #now: () => number;

  /**
   * `timeoutMs` is the resource's or monitor's timeout; the budget is `share` of it (BUDGET_SHARE unless
   * the caller's own deadline is the whole timeout, as for `fencing.timeout`). `now` is a monotonic clock
   * in ms (tests pass their own).
   */
  constructor(timeoutMs: number, signal: AbortSignal, opts: { share?: number; now?: () => number } = {}) {
    this.#now = opts.now ?? (() => performance.now());
    this.totalMs = Math.max(1, Math.floor(timeoutMs * (opts.share ?? BUDGET_SHARE)));
    this.#signal = signal;
    this.#deadline = this.#now() + this.totalMs;
  }

  remainingMs(): number {
    return Math.max(0, Math.floor(this.#deadline - this.#now()));
  }

  get expired(): boolean {
    return this.remainingMs() <= 0 || this.#signal.aborted;
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

  /**
   * Options for the next AWS call without the spent-budget check: at least 1 ms, so a spent budget ends in
   * the layer's own no-answer (callers that classify with `awsFailureOf`).
   */
  callOptions(): AwsCallOptions {
    return { signal: this.#signal, timeoutMs: Math.max(1, this.remainingMs()) };
  }

  /**
   * Wait `ms`, at most until the budget ends. Resolves to false when the budget ended or the signal was
   * aborted (never rejects), true otherwise.
   */
  async sleep(ms: number): Promise<boolean> {
    const wait = Math.min(ms, this.remainingMs());
    if (wait <= 0 || this.#signal.aborted) return false;
    try {
      await sleepFor(wait, undefined, { signal: this.#signal });
    } catch {
      return false;
    }
    return !this.expired;
  }
}

// ---- classification ------------------------------------------------------------------------------------

/** What a failed AWS call means to a driver; `text` is the layer's message with the reason. */
export type AwsFailure =
  | { kind: 'failed'; error: AwsCallError; text: string }
  | {
      kind: 'no-answer';
      error: unknown;
      text: string;
      /** throttled / 5xx after retries */ throttled: boolean;
    }
  | { kind: 'access'; error: AwsCallError; text: string };

/** The one reading of an AwsCallError's kind (see the module comment). */
export function classifyAwsCallError(err: AwsCallError): AwsFailure {
  // The layer's message is `<service> <Operation>: <AwsCode>: <AWS text>`, which is what operators search for.
  if (err.kind === 'answered') return { kind: 'failed', error: err, text: err.message };
  if (err.kind === 'access') return { kind: 'access', error: err, text: err.message };
  const throttled = err.kind === 'unavailable';
  const why = throttled ? 'throttled or unavailable' : 'no answer';
  return { kind: 'no-answer', error: err, text: `${err.message} (${why})`, throttled };
}

/**
 * Classify what an AWS call threw. Errors that are neither an `AwsCallError` nor caused by the abort of
 * `signal` are bugs: they are returned as null so the caller rethrows them (the executor logs them loudly).
 */
export function awsFailureOf(err: unknown, signal: AbortSignal): AwsFailure | null {
  if (err instanceof AwsCallError) return classifyAwsCallError(err);
  if (signal.aborted) {
    return { kind: 'no-answer', error: err, text: 'the call was cut off at the deadline', throttled: false };
  }
  return null;
}

/** `text` trimmed and ending with a full stop (AWS texts sometimes have one, sometimes not). */
export function sentence(text: string): string {
  const t = text.trim();
  return /[.!?]$/.test(t) ? t : `${t}.`;
}

// ---- table-driven mapping (awsvip, awseip) ---------------------------------------------------------------

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

/** AWS error codes of a denied call (IAM), and of refused credentials; shared with `tandem doctor`. */
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
export const isPermissionCode = (code: string): boolean => PERMISSION_CODES.has(code);
export const isCredentialCode = (code: string): boolean => CREDENTIAL_CODES.has(code);

const CREDENTIAL_REMEDY =
  'Check the credentials this server uses (aws configure, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or the instance role) and that its clock is right; `tandem doctor` shows where they come from.';
const THROTTLED_REMEDY =
  'AWS throttles this account or the service is unavailable; it clears by itself. When it persists, look for other clients using up the API rate limits and at the AWS Health Dashboard.';

/** How messages name each service. */
export const AWS_SERVICE_NAMES: Record<AwsService, string> = {
  ec2: 'EC2',
  route53: 'Route 53',
  imds: 'the instance metadata service (IMDS)',
};

/** `EC2 ReplaceRoute (rtb-1)`: the call that failed, with the object it was about when given. */
function callName(err: AwsCallError, about: string | undefined): string {
  return `${AWS_SERVICE_NAMES[err.service]} ${err.operation}${about ? ` (${about})` : ''}`;
}

/** The remedy of an answered error, or null when the table's generic remedy is all there is. */
function remedyOf<T extends readonly DriverMessage[]>(spec: AwsFailureSpec<T>, code: string): string | null {
  if (isPermissionCode(code)) return spec.remedies.permission;
  if (isCredentialCode(code)) return CREDENTIAL_REMEDY;
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

function timeoutId<T extends readonly DriverMessage[]>(spec: AwsFailureSpec<T>): Id<T> {
  return spec.noResponse === 'warn' && spec.ids.timeoutWarning !== undefined
    ? spec.ids.timeoutWarning
    : spec.ids.timeout;
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
  const f = classifyAwsCallError(err);
  switch (f.kind) {
    case 'failed': {
      const code = err.awsCode ?? `HTTP ${err.httpStatus ?? '?'}`;
      const detail = `${call} answered ${code}: ${sentence(err.awsMessage)}`;
      return build(spec, spec.ids.failed, detail, remedyOf(spec, err.awsCode ?? ''), false, err);
    }
    case 'access':
      return build(spec, spec.ids.access, `${call}: ${sentence(err.awsMessage)}`, null, false, err);
    case 'no-answer': {
      if (!f.throttled) {
        const detail = `${call} got no answer: ${sentence(err.awsMessage)}`;
        return build(spec, timeoutId(spec), detail, null, spec.noResponse !== null, err);
      }
      const detail = `${call} stayed throttled or unavailable after retries: ${err.awsCode ? `${err.awsCode}: ` : ''}${sentence(err.awsMessage)}`;
      if (spec.noResponse === null) return build(spec, spec.ids.failed, detail, THROTTLED_REMEDY, false, err);
      return build(spec, timeoutId(spec), detail, THROTTLED_REMEDY, true, err);
    }
  }
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
