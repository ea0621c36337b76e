/**
 * The per-type registry of group resources and monitors (issue section 2; issue 4 sections 2-3). Each type
 * declares the zod shape of its own keys, which of them may be set per server ("Set Up Individually" in
 * the seed's dialogs), its defaults, how its params compile, type-specific cross-checks and, for resource
 * types, an optional automatic monitor (as the seed adds `awsvipw` for every `awsvip`); the contract is in
 * type-spec.ts. The core schema (`schema.ts`) builds one strict object per registered type, so a new type
 * (md, ...) is added by defining it and listing it in `RESOURCE_TYPES` / `MONITOR_TYPES`, without touching
 * the core schema or the compiler. This file holds the local types (exec, custom, pid); the AWS types are
 * in resource-types-aws.ts, the mirror disk types (md, mdw, mdnw) in resource-types-mirror.ts.
 */
import { z } from 'zod';
import { DEFAULTS } from './defaults.ts';
import { listNames } from './issues.ts';
import { resolvePosix } from './posix-path.ts';
import { commandSchema, envNameSchema, nameSchema } from './primitives.ts';
import {
  awsAzMonitorType,
  awsDnsMonitorType,
  awsDnsResourceType,
  awsEipMonitorType,
  awsEipResourceType,
  awsFencingMonitorType,
  awsVipMonitorType,
  awsVipResourceType,
} from './resource-types-aws.ts';
import { mdConnectMonitorType, mdMonitorType, mdResourceType } from './resource-types-mirror.ts';
import type { MonitorTypeSpec, ResourceTypeSpec } from './type-spec.ts';
import { defineMonitorType, defineResourceType } from './type-spec.ts';
import type { CompiledMonitor, ExecParams } from './types.ts';

export type { MonitorTypeSpec, ResourceTypeSpec } from './type-spec.ts';

/**
 * `exec`: start/stop shell commands run by `/bin/sh -c` in the config file's directory. With
 * `async: true` the process the start command leaves running is the resource, watched by an automatic
 * `pid` monitor.
 */
export const execResourceType = defineResourceType({
  type: 'exec',
  description: 'Start and stop commands (run by /bin/sh in the config file directory).',
  params: {
    /** Start command (shell). Exit status 0 = started. Required. */
    start: commandSchema('start').describe('Start command, run by /bin/sh -c in the config file directory.'),
    /** Stop command (shell). @default none (nothing to run; an async process is still terminated) */
    stop: commandSchema('stop').optional().describe('Stop command; optional.'),
    /** Keep the start command's process as the resource, watched by a `pid` monitor. @default false */
    async: z.boolean().default(false).describe('Keep the started process as the resource. Default false.'),
    /** Extra environment variables for the commands (names must not start with TANDEM_). @default {} */
    env: z.record(envNameSchema(), z.string()).default({}).describe('Extra environment variables (strings).'),
  },
  perServerKeys: ['start', 'stop', 'env'],
  defaultTimeout: '60s',
  defaultDependsOnTypes: ['md', 'awsvip', 'awseip', 'awsdns'],
  compileParams(raw, ctx): Record<string, unknown> {
    const p: ExecParams = {
      start: raw.start,
      stop: raw.stop ?? null,
      async: raw.async,
      cwd: ctx.baseDir,
      env: raw.env,
    };
    return { ...p };
  },
  compileOverride(raw, common): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    if (raw.start !== undefined) out['start'] = raw.start;
    if (raw.stop !== undefined) out['stop'] = raw.stop;
    // Per-server env adds to (and may replace single variables of) the common env.
    if (raw.env !== undefined) out['env'] = { ...(common['env'] as Record<string, string>), ...raw.env };
    return out;
  },
  autoMonitor(resource, ctx): CompiledMonitor | null {
    if (resource.params['async'] !== true) return null;
    return {
      name: `pidw-${resource.name}`,
      type: 'pid',
      intervalMs: 5_000,
      timeoutMs: 10_000,
      retries: 0,
      startWaitMs: 0,
      activeResource: resource.name,
      recovery: {
        targetKind: 'resource',
        target: resource.name,
        action: 'custom',
        maxReactivations: 1,
        maxFailovers: 1,
        failoverTarget: 'stable',
        finalAction: 'none',
        scripts: {
          beforeReactivation: null,
          beforeFailover: null,
          beforeFinalAction: null,
          timeoutMs: 30_000,
          cwd: ctx.baseDir,
        },
        noResponse: 'recover',
      },
      params: { resource: resource.name },
      perServer: {},
      auto: true,
    };
  },
});

