/**
 * Compatibility commands for users of EXPRESSCLUSTER (issue section 4): `clpstat`, `clpcl`, `clpgrp`,
 * `clprsc` and `clpmonctrl`, as thin entries over the same API client, renderers and exit codes as
 * `tandem` (0 success, 1 refused or failed, 2 usage or config error). Each also accepts `--config FILE`
 * (or TANDEM_CONFIG) and `--json`.
 *
 * | command                                   | tandem equivalent                                  |
 * | ----------------------------------------- | -------------------------------------------------- |
 * | `clpstat [-s] [-h HOST]`                  | `tandem status [--host HOST]`                      |
 * | `clpcl -s\|-t [-a] [-h HOST]`             | `tandem cluster start\|stop [--all] [--host HOST]` |
 * | `clpgrp -s GROUP [-h SERVER]`             | `tandem group start GROUP [--to SERVER]`           |
 * | `clpgrp -s [-h SERVER]`                   | start every offline group (on SERVER if given)     |
 * | `clpgrp -t GROUP`                         | `tandem group stop GROUP`                          |
 * | `clpgrp -t [-h SERVER]`                   | stop every group running on SERVER (default: the server that answers) |
 * | `clpgrp -m GROUP [-h SERVER]`             | `tandem group move GROUP [--to SERVER]`            |
 * | `clprsc -s\|-t RESOURCE [-h HOST]`        | `tandem resource start\|stop RESOURCE`             |
 * | `clpmonctrl -s\|-r [-m MONITOR] [-h HOST]`| `tandem monitor suspend\|resume [MONITOR]`         |
 * | `clpmdstat [--mirror MD] [-h HOST]`       | `tandem md status [MD]`                            |
 * | `clpmdctrl --break MD [-h HOST]`          | `tandem md break MD`                               |
 * | `clpmdctrl --recovery MD [--source SERVER]` | `tandem md recover MD [--source SERVER]`         |
 *
 * In `clpgrp`, `-h` names the server the group goes to (as in EXPRESSCLUSTER); elsewhere it names the
 * server whose API is asked.
 */
import type { OptionSpec, ParsedArgs } from './args.ts';
import { parseArgs, stringOpt, UsageError } from './args.ts';
import { clusterCommand } from './commands/cluster.ts';
import { mdCommand } from './commands/md.ts';
import { monitorCommand } from './commands/monitor.ts';
import { resourceCommand } from './commands/resource.ts';
import { statusCommand } from './commands/status.ts';
import type { CliIo, CommandContext } from './context.ts';
import { commandContext, processIo, reportError } from './main.ts';
import { renderJson } from './output/json.ts';
import { renderOpResult } from './output/text.ts';
import type { OpResult } from '../client/types.ts';

export type CompatName = 'clpstat' | 'clpcl' | 'clpgrp' | 'clprsc' | 'clpmonctrl' | 'clpmdstat' | 'clpmdctrl';

const COMMON: OptionSpec[] = [
  { name: 'config', value: true },
  { name: 'json', value: false },
  { name: 'help', value: false },
];
const HOST: OptionSpec = { name: 'host', short: 'h', value: true };

interface CompatSpec {
  usage: string;
  options: OptionSpec[];
  run(ctx: CommandContext, args: ParsedArgs, usage: string): Promise<number>;
}

/** Exactly one of `flags` must be given; returns it. */
function oneOf(args: ParsedArgs, flags: readonly string[], usage: string): string {
  const given = flags.filter((f) => args.options.has(f));
  if (given.length !== 1) {
    throw new UsageError(`give exactly one of ${flags.map((f) => `-${f}`).join(', ')}`, usage);
  }
  return given[0] ?? '';
}

function noMore(rest: readonly string[], usage: string): void {
  if (rest.length > 0) throw new UsageError(`unexpected argument ${rest[0]}`, usage);
}

