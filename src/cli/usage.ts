/** Usage texts of `tandem` (shown by `--help` and with every usage error). */
import type { OptionSpec } from './args.ts';
import type { Command } from './context.ts';

/** Options every `tandem` command accepts. */
export const GLOBAL_OPTIONS: OptionSpec[] = [
  { name: 'config', value: true },
  { name: 'host', value: true },
  { name: 'json', value: false },
  { name: 'output', value: true },
  { name: 'help', short: 'h', value: false },
  { name: 'version', value: false },
];

const GLOBAL_HELP = [
  'Global options:',
  '  --config FILE        cluster config file (default: $TANDEM_CONFIG, else /etc/tandem/cluster.yaml)',
  '  --host HOST[:PORT]   ask this server (a server name or an address; default: the local server)',
  '  --json               print JSON (same as --output json)',
  '  --output text|json   output format (default text)',
  '  -h, --help           show help',
  '  --version            print the version',
  '',
  'Exit codes: 0 success, 1 operation refused or failed, 2 usage or config error.',
];

/** `tandem --help`. */
export function generalUsage(prog: string, commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.verb.length));
  return [
    `Usage: ${prog} COMMAND [OPTIONS]`,
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.verb.padEnd(width)}  ${c.summary}`),
    `  ${'daemon'.padEnd(width)}  run the cluster daemon (${prog} daemon --config FILE --server NAME [--state-dir DIR])`,
    `  ${'witness'.padEnd(width)}  run the witness heartbeat service (${prog} witness --listen ADDR:PORT)`,
    `  ${'simulate'.padEnd(width)}  replay a saved decision through the core (${prog} simulate --input FILE --config FILE)`,
    `  ${'sim'.padEnd(width)}  run the local AWS simulator (${prog} sim [--world FILE] [--listen HOST:PORT]; ${prog} sim show)`,
    '',
    ...GLOBAL_HELP,
    '',
    `Run ${prog} COMMAND --help for the usage of one command.`,
  ].join('\n');
}

/** The usage lines of one verb: `Usage: tandem group start|stop|move NAME [--to SERVER]`. */
export function shortUsage(prog: string, cmd: Command): string {
  return cmd.usage.map((u, i) => `${i === 0 ? 'Usage:' : '      '} ${prog} ${u}`).join('\n');
}

/** `tandem VERB --help`. */
export function commandUsage(prog: string, cmd: Command): string {
  return [shortUsage(prog, cmd), '', cmd.summary, '', ...GLOBAL_HELP].join('\n');
}
