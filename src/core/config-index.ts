/**
 * Lookups over the compiled config that the decision core needs on every step: objects by name, the
 * resources that depend on a resource (for stop order), and a server's precedence for a group (its index in
 * the group's `startupServers`, which orders claims, placement and failback). Built once per node.
 */
import type {
  CompiledConfig,
  CompiledGroup,
  CompiledMonitor,
  CompiledResource,
  CompiledServer,
} from '../shared/config/types.ts';

export interface ConfigIndex {
  readonly config: CompiledConfig;
  readonly servers: ReadonlyMap<string, CompiledServer>;
  readonly groups: ReadonlyMap<string, CompiledGroup>;
  readonly resources: ReadonlyMap<string, CompiledResource>;
  readonly monitors: ReadonlyMap<string, CompiledMonitor>;
  /** Resource name -> names of resources (same group) whose `dependsOn` lists it. */
  readonly dependents: ReadonlyMap<string, string[]>;
  /** Interconnect names (`lan1`, ...), the same on every server. */
  readonly lans: string[];
  /** Takeover wait after a peer was last heard: max(T, lease + isolationStopTimeout + margin). */
  readonly takeoverWaitMs: number;
}

export function indexConfig(config: CompiledConfig): ConfigIndex {
  const dependents = new Map<string, string[]>();
  for (const r of config.resources) dependents.set(r.name, []);
  for (const r of config.resources) for (const d of r.dependsOn) dependents.get(d)?.push(r.name);
  const { lease, heartbeat } = config.cluster;
  return {
    config,
    servers: new Map(config.servers.map((s) => [s.name, s])),
    groups: new Map(config.groups.map((g) => [g.name, g])),
    resources: new Map(config.resources.map((r) => [r.name, r])),
    monitors: new Map(config.monitors.map((m) => [m.name, m])),
    dependents,
    lans: (config.servers[0]?.interconnects ?? []).map((i) => i.name),
    takeoverWaitMs: Math.max(
      heartbeat.timeoutMs,
      lease.leaseMs + lease.isolationStopTimeoutMs + lease.marginMs,
    ),
  };
}

/**
 * Precedence of `server` for `group`: its index in `startupServers` (0 wins); servers that may not run the
 * group come after all that may, ordered by global priority.
 */
export function precedence(ix: ConfigIndex, group: string, server: string): number {
  const g = ix.groups.get(group);
  const i = g ? g.startupServers.indexOf(server) : -1;
  if (i >= 0) return i;
  return 1000 + (ix.servers.get(server)?.priority ?? 999);
}

/** `resource` and every resource that depends on it, directly or not (the set a reactivation restarts). */
export function withDependents(ix: ConfigIndex, resource: string): string[] {
  const out = new Set<string>([resource]);
  const queue = [resource];
  for (let r = queue.shift(); r !== undefined; r = queue.shift()) {
    for (const d of ix.dependents.get(r) ?? []) {
      if (!out.has(d)) {
        out.add(d);
        queue.push(d);
      }
    }
  }
  return [...out];
}
