/**
 * The status document (src/shared/status.ts) as this server sees the cluster: its own state plus the
 * latest report of every peer. Server states: `online` (heard and running the cluster service, or this
 * server with the service up), `isolated` (lease ran out), `offline` (lost, or cluster service stopped),
 * `unknown` (never heard since this daemon started).
 */
import type {
  GroupStatus,
  HeartbeatStatus,
  MonitorState,
  ServerStatus,
  StatusDoc,
} from '../../shared/status.ts';
import { groupLocalResources, localGroupState } from '../group-state.ts';
import { isIgnorable } from '../membership/lease.ts';
import { heardVia, isActiveState, isHeard, lanHeard, lastHeard, witnessHeard } from '../membership/peers.ts';
import type { NodeState, PeerRecord } from '../model.ts';

/**
 * A monitor's state across the cluster: the worst state among the servers where it runs (error, then
 * warning, then normal); suspended when it is suspended everywhere it would run; offline when it runs nowhere
 * (e.g. an active-timing monitor on the standby shows offline there, while the cluster view shows the
 * active server's result). Per-server states are in `servers`.
 */
function clusterMonitorState(states: MonitorState[]): MonitorState {
  for (const st of ['error', 'warning', 'normal', 'suspended'] as const) if (states.includes(st)) return st;
  return 'offline';
}

export function buildStatus(s: NodeState, now: number): StatusDoc {
  const servers = s.ix.config.servers.map((srv) =>
    srv.name === s.self ? selfStatus(s, now) : peerStatus(s, s.peers[srv.name], srv.name, srv.priority, now),
  );
  const groups = s.ix.config.groups.map((g) => groupStatus(s, g.name, now));
  const monitors = s.ix.config.monitors.map((m) => {
    const rt = s.monitors[m.name];
    const per: Record<string, MonitorState> = { [s.self]: rt?.state ?? 'offline' };
    for (const p of Object.values(s.peers)) {
      const st = p.report?.monitors[m.name];
      if (st && isHeard(s.ix, p, now)) per[p.name] = st;
    }
    return {
      name: m.name,
      type: m.type,
      state: clusterMonitorState(Object.values(per)),
      servers: per,
      lastError: rt?.lastError ?? null,
    };
  });
  const warnings = clusterWarnings(s, servers, groups);
  const state =
    s.service === 'stopped'
      ? 'offline'
      : servers.every((x) => x.state === 'online') && warnings.length === 0
        ? 'online'
        : 'degraded';
  return { cluster: { name: s.ix.config.cluster.name, state, warnings }, servers, groups, monitors };
}

function selfStatus(s: NodeState, now: number): ServerStatus {
  const cl = s.ix.config.cluster;
  const peers = Object.values(s.peers);
  // A path of ours is in error only when a peer is heard some other way but not on it; with no peer heard
  // at all (peers down), nothing tells whether our own path works.
  const anyPeerHeard = peers.some((p) => isHeard(s.ix, p, now));
  const heartbeats: HeartbeatStatus[] = s.ix.lans.map((lan) => {
    const up = peers.some((p) => lanHeard(s.ix, p, lan, now));
    const ever = peers.some((p) => p.lanHeardAt[lan] !== undefined);
    return { name: lan, state: up ? 'normal' : ever && anyPeerHeard ? 'error' : 'unknown' };
  });
  if (cl.witness)
    heartbeats.push({ name: 'witness', state: s.witness.state === 'unknown' ? 'unknown' : s.witness.state });
  const np = cl.networkPartition.http.map((t) => {
    const rt = s.np[t.name];
    const last = rt?.last ?? null;
    return last === null
      ? { name: t.name, state: 'unknown' as const }
      : { name: t.name, state: last.ok ? ('normal' as const) : ('error' as const), detail: last.detail };
  });
  const up = s.service !== 'stopped';
  return {
    name: s.self,
    state: s.isolation ? 'isolated' : up ? 'online' : 'offline',
    local: true,
    priority: s.ix.servers.get(s.self)?.priority ?? 0,
    service: s.service,
    heardVia: 'self',
    heartbeats,
    np,
    configMismatch: null,
  };
}

