/**
 * What `tandem daemon` checks before it wires anything (issue 3, sections 2 and 3): the command line, the
 * config file (a bad config never starts a daemon: exit 2 with every issue as `FILE:LINE:COL: path: what is
 * wrong; how to fix it`, the same lines as `tandem config check`; warnings are printed and do not stop it),
 * the server name, the secret file and the state directory. Every failure is a `StartupError` carrying the
 * exit code and the full text to print, which names the object and the remedy.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { formatIssue, parseConfigText } from '../shared/config/index.ts';
import type { CompiledConfig, CompiledServer } from '../shared/config/types.ts';
import { secretFromFile } from '../shared/credential.ts';
import { TandemError } from '../shared/errors.ts';

export const DEFAULT_CONFIG = '/etc/tandem/cluster.yaml';
export const DEFAULT_STATE_DIR = '/var/lib/tandem';
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type DaemonLogLevel = (typeof LOG_LEVELS)[number];

export function usage(prog: string): string {
  return `Usage: ${prog} daemon --config FILE --server NAME [--state-dir DIR] [--log-level LEVEL]

Runs this server's cluster daemon: heartbeats, NP resolution, failover groups, monitors and the control API.

  --config FILE      cluster config (default: $TANDEM_CONFIG, else ${DEFAULT_CONFIG})
  --server NAME      this server's name in the config (default: the host name)
  --state-dir DIR    alert log, saved state, decision inputs, pid files (default: ${DEFAULT_STATE_DIR})
  --log-level LEVEL  ${LOG_LEVELS.join(' | ')} (default: info)

SIGTERM or SIGINT stops the daemon gracefully: its groups are stopped and the peers told, so they fail over
at once. A second signal exits at once.
`;
}

/** A reason not to start, with the exit code (2: usage or config error) and the text for stderr. */
export class StartupError extends TandemError {
  readonly exitCode: number;
  constructor(exitCode: number, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.exitCode = exitCode;
  }
}

export interface DaemonArgs {
  configPath: string;
  server: string | null;
  stateDir: string;
  logLevel: DaemonLogLevel;
  help: boolean;
}

/** Parse `daemon ...` arguments (a leading `daemon` verb is skipped). */
export function parseDaemonArgs(argv: string[], env: NodeJS.ProcessEnv, prog: string): DaemonArgs {
  const args = argv[0] === 'daemon' ? argv.slice(1) : argv;
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        config: { type: 'string' },
        server: { type: 'string' },
        'state-dir': { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new StartupError(2, `${prog} daemon: ${(err as Error).message}\n\n${usage(prog)}`, { cause: err });
  }
  const level = values['log-level'] ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new StartupError(
      2,
      `${prog} daemon: --log-level ${level} is not a level; use one of ${LOG_LEVELS.join(', ')}\n`,
    );
  }
  const cfg = values.config ?? env.TANDEM_CONFIG ?? DEFAULT_CONFIG;
  return {
    configPath: resolve(cfg),
    server: values.server ?? null,
    stateDir: resolve(values['state-dir'] ?? DEFAULT_STATE_DIR),
    logLevel: level as DaemonLogLevel,
    help: values.help === true,
  };
}

/** Read and compile the config; returns it with the warning lines to print. */
export function loadDaemonConfig(path: string, prog: string): { config: CompiledConfig; warnings: string[] } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new StartupError(
      2,
      `${prog} daemon: cannot read the config file ${path} (${code}); pass --config FILE or set TANDEM_CONFIG to the cluster's config file\n`,
      { cause: err },
    );
  }
  const { config, issues } = parseConfigText(text, path);
  const lines = issues.map((i) => formatIssue(i, path));
  const errors = issues.filter((i) => i.severity === 'error').length;
  if (config === null || errors > 0) {
    throw new StartupError(
      2,
      `${prog} daemon: the config file ${path} is not valid (${errors} ${errors === 1 ? 'error' : 'errors'}); ` +
        `fix it and check it with: ${prog} config check ${path}\n` +
        lines.map((l) => l + '\n').join(''),
    );
  }
  return { config, warnings: lines };
}

export function findServer(config: CompiledConfig, name: string | null, prog: string): CompiledServer {
  const wanted = name ?? hostname();
  const s = config.servers.find((x) => x.name === wanted);
  if (s) return s;
  const known = config.servers.map((x) => x.name).join(', ');
  throw new StartupError(
    2,
    `${prog} daemon: server ${wanted}${name === null ? ' (the host name)' : ''} is not in the servers of ${config.sourceFile}; ` +
      `pass --server with one of: ${known}\n`,
  );
}

/** The cluster secret (see secretFromFile); missing or empty -> exit 2 with how to create one. */
export function readSecret(config: CompiledConfig, prog: string): Buffer {
  const file = config.cluster.secretFile;
  const create = `create it on one server with: head -c 32 /dev/urandom | base64 > ${file}; chmod 600 ${file} (then copy the same file to every server)`;
  let raw: Buffer;
  try {
    raw = readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    const what = code === 'ENOENT' ? 'does not exist' : `cannot be read (${code})`;
    throw new StartupError(2, `${prog} daemon: the cluster secret file ${file} ${what}; ${create}\n`, {
      cause: err,
    });
  }
  const secret = secretFromFile(raw);
  if (secret.length === 0) {
    throw new StartupError(2, `${prog} daemon: the cluster secret file ${file} is empty; ${create}\n`);
  }
  return secret;
}

export function ensureStateDir(dir: string, prog: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new StartupError(
      2,
      `${prog} daemon: cannot create the state directory ${dir} (${code}); pass --state-dir DIR with a writable directory, or run as a user that may create it\n`,
      { cause: err },
    );
  }
}
