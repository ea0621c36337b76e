/**
 * Fault injection of the AWS simulator (issue 4 section 5, "Fault injection per operation: added latency,
 * throttling, 5xx, no answer, for a duration or a count"). A fault names what it hits:
 *
 * - an EC2 action (`ReplaceRoute`) or Route 53 operation (`ChangeResourceRecordSets`), or `*` for every
 *   AWS API call;
 * - `IMDS` (every instance's metadata service) or `IMDS:<instance id>` (one instance's);
 * - `DNS` (the DNS responder).
 *
 * `*` means every AWS API call only: IMDS and DNS are not AWS API calls and are hit only when named, so a
 * test that makes EC2 unanswerable still gets its role credentials.
 */
import { z } from 'zod';

export type FaultKind = 'throttle' | 'error5xx' | 'noAnswer' | 'latency';

/** One injected fault. */
export interface FaultSpec {
  /** An EC2 action or Route 53 operation name, `*` (every API call), `IMDS`, `IMDS:<instance id>` or `DNS`. */
  action: string;
  /** IMDS answers `throttle` with 429 and `error5xx` with 500; DNS knows only `noAnswer` and `latency`. */
  kind: FaultKind;
  /** How many calls it hits; absent means until `untilMs` (or forever when both are absent). */
  count?: number;
  /** Epoch ms after which it no longer applies. */
  untilMs?: number;
  /** Relative alternative to `untilMs`: applies for this many ms from injection. */
  forMs?: number;
  /** Extra delay of a `latency` fault (ms). */
  latencyMs?: number;
}

export const FaultSpecSchema = z.strictObject({
  action: z.string().min(1),
  kind: z.enum(['throttle', 'error5xx', 'noAnswer', 'latency']),
  count: z.number().int().positive().optional(),
  untilMs: z.number().nonnegative().optional(),
  forMs: z.number().nonnegative().optional(),
  latencyMs: z.number().nonnegative().optional(),
});

/** Whether a fault aimed at `target` hits an AWS API call of `action`. */
export const hitsApiCall =
  (action: string) =>
  (target: string): boolean =>
    target === '*' || target === action;

/** Whether a fault aimed at `target` hits a request to `instanceId`'s IMDS. */
export const hitsImds =
  (instanceId: string) =>
  (target: string): boolean =>
    target === 'IMDS' || target === `IMDS:${instanceId}`;

/** Whether a fault aimed at `target` hits a DNS query. */
export const hitsDns = (target: string): boolean => target === 'DNS';

/** The faults in force, with their counts and deadlines. */
export class FaultTable {
  private faults: FaultSpec[] = [];
  constructor(private readonly now: () => number) {}

  inject(spec: FaultSpec): void {
    const f: FaultSpec = { ...spec };
    if (f.forMs !== undefined) {
      f.untilMs = this.now() + f.forMs;
      delete f.forMs;
    }
    this.faults.push(f);
  }

  clear(): void {
    this.faults = [];
  }

  list(): readonly FaultSpec[] {
    return this.faults;
  }

  /** The faults hitting this call (consuming one of each counted fault). */
  take(hits: (target: string) => boolean): FaultSpec[] {
    const t = this.now();
    this.faults = this.faults.filter((f) => (f.untilMs === undefined || t < f.untilMs) && f.count !== 0);
    const hit = this.faults.filter((f) => hits(f.action));
    for (const f of hit) if (f.count !== undefined) f.count -= 1;
    this.faults = this.faults.filter((f) => f.count !== 0);
    return hit;
  }
}
