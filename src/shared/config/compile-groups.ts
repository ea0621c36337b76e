/**
 * Compiler pass for failover groups and their group resources (issue section 2): unique names, startup
 * servers, type params with per-server overrides, dependencies (same group only, no cycles) and the
 * start order. Produces `CompiledGroup` and `CompiledResource` (types.ts).
 */
import { checkDuplicates, checkOverrideServers } from './build-context.ts';
import type { BuildContext } from './build-context.ts';
import { LOCAL_SERVER } from './defaults.ts';
import type { PathSeg } from './issues.ts';
import { didYouMean, listNames } from './issues.ts';
import type { ModelGroup } from './model.ts';
import { ms } from './primitives.ts';
import { findResourceType } from './resource-types.ts';
import type { ParsedResource } from './schema.ts';
import type { DeclaredResource } from './type-spec.ts';
import type { CompiledGroup, CompiledMonitor, CompiledResource } from './types.ts';

export interface GroupsResult {
  groups: CompiledGroup[];
  /** In declaration order, group by group. */
  resources: CompiledResource[];
  /**
   * Automatic monitors of resources that have `autoMonitor` on (before replacement by declared ones), in
   * resource order; a resource may have several (md: mdw and mdnw).
   */
  autoMonitors: { resource: string; monitor: CompiledMonitor }[];
}

const COMMON_RESOURCE_KEYS = new Set([
  'name',
  'type',
  'comment',
  'dependsOn',
  'timeout',
  'activation',
  'deactivation',
  'autoMonitor',
  'servers',
]);

/** The type-specific keys of a parsed resource or monitor (everything but the common keys). */
export function ownParams(parsed: object, common: ReadonlySet<string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(parsed)) if (!common.has(k)) out[k] = v;
  return out;
}

function resourcePath(groupIndex: number, resourceIndex: number): PathSeg[] {
  return ['groups', groupIndex, 'resources', resourceIndex];
}

function checkNames(ctx: BuildContext): void {
  const { declared } = ctx.model;
  checkDuplicates(
    ctx,
    declared.groups.map((g) => ({ name: g.name, path: ['groups', g.index] })),
    'group',
    'group names are unique in the cluster',
  );
  checkDuplicates(
    ctx,
    declared.resources.map((r) => ({ name: r.name, path: resourcePath(r.groupIndex, r.resourceIndex) })),
    'resource',
    'resource names are unique in the whole cluster, across groups',
  );
  const groupNames = new Set(declared.groups.map((g) => g.name));
  for (const g of declared.groups) {
    if (g.name === LOCAL_SERVER) {
      ctx.issues.error(
        ['groups', g.index, 'name'],
        `"${LOCAL_SERVER}" is reserved`,
        'it names the local server as a recovery target; choose another group name',
      );
    }
  }
  for (const r of declared.resources) {
    const path = [...resourcePath(r.groupIndex, r.resourceIndex), 'name'];
    if (r.name === LOCAL_SERVER) {
      ctx.issues.error(
        path,
        `"${LOCAL_SERVER}" is reserved`,
        'it names the local server as a recovery target; choose another resource name',
      );
    } else if (groupNames.has(r.name)) {
      ctx.issues.error(
        path,
        `resource name "${r.name}" is also a group name`,
        "rename one of them: a monitor's recovery.target names either, and must not be ambiguous",
      );
    }
  }
}

function compileStartupServers(ctx: BuildContext, mg: ModelGroup): string[] {
  const given = mg.group.startupServers;
  if (given === undefined) return [...new Set(ctx.serverNames)];
  const out: string[] = [];
  given.forEach((s, k) => {
    const path = ['groups', mg.index, 'startupServers', k];
    if (!ctx.serverNames.includes(s)) {
      ctx.issues.error(
        path,
        `unknown server "${s}"`,
        `${didYouMean(s, ctx.serverNames)}servers: ${listNames(ctx.serverNames)}`,
      );
    } else if (out.includes(s)) {
      ctx.issues.error(
        path,
        `server "${s}" is listed twice`,
        'list each server once, in failover priority order',
      );
    } else {
      out.push(s);
    }
  });
  return out;
}

