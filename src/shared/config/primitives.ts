/**
 * Building blocks of the config schema (issue section 2): strict objects that remember their keys (so an
 * unknown key can be answered with the known ones), names, durations, counts, and the way a schema
 * attaches an operator-facing message plus remedy to a zod issue. Zod carries one message string per
 * issue; ours is a small JSON envelope `{ m, r }` that `zod-issues.ts` unpacks into `message` and
 * `remedy`.
 */
import { z } from 'zod';
import { DURATION_HINT, DURATION_PATTERN, parseDuration } from '../duration.ts';
import { BugError } from '../errors.ts';
import { hostKind, parseHostPort } from './address.ts';

/** Encodes an operator-facing message and remedy into a zod issue message. */
export function issueText(message: string, remedy: string): string {
  return JSON.stringify({ m: message, r: remedy });
}

/** Decodes `issueText`; null for zod's own messages. */
export function readIssueText(text: string): { message: string; remedy: string } | null {
  if (!text.startsWith('{')) return null;
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v === 'object' && v !== null && 'm' in v && 'r' in v) {
      const { m, r } = v;
      if (typeof m === 'string' && typeof r === 'string') return { message: m, remedy: r };
    }
  } catch {
    // not ours
  }
  return null;
}

/** What a strict object knows about itself, for unknown-key messages. */
export interface StrictInfo {
  /** The keys it accepts. */
  keys: readonly string[];
  /** Set on per-server override objects: the type whose per-server keys these are. */
  perServerOf?: string;
}

const strictInfo = new WeakMap<object, StrictInfo>();

/** A zod object that rejects unknown keys and remembers its keys for the error message. */
export function strict<S extends z.ZodRawShape>(shape: S, info: Omit<StrictInfo, 'keys'> = {}) {
  const schema = z.strictObject(shape);
  strictInfo.set(schema, { keys: Object.keys(shape), ...info });
  return schema;
}

/** Registers an already-built object schema (e.g. after `.partial()`) as strict-with-info. */
export function registerStrict<T extends object>(schema: T, info: StrictInfo): T {
  strictInfo.set(schema, info);
  return schema;
}

export function strictInfoOf(schema: unknown): StrictInfo | undefined {
  return typeof schema === 'object' && schema !== null ? strictInfo.get(schema) : undefined;
}

/** Names of servers, groups, resources, monitors and NP targets. */
export const NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$';
const NAME_RE = new RegExp(NAME_PATTERN);
const NAME_RULE =
  'use 1-63 letters, digits, "-", "_" or "." starting with a letter or digit (names end up in file names, environment variables and URLs)';

/** A name: `node-1`, `failover1`, `exec1`. */
export function nameSchema(what: string) {
  return z.string({ error: issueText(`${what} must be a string`, NAME_RULE) }).regex(NAME_RE, {
    error: (iss) => issueText(`"${String(iss.input)}" is not a valid ${what}`, NAME_RULE),
  });
}

function durationProblem(input: unknown, allowZero: boolean): string | null {
  if (typeof input !== 'string') return `${JSON.stringify(input)} is not a duration`;
  const r = parseDuration(input);
  if (!r.ok) return r.reason;
  if (!allowZero && r.ms === 0) return `"${input}" is zero; this duration must be positive`;
  return null;
}

/**
 * A duration string such as `500ms`, `3s`, `5m`, `1h` (see src/shared/duration.ts). Plain numbers are
 * refused with a message that says how to write one. `allowZero` for waits such as `startWait: 0s`.
 */
export function durationSchema(opts: { allowZero?: boolean } = {}) {
  const allowZero = opts.allowZero ?? false;
  const err = (iss: { input?: unknown }) =>
    issueText(durationProblem(iss.input, allowZero) ?? 'not a duration', DURATION_HINT);
  return z
    .string({ error: err })
    .regex(new RegExp(DURATION_PATTERN), { error: err, abort: true })
    .refine((s) => durationProblem(s, allowZero) === null, { error: err });
}

/** A whole number >= `min` (retries, counts, sizes). */
export function countSchema(min = 0, max = 1_000_000) {
  return z.number().int().min(min).max(max);
}

/** A TCP/UDP port. */
export function portSchema() {
  return z.number().int().min(1).max(65535);
}

/** A shell command run by `/bin/sh -c` in the config file's directory (kept exactly as written). */
export function commandSchema(what: string) {
  return z
    .string({
      error: issueText(
        `${what} must be a string (a shell command)`,
        'write the command as a string, e.g. "./script.sh"',
      ),
    })
    .min(1, { error: issueText(`${what} is empty`, 'write the command to run, e.g. "./start.sh"') });
}

/** Parses a duration that the schema already accepted. */
export function ms(text: string): number {
  const r = parseDuration(text);
  if (!r.ok) throw new BugError(`duration "${text}" passed the schema but does not parse: ${r.reason}`);
  return r.ms;
}

const HOST_RULE =
  'write a host name such as aws.amazon.com or an address such as 10.0.0.1 (no scheme, no port, no path)';

/** A host: IPv4, IPv6 or DNS name, without port (NP targets, the witness). */
export function hostSchema(what: string) {
  return z
    .string({ error: issueText(`${what} must be a string`, HOST_RULE) })
    .refine((s) => hostKind(s) !== null, {
      error: (iss) =>
        issueText(`"${String(iss.input)}" is not a valid IPv4 address, IPv6 address or host name`, HOST_RULE),
    });
}

/** Addresses nobody can send to: a server must name its own address. */
export const UNSPECIFIED_ADDRESSES: ReadonlySet<string> = new Set(['0.0.0.0', '::', '0:0:0:0:0:0:0:0']);

function endpointProblem(input: unknown, defaultPort: number): string | null {
  if (typeof input !== 'string') return `${JSON.stringify(input)} is not an address`;
  const r = parseHostPort(input, defaultPort);
  if (!r.ok) return r.reason;
  if (UNSPECIFIED_ADDRESSES.has(r.address)) return `"${r.address}" is not an address other servers can reach`;
  return null;
}

/** `address[:port]` (interconnects, the API); `defaultPort` applies without a port. */
export function endpointSchema(defaultPort: number) {
  const remedy = `write this server's own address[:port], e.g. 10.0.0.1, 10.0.0.1:${defaultPort} or [fd00::1]:${defaultPort}`;
  const err = (iss: { input?: unknown }) =>
    issueText(endpointProblem(iss.input, defaultPort) ?? 'not an address', remedy);
  return z.string({ error: err }).refine((s) => endpointProblem(s, defaultPort) === null, { error: err });
}

/** An environment variable name that Tandem does not reserve for itself. */
export function envNameSchema() {
  return z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, {
      error: (iss) =>
        issueText(
          `"${String(iss.input)}" is not a valid environment variable name`,
          'use letters, digits and "_", not starting with a digit',
        ),
      abort: true,
    })
    .refine((s) => !s.startsWith('TANDEM_'), {
      error: (iss) =>
        issueText(
          `"${String(iss.input)}" is reserved: Tandem sets the TANDEM_* variables itself`,
          'choose a name that does not start with TANDEM_',
        ),
    });
}
