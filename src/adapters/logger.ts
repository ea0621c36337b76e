/**
 * The pino logger behind the Logger port (issue 3 section 3, "Logs: pino, structured, per-object fields,
 * secrets never logged"). Every line carries `server`; objects are logged as fields
 * (`log.info({ group: 'failover1' }, 'group online')`).
 *
 * Redaction is belt and braces: callers never pass secrets, but a value under a key named `secret`,
 * `token`, `authorization`, `password` or `cookie` (any case, at any depth of a logged object; at the top
 * two levels of child bindings) is replaced by `[redacted]` before it is written.
 */
import { pino } from 'pino';
import type { DestinationStream, Level, Logger as PinoLogger } from 'pino';
import type { Logger } from '../ports/logger.ts';

export type LogLevel = Level | 'silent';

/** Key names (lower case) whose values never reach the log. */
export const REDACTED_KEYS: readonly string[] = ['secret', 'token', 'authorization', 'password', 'cookie'];
export const REDACTED = '[redacted]';

const MAX_DEPTH = 8;

/** Copy of `value` with every redacted key's value replaced; Errors and non-plain objects are kept as is. */
function redactDeep(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return value;
  if (seen.has(value)) return value;
  if (Array.isArray(value)) {
    seen.add(value);
    return value.map((v) => redactDeep(v, depth + 1, seen));
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  seen.add(value);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = REDACTED_KEYS.includes(k.toLowerCase()) ? REDACTED : redactDeep(v, depth + 1, seen);
  }
  return out;
}

/** Redaction paths for pino's own redactor (applies to child bindings, which skip `formatters.log`). */
function redactPaths(): string[] {
  const paths: string[] = [];
  for (const k of REDACTED_KEYS) {
    for (const variant of new Set([k, k.toUpperCase(), k[0]!.toUpperCase() + k.slice(1)])) {
      paths.push(variant, `*.${variant}`);
    }
  }
  return paths;
}

export interface CreateLoggerOptions {
  /** Minimum level written. */
  level: LogLevel;
  /** This server's name, bound to every line as `server`. */
  server: string;
  /** Where lines go (default: stdout, written synchronously so nothing is lost on a crash). */
  destination?: DestinationStream;
}

/** A pino logger satisfying the Logger port (its `child` returns pino loggers too). */
export function createLogger(opts: CreateLoggerOptions): PinoLogger & Logger {
  const options = {
    level: opts.level,
    base: { pid: process.pid, server: opts.server },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: redactPaths(), censor: REDACTED },
    formatters: {
      log: (obj: Record<string, unknown>): Record<string, unknown> =>
        redactDeep(obj, 0, new WeakSet()) as Record<string, unknown>,
    },
  };
  return opts.destination === undefined ? pino(options) : pino(options, opts.destination);
}
