/**
 * Which offline groups need an owner ("needs"), per server. A need is raised when the cluster service
 * reaches `running` (autoStart groups that run nowhere and are not held), when a peer publishes a release
 * (move, failover, failback, leaving the cluster, isolation), when a peer that had a group active is down or
 * restarted (and the group fails over automatically), and by `tandem group start`. It is dropped as soon as
 * any live server has the group active. Only the target (candidates.ts) acts on it, by claiming.
 */
import type { FailoverTargetRule } from '../../shared/config/types.ts';
import { isActiveState } from '../membership/peers.ts';
import type { GroupNeed, NodeState, PeerRecord } from '../model.ts';
import type { Out } from '../out.ts';
import type { GroupRelease } from '../types.ts';
import { activeHolders } from './claims.ts';

const RELEASE_TEXT: Record<GroupRelease['kind'], string> = {
  move: 'move',
  failover: 'failover',
  failback: 'failback',
  leave: 'failover',
  isolation: 'failover',
};

/** Drop needs, holds and releases of groups that are active somewhere; take in new releases of peers. */
export function refreshNeeds(s: NodeState, now: number, out: Out): void {
  for (const g of s.ix.config.groups) {
    const lg = s.groups[g.name];
    if (!lg) continue;
    const holders = activeHolders(s, g.name, now);
    if (holders.length > 0) {
      if (lg.need) out.diag('debug', 'need dropped: group active', { group: g.name, on: holders.join(',') });
      lg.need = null;
      lg.hold = false;
      if (holders.some((h) => h !== s.self)) lg.release = null;
      continue;
    }
    for (const p of Object.values(s.peers)) {
      const e = p.report?.groups[g.name];
      if (
        !e?.release ||
        p.mismatch !== null ||
        isActiveState(e.state) ||
        p.releasesSeen.includes(e.release.id)
      )
        continue;
      p.releasesSeen.push(e.release.id);
      lg.need = {
        event: 'FAILOVER',
        from: p.name,
        to: e.release.to,
        rule: e.release.rule,
        reason: `${RELEASE_TEXT[e.release.kind]} from ${p.name}: ${e.release.reason}`,
        operator: false,
        // A move or failback may fall back to the releasing server when the target cannot take it.
        exclude: e.release.kind === 'move' || e.release.kind === 'failback' ? null : p.name,
      };
    }
  }
}

/** A peer is down: the groups it had active (and that fail over automatically) need a new owner. */
export function needsFromDownPeer(s: NodeState, p: PeerRecord, now: number): void {
  const r = p.report;
  if (!r) return;
  for (const [group, e] of Object.entries(r.groups)) {
    const cfg = s.ix.groups.get(group);
    const lg = s.groups[group];
    if (!cfg || !lg || !cfg.failover.auto || !isActiveState(e.state)) continue;
    if (activeHolders(s, group, now).length > 0) continue;
    lg.need = {
      event: 'FAILOVER',
      from: p.name,
      to: null,
      rule: cfg.failover.target,
      reason: `failover from ${p.name}: heartbeat lost`,
      operator: false,
      exclude: p.name,
    };
  }
}

/** The service reached `running`: autoStart groups that run nowhere and that no live peer holds start. */
export function initialNeeds(s: NodeState, now: number): void {
  for (const g of s.ix.config.groups) {
    const lg = s.groups[g.name];
    if (!lg || !g.autoStart || lg.need || lg.hold) continue;
    if (activeHolders(s, g.name, now).length > 0) continue;
    const held = Object.values(s.peers).some((p) => p.report?.groups[g.name]?.hold === true);
    if (held) continue;
    lg.need = startNeed('initial start (autoStart)', null, 'max-priority', false);
  }
}

export function startNeed(
  reason: string,
  to: string | null,
  rule: FailoverTargetRule,
  operator: boolean,
): GroupNeed {
  return { event: 'START', from: null, to, rule, reason, operator, exclude: null };
}
