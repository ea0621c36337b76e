/**
 * How `tandem doctor` calls AWS (issue 4 section 6): every call goes through one `Probe`, which
 *
 * - runs at most `concurrency` calls at once, so the independent checks run in parallel without flooding
 *   the API (AWS throttles bursts, and a throttled doctor would measure the wrong thing);
 * - runs each distinct call once (memoized by key): two resources on the same VPC, or the zone check and
 *   the Route 53 reachability check, share one DescribeVpcs / GetHostedZone;
 * - measures each call from the moment it gets a slot, and keeps the times for the timing check (section
 *   6 item 8: monitor timeouts against the measured call time);
 * - never throws: a call resolves to an `Outcome`, the failure kept as it came (an `AwsCallError` from the
 *   access layer, or anything else a broken op threw).
 */
import { AwsCallError, type AwsService } from '../aws/errors.ts';
import type { AwsCallOptions } from '../aws/types.ts';

export type Outcome<T> = { ok: true; value: T; ms: number } | { ok: false; error: unknown; ms: number };

/** One measured call. */
export interface CallRecord {
  service: AwsService;
  operation: string;
  ms: number;
  /**
   * True when AWS (or IMDS) answered, with data or with an error: a real round trip whose time means
   * something. False for no answer, throttling that outlasted the retries, and access not set up.
   */
  answered: boolean;
}

export interface ProbeOptions {
  /** Calls in flight at once. @default 8 */
  concurrency?: number;
  /** Deadline of one call (ms), passed as `timeoutMs` (the access layer caps it by `aws.callTimeout`). */
  callTimeoutMs: number;
  /** Monotonic clock (ms). @default performance.now */
  now?: () => number;
}

export class Probe {
  readonly callTimeoutMs: number;
  readonly #limit: number;
  readonly #now: () => number;
  readonly #memo = new Map<string, Promise<Outcome<unknown>>>();
  readonly #records: CallRecord[] = [];
  readonly #waiting: Array<() => void> = [];
  #running = 0;

  constructor(opts: ProbeOptions) {
    this.callTimeoutMs = opts.callTimeoutMs;
    this.#limit = Math.max(1, opts.concurrency ?? 8);
    this.#now = opts.now ?? (() => performance.now());
  }

  /**
   * Run `fn` once for `key` (later calls with the same key get the same outcome), within the concurrency
   * bound, measured. `operation` names the call in the timing report.
   */
  call<T>(
    key: string,
    service: AwsService,
    operation: string,
    fn: (o: AwsCallOptions) => Promise<T>,
  ): Promise<Outcome<T>> {
    let p = this.#memo.get(key) as Promise<Outcome<T>> | undefined;
    if (p === undefined) {
      p = this.#run(service, operation, fn);
      this.#memo.set(key, p);
    }
    return p;
  }

  /** Every call made so far, in the order they finished. */
  records(): readonly CallRecord[] {
    return this.#records;
  }

  async #run<T>(
    service: AwsService,
    operation: string,
    fn: (o: AwsCallOptions) => Promise<T>,
  ): Promise<Outcome<T>> {
    await this.#acquire();
    const started = this.#now();
    try {
      const value = await fn({ timeoutMs: this.callTimeoutMs });
      const ms = this.#now() - started;
      this.#records.push({ service, operation, ms, answered: true });
      return { ok: true, value, ms };
    } catch (error) {
      const ms = this.#now() - started;
      const answered = error instanceof AwsCallError && error.kind === 'answered';
      this.#records.push({ service, operation, ms, answered });
      return { ok: false, error, ms };
    } finally {
      this.#release();
    }
  }

  #acquire(): Promise<void> {
    if (this.#running < this.#limit) {
      this.#running++;
      return Promise.resolve();
    }
    // The slot is handed over by #release without ever dropping #running.
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #release(): void {
    const next = this.#waiting.shift();
    if (next !== undefined) next();
    else this.#running--;
  }
}

/** min / median / max of `xs` (ms, rounded); null when empty. */
export function spread(xs: readonly number[]): { min: number; median: number; max: number } | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { min: Math.round(s[0]!), median: Math.round(median), max: Math.round(s[s.length - 1]!) };
}
