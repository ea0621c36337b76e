/**
 * The cluster service on this server and the periodic work the core asks the shell to do: starting the
 * service (startup probes of every resource this server may run), the sync wait (`starting` -> `running`
 * once every server is heard or `syncWait` passed; autoStart groups then need an owner), NP checks
 * (every target interval for status, every heartbeat interval while the lease is at risk, at once when a
 * peer is lost), witness exchanges (every witness interval, at once when a peer is lost or its lease
 * would have run out), the results of both, and the next time the shell must call `tick`.
 */
import { fencingWake } from './membership/fencing.ts';
import { lostAt, isHeard } from './membership/peers.ts';
import { leaseBase, takeoverAt } from './membership/lease.ts';
import { nextId, type CheckRt, type NodeState } from './model.ts';
import { AlertCode, type Out } from './out.ts';
import { initialNeeds } from './placement/needs.ts';
import type { ResourceAction } from './types.ts';

export function startService(s: NodeState, now: number, out: Out): void {
  s.service = 'starting';
  s.serviceStartMs = now;
  out.alert(
    'info',
    'cluster',
    s.self,
    AlertCode.serviceStarting,
    `The cluster service is starting on ${s.self}.`,
  );
  for (const g of s.ix.config.groups) {
    const lg = s.groups[g.name];
    if (lg) lg.release = null;
    const mine = g.startupServers.includes(s.self);
    for (const name of g.resources) {
      const r = s.resources[name];
      const cfg = s.ix.resources.get(name);
      if (!r || !cfg) continue;
      if (!mine || r.inflight || r.state !== 'offline' || lg?.owner) {
        r.probed = true;
        continue;
      }
      const a: ResourceAction = {
        id: nextId(s),
        kind: 'resource',
        verb: 'probe',
        resource: name,
        group: g.name,
        timeoutMs: cfg.timeoutMs,
        event: 'START',
        failoverFrom: null,
        reason: 'startup probe',
      };
      r.probed = false;
      r.inflight = { id: a.id, verb: 'probe', hard: false };
      out.actions.push(a);
    }
  }
  checkSync(s, now, out);
}

/** `starting` -> `running` once every configured server is heard or the sync wait passed. */
export function checkSync(s: NodeState, now: number, out: Out): void {
  if (s.service !== 'starting' || s.serviceStartMs === null) return;
  const all = Object.values(s.peers).every((p) => isHeard(s.ix, p, now));
  const timedOut = now >= s.serviceStartMs + s.ix.config.cluster.syncWaitMs;
  if (!all && !timedOut) return;
  s.service = 'running';
  const how = all ? 'every server is heard' : `sync wait of ${s.ix.config.cluster.syncWaitMs} ms passed`;
  out.alert(
    'info',
    'cluster',
    s.self,
    AlertCode.serviceRunning,
    `The cluster service is running on ${s.self} (${how}).`,
  );
  initialNeeds(s, now);
}

function inflightExpired(c: CheckRt, now: number, limitMs: number): boolean {
  return c.inflight !== null && now >= c.inflight.issuedAt + limitMs;
}

function due(c: CheckRt, now: number, intervalMs: number): boolean {
  if (c.inflight !== null) return false;
  if (c.lastIssuedAt === null) return true;
  if (c.wantedAt !== null && c.wantedAt > c.lastIssuedAt && now >= c.wantedAt) return true;
  return now >= c.lastIssuedAt + intervalMs;
}

function leaseAtRisk(s: NodeState, now: number): boolean {
  const lease = s.ix.config.cluster.lease;
  if (!lease.enforced) return false;
  return s.contactAtMs === null || now - s.contactAtMs > lease.leaseMs / 2;
}

/** Issue the NP check and witness exchange that are due. */
export function scheduleChecks(s: NodeState, now: number, out: Out): void {
  const cl = s.ix.config.cluster;
  const I = cl.heartbeat.intervalMs;
  const targets = cl.networkPartition.http;
  if (inflightExpired(s.npCheck, now, Math.max(0, ...targets.map((t) => t.timeoutMs)) + I))
    s.npCheck.inflight = null;
  if (targets.length > 0 && s.service !== 'stopped') {
    const interval = leaseAtRisk(s, now) ? I : Math.min(...targets.map((t) => t.intervalMs));
    if (due(s.npCheck, now, interval)) {
      const id = nextId(s);
      s.npCheck.inflight = { id, issuedAt: now };
      s.npCheck.lastIssuedAt = now;
      s.actions[id] = { kind: 'np' };
      out.actions.push({ id, kind: 'np-check', reason: npReason(s, now) });
    }
  }
  const w = cl.witness;
  if (!w) return;
  if (inflightExpired(s.witness, now, w.timeoutMs + I)) s.witness.inflight = null;
  for (const p of Object.values(s.peers)) {
    if (isHeard(s.ix, p, now)) continue;
    const t = leaseBase(s, p) + cl.lease.leaseMs;
    if (t <= now && (s.witness.wantedAt === null || s.witness.wantedAt < t)) s.witness.wantedAt = t;
  }
  const interval = leaseAtRisk(s, now) ? I : w.intervalMs;
  if (due(s.witness, now, interval)) {
    const id = nextId(s);
    s.witness.inflight = { id, issuedAt: now };
    s.witness.lastIssuedAt = now;
    s.actions[id] = { kind: 'witness' };
    out.actions.push({ id, kind: 'witness', reason: 'witness heartbeat' });
  }
}

