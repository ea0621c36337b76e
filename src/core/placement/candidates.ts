/**
 * Placement (docs/architecture.md "Group placement"): which servers may run a group now (candidates), and
 * which of them should (initial start: the first; failover: `max-priority` = the first, `stable` = fewest
 * monitors in error, ties by priority; move: the requested server; failback: a higher-priority candidate).
 * Every server computes this from the same inputs, so they agree on the target while they hear each other.
 */
import type { FailoverTargetRule } from '../../shared/config/types.ts';
import { precedence } from '../config-index.ts';
import { markedSelf, type NodeState } from '../model.ts';
import { isHeard } from '../membership/peers.ts';

/** Why this server may not run `group` now, or null when it may. */
export function selfIneligible(s: NodeState, group: string): string | null {
  const g = s.ix.groups.get(group);
  if (!g || !g.startupServers.includes(s.self)) return `${s.self} is not a startup server of ${group}`;
  if (s.goingDown) return `${s.self} is going down (${s.goingDown})`;
  if (s.service !== 'running' && s.service !== 'starting')
    return `the cluster service is ${s.service} on ${s.self}`;
  if (s.isolation) return `${s.self} is isolated`;
  if (markedSelf(s, group))
    return `${group} failed on ${s.self} (failover mark; reset with tandem group reset ${group})`;
  return null;
}

/** Why peer `server` may not run `group` now (as far as we know), or null when it may. */
export function peerIneligible(s: NodeState, group: string, server: string, now: number): string | null {
  const g = s.ix.groups.get(group);
  if (!g || !g.startupServers.includes(server)) return `${server} is not a startup server of ${group}`;
  const p = s.peers[server];
  if (!p?.report || !isHeard(s.ix, p, now)) return `${server} is not heard`;
  if (p.mismatch !== null) return `${server} runs a different configuration`;
  const r = p.report;
  if (r.service !== 'running' && r.service !== 'starting')
    return `the cluster service is ${r.service} on ${server}`;
  if (r.isolated) return `${server} is isolated`;
  if (r.failedGroups.includes(group)) return `${group} failed on ${server} (failover mark)`;
  return null;
}

export function ineligible(s: NodeState, group: string, server: string, now: number): string | null {
  return server === s.self ? selfIneligible(s, group) : peerIneligible(s, group, server, now);
}

/** Servers that may run `group` now, in the group's priority order. */
export function candidates(s: NodeState, group: string, now: number): string[] {
  const g = s.ix.groups.get(group);
  if (!g) return [];
  return g.startupServers.filter((srv) => ineligible(s, group, srv, now) === null);
}

export function monitorErrorsOf(s: NodeState, server: string): number {
  if (server === s.self) return Object.values(s.monitors).filter((m) => m.state === 'error').length;
  return s.peers[server]?.report?.monitorErrors ?? 0;
}

/** Apply a failover target rule to a candidate list (already in priority order). */
export function pickByRule(
  s: NodeState,
  group: string,
  list: string[],
  rule: FailoverTargetRule,
): string | null {
  if (list.length === 0) return null;
  if (rule === 'max-priority') return list[0] ?? null;
  let best: string | null = null;
  let bestErr = Infinity;
  for (const srv of list) {
    const e = monitorErrorsOf(s, srv);
    if (
      e < bestErr ||
      (e === bestErr && best !== null && precedence(s.ix, group, srv) < precedence(s.ix, group, best))
    ) {
      best = srv;
      bestErr = e;
    }
  }
  return best;
}

/**
 * The server that should start `group`: the preferred one when it is a candidate, else the rule applied to
 * the candidates (without `exclude`, e.g. the server it leaves).
 */
export function chooseTarget(
  s: NodeState,
  group: string,
  now: number,
  rule: FailoverTargetRule,
  preferred: string | null,
  exclude: string | null = null,
): string | null {
  const list = candidates(s, group, now).filter((x) => x !== exclude);
  if (preferred !== null && list.includes(preferred)) return preferred;
  return pickByRule(s, group, list, rule);
}

/**
 * Failback `auto`: the highest-priority candidate that runs the cluster service (sync done) and ranks above
 * the current owner `owner`; null when the group should stay.
 */
export function failbackTarget(s: NodeState, group: string, owner: string, now: number): string | null {
  const g = s.ix.groups.get(group);
  if (!g || g.failback !== 'auto') return null;
  const mine = precedence(s.ix, group, owner);
  for (const srv of candidates(s, group, now)) {
    if (precedence(s.ix, group, srv) >= mine) return null;
    const service = srv === s.self ? s.service : s.peers[srv]?.report?.service;
    if (service === 'running') return srv;
  }
  return null;
}
