/**
 * The connect decision of the mirror volume state machine (issue 5 section 2) and the small helpers every
 * transition uses: a `Draft` (the state being built plus the actions collected so far), `persist`, `log`,
 * going alone (`maybeBreakAway`). `step` (volume-state.ts) and the operator's recover (recover.ts) build on
 * them; the rules are documented in volume-state.ts. Pure.
 */
import { compareCopies, JUST_CREATED, onBreak } from './generations.ts';
import type { Generations } from './generations.ts';
import { refusal } from './messages.ts';
import type { MirrorCode, MirrorRefusal } from './messages.ts';
import type {
  Connection,
  CopyFlags,
  PeerInfo,
  ResyncDirection,
  VolumeAction,
  VolumeState,
} from './state-types.ts';

/** A transition in progress: the state so far and the actions to carry out, in order. */
export interface Draft {
  s: VolumeState;
  actions: VolumeAction[];
}

/** True while writes are mirrored to the peer (in sync, or during a resync in either direction). */
export function isReplicating(c: Connection): boolean {
  return c.kind === 'Connected' || c.kind === 'Resyncing';
}

/**
 * Changes generations and flags and persists them. Best effort once the copy's disk failed: its cluster
 * partition may be failing too, and the failure must still reach the peer (and the demotion proceed).
 */
export function persist(d: Draft, patch: { generations?: Generations; flags?: Partial<CopyFlags> }): void {
  const generations = patch.generations ?? d.s.generations;
  const flags: CopyFlags = { ...d.s.flags, ...patch.flags };
  d.s = { ...d.s, generations, flags };
  d.actions.push({ type: 'persist', generations, flags, bestEffort: flags.diskFailed });
}

/**
 * Sends our meta, unless the last action (logs aside) already does: the meta carries the state as it is
 * when sent, so one after the last persist says everything.
 */
export function sendMeta(d: Draft): void {
  const last = d.actions.findLast((a) => a.type !== 'log');
  if (last?.type !== 'send-meta') d.actions.push({ type: 'send-meta' });
}

export function log(d: Draft, level: 'info' | 'warn' | 'error', message: string): void {
  d.actions.push({ type: 'log', level, message });
}

/** What failed, for messages: the recorded error, or (after a restart) the flag's meaning. */
export function diskFailureText(s: VolumeState): string {
  return (
    s.diskError ??
    `the data partition ${s.dataPath} on ${s.server} failed (recorded in its metadata before the daemon restarted)`
  );
}

/** The MD_DISK_FAILED refusal, naming the volume, server, path and error, with the remedy for this copy. */
export function diskFailedRefusal(s: VolumeState, extra?: string): MirrorRefusal {
  return refusal(
    'MD_DISK_FAILED',
    s.name,
    `${diskFailureText(s)}${extra !== undefined ? `; ${extra}` : ''}`,
    `Replace or repair the data partition ${s.dataPath} on ${s.server}, then run \`tandem md recover ${s.name}\` on ${s.server}: its copy is rebuilt by a full resync from ${s.peerServer}.`,
  );
}

/**
 * Starts writing alone if primary (new generation) and the link is not replicating. `peerOutdated` is
 * persisted with it, before any write is acknowledged alone, so that this copy still knows it is the newer
 * one after its own restart. A copy whose disk failed is not the newer one of anything: it writes nothing.
 */
export function maybeBreakAway(d: Draft, newId: string): void {
  if (d.s.role !== 'primary' || isReplicating(d.s.connection) || d.s.flags.diskFailed) return;
  const before = d.s.generations;
  const g = onBreak(before, newId);
  if (g !== before || !d.s.flags.peerOutdated) {
    persist(d, { generations: g, flags: { peerOutdated: true } });
    d.s = { ...d.s, freshnessKnown: true };
  }
  if (g !== before) {
    log(
      d,
      'info',
      `volume ${d.s.name}: writing without the peer from generation ${g.current} (bitmap since ${g.bitmap ?? 'none'})`,
    );
  }
}

/** The copies were compared and this one holds everything the peer has (identical, or newer). */
export function becomeFresh(d: Draft): void {
  d.s = { ...d.s, freshnessKnown: true };
}

