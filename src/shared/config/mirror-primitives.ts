/**
 * Value schemas of the mirror disk config (issue 5 section 1): byte sizes (`512M`, `10G`, or a number of
 * bytes), the NBD endpoint (a unix socket path or `address:port`), the `mount` object, and the seed's
 * naming of the automatic md monitors. Each refusal says what is wrong and how to write it; nothing is
 * looked up here (whether a partition exists is the driver's and `tandem doctor`'s business).
 */
import { z } from 'zod';
import { formatHostPort, parseHostPort } from './address.ts';
import { issueText, strict, UNSPECIFIED_ADDRESSES } from './primitives.ts';

/** Binary multiples: `64K` is 65536 bytes, as `qemu-img`, LVM and DRBD read it. */
const UNIT_BYTES: Readonly<Record<string, number>> = { K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/** A whole number, an optional unit letter (any case) with an optional `iB`, or a plain `B`. */
const SIZE_PATTERN = '^\\d+([KMGTkmgt](iB)?|B)?$';
const SIZE_RE = new RegExp(SIZE_PATTERN);

export type SizeResult = { ok: true; bytes: number } | { ok: false; reason: string };

/**
 * Parses a size as written: a whole number of bytes (`1048576`, `"1048576"`, `512B`), or a whole number
 * with a binary unit (`64K`, `512M`, `10G`, `1T`, also `10GiB` and lowercase `10g`). `10GB` is refused:
 * some read it as 10^10 bytes, others as 10 GiB, and a mirror whose two sides disagree on its size is
 * worse than a config error. Decimals are refused too (`1.5G`: write `1536M`).
 */
export function parseSize(input: unknown): SizeResult {
  if (typeof input === 'number') {
    if (!Number.isInteger(input)) return { ok: false, reason: `${input} is not a whole number of bytes` };
    if (input <= 0) return { ok: false, reason: `${input} is not a positive size` };
    if (!Number.isSafeInteger(input)) return { ok: false, reason: `${input} is too large` };
    return { ok: true, bytes: input };
  }
  if (typeof input !== 'string') return { ok: false, reason: `${JSON.stringify(input)} is not a size` };
  const s = input;
  const shown = JSON.stringify(input);
  if (/^\d+(\.\d+)?\s*[KMGTkmgt]B$/.test(s))
    return { ok: false, reason: `${shown} is ambiguous (decimal or binary units?)` };
  if (/^\d*\.\d+/.test(s)) return { ok: false, reason: `${shown} is not a whole number` };
  if (!SIZE_RE.test(s)) return { ok: false, reason: `${shown} is not a size` };
  const m = /^(\d+)([KMGTkmgt])?/.exec(s);
  const unit = m?.[2]?.toUpperCase();
  const bytes = Number(m?.[1] ?? 'NaN') * (unit === undefined ? 1 : (UNIT_BYTES[unit] ?? NaN));
  if (!Number.isFinite(bytes) || bytes <= 0) return { ok: false, reason: `${shown} is not a positive size` };
  if (!Number.isSafeInteger(bytes)) return { ok: false, reason: `${shown} is too large` };
  return { ok: true, bytes };
}

/** The bytes of a size the schema accepted. */
export function sizeBytes(value: number | string): number {
  const r = parseSize(value);
  return r.ok ? r.bytes : NaN;
}

/**
 * A size key: a number of bytes or a string with a binary unit. `check` adds the key's own rule on the
 * parsed bytes (a multiple of 512, a power of two), returning the problem or null.
 */
export function sizeSchema(remedy: string, check: (bytes: number, written: string) => string | null) {
  const problem = (input: unknown): string | null => {
    const r = parseSize(input);
    if (!r.ok) return r.reason;
    return check(r.bytes, typeof input === 'string' ? JSON.stringify(input) : String(input));
  };
  const err = (iss: { input?: unknown }) => issueText(problem(iss.input) ?? 'not a size', remedy);
  return z
    .union(
      [
        z.number({ error: err }).int({ error: err }).min(1, { error: err }),
        z.string({ error: err }).regex(SIZE_RE, { error: err }),
      ],
      { error: err },
    )
    .refine((v) => problem(v) === null, { error: err });
}

/** Linux `sun_path` holds 108 bytes with the terminating NUL. */
export const UNIX_SOCKET_PATH_MAX = 107;

/** A parsed NBD endpoint before relative paths are resolved. */
export type NbdText = { kind: 'path'; path: string } | { kind: 'tcp'; host: string; port: number };

/**
 * `./nbd/md1.sock` or `/run/tandem/md1.sock` (anything with a `/` is a socket path) or `address:port`
 * (the port is required, so a bare `nbd.sock` is not mistaken for a host name).
 */
export function parseNbd(text: string): { ok: true; value: NbdText } | { ok: false; reason: string } {
  if (text.includes('/')) {
    if (text.endsWith('/')) return { ok: false, reason: `"${text}" is a directory, not a socket path` };
    return { ok: true, value: { kind: 'path', path: text } };
  }
  const r = parseHostPort(text, 0);
  if (!r.ok) return { ok: false, reason: r.reason };
  if (r.port === 0)
    return { ok: false, reason: `"${text}" is neither a socket path (paths contain "/") nor address:port` };
  if (UNSPECIFIED_ADDRESSES.has(r.address))
    return { ok: false, reason: `"${r.address}" is not an address NBD clients can connect to` };
  return { ok: true, value: { kind: 'tcp', host: r.address, port: r.port } };
}

const NBD_REMEDY =
  'write a unix socket path such as ./nbd/md1.sock or /run/tandem/md1.sock (a value with "/" is a path, relative to the config file), an address:port such as 127.0.0.1:10809, or null for the default socket <stateDir>/nbd/<resource>.sock';

/** The `nbd` key: a socket path or `address:port`. */
export function nbdSchema() {
  const err = (iss: { input?: unknown }) => {
    const r = typeof iss.input === 'string' ? parseNbd(iss.input) : null;
    const reason =
      r === null
        ? `${JSON.stringify(iss.input)} is not an NBD endpoint`
        : r.ok
          ? 'not an NBD endpoint'
          : r.reason;
    return issueText(reason, NBD_REMEDY);
  };
  return z.string({ error: err }).refine((s) => parseNbd(s).ok, { error: err });
}

/** True for addresses only this machine reaches: 127.0.0.0/8, ::1, localhost. */
export function isLoopbackHost(host: string): boolean {
  return /^127\.\d+\.\d+\.\d+$/.test(host) || host === '::1' || host.toLowerCase() === 'localhost';
}

/** `host:port` of an `address[:port]` the schema accepted. */
export function hostPortOf(text: string, defaultPort: number): { host: string; port: number } {
  const r = parseHostPort(text, defaultPort);
  return r.ok ? { host: r.address, port: r.port } : { host: text, port: defaultPort };
}

/** The key two endpoints are compared by: `10.0.0.1:29051`, `[fd00::1]:29051`. */
export function endpointKey(e: { host: string; port: number }): string {
  return formatHostPort(e.host, e.port);
}

const pattern = (what: string, re: RegExp, problem: (s: string) => string, remedy: string) =>
  z
    .string({ error: issueText(`${what} must be a string`, remedy) })
    .regex(re, { error: (iss) => issueText(problem(String(iss.input)), remedy) });

/** What the md resource mounts on activation (real servers): nbd-client to `device`, mount on `path`. */
export function mountSchema() {
  return strict({
    /** The NBD device `nbd-client` attaches the volume to: `/dev/nbd0` ... Required. */
    device: pattern(
      'device',
      /^\/dev\/nbd\d{1,3}$/,
      (s) => `"${s}" is not an NBD device`,
      'write /dev/nbdN, e.g. /dev/nbd0 (`modprobe nbd` creates /dev/nbd0 to /dev/nbd15)',
    ).describe('NBD device, e.g. /dev/nbd0.'),
    /** Absolute mount point. Required. */
    path: pattern(
      'path',
      /^\/(?!\/*$).*$/,
      (s) => (s.startsWith('/') ? `"${s}" is the root directory` : `"${s}" is not an absolute path`),
      'write the absolute path of the mount point, e.g. /mnt/md1',
    ).describe('Mount point (absolute path), e.g. /mnt/md1.'),
    /** Filesystem type for `mount -t`. Required. */
    fsType: pattern(
      'fsType',
      /^[a-z0-9][a-z0-9._+-]*$/,
      (s) => `"${s}" is not a filesystem type`,
      'write the type as mount -t takes it, e.g. ext4 or xfs',
    ).describe('Filesystem type, e.g. ext4 or xfs.'),
    /** `mount -o` options. @default none */
    options: pattern(
      'options',
      /^\S+$/,
      (s) => `"${s}" has white space`,
      'write the options as mount -o takes them, comma-separated without spaces, e.g. noatime,nodev',
    )
      .nullable()
      .default(null)
      .describe('mount -o options, e.g. noatime. Default none.'),
  });
}

/**
 * The name of an md resource's automatic monitor, by the seed's rule (`md1` gets `mdw1` and `mdnw1`, `md`
 * gets `mdw`), stricter than the AWS one: the rest after `md` must be empty or start with a digit, `-`,
 * `_` or `.`, since many ordinary names start with the two letters (`mdata` gets `mdw-mdata`, not
 * `mdwata`). Any other name gets `<monitor type>-<name>`.
 */
export function mdAutoMonitorName(resourceName: string, monitorType: string): string {
  const rest = resourceName.slice(2);
  return resourceName.startsWith('md') && /^([0-9_.-].*)?$/.test(rest)
    ? `${monitorType}${rest}`
    : `${monitorType}-${resourceName}`;
}
