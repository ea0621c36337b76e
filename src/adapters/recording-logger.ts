/**
 * A Logger port implementation that keeps lines in memory, for tests of the adapters (and of anything
 * else that takes a Logger): lines can be inspected, and `waitFor` resolves when a matching line is
 * logged, so a test awaits "the packet was dropped" instead of sleeping.
 */
import type { Logger } from '../ports/logger.ts';

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  msg: string;
  fields: Record<string, unknown>;
}

interface Waiter {
  match: (line: LogLine) => boolean;
  resolve: (line: LogLine) => void;
}

class Sink {
  readonly lines: LogLine[] = [];
  waiters: Waiter[] = [];

  push(line: LogLine): void {
    this.lines.push(line);
    const ready = this.waiters.filter((w) => w.match(line));
    this.waiters = this.waiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.resolve(line);
  }
}

export class RecordingLogger implements Logger {
  readonly #sink: Sink;
  readonly #bindings: Record<string, unknown>;

  constructor(sink: Sink = new Sink(), bindings: Record<string, unknown> = {}) {
    this.#sink = sink;
    this.#bindings = bindings;
  }

  /** Every line logged through this logger or its children, oldest first. */
  get lines(): readonly LogLine[] {
    return this.#sink.lines;
  }

  debug(obj: Record<string, unknown>, msg: string): void {
    this.#push('debug', obj, msg);
  }
  info(obj: Record<string, unknown>, msg: string): void {
    this.#push('info', obj, msg);
  }
  warn(obj: Record<string, unknown>, msg: string): void {
    this.#push('warn', obj, msg);
  }
  error(obj: Record<string, unknown>, msg: string): void {
    this.#push('error', obj, msg);
  }
  child(bindings: Record<string, unknown>): RecordingLogger {
    return new RecordingLogger(this.#sink, { ...this.#bindings, ...bindings });
  }

  /**
   * Resolves with the first line (already logged or future) for which `match` is true. Pair it with a
   * test timeout: it waits as long as it takes.
   */
  waitFor(match: (line: LogLine) => boolean): Promise<LogLine> {
    const found = this.#sink.lines.find(match);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise<LogLine>((resolve) => this.#sink.waiters.push({ match, resolve }));
  }

  #push(level: LogLine['level'], obj: Record<string, unknown>, msg: string): void {
    this.#sink.push({ level, msg, fields: { ...this.#bindings, ...obj } });
  }
}
