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
import type { GroupsResult } from './compile-groups.ts';
import { ownParams } from './compile-groups.ts';
import { DEFAULTS, LOCAL_SERVER } from './defaults.ts';
import type { PathSeg } from './issues.ts';
import { didYouMean, listNames } from './issues.ts';
import { ms } from './primitives.ts';
import { findMonitorType } from './resource-types.ts';
import type { ParsedMonitor } from './schema.ts';
import type { CompiledMonitor, CompiledRecovery, CompiledResource } from './types.ts';

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
  path: readonly PathSeg[],
): MonitorRefs {
  const declared = new Set(declaredResourceNames(ctx));
  if (m.target !== undefined && !declared.has(m.target)) unknownResource(ctx, [...path, 'target'], m.target);
  const target = m.target ?? implied;

  let activeResource: string | null;
  if (m.timing === undefined) {
    activeResource = implied;
  } else if (m.timing === 'always') {
    activeResource = null;
    if (implied !== null) {
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

/** The recovery target (explicit or derived) and the normalized ladder. */
function compileRecovery(
  ctx: BuildContext,
  m: ParsedMonitor,
  refs: MonitorRefs,
  path: readonly PathSeg[],
  noResponseDefault: CompiledRecovery['noResponse'],
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

  let maxReactivations =
    rec.maxReactivations ?? (rec.action === 'restart' ? DEFAULTS.restartMaxReactivations : 0);
  let maxFailovers = rec.maxFailovers;
  let finalAction = rec.finalAction;
  switch (rec.action) {
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
      if (finalAction !== 'none') {
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
      `with recovery target ${LOCAL_SERVER} only the final action applies; action ${rec.action} reactivates or fails over nothing`,
      'use action final-only, or target a group or resource',
    );
    maxReactivations = 0;
    maxFailovers = 0;
  }
  return {
    targetKind,
    target,
    action: rec.action,
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
    noResponse: rec.noResponse ?? noResponseDefault,
  };
}

function compileMonitor(
  ctx: BuildContext,
  index: number,
  m: ParsedMonitor,
  resources: ReadonlyMap<string, CompiledResource>,
): CompiledMonitor | null {
  const spec = findMonitorType(m.type);
  if (spec === undefined) return null; // the schema only lets registered types through
  const path: PathSeg[] = ['monitors', index];
  const raw = ownParams(m, COMMON_MONITOR_KEYS);
  const refs = compileRefs(ctx, m, spec.impliedResource?.(raw) ?? null, path);
  const recovery = compileRecovery(ctx, m, refs, path, spec.defaults.noResponse);
  const tctx = { baseDir: ctx.baseDir };
  const params = spec.compileParams(raw, tctx);
  const perServer: Record<string, Record<string, unknown>> = {};
  for (const server of checkOverrideServers(ctx, m.servers, [...path, 'servers'], null)) {
    perServer[server] = spec.compileOverride(m.servers?.[server] ?? {}, params, tctx);
  }
  spec.check?.(
    raw,
    { resources, declaredResources: new Set(declaredResourceNames(ctx)) },
    (sub, message, remedy, pointAt) => ctx.issues.error([...path, ...sub], message, remedy, pointAt),
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

/** The resource a raw (possibly invalid) monitor entry names as its target, for replacement checks. */
function rawTarget(raw: unknown): string | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const r = raw as Record<string, unknown>;
  if (typeof r['target'] === 'string') return r['target'];
  if (r['type'] === 'pid' && typeof r['resource'] === 'string') return r['resource'];
  return null;
}

export function compileMonitors(
  ctx: BuildContext,
  rawMonitors: readonly unknown[],
  groups: GroupsResult,
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
    const c = compileMonitor(ctx, index, value, resources);
    if (c !== null) compiled.push(c);
    parsedTargets.set(
      index,
      value.target ??
        findMonitorType(value.type)?.impliedResource?.(ownParams(value, COMMON_MONITOR_KEYS)) ??
        null,
    );
  }

  // Which resources have a declared monitor about them (valid or not): their automatic monitor goes.
  const targeted = new Set<string>();
  rawMonitors.forEach((raw, index) => {
    const t = parsedTargets.has(index) ? parsedTargets.get(index) : rawTarget(raw);
    if (t !== null && t !== undefined) targeted.add(t);
  });

  for (const { index, name } of declared.monitors) {
    const auto = groups.autoMonitors.find((a) => a.monitor.name === name);
    if (auto === undefined) continue;
    const { resource } = auto;
    const t = parsedTargets.has(index) ? parsedTargets.get(index) : rawTarget(rawMonitors[index]);
    if (t !== resource) {
      ctx.issues.error(
        ['monitors', index, 'name'],
        `"${name}" is the name of the automatic monitor of ${resource}`,
        `rename this monitor, or add target: ${resource} to replace the automatic monitor`,
      );
    }
  }

  for (const { resource, monitor } of groups.autoMonitors) {
    if (!targeted.has(resource)) compiled.push(monitor);
  }
  return compiled;
}
