/**
 * Error taxonomy (STYLE.md 12-13) and the one message formatter.
 *
 * - `ConfigError`: the operator can fix it; not retryable. Carries the config issues.
 * - `ResourceError`: a group resource or monitor failed; carries the numeric code of its type's table,
 *   the object name and whether retrying may help.
 * - `OperationError`: an operator request was refused (API/CLI exit 1); carries a stable string code.
 * - `BugError`: a broken invariant. Log loudly; the daemon restarts.
 * - `CancelledError`: work stopped because something newer superseded it.
 *
 * Every user-visible failure carries its code, the object's name and the remedy.
 */
import type { ConfigIssue } from './config/types.ts';

/** One entry of a per-type message table, e.g. `{ code: 50, id: 'AWS_CALL_FAILED', message: '...' }`. */
export interface MessageEntry {
  readonly code: number;
  readonly id: string;
  readonly message: string;
  readonly remedy: string;
}

/** `Failed to start the resource exec1. (3 : The start command exited with status 1.)` */
export function formatResourceFailure(
  verb: 'start' | 'stop',
  resource: string,
  code: number,
  message: string,
): string {
  return `Failed to ${verb} the resource ${resource}. (${code} : ${message})`;
}

/** `Monitor custom1 detected an error. (1 : ...)` and `Monitor awsazw1 is in the warning status. (105 : ...)` */
export function formatMonitorProblem(
  monitor: string,
  level: 'error' | 'warning',
  code: number,
  message: string,
): string {
  return level === 'error'
    ? `Monitor ${monitor} detected an error. (${code} : ${message})`
    : `Monitor ${monitor} is in the warning status. (${code} : ${message})`;
}

export class TandemError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class ConfigError extends TandemError {
  readonly issues: ConfigIssue[];
  constructor(message: string, issues: ConfigIssue[], options?: { cause?: unknown }) {
    super(message, options);
    this.issues = issues;
  }
}

export class ResourceError extends TandemError {
  readonly code: number;
  readonly object: string;
  readonly retryable: boolean;
  readonly remedy: string;
  constructor(
    args: { code: number; object: string; message: string; remedy: string; retryable: boolean },
    options?: { cause?: unknown },
  ) {
    super(args.message, options);
    this.code = args.code;
    this.object = args.object;
    this.retryable = args.retryable;
    this.remedy = args.remedy;
  }
}

/** Stable codes of refused operator requests (API error bodies and CLI exit 1). */
export const OperationErrorCode = {
  unauthorized: 'UNAUTHORIZED',
  notFound: 'NOT_FOUND',
  invalidRequest: 'INVALID_REQUEST',
  serviceStopped: 'CLUSTER_SERVICE_STOPPED',
  serverUnavailable: 'SERVER_UNAVAILABLE',
  notEligible: 'SERVER_NOT_ELIGIBLE',
  groupBusy: 'GROUP_BUSY',
  alreadyOnline: 'ALREADY_ONLINE',
  alreadyOffline: 'ALREADY_OFFLINE',
  wouldDoubleActivate: 'WOULD_DOUBLE_ACTIVATE',
  operationFailed: 'OPERATION_FAILED',
  timeout: 'TIMEOUT',
  peerUnreachable: 'PEER_UNREACHABLE',
} as const;
export type OperationErrorCode = (typeof OperationErrorCode)[keyof typeof OperationErrorCode];

export class OperationError extends TandemError {
  readonly code: OperationErrorCode;
  readonly object: string;
  readonly remedy: string;
  constructor(
    args: { code: OperationErrorCode; object: string; message: string; remedy: string },
    options?: { cause?: unknown },
  ) {
    super(args.message, options);
    this.code = args.code;
    this.object = args.object;
    this.remedy = args.remedy;
  }
}

export class BugError extends TandemError {}
export class CancelledError extends TandemError {}

/** JSON error body used by the API and printed by the CLI. */
export interface ErrorBody {
  error: { code: string; object: string; message: string; remedy: string };
}
