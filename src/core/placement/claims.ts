/**
 * Claims and grants (docs/architecture.md "Claims and grants: one owner per group"). A server starts a
 * group only after every peer that is not ignorable (down, or gracefully stopped) has granted its current
 * claim in a report that also echoes its current incarnation. A grant is a promise: while the claimant's
 * claim stands, the granter starts nothing of the group and grants it to nobody else. A server grants only
 * when the group is offline there (probes done, no claim of its own with higher precedence) and no other
 * live server reports the group active, so a grant also vouches for what the granter hears: a claimant cut
 * off from the group's owner is stopped by a peer that still hears the owner.
 */
import { precedence } from '../config-index.ts';
import { hasLocalActivity, localGroupState, probesDone } from '../group-state.ts';
import { downBlocker, isIgnorable } from '../membership/lease.ts';
import { isActiveState, isHeard } from '../membership/peers.ts';
import type { NodeState } from '../model.ts';

export interface Claimant {
  server: string;
  claim: number;
  /** The claimant already has the group active (adopting what its probe found). */
  active: boolean;
}

/** Live peers (not ignorable) that report `group` active, whatever their config. */
export function otherActiveHolders(s: NodeState, group: string, now: number): string[] {
  const out: string[] = [];
  for (const p of Object.values(s.peers)) {
    if (!p.report || isIgnorable(s, p, now)) continue;
    if (isActiveState(p.report.groups[group]?.state)) out.push(p.name);
  }
  return out;
}

/** Every server (this one included) on which `group` is active as far as we know. */
export function activeHolders(s: NodeState, group: string, now: number): string[] {
  const others = otherActiveHolders(s, group, now);
  return isActiveState(localGroupState(s, group)) ? [s.self, ...others] : others;
}

/** Live peers with the same config that claim `group`. */
export function peerClaimants(s: NodeState, group: string, now: number): Claimant[] {
  const out: Claimant[] = [];
  for (const p of Object.values(s.peers)) {
    const g = p.report?.groups[group];
    if (!g || g.claim === null || p.mismatch !== null || isIgnorable(s, p, now)) continue;
    out.push({ server: p.name, claim: g.claim, active: isActiveState(g.state) });
  }
  return out;
}

/** A live offline claimant that ranks above us: we must withdraw and let it go first. */
export function higherClaimant(s: NodeState, group: string, now: number): Claimant | null {
  const mine = precedence(s.ix, group, s.self);
  for (const c of peerClaimants(s, group, now)) {
    if (c.active || precedence(s.ix, group, c.server) < mine) return c;
  }
  return null;
}

/**
 * The grant this server publishes for `group`, or null. A standing grant is kept while its claimant still
 * claims the same number and is not ignorable; otherwise the best claimant gets it (one already active
 * first, then by precedence), provided no other live server has the group active.
 */
export function decideGrant(
  s: NodeState,
  group: string,
  now: number,
): { server: string; claim: number } | null {
  const lg = s.groups[group];
  if (!lg || lg.claim !== null || hasLocalActivity(s, group) || !probesDone(s, group)) return null;
  // A grant vouches for what we hear: not before every peer's state is known (a fresh daemon has heard
  // nothing yet, and its previous incarnation may have kept a peer's lease alive until it started).
  if (Object.values(s.peers).some((p) => p.report === null && !isIgnorable(s, p, now))) return null;
  const claimants = peerClaimants(s, group, now);
  const cur = s.grants[group];
  if (cur && claimants.some((c) => c.server === cur.server && c.claim === cur.claim)) return cur;
  const holders = otherActiveHolders(s, group, now);
  const eligible = claimants.filter((c) => holders.every((h) => h === c.server));
  eligible.sort(
    (a, b) =>
      Number(b.active) - Number(a.active) ||
      precedence(s.ix, group, a.server) - precedence(s.ix, group, b.server),
  );
  const best = eligible[0];
  return best ? { server: best.server, claim: best.claim } : null;
}

/**
 * Why our claim `claim` on `group` is not fully granted yet: one entry per peer that is neither ignorable nor
 * granting (empty = we may start).
 */
export function grantBlockers(s: NodeState, group: string, claim: number, now: number): string[] {
  const out: string[] = [];
  for (const p of Object.values(s.peers)) {
    if (isIgnorable(s, p, now)) continue;
    const r = p.report;
    if (p.mismatch !== null) {
      out.push(`${p.name} (runs a different configuration)`);
      continue;
    }
    const granted =
      r !== null &&
      r.grants[group]?.server === s.self &&
      r.grants[group].claim === claim &&
      r.echo[s.self]?.incarnation === s.incarnation &&
      !isActiveState(r.groups[group]?.state);
    if (granted) continue;
    if (!r || !isHeard(s.ix, p, now)) out.push(`${p.name} (${downBlocker(s, p, now) ?? 'not heard'})`);
    else if (isActiveState(r.groups[group]?.state))
      out.push(`${p.name} (${group} is ${r.groups[group]?.state} there)`);
    else out.push(`grant from ${p.name}`);
  }
  return out;
}
