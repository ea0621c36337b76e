/**
 * Where the CLI finds the cluster and how it authenticates (issue "Cluster core", section 4): it reads the
 * same config file and secret file as the daemon, derives the API credential from the secret
 * (`apiToken` in src/shared/crypto.ts), and picks the API to talk to:
 *
 * 1. `--host HOST[:PORT]`: HOST is a server name (its `api` address) or an address (PORT defaults to the
 *    port of the server with that address, else 29003);
 * 2. else the first server (priority order) whose `api` or interconnect address is an address of this
 *    machine (a wildcard `api` address such as 0.0.0.0 counts only through the interconnects);
 * 3. else the first server (the master server).
 *
 * A wildcard `api` address is reached through loopback. The secret never leaves this module except as the
 * derived token.
 */
import { readFile } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { resolve } from 'node:path';
import { parseConfigText } from '../shared/config/index.ts';
import type { CompiledConfig, CompiledServer, ConfigIssue } from '../shared/config/types.ts';
import { secretFromFile } from '../shared/credential.ts';
import { apiToken } from '../shared/crypto.ts';
import { ConfigError } from '../shared/errors.ts';
import { DEFAULT_API_PORT } from './types.ts';

/** Config file used when neither `--config` nor `TANDEM_CONFIG` is given. */
export const DEFAULT_CONFIG_FILE = '/etc/tandem/cluster.yaml';

/** `--config FILE`, else `TANDEM_CONFIG`, else the default; relative paths are resolved against `cwd`. */
export function resolveConfigPath(
  option: string | undefined,
  env: Record<string, string | undefined>,
  cwd: string,
): string {
  const chosen =
    option ??
    (env['TANDEM_CONFIG'] !== undefined && env['TANDEM_CONFIG'] !== '' ? env['TANDEM_CONFIG'] : undefined);
  return resolve(cwd, chosen ?? DEFAULT_CONFIG_FILE);
}

/** A parsed config file: the compiled config (null when it has errors) and every issue found. */
export interface LoadedConfig {
  path: string;
  config: CompiledConfig | null;
  issues: ConfigIssue[];
}

/** Read and parse a config file. Throws ConfigError only when the file cannot be read. */
export async function readConfigFile(path: string): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `cannot read the config file ${path}: ${errCode(err)}; pass --config FILE or set TANDEM_CONFIG to the cluster's config file`,
      [],
      { cause: err },
    );
  }
  const { config, issues } = parseConfigText(text, path);
  return { path, config, issues };
}

/** Read, parse and require a valid config file (ConfigError listing the issues otherwise). */
export async function loadConfig(path: string): Promise<{ config: CompiledConfig; warnings: ConfigIssue[] }> {
  const loaded = await readConfigFile(path);
  const errors = loaded.issues.filter((i) => i.severity === 'error');
  if (loaded.config === null || errors.length > 0) {
    throw new ConfigError(
      `the config file ${path} is not valid (${errors.length} ${errors.length === 1 ? 'error' : 'errors'}); fix it (tandem config check ${path})`,
      loaded.issues,
    );
  }
  return { config: loaded.config, warnings: loaded.issues.filter((i) => i.severity === 'warning') };
}

/** Derive the API credential from the config's secret file. Throws ConfigError when it is unreadable or empty. */
export async function readApiToken(config: CompiledConfig): Promise<string> {
  const file = config.cluster.secretFile;
  let raw: Buffer;
  try {
    raw = await readFile(file);
  } catch (err) {
    throw new ConfigError(
      `cannot read the cluster secret file ${file}: ${errCode(err)}; run the CLI as a user that can read it (usually root), ` +
        'or point cluster.secretFile at the right file',
      [],
      { cause: err },
    );
  }
  const secret = secretFromFile(raw);
  if (secret.length === 0) {
    throw new ConfigError(
      `the cluster secret file ${file} is empty; write the same random secret to it on every server (e.g. openssl rand -hex 32)`,
      [],
    );
  }
  return apiToken(secret, config.cluster.name);
}

