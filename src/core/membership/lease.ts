/**
 * Leases and NP resolution (docs/architecture.md "Leases", "NP resolution", "Witness"): whether this server
 * may run groups (its contact is fresh), whether it is isolated, and when a lost peer is *down* (its groups
 * may be taken over). A lost peer is down only when all of these hold:
 *
 * 1. the takeover wait passed: `lastHeard + max(T, lease + isolationStopTimeout + margin)`, where
 *    lastHeard is never taken earlier than this daemon's start or the end of our last isolation;
 * 2. NP targets configured: a target answered 200 to a request sent after the loss, or another peer is
 *    still heard (then we are not the isolated one);
 * 3. witness configured: the witness answered a request sent at least `lease` after the peer was last
 *    heard, so the witness too had not heard it for a whole lease (otherwise the peer may be alive and in
 *    contact with the witness while we cannot see it).
 *
 * Peers that are heard and report the cluster service stopped with every group offline need not grant
 * claims either (graceful stop): together with down peers they are *ignorable*.
 */
import type { NodeState, PeerRecord } from '../model.ts';
import { fenceBlocker, fenceSatisfied } from './fence-state.ts';
import { isActiveState, isHeard, lastHeard, lostAt } from './peers.ts';

/** Our contact is fresh (or leases are not enforced) and NP resolution did not find us isolated. */
export function hasLease(s: NodeState, now: number): boolean {
  const lease = s.ix.config.cluster.lease;
  if (!lease.enforced) return true;
  if (s.contactAtMs === null || now - s.contactAtMs > lease.leaseMs) return false;
  return !npIsolated(s, now);
}

/** Isolation condition of this moment (the episode itself is tracked in `s.isolation`). */
export function isolationCause(s: NodeState, now: number): string | null {
  const lease = s.ix.config.cluster.lease;
  if (!lease.enforced || s.service === 'stopped') return null;
  const since = s.contactAtMs ?? s.serviceStartMs ?? s.daemonStartMs;
  if (now - since > lease.leaseMs) {
    return s.contactAtMs === null
      ? `no contact with any peer${witnessOrNp(s)} since the cluster service started`
      : `no contact with any peer${witnessOrNp(s)} for ${now - s.contactAtMs} ms (lease ${lease.leaseMs} ms)`;
  }
  if (npIsolated(s, now)) return 'every NP target failed while every peer is lost';
  return null;
}

function witnessOrNp(s: NodeState): string {
  const c = s.ix.config.cluster;
  if (c.witness) return ' or the witness';
  return c.networkPartition.http.length > 0 ? ' or NP target' : '';
}

/**
 * NP resolution found us isolated: no peer is heard, and for some lost peer every target failed a request
 * sent after the loss while none answered 200.
 */
export function npIsolated(s: NodeState, now: number): boolean {
  const targets = Object.values(s.np);
  if (targets.length === 0) return false;
  const peers = Object.values(s.peers);
  if (peers.some((p) => isHeard(s.ix, p, now))) return false;
  return peers.some((p) => {
    const l = lostAt(s, p);
    return (
      targets.every((t) => t.last !== null && !t.last.ok && t.last.sentAtMs >= l) &&
      !targets.some((t) => (t.lastOkSentAt ?? -Infinity) >= l)
    );
  });
}

/** Condition 2 of the module comment. */
export function npConfirmed(s: NodeState, p: PeerRecord, now: number): boolean {
  const targets = Object.values(s.np);
  if (targets.length === 0) return true;
  const l = lostAt(s, p);
  if (targets.some((t) => (t.lastOkSentAt ?? -Infinity) >= l)) return true;
  return Object.values(s.peers).some((q) => q !== p && q.mismatch === null && isHeard(s.ix, q, now));
}

/**
 * The time from which the lease argument counts for `p`: when we last heard it, but never before this
 * daemon started (our previous incarnation may have echoed `p`, renewing its lease, until then; a report
 * relayed by the witness can be older than that) and never before our last isolation ended (while
 * isolated we could not hear anybody: that silence says nothing about `p`).
 */
export function leaseBase(s: NodeState, p: PeerRecord): number {
  return Math.max(lastHeard(p) ?? s.daemonStartMs, s.daemonStartMs, s.isolationEndedAt ?? -Infinity);
}

/** Condition 3 of the module comment. */
export function witnessConfirmed(s: NodeState, p: PeerRecord): boolean {
  if (!s.ix.config.cluster.witness) return true;
  const ok = s.witness.lastOk;
  return ok !== null && ok.sentAtMs >= leaseBase(s, p) + s.ix.config.cluster.lease.leaseMs;
}

/** Local time from which a lost peer's groups may be taken over (condition 1). */
export function takeoverAt(s: NodeState, p: PeerRecord): number {
  return leaseBase(s, p) + s.ix.takeoverWaitMs;
}

/** Why `p` counts as down, for the SERVER_DOWN alert (call only when `isDown` holds). */
export function downReason(s: NodeState, p: PeerRecord): string {
  const why: string[] = [];
  const l = lostAt(s, p);
  const answered = Object.entries(s.np).filter(([, t]) => (t.lastOkSentAt ?? -Infinity) >= l);
  const first = answered[0];
  if (first)
    why.push(`NP target ${first[0]} answered after the loss: ${first[1].last?.detail ?? 'HTTP 200'}`);
  else if (Object.keys(s.np).length > 0) why.push('another server is heard, so this server is not isolated');
  if (s.ix.config.cluster.witness)
    why.push(`the witness has not heard it for at least ${s.ix.config.cluster.witness.timeoutMs} ms`);
  if (why.length === 0) why.push('no NP target or witness is configured: heartbeat loss counts as down');
  return why.join('; ');
}

export function isDown(s: NodeState, p: PeerRecord, now: number): boolean {
  // While isolated we hear nobody: that is no evidence about anyone (see leaseBase).
  if (s.isolation || isHeard(s.ix, p, now)) return false;
  return now >= takeoverAt(s, p) && npConfirmed(s, p, now) && witnessConfirmed(s, p);
}

/** Heard, cluster service stopped, and no group active there: it can start nothing without our grant. */
export function isGracefullyStopped(s: NodeState, p: PeerRecord, now: number): boolean {
  const r = p.report;
  if (!r || r.service !== 'stopped' || !isHeard(s.ix, p, now)) return false;
  return Object.values(r.groups).every((g) => !isActiveState(g.state));
}

/** A peer whose state and grants no longer matter (down, or gracefully stopped). */
export function isIgnorable(s: NodeState, p: PeerRecord, now: number): boolean {
  return (isDown(s, p, now) && fenceSatisfied(s, p)) || isGracefullyStopped(s, p, now);
}

/** What keeps a lost peer from being down yet (for plans), or null when it is down or heard. */
export function downBlocker(s: NodeState, p: PeerRecord, now: number): string | null {
  if (isHeard(s.ix, p, now)) return `${p.name} is heard`;
  if (s.isolation) return `contact (${s.self} is isolated)`;
  const at = takeoverAt(s, p);
  if (now < at) return `${p.name}'s lease to expire (in ${Math.ceil(at - now)} ms)`;
  if (!npConfirmed(s, p, now))
    return `an NP target to answer (${p.name} lost ${Math.round(now - lostAt(s, p))} ms ago)`;
  if (!witnessConfirmed(s, p)) return `the witness to confirm ${p.name} is gone`;
  return fenceBlocker(s, p, now);
}