function npReason(s: NodeState, now: number): string {
  const lost = Object.values(s.peers).filter(
    (p) => p.seen === 'lost' && (p.lostAtMs ?? -1) >= (s.npCheck.lastIssuedAt ?? -1),
  );
  if (lost.length > 0 && s.npCheck.wantedAt === now)
    return `NP resolution: ${lost.map((p) => p.name).join(', ')} lost`;
  return leaseAtRisk(s, now) ? 'NP check (lease at risk)' : 'NP check (interval)';
}

/** An NP target answered (or failed). */
export function onNpResult(
  s: NodeState,
  target: string,
  ok: boolean,
  sentAtMs: number,
  detail: string,
  out: Out,
): void {
  const t = s.np[target];
  if (!t) return;
  if (t.last === null || sentAtMs >= t.last.sentAtMs) t.last = { ok, sentAtMs, detail };
  if (ok) {
    t.lastOkSentAt = Math.max(t.lastOkSentAt ?? sentAtMs, sentAtMs);
    if (!s.ix.config.cluster.witness)
      s.contactAtMs = Math.max(s.contactAtMs ?? sentAtMs, Math.min(sentAtMs, s.nowMs));
  }
  const state = t.last.ok ? 'normal' : 'error';
  if (state !== t.alerted) {
    if (state === 'error')
      out.alert(
        'warning',
        'np',
        target,
        AlertCode.npTargetError,
        `NP target ${target} does not answer from ${s.self}: ${detail}.`,
      );
    else if (t.alerted !== null)
      out.alert(
        'info',
        'np',
        target,
        AlertCode.npTargetNormal,
        `NP target ${target} answers again from ${s.self}.`,
      );
    t.alerted = state;
  }
  const inf = s.npCheck.inflight;
  if (inf && Object.values(s.np).every((x) => x.last !== null && x.last.sentAtMs >= inf.issuedAt))
    s.npCheck.inflight = null;
}

/** The witness answered (or failed); relayed peers are taken in by the caller. */
export function onWitnessAnswer(s: NodeState, ok: boolean, sentAtMs: number, detail: string, out: Out): void {
  const inf = s.witness.inflight;
  if (inf && sentAtMs >= inf.issuedAt) s.witness.inflight = null;
  if (ok) {
    s.contactAtMs = Math.max(s.contactAtMs ?? sentAtMs, Math.min(sentAtMs, s.nowMs));
    if (!s.witness.lastOk || sentAtMs >= s.witness.lastOk.sentAtMs)
      s.witness.lastOk = { sentAtMs, atMs: s.nowMs };
    if (s.witness.state === 'error')
      out.alert(
        'info',
        'witness',
        'witness',
        AlertCode.witnessNormal,
        `The witness answers ${s.self} again.`,
      );
    s.witness.state = 'normal';
    s.witness.detail = '';
    return;
  }
  if (s.witness.state !== 'error')
    out.alert(
      'warning',
      'witness',
      'witness',
      AlertCode.witnessError,
      `The witness does not answer ${s.self}: ${detail}.`,
    );
  s.witness.state = 'error';
  s.witness.detail = detail;
}

/** The next local time something changes by itself (the shell ticks then), after `now`. */
export function nextWake(s: NodeState, now: number, lastSendAt: number | null): number | null {
  const cl = s.ix.config.cluster;
  const T = cl.heartbeat.timeoutMs;
  const times: number[] = [];
  const add = (t: number | null | undefined): void => {
    if (t !== null && t !== undefined && t > now) times.push(t);
  };
  add(lastSendAt === null ? now + 1 : lastSendAt + cl.heartbeat.intervalMs);
  if (s.service === 'starting' && s.serviceStartMs !== null) add(s.serviceStartMs + cl.syncWaitMs);
  for (const p of Object.values(s.peers)) {
    for (const t of Object.values(p.lanHeardAt)) add(t + T);
    if (cl.witness && p.witnessHeardAt !== null) add(p.witnessHeardAt + cl.witness.timeoutMs);
    add(lostAt(s, p));
    add(takeoverAt(s, p));
    if (cl.witness) add(leaseBase(s, p) + cl.lease.leaseMs);
  }
  if (cl.lease.enforced) {
    const base = s.contactAtMs ?? s.serviceStartMs ?? s.daemonStartMs;
    add(base + cl.lease.leaseMs + 1);
    add(base + Math.floor(cl.lease.leaseMs / 2) + 1);
  }
  if (s.isolation) add(s.isolation.sinceMs + cl.lease.isolationStopTimeoutMs);
  const I = cl.heartbeat.intervalMs;
  const targets = cl.networkPartition.http;
  if (targets.length > 0 && s.npCheck.lastIssuedAt !== null) {
    add(s.npCheck.lastIssuedAt + Math.min(I, ...targets.map((t) => t.intervalMs)));
    if (s.npCheck.inflight)
      add(s.npCheck.inflight.issuedAt + Math.max(...targets.map((t) => t.timeoutMs)) + I);
  }
  if (cl.witness && s.witness.lastIssuedAt !== null) {
    add(s.witness.lastIssuedAt + Math.min(I, cl.witness.intervalMs));
    if (s.witness.inflight) add(s.witness.inflight.issuedAt + cl.witness.timeoutMs + I);
  }
  for (const m of Object.values(s.monitors)) add(m.nextCheckAt);
  for (const t of fencingWake(s)) add(t);
  return times.length === 0 ? null : Math.min(...times);
}
