/**
 * Forced stop of a server judged down (issue 4 section 4; the seed's "Fencing" step of the cluster
 * generation wizard). With `fencing:` configured, a peer that is down per lease.ts is not yet *ignorable*
 * (its groups cannot be taken over, its grants are still needed) until this server has stopped its
 * instance:
 *
 * 1. the peer becomes down -> the forced stop is due `fencing.servers[self].delay` later (the per-server
 *    delay decides who fences first when two servers lose each other at once: the one with the smaller
 *    delay stops the other's instance, whose processes then cannot reach AWS any more, so its own late
 *    attempt fails and the group stays where the survivor put it);
 * 2. a `fence` action stops (or reboots) the instance and waits until it is stopped, bounded by
 *    `fencing.timeout`;
 * 3. success -> the peer is *fenced* for this loss episode: the failover proceeds; failure -> FENCE_FAILED
 *    names what happened and what to do; the groups stay put until the operator confirms the server is
 *    stopped (`tandem server confirm-down NAME`) or the peer is heard again.
 *
 * Every down peer is fenced (as Pacemaker does), whatever it ran: that is what makes the delay work when
 * only the interconnect is cut (the server with the smaller delay survives, even if the other one had
 * nothing active). Only a peer that left the cluster cleanly (its last report: service stopped, nothing
 * active or claimed) is not fenced. The episode ends when the peer is heard again.
 */
import type { FenceRt, NodeState } from '../model.ts';
import { nextId } from '../model.ts';
import { AlertCode, type Out } from '../out.ts';
import type { ExecOutcome, MonitorResult, StartStopResult } from '../types.ts';
import { needsFromDownPeer } from '../placement/needs.ts';
import { needsFencing } from './fence-state.ts';
import { isDown } from './lease.ts';
import { isHeard } from './peers.ts';

/** Extra time the shell gets beyond `fencing.timeout` before the executor's deadline. */
export const FENCE_SLACK_MS = 5_000;

function newRt(): FenceRt {
  return { state: 'none', episode: null, dueAt: null, inflight: null, detail: '', atMs: null };
}

export function fenceRt(s: NodeState, peer: string): FenceRt {
  const rt = (s.fencing[peer] ??= newRt());
  return rt;
}

/** Open, advance and close fencing episodes; issue the fence actions that are due. */
export function scheduleFencing(s: NodeState, now: number, out: Out): void {
  const f = s.ix.config.fencing;
  if (!f) return;
  for (const p of Object.values(s.peers)) {
    const rt = fenceRt(s, p.name);
    if (isHeard(s.ix, p, now)) {
      // Episode over (a fenced server that comes back was restarted by somebody: it rejoins normally).
      if (rt.state !== 'none' && rt.inflight === null) s.fencing[p.name] = newRt();
      continue;
    }
    if (rt.state !== 'none' || s.service !== 'running' || s.goingDown) continue;
    if (!isDown(s, p, now) || !needsFencing(s, p)) continue;
    const delay = f.servers[s.self]?.delayMs ?? 0;
    rt.state = 'waiting';
    rt.episode = p.lostAtMs ?? now;
    rt.dueAt = now + delay;
    rt.atMs = now;
    rt.detail = '';
    out.diag('info', 'forced stop scheduled', { server: p.name, delayMs: delay });
  }
  for (const p of Object.values(s.peers)) {
    const rt = s.fencing[p.name];
    if (!rt || rt.state !== 'waiting' || rt.dueAt === null || now < rt.dueAt) continue;
    if (s.service !== 'running' || s.goingDown || s.isolation) continue;
    const inst = f.servers[p.name]?.instanceId ?? '?';
    const id = nextId(s);
    rt.state = 'fencing';
    rt.inflight = id;
    rt.atMs = now;
    s.actions[id] = { kind: 'fence', peer: p.name };
    out.alert(
      'warning',
      'server',
      p.name,
      AlertCode.fenceStarted,
      `Forced stop of ${p.name} (instance ${inst}, action ${f.action}) by ${s.self} before its groups are taken over.`,
    );
    out.actions.push({
      id,
      kind: 'fence',
      server: p.name,
      timeoutMs: f.timeoutMs + FENCE_SLACK_MS,
      reason: `${p.name} is down and may still run groups`,
    });
  }
}

export function onFenceDone(
  s: NodeState,
  peer: string,
  actionId: string,
  o: ExecOutcome<StartStopResult | MonitorResult>,
  now: number,
  out: Out,
): void {
  const rt = s.fencing[peer];
  if (!rt || rt.inflight !== actionId) return;
  rt.inflight = null;
  rt.atMs = now;
  const p = s.peers[peer];
  if (p && isHeard(s.ix, p, now)) {
    // Heard again while we were stopping it: the episode is over either way.
    s.fencing[peer] = newRt();
    return;
  }
  const ok = o.exec === 'done' && (o.result === 'ok' || o.result === 'running');
  if (ok) {
    rt.state = 'fenced';
    rt.detail = o.message ?? 'instance stopped';
    // While the forced stop ran, the peer still counted as holding its groups (not ignorable), so the
    // needs raised when it went down were dropped: raise them again now that it is out of the way.
    if (p && isDown(s, p, now)) needsFromDownPeer(s, p, now);
    out.alert(
      'warning',
      'server',
      peer,
      AlertCode.fenceDone,
      `Forced stop of ${peer} done (${rt.detail}); its groups fail over to the surviving servers.`,
    );
    return;
  }
  rt.state = 'failed';
  const code = o.code !== undefined ? `${o.code} : ` : '';
  rt.detail = `${code}${o.message ?? o.exec}`;
  out.alert(
    'error',
    'server',
    peer,
    AlertCode.fenceFailed,
    `Forced stop of ${peer} failed (${rt.detail}); its groups are NOT taken over. Check the instance in the EC2 console, stop it by hand, then run: tandem server confirm-down ${peer}`,
  );
}

/** The operator says the peer's instance is stopped (after a failed forced stop). */
export function confirmDown(s: NodeState, peer: string, now: number, out: Out): string | null {
  const p = s.peers[peer];
  if (!p) return `${peer} is not a peer of ${s.self}`;
  if (isHeard(s.ix, p, now)) return `${peer} is heard: it is running, so it cannot be confirmed down`;
  const rt = fenceRt(s, peer);
  rt.state = 'fenced';
  rt.episode ??= p.lostAtMs ?? now;
  rt.dueAt = null;
  rt.atMs = now;
  rt.detail = 'confirmed stopped by the operator';
  if (isDown(s, p, now)) needsFromDownPeer(s, p, now);
  out.alert(
    'warning',
    'server',
    peer,
    AlertCode.fenceConfirmed,
    `The operator confirmed that ${peer} is stopped; its groups may be taken over once it is down.`,
  );
  return null;
}

/** Next time something in fencing changes by itself. */
export function fencingWake(s: NodeState): number[] {
  return Object.values(s.fencing)
    .filter((rt) => rt.state === 'waiting' && rt.dueAt !== null)
    .map((rt) => rt.dueAt as number);
}