/**
 * The connect decision: compare generations and choose Connected / Resyncing / RecoveryPending /
 * SplitBrain / Refused.
 */
export function decide(d: Draft, peer: PeerInfo, nowMs: number, newId: string): void {
  const name = d.s.name;
  d.s = { ...d.s, lastDecision: null };
  const refuse = (code: MirrorCode, why: string): void => {
    d.s = { ...d.s, connection: { kind: 'Refused', code, why }, resync: null };
    log(d, 'error', refusal(code, name, why).message);
    maybeBreakAway(d, newId);
  };
  if (peer.volumeId !== d.s.volumeId) return refuse('MD_VOLUME_MISMATCH', `peer volume id ${peer.volumeId}`);
  if (peer.size < d.s.size) return refuse('MD_SIZE_MISMATCH', `peer size ${peer.size} < ${d.s.size} bytes`);
  // A failed disk is neither overwritten (it fails) nor read from (it is not trusted) until `recover`.
  if (d.s.flags.diskFailed) return refuse('MD_DISK_FAILED', diskFailureText(d.s));
  if (peer.flags.diskFailed === true) {
    return refuse('MD_PEER_DISK_FAILED', `the data partition of the copy on ${d.s.peerServer} failed`);
  }
  if (d.s.flags.broken || peer.flags.broken) {
    return refuse('MD_BROKEN', d.s.flags.broken ? 'broken on this server' : 'broken on the peer');
  }
  if (d.s.role === 'primary' && peer.role === 'primary') {
    // Both active: each wrote without the other (or is about to); never mirror between two primaries.
    const cmp = compareCopies(d.s.generations, peer.generations);
    d.s = { ...d.s, lastDecision: cmp };
    return refuse('MD_TWO_PRIMARIES', 'both servers have the volume active');
  }
  const cmp = compareCopies(d.s.generations, peer.generations);
  d.s = { ...d.s, lastDecision: cmp };
  switch (cmp.kind) {
    case 'identical': {
      // Same data by generations; regions written by a primary that crashed before they were mirrored
      // are dirty on its side (its activity) and go to the other copy.
      const dirty = d.s.dirtyBytes > 0 || peer.dirtyBytes > 0;
      const localLead =
        d.s.role === 'primary' || (d.s.flags.wasPrimary && !peer.flags.wasPrimary && peer.role !== 'primary');
      const peerLead =
        peer.role === 'primary' || (peer.flags.wasPrimary && !d.s.flags.wasPrimary && d.s.role !== 'primary');
      // Both sides compute this from the same two metas, so they agree on the direction (or on none).
      const source: 'local' | 'peer' | null = !dirty ? null : localLead ? 'local' : peerLead ? 'peer' : null;
      if (source === 'local') resyncOrWait(d, peer, 'to-peer', false, nowMs, cmp.why, newId, false);
      else if (source === 'peer') resyncOrWait(d, peer, 'from-peer', false, nowMs, cmp.why, newId, false);
      else {
        d.s = { ...d.s, connection: { kind: 'Connected' }, resync: null, recoverRequested: null };
        becomeFresh(d);
        if (d.s.flags.outdated || d.s.flags.inconsistent || d.s.flags.peerOutdated)
          persist(d, { flags: { outdated: false, inconsistent: false, peerOutdated: false } });
        log(d, 'info', `volume ${name}: connected, copies identical (${cmp.why})`);
      }
      return;
    }
    case 'local-newer':
      return resyncOrWait(d, peer, 'to-peer', cmp.full, nowMs, cmp.why, newId, true);
    case 'peer-newer':
      // Known older now: even if the link drops before the copy starts, it is not activated unforced.
      d.s = { ...d.s, freshnessKnown: false };
      if (d.s.role === 'primary') {
        // An active copy is never overwritten under the application.
        return refuse('MD_PEER_NEWER', `${cmp.why}; the local copy is active`);
      }
      return resyncOrWait(d, peer, 'from-peer', cmp.full, nowMs, cmp.why, newId, true);
    case 'split-brain':
      d.s = { ...d.s, connection: { kind: 'SplitBrain', why: cmp.why }, resync: null, freshnessKnown: false };
      log(d, 'error', refusal('MD_SPLIT_BRAIN', name, cmp.why).message);
      maybeBreakAway(d, newId);
      return;
    case 'unrelated':
      d.s = { ...d.s, freshnessKnown: false };
      return refuse('MD_UNRELATED', cmp.why);
  }
}

