/**
 * Compiler pass for monitors (issue section 2): names (unique, distinct from automatic monitors unless
 * replacing them), target and timing resources, the recovery target and ladder, type params with
 * per-server overrides, and the automatic monitors that no declared monitor replaces.
 *
 * The compiled recovery is normalized so the core can apply one ladder to every action: reactivate up
 * to `maxReactivations`, then fail over up to `maxFailovers`, then run `beforeFinalAction` and
 * `finalAction`. Counts an action does not use are 0 (docs/configuration.md, "Recovery").
 */
import { checkDuplicates, checkOverrideServers } from './build-context.ts';
import type { BuildContext } from './build-context.ts';
import { fencingMonitor } from './compile-aws.ts';
import type { GroupsResult } from './compile-groups.ts';
import { ownParams } from './compile-groups.ts';
import { DEFAULTS, FENCING_MONITOR, LOCAL_SERVER } from './defaults.ts';
import type { PathSeg } from './issues.ts';
import { didYouMean, listNames } from './issues.ts';
import { ms } from './primitives.ts';
import { findMonitorType } from './resource-types.ts';
import type { ParsedMonitor } from './schema.ts';
import type { MonitorTypeSpec } from './type-spec.ts';
import type {
  CompiledFencing,
  CompiledMonitor,
  CompiledRecovery,
  CompiledResource,
  RecoveryAction,
} from './types.ts';

/** What the monitors pass needs from the sections compiled before it. */
export interface MonitorsInput {
  /** The compiled `fencing:` section (adds the automatic `fencew` monitor), or null. */
  fencing: CompiledFencing | null;
  /** `aws.region` as written, or null. */
  awsRegion: string | null;
}

const COMMON_MONITOR_KEYS = new Set([
  'name',
  'type',
  'comment',
  'target',
  'interval',
  'timeout',
  'retries',
  'startWait',
  'timing',
  'recovery',
  'servers',
]);

interface MonitorRefs {
  /** The resource the monitor is about (`target`, or what its type implies), or null. */
  target: string | null;
  /** `timing.active`, or null for always. */
  activeResource: string | null;
}

function declaredResourceNames(ctx: BuildContext): string[] {
  return ctx.model.declared.resources.map((r) => r.name);
}

function unknownResource(ctx: BuildContext, path: readonly PathSeg[], name: string): void {
  const names = declaredResourceNames(ctx);
  ctx.issues.error(
    path,
    `unknown resource "${name}"`,
    `${didYouMean(name, names)}resources: ${listNames(names)}`,
  );
}

/** Resolves `target` and `timing`, reporting unknown resources. */
function compileRefs(
  ctx: BuildContext,
  m: ParsedMonitor,
  implied: string | null,
  impliedTiming: 'active' | 'always',
  path: readonly PathSeg[],
): MonitorRefs {
  const declared = new Set(declaredResourceNames(ctx));
  if (m.target !== undefined && !declared.has(m.target)) unknownResource(ctx, [...path, 'target'], m.target);
  const target = m.target ?? implied;

  let activeResource: string | null;
  if (m.timing === undefined) {
    activeResource = impliedTiming === 'always' ? null : implied;
  } else if (m.timing === 'always') {
    activeResource = null;
    if (implied !== null && impliedTiming === 'active') {
      ctx.issues.warn(
        [...path, 'timing'],
        `a ${m.type} monitor with timing always is in error wherever ${implied} is not running`,
        `write timing: { active: ${implied} } (the default for this type), or remove timing`,
      );
    }
  } else {
    activeResource = m.timing.active;
    if (!declared.has(activeResource)) {
      unknownResource(ctx, [...path, 'timing', 'active'], activeResource);
    } else if (implied !== null && activeResource !== implied) {
      ctx.issues.error(
        [...path, 'timing', 'active'],
        `a ${m.type} monitor of ${implied} can only be active while ${implied} is`,
        `write timing: { active: ${implied} }, or remove timing`,
      );
    }
  }
  return { target, activeResource };
}

/**
 * The recovery target (explicit or derived) and the normalized ladder. Target: as written; else the
 * monitor's target resource; else the type's default target (LocalServer for awsazw and awsfencew); else
 * the group of its `timing.active` resource. On the type's own target, the type's recovery defaults fill
 * what is not written (MonitorTypeSpec.defaults.recovery); with target LocalServer the action defaults
 * to final-only, since nothing else applies there.
 */
