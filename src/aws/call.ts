/**
 * One AWS API call as the layer runs it (issue 4 section 1): a deadline of
 * `min(opts.timeoutMs ?? aws.callTimeout, aws.callTimeout)` and the caller's signal combined into one
 * AbortSignal handed to `client.send`; the SDK's own retries are off (`maxAttempts: 1`) and throttling and
 * 5xx are retried here, with full-jitter exponential backoff (base 100 ms, cap 2 s, at most 5 attempts)
 * while the deadline leaves room for the wait. What comes out is the answer or one `AwsCallError`:
 *
 * - `answered`: any other AWS error, with AWS's code, text and HTTP status;
 * - `unavailable`: throttling or 5xx that outlasted the attempts or the deadline (last code kept);
 * - `no-answer`: the deadline passed, the caller cancelled, or the connection failed;
 * - `access`: region or credentials missing (raised by the caller of `runAttempts` through `AccessProblem`).
 */
import { setTimeout as sleepFor } from 'node:timers/promises';
import type { AwsCallOptions } from './types.ts';
import { AwsCallError } from './errors.ts';
import type { AwsService } from './errors.ts';

/** Time and randomness, injectable so tests assert the exact backoff. */
export interface CallDeps {
  now: () => number;
  /** Uniform in [0, 1). */
  random: () => number;
  /** Resolves after `ms`, or early (without rejecting) when `signal` aborts. */
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
}

export const defaultCallDeps: CallDeps = {
  now: () => performance.now(),
  random: Math.random,
  sleep: async (ms, signal) => {
    try {
      await sleepFor(ms, undefined, { signal });
    } catch {
      // aborted: the caller looks at the signal
    }
  },
};

export const RETRY_BASE_MS = 100;
export const RETRY_CAP_MS = 2000;
export const MAX_ATTEMPTS = 5;

/**
 * AWS's throttling codes (the spec's list plus the SDK's other spellings of the same thing). HTTP 429 is
 * throttling whatever the code.
 */
const THROTTLING = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'PriorRequestNotComplete',
  'EC2ThrottledException',
  'SlowDown',
]);

/** Node's codes for a connection that failed or was cut: no answer from AWS. */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNABORTED',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
]);

/**
 * A stale keep-alive socket closed by the far end shows as a reset or hang-up on its first reuse: worth
 * one more attempt within the deadline (as the SDK's own retry does); a refused connection is not.
 */
const STALE_SOCKET_CODES = new Set(['ECONNRESET', 'EPIPE']);

/** Region or credentials missing: becomes kind `access` for the call's service and operation. */
export class AccessProblem extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AccessProblem';
  }
}

/** The call's deadline and combined signal. Dispose it when the call ends (clears the timer). */
export interface CallDeadline {
  readonly signal: AbortSignal;
  readonly timeoutMs: number;
  readonly startedAt: number;
  /** Why `signal` aborted: `deadline`, `cancelled` (the caller's signal), or null while it has not. */
  readonly why: 'deadline' | 'cancelled' | null;
  remainingMs(): number;
  dispose(): void;
}

export function startDeadline(
  o: AwsCallOptions | undefined,
  callTimeoutMs: number,
  now: () => number,
): CallDeadline {
  const timeoutMs = Math.max(1, Math.min(o?.timeoutMs ?? callTimeoutMs, callTimeoutMs));
  const startedAt = now();
  const ctl = new AbortController();
  let why: 'deadline' | 'cancelled' | null = null;
  const abort = (reason: 'deadline' | 'cancelled'): void => {
    if (why !== null) return;
    why = reason;
    ctl.abort(new Error(reason === 'deadline' ? `deadline of ${timeoutMs} ms passed` : 'cancelled'));
  };
  const timer = setTimeout(() => abort('deadline'), timeoutMs);
  const onCaller = (): void => abort('cancelled');
  if (o?.signal?.aborted) abort('cancelled');
  else o?.signal?.addEventListener('abort', onCaller, { once: true });
  return {
    signal: ctl.signal,
    timeoutMs,
    startedAt,
    get why() {
      return why;
    },
    remainingMs: () => Math.max(0, startedAt + timeoutMs - now()),
    dispose: () => {
      clearTimeout(timer);
      o?.signal?.removeEventListener('abort', onCaller);
    },
  };
}

/** `promise`, or a rejection as soon as `signal` aborts (the promise's own failure is then swallowed). */
export function raceSignal<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(signal.reason as Error);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      promise.catch(() => undefined);
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/** What an SDK error says: AWS's code and text and the HTTP status, when AWS answered. */
export interface SdkErrorFacts {
  code: string | null;
  message: string;
  httpStatus: number | null;
  /** Node's error code (ECONNREFUSED, ...) of a connection failure, or null. */
  nodeCode: string | null;
  aborted: boolean;
}

export function sdkErrorFacts(err: unknown): SdkErrorFacts {
  const e = (err ?? {}) as {
    name?: unknown;
    Code?: unknown;
    code?: unknown;
    message?: unknown;
    $metadata?: { httpStatusCode?: unknown };
    $fault?: unknown;
  };
  const httpStatus = typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : null;
  const message = typeof e.message === 'string' ? e.message : String(err);
  const nodeCode = typeof e.code === 'string' && /^E[A-Z_]+$/.test(e.code) ? e.code : null;
  // A service error (one AWS sent) has `$fault` and is named after AWS's code; SDK-side errors (abort,
  // socket, a body it could not parse) are not.
  const code =
    typeof e.Code === 'string'
      ? e.Code
      : e.$fault !== undefined && typeof e.name === 'string'
        ? e.name
        : null;
  return {
    code,
    message,
    httpStatus,
    nodeCode: nodeCode ?? (/socket hang up/i.test(message) ? 'ECONNRESET' : null),
    aborted: e.name === 'AbortError' || e.name === 'TimeoutError',
  };
}

