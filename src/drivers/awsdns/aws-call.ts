/**
 * What the AWS drivers of this folder, `awsazw` and the forced stop share about calling AWS (issue 4
 * sections 1-4): a call budget (a share of the resource or monitor timeout, so the driver reports its own
 * code before the executor's deadline cuts it off), cancellable sleeps, and the three ways an AWS call can
 * fail as far as a driver cares:
 *
 * - `failed`: AWS answered with an error (`answered` kind): the AWS code and text go into the message;
 * - `no-answer`: no answer in time, or throttling / 5xx that outlasted the retries: the monitors'
 *   `noResponse` decides (a throttled API is never a reason to fail a group over by itself);
 * - `access`: no region or no credentials: the SDK equivalent of the seed's "AWS CLI not found".
 *
 * An abort of `ctx.signal` (the executor's deadline or a cancel) surfaces as `no-answer` whatever the AWS
 * layer threw for it.
 */
import { setTimeout as sleepFor } from 'node:timers/promises';
import { AwsCallError } from '../../aws/errors.ts';
import type { AwsCallOptions } from '../../aws/types.ts';

/** Share of the resource or monitor timeout a driver spends on AWS calls and waits. */
export const BUDGET_SHARE = 0.9;

export type AwsFailure =
  | { kind: 'failed'; error: AwsCallError; text: string }
  | { kind: 'no-answer'; error: unknown; text: string }
  | { kind: 'access'; error: AwsCallError; text: string };

/**
 * Classify what an AWS call threw. Errors that are neither an `AwsCallError` nor caused by the abort of
 * `signal` are bugs: they are returned as null so the caller rethrows them (the executor logs them loudly).
 */
export function awsFailureOf(err: unknown, signal: AbortSignal): AwsFailure | null {
  if (err instanceof AwsCallError) {
    // The layer's message is `<service> <Operation>: <AwsCode>: <AWS text>`, which is what operators search for.
    if (err.kind === 'answered') return { kind: 'failed', error: err, text: err.message };
    if (err.kind === 'access') return { kind: 'access', error: err, text: err.message };
    const why = err.kind === 'unavailable' ? 'throttled or unavailable' : 'no answer';
    return { kind: 'no-answer', error: err, text: `${err.message} (${why})` };
  }
  if (signal.aborted) return { kind: 'no-answer', error: err, text: 'the call was cut off at the deadline' };
  return null;
}

/** `text` ending with a full stop (AWS texts sometimes have one, sometimes not). */
export function sentence(text: string): string {
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

/** The time a driver call may spend, counted from its creation. */
export class CallBudget {
  readonly #deadline: number;
  readonly #signal: AbortSignal;
  readonly totalMs: number;

  /** `timeoutMs` is the object's timeout; the budget is `BUDGET_SHARE` of it. */
  constructor(timeoutMs: number, signal: AbortSignal, share = BUDGET_SHARE) {
    this.totalMs = Math.max(1, Math.floor(timeoutMs * share));
    this.#deadline = Date.now() + this.totalMs;
    this.#signal = signal;
  }

  remainingMs(): number {
    return Math.max(0, this.#deadline - Date.now());
  }

  get expired(): boolean {
    return this.remainingMs() <= 0 || this.#signal.aborted;
  }

  /** Options of the next AWS call: the rest of the budget and the call's signal. */
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