function compileRecovery(
  ctx: BuildContext,
  m: ParsedMonitor,
  refs: MonitorRefs,
  path: readonly PathSeg[],
  defaults: MonitorTypeSpec['defaults'],
): CompiledRecovery | null {
  const rec = m.recovery;
  const rpath = [...path, 'recovery'];
  const groupNames = ctx.model.declared.groups.map((g) => g.name);
  const resourceNames = declaredResourceNames(ctx);
  const allowed = `a group (${listNames(groupNames)}), a resource (${listNames(resourceNames)}) or ${LOCAL_SERVER}`;

  let targetKind: CompiledRecovery['targetKind'];
  let target: string;
  if (rec.target !== undefined) {
    target = rec.target;
    if (target === LOCAL_SERVER) targetKind = 'local-server';
    else if (groupNames.includes(target)) targetKind = 'group';
    else if (resourceNames.includes(target)) targetKind = 'resource';
    else {
      ctx.issues.error(
        [...rpath, 'target'],
        `unknown recovery target "${target}"`,
        `${didYouMean(target, [...groupNames, ...resourceNames, LOCAL_SERVER])}use ${allowed}`,
      );
      return null;
    }
  } else if (refs.target !== null) {
    targetKind = 'resource';
    target = refs.target;
  } else if (defaults.recovery?.target !== undefined) {
    targetKind = 'local-server';
    target = defaults.recovery.target;
  } else if (refs.activeResource !== null) {
    const group = ctx.model.declared.resources.find((r) => r.name === refs.activeResource)?.group;
    if (group === undefined || group === null) return null; // unknown resource: reported already
    targetKind = 'group';
    target = group;
  } else {
    ctx.issues.error(
      [...rpath, 'target'],
      'recovery.target is required here',
      `set recovery.target to ${allowed}; it can only be left out when the monitor has a target resource or timing: { active: <resource> }`,
    );
    return null;
  }

  const own = defaults.recovery?.target ?? refs.target;
  const typeDefaults = own !== null && target === own ? (defaults.recovery ?? {}) : {};
  const action: RecoveryAction =
    rec.action ??
    typeDefaults.action ??
    (targetKind === 'local-server' ? 'final-only' : DEFAULTS.recoveryAction);
  let finalAction = rec.finalAction ?? typeDefaults.finalAction ?? DEFAULTS.recoveryFinalAction;
  let maxReactivations =
    rec.maxReactivations ??
    (action === typeDefaults.action ? typeDefaults.maxReactivations : undefined) ??
    (action === 'restart' ? DEFAULTS.restartMaxReactivations : 0);
  let maxFailovers = rec.maxFailovers;
  switch (action) {
    case 'restart':
      maxFailovers = 0;
      break;
    case 'failover':
      maxReactivations = 0;
      break;
    case 'final-only':
      maxReactivations = 0;
      maxFailovers = 0;
      break;
    case 'script':
      maxReactivations = 0;
      maxFailovers = 0;
      if (rec.scripts.beforeFinalAction === null) {
        ctx.issues.error(
          [...rpath, 'scripts', 'beforeFinalAction'],
          'action script runs only scripts.beforeFinalAction, which is not set',
          'set recovery.scripts.beforeFinalAction to a command, or choose another action',
        );
      }
      if (rec.finalAction !== undefined && finalAction !== 'none') {
        ctx.issues.warn(
          [...rpath, 'finalAction'],
          `action script never runs the final action (${finalAction})`,
          'use action final-only to run the script and then the final action, or remove finalAction',
        );
        finalAction = 'none';
      }
      break;
    case 'custom':
      break;
  }
  if (targetKind === 'local-server' && (maxReactivations > 0 || maxFailovers > 0)) {
    ctx.issues.warn(
      [...rpath, 'action'],
      `with recovery target ${LOCAL_SERVER} only the final action applies; action ${action} reactivates or fails over nothing`,
      'use action final-only, or target a group or resource',
    );
    maxReactivations = 0;
    maxFailovers = 0;
  }
  return {
    targetKind,
    target,
    action,
    maxReactivations,
    maxFailovers,
    failoverTarget: rec.failoverTarget,
    finalAction,
    scripts: {
      beforeReactivation: rec.scripts.beforeReactivation,
      beforeFailover: rec.scripts.beforeFailover,
      beforeFinalAction: rec.scripts.beforeFinalAction,
      timeoutMs: ms(rec.scripts.timeout),
      cwd: ctx.baseDir,
    },
    noResponse: rec.noResponse ?? defaults.noResponse,
  };
}