/** `custom`: a shell command; exit status 0 = normal, anything else = error. */
export const customMonitorType = defineMonitorType({
  type: 'custom',
  description: 'A command; exit status 0 = normal.',
  params: {
    /** Check command (shell), run by /bin/sh -c. Exit 0 = normal. Required. */
    command: commandSchema('command').describe('Check command; exit status 0 = normal.'),
    /** Working directory, relative to the config file's directory. @default the config file's directory */
    cwd: z.string().min(1).optional().describe('Working directory (relative to the config file).'),
  },
  perServerKeys: ['command', 'cwd'],
  defaults: {
    interval: DEFAULTS.monitorInterval,
    timeout: DEFAULTS.monitorTimeout,
    retries: DEFAULTS.monitorRetries,
    // A local check that hangs is a failure like any other (the seed's monitors treat a timeout as an error).
    noResponse: 'recover',
  },
  compileParams(raw, ctx): Record<string, unknown> {
    return { command: raw.command, cwd: resolvePosix(ctx.baseDir, raw.cwd ?? '.') };
  },
  compileOverride(raw, _common, ctx): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    if (raw.command !== undefined) out['command'] = raw.command;
    if (raw.cwd !== undefined) out['cwd'] = resolvePosix(ctx.baseDir, raw.cwd);
    return out;
  },
});

/**
 * `pid`: watches the process an `exec` resource with `async: true` started. Added automatically as
 * `pidw-<resource>`; declare one (it replaces the automatic one) to change its timing or recovery.
 */
export const pidMonitorType = defineMonitorType({
  type: 'pid',
  description: 'The process of an async exec resource is alive.',
  params: {
    /** Name of the `exec` resource (with `async: true`) whose process is watched. Required. */
    resource: nameSchema('resource name').describe('The async exec resource whose process is watched.'),
  },
  perServerKeys: [],
  // A vanished process does not come back by itself: a retry would only delay recovery by an interval.
  defaults: { interval: '5s', timeout: '10s', retries: 0, noResponse: 'recover' },
  compileParams(raw): Record<string, unknown> {
    return { resource: raw.resource };
  },
  compileOverride(): Record<string, unknown> {
    return {};
  },
  impliedResource(raw): string | null {
    return raw.resource;
  },
  check(raw, ctx, report): void {
    const r = ctx.resources.get(raw.resource);
    if (r === undefined) {
      if (!ctx.declaredResources.has(raw.resource)) {
        report(
          ['resource'],
          `unknown resource "${raw.resource}"`,
          `name an exec resource with async: true; resources: ${listNames([...ctx.declaredResources])}`,
        );
      }
      return;
    }
    if (r.type !== 'exec') {
      report(
        ['resource'],
        `resource "${raw.resource}" is of type ${r.type}, not exec`,
        'a pid monitor watches the process of an exec resource with async: true',
      );
    } else if (r.params['async'] !== true) {
      report(
        ['resource'],
        `exec resource "${raw.resource}" does not have async: true, so it leaves no process to watch`,
        `set async: true on ${raw.resource}, or use a custom monitor`,
      );
    }
  },
});

/** Every group resource type, in the order the docs list them. */
export const RESOURCE_TYPES = [
  execResourceType,
  awsVipResourceType,
  awsEipResourceType,
  awsDnsResourceType,
  mdResourceType,
] as const;
/** Every monitor type, in the order the docs list them. */
export const MONITOR_TYPES = [
  customMonitorType,
  pidMonitorType,
  awsVipMonitorType,
  awsEipMonitorType,
  awsDnsMonitorType,
  awsAzMonitorType,
  awsFencingMonitorType,
  mdMonitorType,
  mdConnectMonitorType,
] as const;

export type AnyResourceType = (typeof RESOURCE_TYPES)[number];
export type AnyMonitorType = (typeof MONITOR_TYPES)[number];

export function findResourceType(type: string): ResourceTypeSpec | undefined {
  return (RESOURCE_TYPES as readonly ResourceTypeSpec[]).find((t) => t.type === type);
}

export function findMonitorType(type: string): MonitorTypeSpec | undefined {
  return (MONITOR_TYPES as readonly MonitorTypeSpec[]).find((t) => t.type === type);
}

export const RESOURCE_TYPE_NAMES: readonly string[] = RESOURCE_TYPES.map((t) => t.type);
export const MONITOR_TYPE_NAMES: readonly string[] = MONITOR_TYPES.map((t) => t.type);
