/**
 * Log rate limiting for the adapters: a lost interconnect or a flood of forged packets must not flood the
 * log. The first occurrence of a key is logged, then at most one line per `intervalMs` carrying the number
 * of occurrences suppressed in between.
 */
import { performance } from 'node:perf_hooks';

export class LogThrottle {
  readonly #intervalMs: number;
  readonly #nowMs: () => number;
  readonly #state = new Map<string, { lastMs: number; suppressed: number }>();

  constructor(intervalMs = 10_000, nowMs: () => number = () => performance.now()) {
    this.#intervalMs = intervalMs;
    this.#nowMs = nowMs;
  }

  /**
   * Whether to log an occurrence of `key` now; `suppressed` counts the occurrences not logged since the
   * last line for that key.
   */
  take(key: string): { log: boolean; suppressed: number } {
    const now = this.#nowMs();
    const s = this.#state.get(key);
    if (s === undefined || now - s.lastMs >= this.#intervalMs) {
      const suppressed = s?.suppressed ?? 0;
      this.#state.set(key, { lastMs: now, suppressed: 0 });
      if (this.#state.size > 1024) this.#state.delete(this.#state.keys().next().value!);
      return { log: true, suppressed };
    }
    s.suppressed += 1;
    return { log: false, suppressed: s.suppressed };
  }
}
