/**
 * The one interface every group resource type implements (STYLE.md 8), in the spirit of OCF agents:
 * `start`, `stop` (idempotent), `monitor` (never a boolean), `validate` and `describe`. Monitor resource
 * types implement `MonitorDriver`. The daemon's executor calls them with a deadline and an AbortSignal and
 * turns whatever happens into an `ExecOutcome` (STYLE.md 9): a driver resolves with its result, or throws a
 * `ResourceError` (code from its message table), and the executor maps timeouts and aborts itself.
 */
import type { AwsAccess } from '../aws/types.ts';
import type { MirrorHost } from '../mirror/host.ts';
import type { MonitorResult, StartStopResult } from '../core/types.ts';
import type { CompiledConfig, CompiledMonitor, CompiledResource } from '../shared/config/types.ts';
import type { MessageEntry } from '../shared/errors.ts';

/** Context of one driver call. */
export interface DriverContext {
  /** The server this daemon runs as. */
  server: string;
  config: CompiledConfig;
  /** Aborted when the call's timeout passes or the daemon cancels it (e.g. a hard stop on isolation). */
  signal: AbortSignal;
  /** Log lines attributed to the object (stdout/stderr of scripts go here). */
  log: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
  /** Directory for this server's runtime state (pid files and the like). */
  stateDir: string;
  /** The process's AWS access (one per daemon, from the config's `aws:` section). */
  aws: AwsAccess;
  /** The mirror disk volumes of this server (md resources); null outside the daemon (tests, tools). */
  mirror?: MirrorHost | null;
  /**
   * This call's deadline in ms (the action's timeout, which can be shorter than the resource's own, e.g.
   * the isolation stop bound), so drivers can budget their calls and report a timeout themselves first.
   */
  timeoutMs?: number;
}

export interface ResourceCallEnv {
  event: 'START' | 'FAILOVER' | 'RECOVER';
  failoverFrom: string | null;
  /** Stop only: no grace period. */
  hard?: boolean;
}

/** What a driver call resolves to when it ran to completion. */
export interface DriverResult<R> {
  result: R;
  /** Code from the type's message table when `result` is a failure. */
  code?: number;
  message?: string;
}

export interface ParamDescription {
  name: string;
  type: 'string' | 'number' | 'boolean' | 'duration' | 'string[]' | 'record';
  required: boolean;
  default?: unknown;
  perServer: boolean;
  description: string;
}

export interface TypeDescription {
  type: string;
  description: string;
  params: ParamDescription[];
  /** Smallest sensible timeout for start/stop, ms. */
  minTimeoutMs: number;
  messages: readonly MessageEntry[];
}

export interface ResourceDriver {
  readonly type: string;
  describe(): TypeDescription;
  /** Extra checks beyond the schema; returns problems as text (empty = fine). */
  validate(resource: CompiledResource, config: CompiledConfig): string[];
  start(
    resource: CompiledResource,
    env: ResourceCallEnv,
    ctx: DriverContext,
  ): Promise<DriverResult<StartStopResult>>;
  /** Idempotent: stopping a stopped resource succeeds. */
  stop(
    resource: CompiledResource,
    env: ResourceCallEnv,
    ctx: DriverContext,
  ): Promise<DriverResult<StartStopResult>>;
  /** `running`, `stopped`, `failed` or `degraded`; used for the startup probe too. */
  monitor(resource: CompiledResource, ctx: DriverContext): Promise<DriverResult<MonitorResult>>;
}

export interface MonitorDriver {
  readonly type: string;
  describe(): TypeDescription;
  validate(monitor: CompiledMonitor, config: CompiledConfig): string[];
  /** `running` = normal, `degraded` = warning, `failed`/`stopped` = error. */
  check(monitor: CompiledMonitor, ctx: DriverContext): Promise<DriverResult<MonitorResult>>;
}

/** Merge a resource's or monitor's common params with its per-server overrides. */
export function paramsFor(
  obj: { params: Record<string, unknown>; perServer: Record<string, Record<string, unknown>> },
  server: string,
): Record<string, unknown> {
  return { ...obj.params, ...(obj.perServer[server] ?? {}) };
}