/**
 * The generations call for a mirror recovery: start it, unless `autoRecovery` is off and the operator has
 * not asked for it. Then the link stays up but nothing is mirrored (`RecoveryPending`): a primary goes on
 * alone (new generation, `peerOutdated`, dirty bitmap), and the copy to be overwritten is `Outdated`
 * (persisted when it lacks writes the peer holds, `lacksWrites`), so it is not activated unforced.
 *
 * The initial full sync of a fresh copy (`JUST_CREATED` on either side) is not a recovery and starts
 * regardless, as EXPRESSCLUSTER's initial mirror construction is its own setting (`initialSync` here)
 * apart from Auto Mirror Recovery: a fresh pair is never left unmirrored waiting for the operator. A copy
 * rebuilt after a disk failure is `JUST_CREATED` too, but only ever at the operator's `recover`.
 */
function resyncOrWait(
  d: Draft,
  peer: PeerInfo,
  direction: ResyncDirection,
  full: boolean,
  nowMs: number,
  why: string,
  newId: string,
  lacksWrites: boolean,
): void {
  const initial = d.s.generations.current === JUST_CREATED || peer.generations.current === JUST_CREATED;
  if (d.s.autoRecovery || initial) return startResync(d, direction, full, nowMs, why);
  // Asked for: the target starts first (it persists `inconsistent` and says so in its meta), the source
  // once it sees that: no block lands on a copy that has not recorded it is being overwritten.
  const asked = d.s.recoverRequested === 'any' || d.s.recoverRequested === direction;
  if (asked && (direction === 'from-peer' || peer.flags.inconsistent)) {
    startResync(d, direction, full, nowMs, why);
    if (direction === 'from-peer') sendMeta(d);
    return;
  }
  const was = d.s.connection;
  d.s = { ...d.s, connection: { kind: 'RecoveryPending', direction, full, why }, resync: null };
  if (direction === 'from-peer') {
    d.s = { ...d.s, freshnessKnown: false };
    if (lacksWrites && (!d.s.flags.outdated || d.s.flags.peerOutdated))
      persist(d, { flags: { outdated: true, peerOutdated: false } });
  } else becomeFresh(d);
  if (!asked && !(was.kind === 'RecoveryPending' && was.direction === direction)) {
    const way = direction === 'to-peer' ? `to ${d.s.peerServer}` : `from ${d.s.peerServer}`;
    log(
      d,
      'warn',
      `volume ${d.s.name}: mirror recovery pending ${way} (${full ? 'full' : 'dirty regions'}; ${why}): autoRecovery is off, run \`tandem md recover ${d.s.name}\` to start it`,
    );
  }
  maybeBreakAway(d, newId);
}

/** Starts the mirror recovery in `direction` (the operator's request, if any, is used up). */
export function startResync(
  d: Draft,
  direction: ResyncDirection,
  full: boolean,
  nowMs: number,
  why: string,
): void {
  d.s = {
    ...d.s,
    connection: { kind: 'Resyncing', direction, full },
    resync: { direction, full, doneBytes: 0, totalBytes: 0, startedAtMs: nowMs, updatedAtMs: nowMs },
    recoverRequested: null,
  };
  if (direction === 'from-peer') {
    // Marked before the first block lands, so a crash mid-resync leaves a copy nobody activates unforced.
    d.s = { ...d.s, freshnessKnown: false };
    if (!d.s.flags.inconsistent || d.s.flags.peerOutdated)
      persist(d, { flags: { inconsistent: true, peerOutdated: false } });
    log(
      d,
      'info',
      `volume ${d.s.name}: mirror recovery from the peer (${full ? 'full' : 'dirty regions'}; ${why})`,
    );
  } else {
    becomeFresh(d);
    d.actions.push({ type: 'start-resync', full });
    log(
      d,
      'info',
      `volume ${d.s.name}: mirror recovery to the peer (${full ? 'full' : 'dirty regions'}; ${why})`,
    );
  }
}