function compileResource(
  ctx: BuildContext,
  mg: ModelGroup,
  index: number,
  r: ParsedResource,
  startup: string[],
): CompiledResource | null {
  const spec = findResourceType(r.type);
  if (spec === undefined) return null; // the schema only lets registered types through
  const path = resourcePath(mg.index, index);
  const tctx = { baseDir: ctx.baseDir };
  const raw = ownParams(r, COMMON_RESOURCE_KEYS);
  const params = spec.compileParams(raw, tctx);
  const perServer: Record<string, Record<string, unknown>> = {};
  const overrides = new Map<string, Record<string, unknown>>();
  for (const server of checkOverrideServers(ctx, r.servers, [...path, 'servers'], startup)) {
    const o = (r.servers?.[server] ?? {}) as Record<string, unknown>;
    overrides.set(server, o);
    perServer[server] = spec.compileOverride(o, params, tctx);
  }
  if (spec.serverParams !== undefined) {
    for (const server of startup) {
      const derived = spec.serverParams(server, startup);
      if (Object.keys(derived).length > 0) perServer[server] = { ...derived, ...perServer[server] };
    }
  }
  spec.check?.(
    raw,
    overrides,
    (sub, message, remedy, pointAt) => ctx.issues.error([...path, ...sub], message, remedy, pointAt),
    {
      name: r.name,
      group: mg.group.name,
      servers: startup,
      serversComplete: startup.length === (mg.group.startupServers ?? startup).length,
      baseDir: ctx.baseDir,
      warn: (sub, message, remedy, pointAt) => ctx.issues.warn([...path, ...sub], message, remedy, pointAt),
    },
  );
  const out: CompiledResource = {
    name: r.name,
    type: r.type,
    group: mg.group.name,
    dependsOn: [],
    timeoutMs: ms(r.timeout),
    activation: { ...r.activation },
    deactivation: { ...r.deactivation },
    params,
    perServer,
  };
  if (r.comment !== undefined) out.comment = r.comment;
  return out;
}

/** Resolves `dependsOn` (explicit or by type) against the declared resources. */
function resolveDependencies(
  ctx: BuildContext,
  mg: ModelGroup,
  compiled: Map<number, CompiledResource>,
): void {
  const inGroup = [...compiled.values()];
  for (const { index, value: r } of mg.resources) {
    const res = compiled.get(index);
    if (res === undefined) continue;
    const path = [...resourcePath(mg.index, index), 'dependsOn'];
    if (r.dependsOn === undefined) {
      const types = findResourceType(r.type)?.defaultDependsOnTypes ?? [];
      res.dependsOn = inGroup.filter((o) => o.name !== r.name && types.includes(o.type)).map((o) => o.name);
      continue;
    }
    const deps: string[] = [];
    r.dependsOn.forEach((dep, k) => {
      const declared = ctx.model.declared.resources.find((d) => d.name === dep);
      if (dep === r.name) {
        ctx.issues.error(
          [...path, k],
          `dependency cycle: ${dep} -> ${dep}`,
          'a resource cannot depend on itself; remove it',
        );
      } else if (declared === undefined) {
        const names = ctx.model.declared.resources
          .filter((d) => d.groupIndex === mg.index)
          .map((d) => d.name);
        ctx.issues.error(
          [...path, k],
          `unknown resource "${dep}"`,
          `${didYouMean(dep, names)}dependsOn names resources of the same group: ${listNames(names.filter((n) => n !== r.name))}`,
        );
      } else if (declared.groupIndex !== mg.index) {
        ctx.issues.error(
          [...path, k],
          `"${dep}" belongs to group ${declared.group ?? `#${declared.groupIndex + 1}`}, not ${mg.group.name}`,
          'dependencies only order resources within one group; move the resource into this group or remove the dependency',
        );
      } else if (deps.includes(dep)) {
        ctx.issues.warn([...path, k], `"${dep}" is listed twice`, 'remove the second entry');
      } else {
        deps.push(dep);
      }
    });
    res.dependsOn = deps;
  }
}

