/**
 * Clock port (STYLE.md 14). The daemon uses the system clock; tests and the simulated cluster use
 * `FakeClock` (test/fakes). `nowMs()` is monotonic; `wallMs()` is for alert timestamps only.
 */
export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Monotonic milliseconds (never goes back; unrelated to wall time). */
  nowMs(): number;
  /** Wall-clock milliseconds since the epoch, for display and alerts only. */
  wallMs(): number;
  /** Call `fn` once after `delayMs`. */
  setTimer(delayMs: number, fn: () => void): Timer;
}
