/**
 * Queries on the fencing state (membership/fencing.ts has the episode logic): whether a down peer must be
 * fenced before its groups are taken over, whether it has been, and what the takeover waits for. Kept apart
 * so that lease.ts can ask them without an import cycle.
 */
import type { NodeState, PeerRecord } from '../model.ts';
import { isActiveState } from './peers.ts';

/** Whether `p` must be fenced before its groups are taken over (see the module comment). */
export function needsFencing(s: NodeState, p: PeerRecord): boolean {
  const f = s.ix.config.fencing;
  if (!f || !f.servers[p.name]) return false;
  const r = p.report;
  if (!r) return true;
  // A server that left the cluster cleanly (service stopped, nothing active or claimed) runs nothing.
  const left =
    r.service === 'stopped' &&
    Object.values(r.groups).every((g) => !isActiveState(g.state) && g.claim === null);
  return !left;
}

/** Down, and fenced when fencing applies: its groups may be taken over. */
export function fenceSatisfied(s: NodeState, p: PeerRecord): boolean {
  if (!needsFencing(s, p)) return true;
  return s.fencing[p.name]?.state === 'fenced';
}

/** What a down peer's takeover waits for on the fencing side, or null. */
export function fenceBlocker(s: NodeState, p: PeerRecord, now: number): string | null {
  if (fenceSatisfied(s, p)) return null;
  const rt = s.fencing[p.name];
  switch (rt?.state) {
    case 'waiting':
      return `the forced stop of ${p.name} (due in ${Math.max(0, Math.ceil((rt.dueAt ?? now) - now))} ms, fencing delay)`;
    case 'fencing':
      return `the forced stop of ${p.name} to complete`;
    case 'failed':
      return `the forced stop of ${p.name}, which failed (${rt.detail}): stop its instance, then run tandem server confirm-down ${p.name}`;
    default:
      return `the forced stop of ${p.name}`;
  }
}