/** Reports each dependency cycle once, at the dependsOn of its first resource in list order. */
function checkCycles(
  ctx: BuildContext,
  mg: ModelGroup,
  resources: CompiledResource[],
  indexOf: Map<string, number>,
): boolean {
  const byName = new Map(resources.map((r) => [r.name, r]));
  const state = new Map<string, 'visiting' | 'done'>();
  const seen = new Set<string>();
  let found = false;
  const visit = (name: string, stack: string[]): void => {
    state.set(name, 'visiting');
    stack.push(name);
    for (const dep of byName.get(name)?.dependsOn ?? []) {
      if (!byName.has(dep)) continue;
      if (state.get(dep) === 'visiting') {
        const cycle = stack.slice(stack.indexOf(dep));
        const firstIdx = Math.min(...cycle.map((n) => indexOf.get(n) ?? 0));
        const start = cycle.findIndex((n) => indexOf.get(n) === firstIdx);
        const rotated = [...cycle.slice(start), ...cycle.slice(0, start)];
        const key = rotated.join('\u0000');
        if (!seen.has(key)) {
          seen.add(key);
          found = true;
          ctx.issues.error(
            [...resourcePath(mg.index, firstIdx), 'dependsOn'],
            `dependency cycle: ${[...rotated, rotated[0]].join(' -> ')}`,
            'remove one of these dependsOn entries so the resources have a start order',
          );
        }
      } else if (state.get(dep) === undefined) {
        visit(dep, stack);
      }
    }
    stack.pop();
    state.set(name, 'done');
  };
  for (const r of resources) if (state.get(r.name) === undefined) visit(r.name, []);
  return found;
}

/** Dependencies first; among ready resources, list order. */
function startOrder(resources: CompiledResource[]): string[] {
  const placed: string[] = [];
  const names = new Set(resources.map((r) => r.name));
  const pending = [...resources];
  while (pending.length > 0) {
    const i = pending.findIndex((r) => r.dependsOn.every((d) => placed.includes(d) || !names.has(d)));
    if (i < 0) break; // a cycle, already reported
    const [next] = pending.splice(i, 1);
    if (next !== undefined) placed.push(next.name);
  }
  return placed;
}

/** A type's `autoMonitor` answer as a list (it may return one monitor, several, or null). */
function autoList(
  auto: CompiledMonitor | readonly CompiledMonitor[] | null | undefined,
): readonly CompiledMonitor[] {
  if (auto === null || auto === undefined) return [];
  return 'name' in auto ? [auto] : auto;
}

export function compileGroups(ctx: BuildContext): GroupsResult {
  checkNames(ctx);
  const groups: CompiledGroup[] = [];
  const resources: CompiledResource[] = [];
  const autoMonitors: GroupsResult['autoMonitors'] = [];
  const declaredByType = new Map<string, DeclaredResource[]>();
  for (const mg of ctx.model.groups) {
    const startupServers = compileStartupServers(ctx, mg);
    const compiled = new Map<number, CompiledResource>();
    for (const { index, value } of mg.resources) {
      const c = compileResource(ctx, mg, index, value, startupServers);
      if (c === null) continue;
      compiled.set(index, c);
      const ofType = declaredByType.get(c.type) ?? [];
      ofType.push({ resource: c, path: resourcePath(mg.index, index) });
      declaredByType.set(c.type, ofType);
      const auto = value.autoMonitor
        ? findResourceType(c.type)?.autoMonitor?.(c, { baseDir: ctx.baseDir })
        : null;
      for (const monitor of autoList(auto)) autoMonitors.push({ resource: c.name, monitor });
    }
    resolveDependencies(ctx, mg, compiled);
    const list = [...compiled.values()];
    const indexOf = new Map([...compiled.entries()].map(([i, r]) => [r.name, i]));
    checkCycles(ctx, mg, list, indexOf);
    const g = mg.group;
    const group: CompiledGroup = {
      name: g.name,
      startupServers,
      autoStart: g.autoStart,
      failover: { auto: g.failover.auto, target: g.failover.target },
      failback: g.failback,
      resources: startOrder(list),
    };
    if (g.comment !== undefined) group.comment = g.comment;
    groups.push(group);
    resources.push(...list);
  }
  for (const [type, declared] of declaredByType) {
    findResourceType(type)?.checkAcross?.(declared, (path, message, remedy, pointAt) =>
      ctx.issues.error(path, message, remedy, pointAt),
    );
  }
  return { groups, resources, autoMonitors };
}
