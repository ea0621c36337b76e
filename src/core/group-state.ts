/**
 * The local state of a group on this server, derived from its resources and its owner record: what the
 * report, status and the claim/grant rules call `offline | starting | online | stopping | error`.
 *
 * A group that this server does not own may still have resources up: found running by the startup probe
 * (strays). While this server claims to adopt them it reports `starting`; otherwise `stopping` (they are
 * being, or will be, stopped). Either way peers see the group as active here and start nothing.
 */
import type { NodeState, LocalResource } from './model.ts';
import type { GroupLocalState } from './types.ts';

export function groupLocalResources(s: NodeState, group: string): LocalResource[] {
  const out: LocalResource[] = [];
  for (const name of s.ix.groups.get(group)?.resources ?? []) {
    const r = s.resources[name];
    if (r) out.push(r);
  }
  return out;
}

export function isResourceActive(r: LocalResource): boolean {
  return r.state !== 'offline' || (r.inflight !== null && r.inflight.verb !== 'probe');
}

export function localGroupState(s: NodeState, group: string): GroupLocalState {
  const lg = s.groups[group];
  const rs = groupLocalResources(s, group);
  const active = rs.some(isResourceActive);
  if (!lg) return 'offline';
  if (rs.some((r) => r.state === 'error' && r.inflight === null)) return 'error';
  if (!lg.owner) {
    if (!active) return 'offline';
    return lg.claim !== null ? 'starting' : 'stopping';
  }
  if (lg.goal === 'offline') return active ? 'stopping' : 'offline';
  const wanted = rs.filter((r) => !r.operatorStopped);
  if (wanted.every((r) => r.state === 'online' && !r.restart)) return 'online';
  return 'starting';
}

/** Whether this server has anything of `group` up or in flight (owner or strays). */
export function hasLocalActivity(s: NodeState, group: string): boolean {
  return s.groups[group]?.owner === true || groupLocalResources(s, group).some(isResourceActive);
}

/** Every resource of the group has its startup probe back. */
export function probesDone(s: NodeState, group: string): boolean {
  return groupLocalResources(s, group).every((r) => r.probed);
}
