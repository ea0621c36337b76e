/**
 * `tandem config check [FILE]`, `tandem config schema`, `tandem config show [FILE]`: work on a config file
 * locally (no daemon needed). `check` prints every issue as `FILE:LINE:COL: path.to.key: what is wrong;
 * how to fix it` and exits 2 when there is an error (warnings alone keep exit 0). `show` prints the
 * compiled config (every default filled in, durations in ms): it holds the secret file's path, never the
 * secret.
 */
import { stringify } from 'yaml';
import { readConfigFile } from '../../client/credentials.ts';
import { configJsonSchema, formatIssue } from '../../shared/config/index.ts';
import { UsageError } from '../args.ts';
import type { Command, CommandContext } from '../context.ts';
import { renderJson } from '../output/json.ts';
import { renderConfigCheck } from '../output/text.ts';
import { resolve } from 'node:path';

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

async function check(ctx: CommandContext, path: string): Promise<number> {
  const loaded = await readConfigFile(path);
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
  if (ctx.format === 'json') {
    ctx.io.stdout(renderJson(loaded.config));
  } else {
    ctx.io.stdout(
      `# ${path} compiled: every default filled in, durations in milliseconds; the secret itself is never shown\n` +
        stringify(loaded.config, { lineWidth: 0 }),
    );
  }
  return 0;
}