/** `HOST`, `HOST:PORT`, `[V6]`, `[V6]:PORT` or a bare IPv6 address. Null port = not given. */
export function parseHostOption(value: string): { host: string; port: number | null } {
  const bad = (): never => {
    throw new ConfigError(
      `--host ${value}: not HOST[:PORT]; give a server name or an address, e.g. --host node-2 or --host 10.0.0.2:29003`,
      [],
    );
  };
  let host = value;
  let portText: string | null = null;
  const v6 = /^\[([^\]]+)\](?::(.*))?$/.exec(value);
  if (v6 !== null) {
    host = v6[1] ?? '';
    portText = v6[2] ?? null;
  } else if ((value.match(/:/g) ?? []).length === 1) {
    const i = value.indexOf(':');
    host = value.slice(0, i);
    portText = value.slice(i + 1);
  }
  if (host === '') bad();
  if (portText === null) return { host, port: null };
  if (!/^\d{1,5}$/.test(portText)) bad();
  const port = Number(portText);
  if (port < 1 || port > 65535) bad();
  return { host, port };
}

function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::' || address === '[::]';
}

/** Predicate: is `address` an address of this machine (any interface, the whole 127.0.0.0/8, ::1)? */
export function localAddressPredicate(
  interfaces: ReturnType<typeof networkInterfaces> = networkInterfaces(),
): (address: string) => boolean {
  const mine = new Set<string>();
  for (const list of Object.values(interfaces)) for (const a of list ?? []) mine.add(a.address);
  return (address) => mine.has(address) || /^127\.\d+\.\d+\.\d+$/.test(address) || address === '::1';
}

/** The API endpoint chosen for a request. */
export interface ApiEndpoint {
  address: string;
  port: number;
  /** Server whose API this is, or null when --host named an address of no server. */
  server: string | null;
  baseUrl: string;
}

/** `http://ADDRESS:PORT`, bracketing IPv6 and replacing a wildcard address by loopback. */
export function baseUrlFor(address: string, port: number): string {
  let a = address;
  if (a === '0.0.0.0') a = '127.0.0.1';
  else if (a === '::' || a === '[::]') a = '::1';
  return a.includes(':') && !a.startsWith('[') ? `http://[${a}]:${port}` : `http://${a}:${port}`;
}

function endpoint(address: string, port: number, server: string | null): ApiEndpoint {
  return { address, port, server, baseUrl: baseUrlFor(address, port) };
}

/** Pick the API to talk to (see the module comment for the order). */
export function pickApiEndpoint(
  config: CompiledConfig,
  opts: { host?: string | undefined; isLocal: (address: string) => boolean },
): ApiEndpoint {
  if (opts.host !== undefined) {
    const { host, port } = parseHostOption(opts.host);
    const byName = config.servers.find((s) => s.name === host);
    if (byName !== undefined) return endpoint(byName.api.address, port ?? byName.api.port, byName.name);
    const byAddress = config.servers.find(
      (s) => s.api.address === host || s.interconnects.some((i) => i.address === host),
    );
    return endpoint(host, port ?? byAddress?.api.port ?? DEFAULT_API_PORT, byAddress?.name ?? null);
  }
  const isLocalServer = (s: CompiledServer): boolean =>
    (!isWildcard(s.api.address) && opts.isLocal(s.api.address)) ||
    s.interconnects.some((i) => opts.isLocal(i.address));
  const chosen = config.servers.find(isLocalServer) ?? config.servers[0];
  if (chosen === undefined) {
    throw new ConfigError(
      `the config file ${config.sourceFile} lists no servers; add the cluster's servers under servers:`,
      [],
    );
  }
  return endpoint(chosen.api.address, chosen.api.port, chosen.name);
}

/** Everything the CLI needs to call the API. */
export interface ClientTarget {
  configPath: string;
  config: CompiledConfig;
  /** Config warnings (printed by `config check`; other commands stay quiet about them). */
  warnings: ConfigIssue[];
  token: string;
  endpoint: ApiEndpoint;
}

/** Load the config and secret and pick the API endpoint. Throws ConfigError (CLI exit 2) on any problem. */
export async function resolveClientTarget(opts: {
  configPath: string;
  host?: string | undefined;
  isLocal?: (address: string) => boolean;
}): Promise<ClientTarget> {
  const { config, warnings } = await loadConfig(opts.configPath);
  const token = await readApiToken(config);
  const ep = pickApiEndpoint(config, { host: opts.host, isLocal: opts.isLocal ?? localAddressPredicate() });
  return { configPath: opts.configPath, config, warnings, token, endpoint: ep };
}

function errCode(err: unknown): string {
  if (typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string') {
    return (err as { code: string }).code;
  }
  return err instanceof Error ? err.message : String(err);
}
