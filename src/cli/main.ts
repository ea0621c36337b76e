/**
 * `tandem` (issue "Cluster core", section 4): parses the global options (`--config`, `--host`, `--json` /
 * `--output`, `--help`, `--version`), dispatches to `src/cli/commands/<verb>.ts`, and turns every failure
 * into a message and an exit code: 0 success, 1 operation refused or failed (the message names the object
 * and the code), 2 usage or config error (including a credential the API refuses: the config or its
 * secret file is not the cluster's).
 *
 * `bin/tandem` calls `main(argv, { prog })` for every verb except `daemon` and `witness`. Tests pass `io`
 * to capture output and to inject an API client.
 */
import { readFileSync } from 'node:fs';
import { ApiClientError, TandemClient } from '../client/client.ts';
import { resolveClientTarget, resolveConfigPath } from '../client/credentials.ts';
import { formatIssue } from '../shared/config/index.ts';
import { ConfigError, OperationErrorCode } from '../shared/errors.ts';
import type { OptionSpec, ParsedArgs } from './args.ts';
import { parseArgs, stringOpt, UsageError } from './args.ts';
import { alertsCommand } from './commands/alerts.ts';
import { clusterCommand } from './commands/cluster.ts';
import { configCommand } from './commands/config.ts';
import { doctorCommand } from './commands/doctor.ts';
import { groupCommand } from './commands/group.ts';
import { monitorCommand } from './commands/monitor.ts';
import { planCommand } from './commands/plan.ts';
import { resourceCommand } from './commands/resource.ts';
import { mdCommand } from './commands/md.ts';
import { serverCommand } from './commands/server.ts';
import { statusCommand } from './commands/status.ts';
import type { ApiClient, CliIo, Command, CommandContext, OutputFormat } from './context.ts';
import { renderJson, renderJsonError } from './output/json.ts';
import { renderApiError } from './output/text.ts';
import { commandUsage, generalUsage, GLOBAL_OPTIONS, shortUsage } from './usage.ts';

/** Every `tandem` command, in the order `--help` lists them. */
export const COMMANDS: readonly Command[] = [
  statusCommand,
  clusterCommand,
  groupCommand,
  resourceCommand,
  monitorCommand,
  serverCommand,
  mdCommand,
  alertsCommand,
  planCommand,
  configCommand,
  doctorCommand,
];

/** The package version (package.json). */
export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version?: unknown;
  };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

/** I/O of the real process: stdout/stderr, the environment, and a TandemClient from the config file. */
export function processIo(): CliIo {
  return {
    stdout: (t) => void process.stdout.write(t),
    stderr: (t) => void process.stderr.write(t),
    env: process.env,
    cwd: process.cwd(),
    async connect({ configPath, host }): Promise<ApiClient> {
      const target = await resolveClientTarget({ configPath, host });
      return new TandemClient({ baseUrl: target.endpoint.baseUrl, token: target.token });
    },
  };
}

/** Build the context shared by the commands from the parsed global options. */
export function commandContext(prog: string, io: CliIo, args: ParsedArgs, usage: string): CommandContext {
  const output = stringOpt(args, 'output');
  if (output !== undefined && output !== 'json' && output !== 'text') {
    throw new UsageError(`--output ${output}: must be text or json`, usage);
  }
  const format: OutputFormat = args.options.has('json') || output === 'json' ? 'json' : 'text';
  const configOption = stringOpt(args, 'config');
  const configPath = resolveConfigPath(configOption, io.env, io.cwd);
  const host = stringOpt(args, 'host');
  let client: Promise<ApiClient> | undefined;
  return {
    prog,
    io,
    format,
    configPath,
    configExplicit: configOption !== undefined || (io.env['TANDEM_CONFIG'] ?? '') !== '',
    host,
    client: () => (client ??= io.connect({ configPath, host })),
  };
}

/** Run `tandem ARGV...`; resolves to the exit code. */
export async function main(
  argv: readonly string[],
  opts: { prog?: string; io?: Partial<CliIo> } = {},
): Promise<number> {
  const prog = opts.prog ?? 'tandem';
  const io: CliIo = { ...processIo(), ...opts.io };
  const general = generalUsage(prog, COMMANDS);
  const specs: OptionSpec[] = [...GLOBAL_OPTIONS];
  for (const c of COMMANDS)
    for (const o of c.options) if (!specs.some((s) => s.name === o.name)) specs.push(o);

  let cmd: Command | undefined;
  let format: OutputFormat = argv.includes('--json') ? 'json' : 'text';
  let configPath = '';
  try {
    const args = parseArgs(argv, specs, general);
    const [verb, ...rest] = args.positionals;
    if (args.options.has('version') || verb === 'version') {
      io.stdout(`${prog} ${version()}\n`);
      return 0;
    }
    if (verb === undefined) {
      if (args.options.has('help')) {
        io.stdout(general + '\n');
        return 0;
      }
      throw new UsageError('missing a command', general);
    }
    if (verb === 'help') {
      const about = COMMANDS.find((c) => c.verb === rest[0]);
      io.stdout((about === undefined ? general : commandUsage(prog, about)) + '\n');
      return 0;
    }
    cmd = COMMANDS.find((c) => c.verb === verb);
    if (cmd === undefined) throw new UsageError(`unknown command ${verb}`, general);
    const usage = shortUsage(prog, cmd);
    for (const name of args.order) {
      if (!GLOBAL_OPTIONS.some((g) => g.name === name) && !cmd.options.some((o) => o.name === name)) {
        throw new UsageError(`option --${name} is not valid for ${prog} ${cmd.verb}`, usage);
      }
    }
    if (args.options.has('help')) {
      io.stdout(commandUsage(prog, cmd) + '\n');
      return 0;
    }
    const ctx = commandContext(prog, io, args, usage);
    format = ctx.format;
    configPath = ctx.configPath;
    return await cmd.run(ctx, rest, args);
  } catch (err) {
    return reportError(err, {
      prog,
      io,
      format,
      configPath,
      usage: cmd === undefined ? general : shortUsage(prog, cmd),
    });
  }
}

/** Print a failure the way every command does and return its exit code. */
export function reportError(
  err: unknown,
  where: { prog: string; io: CliIo; format: OutputFormat; configPath: string; usage: string },
): number {
  const { prog, io, format } = where;
  if (err instanceof UsageError) {
    io.stderr(`${prog}: ${err.message}\n${err.usage === '' ? where.usage : err.usage}\n`);
    return 2;
  }
  if (err instanceof ConfigError) {
    if (format === 'json') {
      io.stdout(
        renderJson({
          error: {
            code: 'CONFIG_INVALID',
            object: `config ${where.configPath}`,
            message: err.message,
            remedy: `fix the config file (${prog} config check ${where.configPath})`,
          },
          issues: err.issues,
        }),
      );
    } else {
      io.stderr(
        `${prog}: ${err.message}\n` + err.issues.map((i) => formatIssue(i, where.configPath) + '\n').join(''),
      );
    }
    return 2;
  }
  if (err instanceof ApiClientError) {
    io[format === 'json' ? 'stdout' : 'stderr'](
      format === 'json'
        ? renderJsonError(err.body.error)
        : renderApiError(prog, err.body.error, err.status !== null),
    );
    return err.code === OperationErrorCode.unauthorized ? 2 : 1;
  }
  const message = err instanceof Error ? err.message : String(err);
  io.stderr(`${prog}: internal error: ${message}; this is a bug in Tandem, please report it\n`);
  return 1;
}