function compileMonitor(
  ctx: BuildContext,
  index: number,
  m: ParsedMonitor,
  resources: ReadonlyMap<string, CompiledResource>,
  input: MonitorsInput,
): CompiledMonitor | null {
  const spec = findMonitorType(m.type);
  if (spec === undefined) return null; // the schema only lets registered types through
  const path: PathSeg[] = ['monitors', index];
  const raw = ownParams(m, COMMON_MONITOR_KEYS);
  const refs = compileRefs(ctx, m, spec.impliedResource?.(raw) ?? null, spec.impliedTiming ?? 'active', path);
  const recovery = compileRecovery(ctx, m, refs, path, spec.defaults);
  const tctx = { baseDir: ctx.baseDir };
  const params = spec.compileParams(raw, tctx);
  const perServer: Record<string, Record<string, unknown>> = {};
  const overrides = new Map<string, Record<string, unknown>>();
  for (const server of checkOverrideServers(ctx, m.servers, [...path, 'servers'], null)) {
    const o = (m.servers?.[server] ?? {}) as Record<string, unknown>;
    overrides.set(server, o);
    perServer[server] = spec.compileOverride(o, params, tctx);
  }
  spec.check?.(
    raw,
    {
      resources,
      declaredResources: new Set(declaredResourceNames(ctx)),
      servers: ctx.serverNames,
      fencingDeclared: ctx.model.declared.fencing,
      awsRegion: input.awsRegion,
      warn: (sub, message, remedy, pointAt) => ctx.issues.warn([...path, ...sub], message, remedy, pointAt),
    },
    (sub, message, remedy, pointAt) => ctx.issues.error([...path, ...sub], message, remedy, pointAt),
    overrides,
  );
  if (recovery === null) return null;
  const out: CompiledMonitor = {
    name: m.name,
    type: m.type,
    intervalMs: ms(m.interval),
    timeoutMs: ms(m.timeout),
    retries: m.retries,
    startWaitMs: ms(m.startWait),
    activeResource: refs.activeResource,
    recovery,
    params,
    perServer,
    auto: false,
  };
  if (m.comment !== undefined) out.comment = m.comment;
  return out;
}

function rawObject(raw: unknown): Record<string, unknown> | null {
  return typeof raw === 'object' && raw !== null && !Array.isArray(raw)
    ? (raw as Record<string, unknown>)
    : null;
}

/** The resource a raw (possibly invalid) monitor entry names as its target, for replacement checks. */
function rawTarget(raw: unknown): string | null {
  const r = rawObject(raw);
  if (r === null) return null;
  if (typeof r['target'] === 'string') return r['target'];
  // Types that watch a resource by nature (pid, awsvipw, awseipw, awsdnsw) name it `resource`.
  const implies = typeof r['type'] === 'string' && findMonitorType(r['type'])?.impliedResource !== undefined;
  if (implies && typeof r['resource'] === 'string') return r['resource'];
  return null;
}

/**
 * The automatic monitor (of the resource a declared monitor is about) that the declared one replaces: the
 * one of the same type, else the one of the same name, else the only one (a resource with a single
 * automatic monitor has it replaced by any monitor about it, as exec's pidw and the AWS monitors always
 * had). A custom monitor about md1 replaces neither mdw1 nor mdnw1 unless it takes one's name: the mirror
 * must not lose its watch because someone added a check.
 */
function replacedAuto(
  own: readonly CompiledMonitor[],
  type: string | null,
  name: string | null,
): CompiledMonitor | null {
  return (
    own.find((a) => a.type === type) ??
    own.find((a) => a.name === name) ??
    (own.length === 1 ? (own[0] ?? null) : null)
  );
}

