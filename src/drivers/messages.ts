/**
 * Helpers for the per-type message tables (STYLE.md 12). Every driver declares an `as const` table of
 * `DriverMessage` entries in its `errors.ts`; codes are unique within a table and never reused. A driver
 * failure is a `ResourceError` whose message is the table's text followed by the details of this case
 * (exit status, path, pid), so the one formatter renders e.g.
 * `Failed to start the resource exec1. (1 : The start command failed. It exited with status 3: ./start.sh)`.
 *
 * `NotInstalledError` marks failures that mean "this type cannot run here at all" (program missing or not
 * executable); the executor reports them as `{ exec: 'not-installed' }` rather than as a failed result.
 */
import { ResourceError, type MessageEntry } from '../shared/errors.ts';

export interface DriverMessage extends MessageEntry {
  /** Whether retrying the same call may help. */
  readonly retryable: boolean;
}

/** Find the entry with `id` in `table` (the id is checked at compile time). */
export function messageOf<T extends readonly DriverMessage[]>(table: T, id: T[number]['id']): DriverMessage {
  const e = table.find((m) => m.id === id);
  // Unreachable while `id` is typed from the table; kept so a bad table fails loudly.
  if (!e) throw new Error(`message ${id} missing from its table`);
  return e;
}

/** The ResourceError for entry `id`, with `detail` appended to the table's message. */
export function driverError<T extends readonly DriverMessage[]>(
  table: T,
  id: T[number]['id'],
  object: string,
  detail: string | null,
  options?: { cause?: unknown; notInstalled?: boolean; noResponse?: boolean },
): ResourceError {
  const e = messageOf(table, id);
  const args = {
    code: e.code,
    object,
    message: detail ? `${e.message} ${detail}` : e.message,
    remedy: e.remedy,
    retryable: e.retryable,
  };
  const opts = options?.cause === undefined ? undefined : { cause: options.cause };
  if (options?.notInstalled) return new NotInstalledError(args, opts);
  return options?.noResponse ? new NoResponseError(args, opts) : new ResourceError(args, opts);
}

/** The program a driver needs is missing or cannot be executed on this server (OCF "not installed"). */
export class NotInstalledError extends ResourceError {}

/**
 * The check got no answer (an AWS call timed out or stayed throttled/unavailable): the executor reports it
 * as `{ exec: 'timeout' }`, so the monitor's `noResponse` setting decides (none / warn / recover).
 */
export class NoResponseError extends ResourceError {}

/** Checks a table: unique codes and ids (used by each driver's tests). */
export function tableProblems(table: readonly DriverMessage[]): string[] {
  const out: string[] = [];
  const codes = new Set<number>();
  const ids = new Set<string>();
  for (const m of table) {
    if (codes.has(m.code)) out.push(`duplicate code ${m.code}`);
    if (ids.has(m.id)) out.push(`duplicate id ${m.id}`);
    if (!m.message.endsWith('.')) out.push(`message of ${m.id} must be a sentence ending with a period`);
    if (m.remedy.length === 0) out.push(`remedy of ${m.id} is empty`);
    codes.add(m.code);
    ids.add(m.id);
  }
  return out;
}
