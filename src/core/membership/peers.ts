/**
 * Peer bookkeeping (docs/architecture.md "Heartbeats", "Witness"): taking in verified reports from an
 * interconnect or relayed by the witness, telling restarts (new incarnation) and stale relays apart, config
 * mismatches, the echo that renews our own contact, and the liveness questions every other module asks:
 * is a peer heard, how, and when was it last heard.
 */
import type { ConfigIndex } from '../config-index.ts';
import type { NodeState, PeerRecord } from '../model.ts';
import { AlertCode, type Out } from '../out.ts';
import type { GroupLocalState, PeerReport } from '../types.ts';

export const WITNESS_PATH = 'witness';

export function isActiveState(state: GroupLocalState | undefined): boolean {
  return state !== undefined && state !== 'offline';
}

/** Heard on interconnect `lan` within the heartbeat timeout. */
export function lanHeard(ix: ConfigIndex, p: PeerRecord, lan: string, now: number): boolean {
  const t = p.lanHeardAt[lan];
  return t !== undefined && now - t < ix.config.cluster.heartbeat.timeoutMs;
}

export function witnessHeard(ix: ConfigIndex, p: PeerRecord, now: number): boolean {
  const w = ix.config.cluster.witness;
  return w !== null && p.witnessHeardAt !== null && now - p.witnessHeardAt < w.timeoutMs;
}

export function isHeard(ix: ConfigIndex, p: PeerRecord, now: number): boolean {
  return ix.lans.some((l) => lanHeard(ix, p, l, now)) || witnessHeard(ix, p, now);
}

export function heardVia(ix: ConfigIndex, p: PeerRecord, now: number): 'interconnect' | 'witness' | 'none' {
  if (ix.lans.some((l) => lanHeard(ix, p, l, now))) return 'interconnect';
  return witnessHeard(ix, p, now) ? 'witness' : 'none';
}

/** Latest local time anything carried a report of `p` (null = never). */
export function lastHeard(p: PeerRecord): number | null {
  let t: number | null = p.witnessHeardAt;
  for (const v of Object.values(p.lanHeardAt)) if (t === null || v > t) t = v;
  return t;
}

/** When `p` stopped being heard (heard -> lost), or when a never-heard peer counts as lost. */
export function lostAt(s: NodeState, p: PeerRecord): number {
  const { heartbeat, witness } = s.ix.config.cluster;
  let t: number | null = null;
  for (const v of Object.values(p.lanHeardAt)) t = Math.max(t ?? v, v + heartbeat.timeoutMs);
  if (witness && p.witnessHeardAt !== null) t = Math.max(t ?? 0, p.witnessHeardAt + witness.timeoutMs);
  return t ?? s.daemonStartMs + heartbeat.timeoutMs;
}

/**
 * Take in one verified report heard at local time `heardAt` on `via` (`lan1`... or `witness`). Returns
 * whether it became the peer's latest report. A report of a new incarnation replaces everything known of the
 * peer's groups, claims and grants (the peer restarted); a relayed report older than what we have is only
 * liveness evidence.
 */
export function ingestReport(s: NodeState, r: PeerReport, heardAt: number, via: string, out: Out): boolean {
  const ix = s.ix;
  if (r.cluster !== ix.config.cluster.name || r.server === s.self) return false;
  const p = s.peers[r.server];
  if (!p) {
    out.diag('debug', 'report from a server not in the config dropped', { server: r.server });
    return false;
  }
  noteMismatch(s, p, r, out);
  const cur = p.report;
  let accepted = false;
  let restarted = false;
  if (cur === null) accepted = true;
  else if (cur.incarnation === r.incarnation) accepted = r.seq > cur.seq;
  else if (via !== WITNESS_PATH || heardAt > (p.reportHeardAt ?? -Infinity)) {
    accepted = true;
    restarted = true;
  }
  const sameIncarnation = accepted || cur?.incarnation === r.incarnation;
  if (sameIncarnation) {
    if (via === WITNESS_PATH) p.witnessHeardAt = Math.max(p.witnessHeardAt ?? heardAt, heardAt);
    else p.lanHeardAt[via] = Math.max(p.lanHeardAt[via] ?? heardAt, heardAt);
  }
  if (!accepted) return false;
  if (restarted && cur) onRestart(s, p, cur, out);
  p.report = r;
  p.reportHeardAt = Math.max(p.reportHeardAt ?? heardAt, heardAt);
  const e = r.echo[s.self];
  if (e && e.incarnation === s.incarnation && e.sentAtMs <= s.nowMs) {
    s.contactAtMs = Math.max(s.contactAtMs ?? e.sentAtMs, e.sentAtMs);
  }
  mergeResetEpochs(s, r.resetEpochs ?? {}, out);
  return true;
}

