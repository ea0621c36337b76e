/**
 * Where the AWS access layer looks things up (issue 4 section 1): the effective environment
 * (`{ ...env, ...aws.environment }`), the profile it names, the shared config and credentials files, the
 * endpoints (`AWS_ENDPOINT_URL_EC2` / `AWS_ENDPOINT_URL_ROUTE_53` first, then `AWS_ENDPOINT_URL`; the IMDS
 * endpoint override), the region sources short of IMDS, and the proxy URL as shown to operators.
 *
 * Everything here is computed from the settings and the environment passed in, never from `process.env`,
 * so that one process can hold several differently configured `AwsAccess` objects (tests do) and what
 * `tandem doctor` reports is exactly what the calls use. Only `readSharedFile` does I/O.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CompiledAws } from '../shared/config/types.ts';

/** The environment as the access layer sees it; empty values count as unset. */
export type Env = Readonly<Record<string, string | undefined>>;

/** IMDS default endpoints (IPv4, and IPv6 when `AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6`). */
export const IMDS_IPV4 = 'http://169.254.169.254';
export const IMDS_IPV6 = 'http://[fd00:ec2::254]';

/** Everything the layer derived from the settings and the environment, before any I/O. */
export interface AwsPlaces {
  env: Env;
  /** The profile used for the shared files (`aws.profile`, else AWS_PROFILE, else `default`). */
  profile: string;
  /** Where the profile name came from: a named profile wins over environment keys (as in the SDK). */
  profileOrigin: 'aws.profile' | 'AWS_PROFILE' | 'default';
  credentialsFile: string;
  configFile: string;
  endpoints: { ec2: string | null; route53: string | null; imds: string };
  /** The variable that named each endpoint (for messages about a malformed one). */
  endpointVars: { ec2: string | null; route53: string | null; imds: string | null };
  /** AWS_EC2_METADATA_DISABLED=true: no IMDS calls at all. */
  imdsDisabled: boolean;
  /** The proxy for AWS API calls (raw, with any password), or null. */
  proxy: string | null;
}

/** `value` unless it is undefined or blank. */
function set(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/** `{ ...env, ...aws.environment }`. */
export function effectiveEnv(settings: CompiledAws, env: NodeJS.ProcessEnv): Env {
  return { ...env, ...settings.environment };
}

/** `~/x` and `~` expanded against `home`. */
function expandHome(path: string, home: string): string {
  if (path === '~') return home;
  return path.startsWith('~/') ? join(home, path.slice(2)) : path;
}

export function placesOf(settings: CompiledAws, env: NodeJS.ProcessEnv, homedir: string): AwsPlaces {
  const e = effectiveEnv(settings, env);
  const home = set(e['HOME']) ?? homedir;
  const envProfile = set(e['AWS_PROFILE']);
  const profile = settings.profile ?? envProfile ?? 'default';
  const profileOrigin = settings.profile !== null ? 'aws.profile' : envProfile ? 'AWS_PROFILE' : 'default';
  const base = set(e['AWS_ENDPOINT_URL']) ?? null;
  const imdsMode = set(e['AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE'])?.toLowerCase();
  const imds = (
    set(e['AWS_EC2_METADATA_SERVICE_ENDPOINT']) ?? (imdsMode === 'ipv6' ? IMDS_IPV6 : IMDS_IPV4)
  ).replace(/\/+$/, '');
  const disabled = set(e['AWS_EC2_METADATA_DISABLED'])?.toLowerCase();
  return {
    env: e,
    profile,
    profileOrigin,
    credentialsFile: expandHome(
      set(e['AWS_SHARED_CREDENTIALS_FILE']) ?? join(home, '.aws', 'credentials'),
      home,
    ),
    configFile: expandHome(set(e['AWS_CONFIG_FILE']) ?? join(home, '.aws', 'config'), home),
    endpoints: {
      ec2: set(e['AWS_ENDPOINT_URL_EC2']) ?? base,
      route53: set(e['AWS_ENDPOINT_URL_ROUTE_53']) ?? base,
      imds,
    },
    endpointVars: {
      ec2: set(e['AWS_ENDPOINT_URL_EC2']) ? 'AWS_ENDPOINT_URL_EC2' : base ? 'AWS_ENDPOINT_URL' : null,
      route53: set(e['AWS_ENDPOINT_URL_ROUTE_53'])
        ? 'AWS_ENDPOINT_URL_ROUTE_53'
        : base
          ? 'AWS_ENDPOINT_URL'
          : null,
      imds: set(e['AWS_EC2_METADATA_SERVICE_ENDPOINT']) ? 'AWS_EC2_METADATA_SERVICE_ENDPOINT' : null,
    },
    imdsDisabled: disabled !== undefined && disabled !== 'false',
    proxy: settings.proxy,
  };
}

/** Why `url` cannot be an endpoint (not an http(s) URL), or null when it can. */
export function endpointProblem(url: string): string | null {
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:'
      ? null
      : `its scheme is ${u.protocol} (http: or https: is needed)`;
  } catch {
    return 'it is not a URL';
  }
}

