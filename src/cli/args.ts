/**
 * Command-line parsing shared by `tandem` (src/cli/main.ts) and the compatibility commands
 * (src/cli/compat.ts): long options (`--name value`, `--name=value`), short options (`-h value`, `-s`),
 * positionals, and `--` to end options. Anything not declared is a usage error (exit 2).
 */
import { TandemError } from '../shared/errors.ts';

export interface OptionSpec {
  /** Long name without dashes (`config`), or the letter of a short-only option (`s`). */
  name: string;
  /** One-letter alias (`h` for `-h`). */
  short?: string;
  /** True when the option takes a value. */
  value: boolean;
}

/** A usage error: exit code 2, with the usage text of the command it concerns. */
export class UsageError extends TandemError {
  readonly usage: string;
  constructor(message: string, usage: string) {
    super(message);
    this.usage = usage;
  }
}

export interface ParsedArgs {
  /** Option name -> value (`true` for flags). The last occurrence wins. */
  options: Map<string, string | true>;
  /** Options in the order given (for "not valid here" checks and conflicts). */
  order: string[];
  positionals: string[];
}

/** Parse `argv` against `specs`; `usage` is attached to every UsageError. */
export function parseArgs(argv: readonly string[], specs: readonly OptionSpec[], usage: string): ParsedArgs {
  const options = new Map<string, string | true>();
  const order: string[] = [];
  const positionals: string[] = [];
  const byLong = new Map(specs.filter((s) => s.name.length > 1).map((s) => [s.name, s]));
  const byShort = new Map<string, OptionSpec>();
  for (const s of specs) {
    if (s.short !== undefined) byShort.set(s.short, s);
    if (s.name.length === 1) byShort.set(s.name, s);
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    let spec: OptionSpec | undefined;
    let shown: string;
    let inline: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      inline = eq === -1 ? undefined : arg.slice(eq + 1);
      spec = byLong.get(name);
      shown = `--${name}`;
    } else if (arg.startsWith('-') && arg.length === 2) {
      spec = byShort.get(arg.slice(1));
      shown = arg;
    } else {
      positionals.push(arg);
      continue;
    }
    if (spec === undefined) throw new UsageError(`unknown option ${shown}`, usage);
    let value: string | true = true;
    if (spec.value) {
      if (inline !== undefined) value = inline;
      else {
        const next = argv[i + 1];
        if (next === undefined || (next.startsWith('-') && next.length > 1)) {
          throw new UsageError(`option ${shown} needs a value`, usage);
        }
        value = next;
        i++;
      }
      if (value === '') throw new UsageError(`option ${shown} needs a value`, usage);
    } else if (inline !== undefined) {
      throw new UsageError(`option ${shown} takes no value`, usage);
    }
    options.set(spec.name, value);
    order.push(spec.name);
  }
  return { options, order, positionals };
}

/** The string value of an option (undefined when absent). */
export function stringOpt(args: ParsedArgs, name: string): string | undefined {
  const v = args.options.get(name);
  return typeof v === 'string' ? v : undefined;
}

/** A non-negative integer option, or a UsageError naming it. */
export function intOpt(
  args: ParsedArgs,
  name: string,
  usage: string,
  min: number,
  max: number,
): number | undefined {
  const v = stringOpt(args, name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
    throw new UsageError(`--${name} ${v}: must be a whole number from ${min} to ${max}`, usage);
  }
  return Number(v);
}
