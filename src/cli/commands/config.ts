/**
 * `tandem config check [FILE]`, `tandem config schema`, `tandem config show [FILE]`: work on a config file
 * locally (no daemon needed). `check` prints every issue as `FILE:LINE:COL: path.to.key: what is wrong;
 * how to fix it` and exits 2 when there is an error (warnings alone keep exit 0). `show` prints the
 * compiled config (every default filled in, durations in ms): it holds the secret file's path, never the
 * secret.
 */
import { stringify } from 'yaml';
import { readConfigFile } from '../../client/credentials.ts';
import { configJsonSchema, formatIssue, maskUrlPassword } from '../../shared/config/index.ts';
import { UsageError } from '../args.ts';
import type { Command, CommandContext } from '../context.ts';
import { renderJson } from '../output/json.ts';
import { renderConfigCheck } from '../output/text.ts';
import { resolve } from 'node:path';
import { readFile, stat } from 'node:fs/promises';
import type { ConfigIssue } from '../../shared/config/types.ts';

export const configCommand: Command = {
  verb: 'config',
  summary: 'check a config file, print its JSON Schema, or show it compiled',
  usage: ['config check [FILE]', 'config schema', 'config show [FILE]'],
  options: [],
  async run(ctx, positionals) {
    const [action, file, extra] = positionals;
    if (extra !== undefined) throw new UsageError(`unexpected argument ${extra}`, '');
    switch (action) {
      case 'check':
        return check(ctx, fileArg(ctx, file));
      case 'show':
        return show(ctx, fileArg(ctx, file));
      case 'schema':
        if (file !== undefined) throw new UsageError(`unexpected argument ${file}`, '');
        ctx.io.stdout(renderJson(configJsonSchema()));
        return 0;
      default:
        throw new UsageError(
          action === undefined ? 'missing check, schema or show' : `unknown action ${action}`,
          '',
        );
    }
  },
};

function fileArg(ctx: CommandContext, file: string | undefined): string {
  return file === undefined ? ctx.configPath : resolve(ctx.io.cwd, file);
}

/** Show paths as the user typed them when they are under the working directory. */
function shown(ctx: CommandContext, path: string): string {
  if (ctx.io.cwd === '/') return path;
  const prefix = ctx.io.cwd.endsWith('/') ? ctx.io.cwd : ctx.io.cwd + '/';
  return path.startsWith(prefix) ? path.slice(prefix.length) : path;
}

/**
 * The secret file is outside the pure config layer (it is I/O), so `config check` looks at it here: it must
 * exist and hold something, and should not be readable by other users. Positions point at `secretFile`.
 */
async function secretIssues(path: string, secretFile: string): Promise<ConfigIssue[]> {
  let line = 0;
  let col = 0;
  try {
    const lines = (await readFile(path, 'utf8')).split('\n');
    const i = lines.findIndex((l) => /^\s*secretFile\s*:/.test(l));
    if (i >= 0) {
      line = i + 1;
      col = lines[i]!.indexOf('secretFile') + 1;
    }
  } catch {
    // the config was just read; a race here only loses the position
  }
  const issue = (severity: 'error' | 'warning', message: string, remedy: string): ConfigIssue[] => [
    { severity, path: 'cluster.secretFile', line, col, message, remedy },
  ];
  const create = `create it on every server: head -c 32 /dev/urandom | base64 > ${secretFile}; chmod 600 ${secretFile}`;
  let st;
  try {
    st = await stat(secretFile);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    return issue('error', `the secret file ${secretFile} cannot be read (${code})`, create);
  }
  if (!st.isFile() || st.size === 0)
    return issue('error', `the secret file ${secretFile} is empty or not a file`, create);
  if ((st.mode & 0o077) !== 0)
    return issue(
      'warning',
      `the secret file ${secretFile} is readable by other users (mode ${(st.mode & 0o777).toString(8)})`,
      `chmod 600 ${secretFile}: whoever reads it can forge heartbeats and call the API`,
    );
  return [];
}

async function check(ctx: CommandContext, path: string): Promise<number> {
  const loaded = await readConfigFile(path);
  if (loaded.config) loaded.issues.push(...(await secretIssues(path, loaded.config.cluster.secretFile)));
  const name = shown(ctx, path);
  const errors = loaded.issues.filter((i) => i.severity === 'error').length;
  const warnings = loaded.issues.length - errors;
  const valid = loaded.config !== null && errors === 0;
  if (ctx.format === 'json') {
    ctx.io.stdout(renderJson({ file: path, valid, errors, warnings, issues: loaded.issues }));
  } else {
    const c = loaded.config;
    ctx.io.stdout(
      renderConfigCheck({
        file: name,
        lines: loaded.issues.map((i) => formatIssue(i, name)),
        errors,
        warnings,
        summary:
          valid && c !== null
            ? {
                cluster: c.cluster.name,
                servers: c.servers.length,
                groups: c.groups.length,
                resources: c.resources.length,
                monitors: c.monitors.length,
              }
            : null,
      }),
    );
  }
  return valid ? 0 : 2;
}

async function show(ctx: CommandContext, path: string): Promise<number> {
  const loaded = await readConfigFile(path);
  const errors = loaded.issues.filter((i) => i.severity === 'error');
  if (loaded.config === null || errors.length > 0) {
    const name = shown(ctx, path);
    ctx.io.stderr(
      `${ctx.prog}: the config file ${name} is not valid (${errors.length} ${errors.length === 1 ? 'error' : 'errors'}); ` +
        `fix it (${ctx.prog} config check ${name})\n` +
        loaded.issues.map((i) => formatIssue(i, name) + '\n').join(''),
    );
    return 2;
  }
  // A proxy URL may carry a password: never print it.
  const c = loaded.config;
  const config = c.aws.proxy === null ? c : { ...c, aws: { ...c.aws, proxy: maskUrlPassword(c.aws.proxy) } };
  if (ctx.format === 'json') {
    ctx.io.stdout(renderJson(config));
  } else {
    ctx.io.stdout(
      `# ${path} compiled: every default filled in, durations in milliseconds; secrets are never shown\n` +
        stringify(config, { lineWidth: 0 }),
    );
  }
  return 0;
}