/** The region named by AWS_REGION or AWS_DEFAULT_REGION, with the variable that named it. */
export function regionFromEnv(env: Env): { region: string; variable: string } | null {
  for (const variable of ['AWS_REGION', 'AWS_DEFAULT_REGION']) {
    const region = set(env[variable]);
    if (region !== undefined) return { region, variable };
  }
  return null;
}

/** A proxy URL fit to show: the password (if any) replaced by `****`. */
export function maskProxyUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password === '') return url;
    u.password = '****';
    return u.toString().replace(/\/$/, url.endsWith('/') ? '/' : '');
  } catch {
    // Not a URL: still never show what looks like `user:password@`.
    return url.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:****@');
  }
}

/** Sections of an INI file: section name -> key -> value. Keys are lowercased. */
export type IniSections = Map<string, Map<string, string>>;

/**
 * The AWS shared-file dialect of INI: `[section]`, `key = value`, full-line comments with `#` or `;`, an
 * inline comment after whitespace, and indented sub-keys below a key with an empty value (e.g. `s3 =`),
 * which are skipped: nothing the layer reads is nested.
 */
export function parseIni(text: string): IniSections {
  const out: IniSections = new Map();
  let current: Map<string, string> | undefined;
  let nestedUnder: string | undefined;
  for (const raw of text.split(/\r?\n/)) {
    if (/^\s*([#;].*)?$/.test(raw)) continue;
    const section = /^\s*\[([^\]]+)\]\s*([#;].*)?$/.exec(raw);
    if (section) {
      const name = (section[1] ?? '').trim().replace(/\s+/g, ' ');
      current = out.get(name) ?? new Map<string, string>();
      out.set(name, current);
      nestedUnder = undefined;
      continue;
    }
    if (/^\s/.test(raw) && nestedUnder !== undefined) continue;
    const eq = raw.indexOf('=');
    if (current === undefined || eq < 0) continue;
    const key = raw.slice(0, eq).trim().toLowerCase();
    const value = raw
      .slice(eq + 1)
      .replace(/\s[#;].*$/, '')
      .trim();
    current.set(key, value);
    nestedUnder = value === '' ? key : undefined;
  }
  return out;
}

/**
 * The profile's section: in the config file `[profile NAME]` (and `[default]` for `default`), in the
 * credentials file `[NAME]`.
 */
export function profileSection(
  sections: IniSections,
  file: 'config' | 'credentials',
  profile: string,
): Map<string, string> | undefined {
  if (file === 'credentials') return sections.get(profile);
  const named = sections.get(`profile ${profile}`);
  if (profile !== 'default') return named;
  const plain = sections.get('default');
  if (plain === undefined) return named;
  return named === undefined ? plain : new Map([...plain, ...named]);
}

/**
 * What kind of credential source a profile is, as the SDK's shared-file provider (`fromIni`) will treat it,
 * or why it is not a usable one. Checked before the SDK is asked, so that a half-written profile gets a
 * precise message and the SDK's chain never runs past its shared-file step (its next steps read
 * `process.env` and would try its own IMDS).
 */
export type ProfileKind =
  | { kind: 'static' | 'assume-role' | 'web-identity' | 'process' | 'sso' | 'login' }
  | { kind: 'incomplete'; why: string }
  | { kind: 'none' };

export function profileKind(section: Map<string, string> | undefined): ProfileKind {
  if (section === undefined) return { kind: 'none' };
  const has = (k: string): boolean => (section.get(k) ?? '') !== '';
  if (has('aws_access_key_id') || has('aws_secret_access_key')) {
    if (has('aws_access_key_id') && has('aws_secret_access_key')) return { kind: 'static' };
    return {
      kind: 'incomplete',
      why: has('aws_access_key_id')
        ? 'it has aws_access_key_id but no aws_secret_access_key'
        : 'it has aws_secret_access_key but no aws_access_key_id',
    };
  }
  if (has('role_arn')) {
    if (has('web_identity_token_file')) return { kind: 'web-identity' };
    if (has('source_profile') !== has('credential_source')) return { kind: 'assume-role' };
    return {
      kind: 'incomplete',
      why: 'it has role_arn but not exactly one of source_profile and credential_source',
    };
  }
  if (has('credential_process')) return { kind: 'process' };
  if (has('sso_session') || has('sso_start_url')) return { kind: 'sso' };
  if (has('login_session')) return { kind: 'login' };
  return { kind: 'none' };
}

/** A shared file read: its sections, or why it could not be read (`missing` when it does not exist). */
export type SharedFile =
  | { path: string; state: 'read'; sections: IniSections }
  | { path: string; state: 'missing' }
  | { path: string; state: 'unreadable'; error: string };

export async function readSharedFile(path: string): Promise<SharedFile> {
  try {
    return { path, state: 'read', sections: parseIni(await readFile(path, 'utf8')) };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { path, state: 'missing' };
    return { path, state: 'unreadable', error: (err as Error).message };
  }
}
