/**
 * What every CLI command gets: its I/O (injected, so commands are tested without a process or a socket),
 * the output format, the config path and `--host`, and a lazily built API client.
 */
import type { TandemClient } from '../client/client.ts';
import type { OptionSpec, ParsedArgs } from './args.ts';
import { renderJson } from './output/json.ts';

/** The API client methods the CLI uses (TandemClient, or a fake in tests). */
export type ApiClient = Pick<
  TandemClient,
  | 'status'
  | 'cluster'
  | 'groups'
  | 'alerts'
  | 'plan'
  | 'clusterStart'
  | 'clusterStop'
  | 'groupStart'
  | 'groupStop'
  | 'groupMove'
  | 'groupReset'
  | 'resourceStart'
  | 'resourceStop'
  | 'monitorSuspend'
  | 'monitorResume'
  | 'serverConfirmDown'
  | 'mdStatus'
  | 'mdBreak'
  | 'mdRecover'
  | 'mdForce'
>;

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: Record<string, string | undefined>;
  /** Directory that relative paths are resolved against. */
  cwd: string;
  /** Build the API client for a config file and `--host` (reads the config and the secret). */
  connect(opts: { configPath: string; host: string | undefined }): Promise<ApiClient>;
}

export type OutputFormat = 'text' | 'json';

export interface CommandContext {
  /** Program name for messages (`tandem`, `clpgrp`). */
  prog: string;
  io: CliIo;
  format: OutputFormat;
  /** `--config`, else TANDEM_CONFIG, else /etc/tandem/cluster.yaml; absolute. */
  configPath: string;
  /** True when the config path came from `--config` or TANDEM_CONFIG rather than the default. */
  configExplicit: boolean;
  host: string | undefined;
  /** The API client (built on first use). */
  client(): Promise<ApiClient>;
}

/** One `tandem VERB` command. */
export interface Command {
  verb: string;
  /** One line for the command list of `tandem --help`. */
  summary: string;
  /** Usage lines of this verb (without the global options). */
  usage: string[];
  /** Options of this verb besides the global ones. */
  options: OptionSpec[];
  /** Run with the verb's positionals (after the verb) and all parsed options; resolves to the exit code. */
  run(ctx: CommandContext, positionals: string[], args: ParsedArgs): Promise<number>;
}

/** Print `value` as JSON or through `render`. */
export function emit<T>(ctx: CommandContext, value: T, render: (v: T) => string): void {
  ctx.io.stdout(ctx.format === 'json' ? renderJson(value) : render(value));
}
