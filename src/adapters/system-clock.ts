/**
 * The real Clock (STYLE.md 14): monotonic time from `performance.now()`, wall time from `Date.now()` (alerts
 * and display only) and ordinary referenced timers, so a pending timer keeps the daemon's loop alive.
 */
import { performance } from 'node:perf_hooks';
import type { Clock, Timer } from '../ports/clock.ts';

/** setTimeout's largest delay; longer waits are split, since Node fires an over-long timer after 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class SystemClock implements Clock {
  nowMs(): number {
    return performance.now();
  }

  wallMs(): number {
    return Date.now();
  }

  setTimer(delayMs: number, fn: () => void): Timer {
    let handle: NodeJS.Timeout | null = null;
    let cancelled = false;
    // NaN fires at once; Infinity never fires (re-armed every ~24.8 days).
    const deadline = performance.now() + (Number.isNaN(delayMs) ? 0 : Math.max(0, delayMs));
    const arm = (): void => {
      const left = deadline - performance.now();
      if (left > MAX_TIMER_MS) {
        handle = setTimeout(arm, MAX_TIMER_MS);
        return;
      }
      handle = setTimeout(
        () => {
          handle = null;
          if (!cancelled) fn();
        },
        Math.max(0, left),
      );
    };
    arm();
    return {
      cancel: (): void => {
        cancelled = true;
        if (handle !== null) clearTimeout(handle);
        handle = null;
      },
    };
  }
}