function peerStatus(
  s: NodeState,
  p: PeerRecord | undefined,
  name: string,
  priority: number,
  now: number,
): ServerStatus {
  const cl = s.ix.config.cluster;
  const base = { name, local: false, priority, np: [] };
  if (!p) return { ...base, state: 'unknown', service: 'unknown', heardVia: 'none', heartbeats: [] };
  const heard = isHeard(s.ix, p, now);
  const r = p.report;
  const heartbeats: HeartbeatStatus[] = s.ix.lans.map((lan) => {
    const t = p.lanHeardAt[lan];
    const st = lanHeard(s.ix, p, lan, now) ? 'normal' : t === undefined ? 'unknown' : 'error';
    return { name: lan, state: st, lastHeardAgoMs: t === undefined ? null : now - t };
  });
  if (cl.witness) {
    const t = p.witnessHeardAt;
    heartbeats.push({
      name: 'witness',
      state: witnessHeard(s.ix, p, now) ? 'normal' : t === null ? 'unknown' : 'error',
      lastHeardAgoMs: t === null ? null : now - t,
    });
  }
  let state: ServerStatus['state'];
  // A server with another configuration is alive but not a member of this cluster.
  if (p.mismatch) state = 'offline';
  else if (!heard) state = lastHeard(p) === null ? 'unknown' : 'offline';
  else if (r?.isolated) state = 'isolated';
  else state = r && r.service !== 'stopped' ? 'online' : 'offline';
  const f = s.fencing[name];
  const fencing = s.ix.config.fencing
    ? { fencing: { state: f?.state ?? 'none', detail: f?.detail ?? '' } }
    : {};
  return {
    ...base,
    ...fencing,
    state,
    service: heard && r ? r.service : 'unknown',
    heardVia: heardVia(s.ix, p, now),
    heartbeats,
    configMismatch: p.mismatch ? { ours: s.ix.config.hash, theirs: p.mismatch } : null,
  };
}

function groupStatus(s: NodeState, group: string, now: number): GroupStatus {
  const g = s.ix.groups.get(group);
  const holders: { server: string; state: GroupStatus['state'] }[] = [];
  const local = localGroupState(s, group);
  if (isActiveState(local)) holders.push({ server: s.self, state: local });
  for (const p of Object.values(s.peers)) {
    const st = p.report?.groups[group]?.state;
    if (st && isActiveState(st) && !isIgnorable(s, p, now)) holders.push({ server: p.name, state: st });
  }
  const main =
    holders.find((h) => h.state === 'online') ??
    holders.find((h) => h.state === 'error') ??
    holders[0] ??
    null;
  const failedOn = new Set<string>(s.marks[group] ?? []);
  for (const p of Object.values(s.peers)) if (p.report?.failedGroups.includes(group)) failedOn.add(p.name);
  const resources = (g?.resources ?? []).map((name) => {
    const type = s.ix.resources.get(name)?.type ?? 'unknown';
    if (main?.server === s.self) {
      const r = groupLocalResources(s, group).find((x) => x.name === name);
      return { name, type, state: r?.state ?? 'offline', error: r?.lastError ?? null };
    }
    const st = main ? s.peers[main.server]?.report?.resources[name] : undefined;
    return { name, type, state: st ?? 'offline' };
  });
  return {
    name: group,
    state: main?.state ?? 'offline',
    server: main?.server ?? null,
    resources,
    failedOn: [...failedOn],
  };
}

function clusterWarnings(s: NodeState, servers: ServerStatus[], groups: GroupStatus[]): string[] {
  const out: string[] = [];
  for (const srv of servers) {
    if (srv.local) continue;
    if (srv.heardVia === 'witness')
      out.push(`${srv.name} is heard only through the witness: the interconnects are silent`);
    else if (srv.state === 'offline' && srv.service === 'unknown') out.push(`${srv.name} is not heard`);
    if (srv.configMismatch)
      out.push(`${srv.name} runs a different configuration (${srv.configMismatch.theirs.slice(0, 12)})`);
    if (srv.state === 'isolated') out.push(`${srv.name} is isolated`);
  }
  if (s.isolation) out.push(`${s.self} is isolated: ${s.isolation.cause}`);
  for (const t of Object.values(s.np))
    if (t.last && !t.last.ok) out.push(`NP target ${t.name} does not answer: ${t.last.detail}`);
  if (s.witness.state === 'error') out.push(`the witness does not answer: ${s.witness.detail}`);
  for (const g of groups) {
    if (g.state === 'error') out.push(`group ${g.name} is in error on ${g.server ?? 'unknown'}`);
    const startup = s.ix.groups.get(g.name)?.startupServers ?? [];
    if (g.state === 'offline' && startup.length > 0 && startup.every((x) => g.failedOn?.includes(x))) {
      out.push(
        `group ${g.name} failed on every server that may run it (${startup.join(', ')}); fix the cause and run tandem group reset ${g.name}`,
      );
    }
  }
  return out;
}
