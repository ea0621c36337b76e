/**
 * The heartbeat report this server sends (`PeerReport`, docs/architecture.md "Heartbeats") and what
 * survives a restart (`PersistedState`). `reportContentKey` is the report without its sequence number, send
 * time and echo times: when it changes the report goes out at once instead of at the next interval (echo
 * times are excluded, or every received heartbeat would trigger a send back; a new peer incarnation counts).
 */
import { localGroupState } from './group-state.ts';
import { markedSelf, type NodeState } from './model.ts';
import type { PeerReport, PersistedState } from './types.ts';

type ReportBody = Omit<PeerReport, 'seq' | 'sentAtMs' | 'echo'>;

function reportBody(s: NodeState): ReportBody {
  const groups: PeerReport['groups'] = {};
  for (const g of s.ix.config.groups) {
    const lg = s.groups[g.name];
    const e: PeerReport['groups'][string] = { state: localGroupState(s, g.name), claim: lg?.claim ?? null };
    if (lg?.release) e.release = lg.release;
    if (lg?.hold) e.hold = true;
    groups[g.name] = e;
  }
  const resources: PeerReport['resources'] = {};
  for (const r of s.ix.config.resources) resources[r.name] = s.resources[r.name]?.state ?? 'offline';
  const monitors: PeerReport['monitors'] = {};
  for (const m of s.ix.config.monitors) monitors[m.name] = s.monitors[m.name]?.state ?? 'offline';
  const body: ReportBody = {
    cluster: s.ix.config.cluster.name,
    server: s.self,
    incarnation: s.incarnation,
    configHash: s.ix.config.hash,
    service: s.service,
    isolated: s.isolation !== null,
    groups,
    grants: { ...s.grants },
    failedGroups: s.ix.config.groups.filter((g) => markedSelf(s, g.name)).map((g) => g.name),
    monitorErrors: Object.values(s.monitors).filter((m) => m.state === 'error').length,
    resources,
    monitors,
  };
  if (Object.keys(s.resetEpochs).length > 0) body.resetEpochs = { ...s.resetEpochs };
  return body;
}

export function reportContentKey(s: NodeState): string {
  // Peer incarnations count as content: a peer that (re)starts hears us at once (and gets its echo).
  const heard = Object.values(s.peers).map((p) => p.report?.incarnation ?? '');
  return JSON.stringify([reportBody(s), heard]);
}

export function buildReport(s: NodeState, seq: number, now: number): PeerReport {
  const echo: PeerReport['echo'] = {};
  for (const p of Object.values(s.peers)) {
    if (p.report) echo[p.name] = { incarnation: p.report.incarnation, sentAtMs: p.report.sentAtMs };
  }
  return { ...reportBody(s), seq, sentAtMs: now, echo };
}

export function persistedState(s: NodeState): PersistedState {
  const failedGroups: Record<string, string[]> = {};
  for (const [g, servers] of Object.entries(s.marks)) if (servers.length > 0) failedGroups[g] = [...servers];
  const out: PersistedState = { serviceWanted: s.serviceWanted, failedGroups };
  if (Object.keys(s.resetEpochs).length > 0) out.resetEpochs = { ...s.resetEpochs };
  return out;
}