const SPECS: Record<CompatName, CompatSpec> = {
  clpstat: {
    usage: 'Usage: clpstat [-s] [-h HOST] [--config FILE] [--json]',
    options: [{ name: 's', value: false }, HOST],
    run(ctx, args, usage) {
      noMore(args.positionals, usage);
      return statusCommand.run(ctx, [], args);
    },
  },
  clpcl: {
    usage: 'Usage: clpcl -s|-t [-a] [-h HOST] [--config FILE] [--json]',
    options: [
      { name: 's', value: false },
      { name: 't', value: false },
      { name: 'all', short: 'a', value: false },
      HOST,
    ],
    run(ctx, args, usage) {
      const flag = oneOf(args, ['s', 't'], usage);
      noMore(args.positionals, usage);
      return clusterCommand.run(ctx, [flag === 's' ? 'start' : 'stop'], args);
    },
  },
  clpgrp: {
    usage:
      'Usage: clpgrp -s [GROUP] [-h SERVER]    start GROUP (every offline group without GROUP) [on SERVER]\n' +
      '       clpgrp -t [GROUP] [-h SERVER]    stop GROUP (every group running on SERVER without GROUP)\n' +
      '       clpgrp -m GROUP [-h SERVER]      move GROUP [to SERVER]\n' +
      '       (also --config FILE, --json)',
    options: [
      { name: 's', value: false },
      { name: 't', value: false },
      { name: 'm', value: false },
      { name: 'server', short: 'h', value: true },
    ],
    run: runClpgrp,
  },
  clprsc: {
    usage: 'Usage: clprsc -s|-t RESOURCE [-h HOST] [--config FILE] [--json]',
    options: [{ name: 's', value: false }, { name: 't', value: false }, HOST],
    run(ctx, args, usage) {
      const flag = oneOf(args, ['s', 't'], usage);
      const [name, ...rest] = args.positionals;
      if (name === undefined) throw new UsageError('missing the RESOURCE name', usage);
      noMore(rest, usage);
      return resourceCommand.run(ctx, [flag === 's' ? 'start' : 'stop', name], args);
    },
  },
  clpmonctrl: {
    usage: 'Usage: clpmonctrl -s|-r [-m MONITOR] [-h HOST] [--config FILE] [--json]',
    options: [
      { name: 's', value: false },
      { name: 'r', value: false },
      { name: 'monitor', short: 'm', value: true },
      HOST,
    ],
    run(ctx, args, usage) {
      const flag = oneOf(args, ['s', 'r'], usage);
      noMore(args.positionals, usage);
      const monitor = stringOpt(args, 'monitor');
      return monitorCommand.run(
        ctx,
        [flag === 's' ? 'suspend' : 'resume', ...(monitor === undefined ? [] : [monitor])],
        args,
      );
    },
  },
  clpmdstat: {
    usage: 'Usage: clpmdstat [--mirror MD] [-h HOST] [--config FILE] [--json]',
    options: [{ name: 'mirror', short: 'm', value: true }, HOST],
    run(ctx, args, usage) {
      noMore(args.positionals, usage);
      const md = stringOpt(args, 'mirror');
      return mdCommand.run(ctx, ['status', ...(md === undefined ? [] : [md])], args);
    },
  },
  clpmdctrl: {
    usage:
      'Usage: clpmdctrl --break MD [-h HOST]                   stop mirroring MD on HOST (its copy goes on alone)\n' +
      '       clpmdctrl --recovery MD [--source SERVER] [-h HOST]  resync MD from the copy on SERVER (default: the newer copy)\n' +
      '       clpmdctrl --force MD [-h HOST]                   allow one forced activation of the copy on HOST\n' +
      '       (also --config FILE, --json)',
    options: [
      { name: 'break', short: 'b', value: true },
      { name: 'recovery', short: 'r', value: true },
      { name: 'force', short: 'f', value: true },
      { name: 'source', value: true },
      HOST,
    ],
    run(ctx, args, usage) {
      noMore(args.positionals, usage);
      const brk = stringOpt(args, 'break');
      const rec = stringOpt(args, 'recovery');
      const frc = stringOpt(args, 'force');
      if ([brk, rec, frc].filter((x) => x !== undefined).length !== 1)
        throw new UsageError('give exactly one of --break MD, --recovery MD, --force MD', usage);
      if (brk !== undefined) return mdCommand.run(ctx, ['break', brk], args);
      if (frc !== undefined) return mdCommand.run(ctx, ['force', frc], args);
      return mdCommand.run(ctx, ['recover', rec ?? ''], args);
    },
  },
};