function noteMismatch(s: NodeState, p: PeerRecord, r: PeerReport, out: Out): void {
  const ours = s.ix.config.hash;
  if (r.configHash === ours) {
    p.mismatch = null;
    return;
  }
  p.mismatch = r.configHash;
  if (!p.mismatchAlerted.includes(r.configHash)) {
    p.mismatchAlerted.push(r.configHash);
    out.alert(
      'error',
      'server',
      p.name,
      AlertCode.configMismatch,
      `Server ${p.name} runs a different cluster configuration (ours ${ours.slice(0, 12)}, theirs ${r.configHash.slice(0, 12)}); ` +
        `it is not clustered with ${s.self}. Copy the same config file to every server and restart their daemons.`,
    );
  }
}

/** The peer restarted: its old groups are gone (or will be probed); groups it ran need a new owner. */
function onRestart(s: NodeState, p: PeerRecord, old: PeerReport, out: Out): void {
  p.releasesSeen = [];
  for (const [g, grant] of Object.entries(s.grants)) if (grant.server === p.name) delete s.grants[g];
  for (const [g, st] of Object.entries(old.groups)) {
    const cfg = s.ix.groups.get(g);
    const lg = s.groups[g];
    if (!cfg || !lg || !isActiveState(st.state) || !cfg.failover.auto || lg.need) continue;
    lg.need = {
      event: 'FAILOVER',
      from: p.name,
      to: null,
      rule: cfg.failover.target,
      reason: `failover from ${p.name}: ${p.name} restarted`,
      operator: false,
      exclude: null,
    };
  }
  out.diag('info', 'peer restarted (new incarnation)', { server: p.name });
}

/** Take the maximum reset generation per group; a grown one clears our own failover mark of that group. */
export function mergeResetEpochs(s: NodeState, epochs: Record<string, number>, out: Out): void {
  for (const [g, e] of Object.entries(epochs)) {
    if (!s.ix.groups.has(g) || e <= (s.resetEpochs[g] ?? 0)) continue;
    s.resetEpochs[g] = e;
    clearGroupFailures(s, g);
    out.persistDirty = true;
  }
}

/** Forget failover marks and failure counters of `group` on this server. */
export function clearGroupFailures(s: NodeState, group: string): void {
  delete s.marks[group];
  for (const r of Object.values(s.resources)) {
    if (r.group !== group) continue;
    r.failovers = 0;
    r.activationRetries = 0;
    r.deactivationRetries = 0;
  }
  const lg = s.groups[group];
  if (lg) lg.stuck = false;
}

/** A witness answer: liveness of every peer the witness knows, and their relayed reports. */
export function ingestWitnessPeers(
  s: NodeState,
  peers: Record<string, { ageMs: number; report: PeerReport | null }>,
  out: Out,
): void {
  for (const [name, info] of Object.entries(peers)) {
    const p = s.peers[name];
    if (!p || name === s.self) continue;
    const heardAt = s.nowMs - Math.max(0, info.ageMs);
    if (info.report) ingestReport(s, info.report, heardAt, WITNESS_PATH, out);
    else if (p.report) p.witnessHeardAt = Math.max(p.witnessHeardAt ?? heardAt, heardAt);
  }
}