type Verdict =
  | { kind: 'retry'; facts: SdkErrorFacts; noAnswer: boolean }
  | { kind: 'answered'; facts: SdkErrorFacts }
  | { kind: 'no-answer'; facts: SdkErrorFacts };

export function classify(err: unknown): Verdict {
  const facts = sdkErrorFacts(err);
  if (facts.httpStatus !== null) {
    const throttled = (facts.code !== null && THROTTLING.has(facts.code)) || facts.httpStatus === 429;
    if (throttled || facts.httpStatus >= 500) return { kind: 'retry', facts, noAnswer: false };
    return { kind: 'answered', facts };
  }
  if (facts.nodeCode !== null && STALE_SOCKET_CODES.has(facts.nodeCode)) {
    return { kind: 'retry', facts, noAnswer: true };
  }
  if (facts.aborted || (facts.nodeCode !== null && CONNECTION_CODES.has(facts.nodeCode))) {
    return { kind: 'no-answer', facts };
  }
  // An error with neither an HTTP status nor a connection code (e.g. an unparsable answer): AWS (or what
  // sits at the endpoint) did answer, with something unusable.
  return { kind: 'answered', facts };
}

/** Full-jitter exponential backoff before attempt `attempt + 1` (attempt counts from 1). */
export function backoffMs(attempt: number, random: () => number): number {
  return Math.floor(random() * Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** (attempt - 1)));
}

export interface RunArgs<T> {
  service: AwsService;
  operation: string;
  deadline: CallDeadline;
  deps: CallDeps;
  /** Where the call goes, for "no answer" texts (the endpoint URL or `the AWS regional endpoint`). */
  endpoint: string;
  /** One attempt. */
  attempt: (signal: AbortSignal) => Promise<T>;
}

/** The `no-answer` error of a call whose deadline passed or whose caller cancelled. */
export function noAnswerError(
  service: AwsService,
  operation: string,
  deadline: CallDeadline,
  now: () => number,
  cause?: unknown,
): AwsCallError {
  const elapsed = Math.round(now() - deadline.startedAt);
  return new AwsCallError(
    {
      kind: 'no-answer',
      service,
      operation,
      awsMessage:
        deadline.why === 'cancelled'
          ? `cancelled after ${elapsed} ms without an answer`
          : `no answer within ${deadline.timeoutMs} ms`,
    },
    { cause },
  );
}

/** Runs the attempts of one call; see the module comment. Never throws anything but `AwsCallError`. */
export async function runAttempts<T>(a: RunArgs<T>): Promise<T> {
  const { service, operation, deadline, deps } = a;
  let last: { err: unknown; facts: SdkErrorFacts; noAnswer: boolean };
  for (let attempt = 1; ; attempt++) {
    if (deadline.why === 'cancelled') throw noAnswerError(service, operation, deadline, deps.now);
    try {
      return await a.attempt(deadline.signal);
    } catch (err) {
      if (err instanceof AwsCallError) throw err;
      if (err instanceof AccessProblem) {
        // Credentials the SDK asked for again mid-call (they expired in between) and could not renew.
        throw new AwsCallError(
          { kind: 'access', service, operation, awsMessage: err.message },
          { cause: err },
        );
      }
      if (deadline.signal.aborted) throw noAnswerError(service, operation, deadline, deps.now, err);
      const v = classify(err);
      if (v.kind === 'answered') {
        throw new AwsCallError(
          {
            kind: 'answered',
            service,
            operation,
            awsCode: v.facts.code,
            httpStatus: v.facts.httpStatus,
            awsMessage: v.facts.message,
          },
          { cause: err },
        );
      }
      if (v.kind === 'no-answer') {
        throw new AwsCallError(
          {
            kind: 'no-answer',
            service,
            operation,
            awsMessage: `no answer from ${a.endpoint}: ${v.facts.message}`,
          },
          { cause: err },
        );
      }
      last = { err, facts: v.facts, noAnswer: v.noAnswer };
    }
    const wait = backoffMs(attempt, deps.random);
    if (attempt >= MAX_ATTEMPTS || wait >= deadline.remainingMs()) break;
    await deps.sleep(wait, deadline.signal);
    // The deadline ending during the wait (timer slop) still means "throttled until the end".
    if (deadline.why === 'deadline') break;
    if (deadline.why === 'cancelled') throw noAnswerError(service, operation, deadline, deps.now, last.err);
  }
  const { err, facts, noAnswer } = last;
  if (noAnswer) {
    throw new AwsCallError(
      { kind: 'no-answer', service, operation, awsMessage: `no answer from ${a.endpoint}: ${facts.message}` },
      { cause: err },
    );
  }
  throw new AwsCallError(
    {
      kind: 'unavailable',
      service,
      operation,
      awsCode: facts.code,
      httpStatus: facts.httpStatus,
      awsMessage: facts.message,
    },
    { cause: err },
  );
}

/**
 * Runs one operation of one client through the layer (region, credentials, deadline, retries), as
 * access.ts provides it to the op tables: `fn` is one attempt, given the client and the call's signal.
 */
export type Runner<C> = <T>(
  operation: string,
  o: AwsCallOptions | undefined,
  fn: (client: C, signal: AbortSignal) => Promise<T>,
) => Promise<T>;