/** Reports automatic monitors of two resources that would get the same name (`awsvip-x` and `x`). */
function checkAutoNames(ctx: BuildContext, groups: GroupsResult): void {
  const first = new Map<string, string>();
  for (const { resource, monitor } of groups.autoMonitors) {
    const prev = first.get(monitor.name);
    if (prev === undefined) {
      first.set(monitor.name, resource);
      continue;
    }
    const d = ctx.model.declared.resources.find((r) => r.name === resource);
    const path: PathSeg[] = d === undefined ? [] : ['groups', d.groupIndex, 'resources', d.resourceIndex];
    ctx.issues.error(
      [...path, 'name'],
      `the automatic monitor of ${resource} would be named ${monitor.name}, like the one of ${prev}`,
      `rename ${resource}, or set autoMonitor: false on it and declare its monitor under another name with target: ${resource}`,
    );
  }
}

export function compileMonitors(
  ctx: BuildContext,
  rawMonitors: readonly unknown[],
  groups: GroupsResult,
  input: MonitorsInput,
): CompiledMonitor[] {
  const { declared } = ctx.model;
  checkDuplicates(
    ctx,
    declared.monitors.map((m) => ({ name: m.name, path: ['monitors', m.index] })),
    'monitor',
    'monitor names are unique, and distinct from automatic monitors such as pidw-<resource>',
  );

  const resources = new Map(groups.resources.map((r) => [r.name, r]));
  const compiled: CompiledMonitor[] = [];
  const parsedTargets = new Map<number, string | null>();
  for (const { index, value } of ctx.model.monitors) {
    const c = compileMonitor(ctx, index, value, resources, input);
    // A declared fencing check runs every fencing.checkInterval like the automatic one, unless it says otherwise.
    if (
      c?.type === 'awsfencew' &&
      input.fencing !== null &&
      rawObject(rawMonitors[index])?.['interval'] === undefined
    )
      c.intervalMs = input.fencing.checkIntervalMs;
    if (c !== null) compiled.push(c);
    parsedTargets.set(
      index,
      value.target ??
        findMonitorType(value.type)?.impliedResource?.(ownParams(value, COMMON_MONITOR_KEYS)) ??
        null,
    );
  }

  // What each declared monitor (valid or not) is about, and which automatic monitor it replaces.
  const about = rawMonitors.map((raw, index) => {
    const o = rawObject(raw);
    const text = (k: string): string | null => (typeof o?.[k] === 'string' ? o[k] : null);
    const resource = parsedTargets.has(index) ? (parsedTargets.get(index) ?? null) : rawTarget(raw);
    return { index, resource, type: text('type'), name: text('name') };
  });
  /** Automatic monitor -> the indexes of the declared monitors that replace it. */
  const replaced = new Map<CompiledMonitor, number[]>();
  for (const d of about) {
    if (d.resource === null) continue;
    const own = groups.autoMonitors.filter((a) => a.resource === d.resource).map((a) => a.monitor);
    const hit = replacedAuto(own, d.type, d.name);
    if (hit !== null) replaced.set(hit, [...(replaced.get(hit) ?? []), d.index]);
  }

  for (const { index, name } of declared.monitors) {
    const auto = groups.autoMonitors.find((a) => a.monitor.name === name);
    if (auto === undefined || replaced.get(auto.monitor)?.includes(index) === true) continue;
    const { resource, monitor } = auto;
    const several = groups.autoMonitors.filter((a) => a.resource === resource).length > 1;
    ctx.issues.error(
      ['monitors', index, 'name'],
      `"${name}" is the name of the automatic monitor of ${resource}`,
      several
        ? `rename this monitor, or make it the ${monitor.type} monitor of ${resource} to replace the automatic one`
        : `rename this monitor, or add target: ${resource} to replace the automatic monitor`,
    );
  }

  // The fencing check: a declared awsfencew monitor (valid or not) replaces the automatic one.
  const declaresFencingCheck = rawMonitors.some((raw) => rawObject(raw)?.['type'] === 'awsfencew');
  const autoFencing = input.fencing !== null && !declaresFencingCheck;
  for (const { index, name } of declared.monitors) {
    if (!autoFencing || name !== FENCING_MONITOR) continue;
    ctx.issues.error(
      ['monitors', index, 'name'],
      `"${name}" is the name of the automatic fencing check monitor`,
      'rename this monitor, or declare it with type: awsfencew to replace the automatic one',
    );
  }

  checkAutoNames(ctx, groups);
  for (const { monitor } of groups.autoMonitors) {
    if (!replaced.has(monitor)) compiled.push(monitor);
  }
  if (autoFencing && input.fencing !== null) compiled.push(fencingMonitor(input.fencing, ctx.baseDir));
  return compiled;
}
