/**
 * FakeClock: a virtual clock for tests (STYLE.md 14). Time moves only when the test calls `advance`/`runUntil`;
 * timers fire in time order (ties in creation order), so runs are exactly repeatable.
 */
import type { Clock, Timer } from '../../src/ports/clock.ts';

interface Pending {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

export class FakeClock implements Clock {
  #now: number;
  #wallBase: number;
  #seq = 0;
  #timers: Pending[] = [];

  constructor(startMs = 0, wallBaseMs = Date.UTC(2026, 0, 1)) {
    this.#now = startMs;
    this.#wallBase = wallBaseMs;
  }

  nowMs(): number {
    return this.#now;
  }

  wallMs(): number {
    return this.#wallBase + this.#now;
  }

  setTimer(delayMs: number, fn: () => void): Timer {
    const p: Pending = { at: this.#now + Math.max(0, delayMs), seq: this.#seq++, fn, cancelled: false };
    this.#timers.push(p);
    return {
      cancel: () => {
        p.cancelled = true;
      },
    };
  }

  /** Number of timers not yet fired or cancelled (leak checks). */
  pendingTimers(): number {
    return this.#timers.filter((t) => !t.cancelled).length;
  }

  /** Time of the next live timer, or null. */
  nextAt(): number | null {
    let best: Pending | null = null;
    for (const t of this.#timers)
      if (!t.cancelled && (best === null || t.at < best.at || (t.at === best.at && t.seq < best.seq)))
        best = t;
    return best === null ? null : best.at;
  }

  /** Fire every timer due up to `untilMs` in order, then set the clock to `untilMs`. */
  runUntil(untilMs: number): void {
    for (;;) {
      this.#timers = this.#timers.filter((t) => !t.cancelled);
      let idx = -1;
      for (let i = 0; i < this.#timers.length; i++) {
        const t = this.#timers[i]!;
        const b = idx < 0 ? undefined : this.#timers[idx];
        if (t.at <= untilMs && (b === undefined || t.at < b.at || (t.at === b.at && t.seq < b.seq))) idx = i;
      }
      if (idx < 0) break;
      const [t] = this.#timers.splice(idx, 1);
      this.#now = Math.max(this.#now, t!.at);
      t!.fn();
    }
    this.#now = Math.max(this.#now, untilMs);
  }

  advance(ms: number): void {
    this.runUntil(this.#now + ms);
  }
}