/** `clpgrp`: one group, or every group concerned when GROUP is omitted (exit 1 if any of them failed). */
async function runClpgrp(ctx: CommandContext, args: ParsedArgs, usage: string): Promise<number> {
  const flag = oneOf(args, ['s', 't', 'm'], usage);
  const [group, ...rest] = args.positionals;
  noMore(rest, usage);
  const server = stringOpt(args, 'server');
  if (group === undefined && flag === 'm') throw new UsageError('-m needs the GROUP to move', usage);
  if (group !== undefined && flag === 't' && server !== undefined) {
    throw new UsageError(
      '-t GROUP stops the group wherever it runs; -h SERVER goes with -t only without GROUP',
      usage,
    );
  }
  const client = await ctx.client();
  if (group !== undefined) {
    const r =
      flag === 's'
        ? await client.groupStart(group, server === undefined ? {} : { server })
        : flag === 'm'
          ? await client.groupMove(group, server === undefined ? {} : { to: server })
          : await client.groupStop(group);
    ctx.io.stdout(ctx.format === 'json' ? renderJson(r) : renderOpResult(r));
    return 0;
  }
  const status = await client.status();
  const names =
    flag === 's'
      ? status.groups.filter((g) => g.state === 'offline').map((g) => g.name)
      : status.groups
          .filter(
            (g) =>
              g.state !== 'offline' && g.server === (server ?? status.servers.find((s) => s.local)?.name),
          )
          .map((g) => g.name);
  const results: OpResult[] = [];
  let code = 0;
  for (const name of names) {
    try {
      const r =
        flag === 's'
          ? await client.groupStart(name, server === undefined ? {} : { server })
          : await client.groupStop(name);
      results.push(r);
      if (ctx.format === 'text') ctx.io.stdout(renderOpResult(r));
    } catch (err) {
      code = Math.max(
        code,
        reportError(err, { prog: ctx.prog, io: ctx.io, format: 'text', configPath: ctx.configPath, usage }),
      );
    }
  }
  if (ctx.format === 'json') ctx.io.stdout(renderJson({ results }));
  else if (names.length === 0) {
    ctx.io.stdout(
      flag === 's' ? 'no offline group to start\n' : `no group running on ${server ?? 'this server'}\n`,
    );
  }
  return code;
}

/** Run compatibility command `name` with `argv` (without the program name); resolves to the exit code. */
export async function compatMain(
  name: CompatName,
  argv: readonly string[],
  opts: { io?: Partial<CliIo> } = {},
): Promise<number> {
  const io: CliIo = { ...processIo(), ...opts.io };
  const spec = SPECS[name];
  let format: 'text' | 'json' = argv.includes('--json') ? 'json' : 'text';
  let configPath = '';
  try {
    const args = parseArgs(argv, [...COMMON, ...spec.options], spec.usage);
    if (args.options.has('help')) {
      io.stdout(spec.usage + '\n');
      return 0;
    }
    const ctx = commandContext(name, io, args, spec.usage);
    format = ctx.format;
    configPath = ctx.configPath;
    return await spec.run(ctx, args, spec.usage);
  } catch (err) {
    return reportError(err, { prog: name, io, format, configPath, usage: spec.usage });
  }
}
