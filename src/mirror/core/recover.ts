/**
 * The operator's mirror recovery (issue 5 section 2: `tandem md recover NAME [--source SERVER]`) in the
 * volume state machine: which copy wins, how the other is overwritten, and how the two servers agree to
 * start. Pure; `step` (volume-state.ts) calls it.
 *
 * The source:
 * - `--source SERVER` (`local` / `peer`): that copy wins. The other copy (the victim) takes generations
 *   older than the source's (generations.ts `onResolve`): a split brain or unrelated copies are resolved.
 * - none (`auto`): the copy the generations say is newer, with the regions the bitmaps name (or all, when
 *   the generations say full). A copy whose disk failed is always the victim; it is rebuilt in full
 *   (`onDiskReplaced`). A split brain or unrelated copies need `--source` (MD_RECOVER_NEEDS_SOURCE).
 *   While disconnected the request waits for the next connect, where the same rules apply.
 *
 * Either way the request clears `broken` on both servers (the peer is told with `recover-start`) and lets
 * the next decision start the recovery even with `autoRecovery` off (`recoverRequested`). With it off, the
 * target starts first: it persists `inconsistent` and says so in its meta, and the source starts copying
 * once it sees that (decide.ts `resyncOrWait`).
 *
 * A recovery never overwrites the active copy (MD_RECOVER_ACTIVE_VICTIM), never starts from a copy whose
 * disk failed (MD_DISK_FAILED, MD_PEER_DISK_FAILED), and a refused request changes nothing except that a
 * broken mirror is resumed (the copies are then compared as on any connect).
 */
import { compareCopies, onDiskReplaced, onResolve } from './generations.ts';
import { refusal, type MirrorRefusal } from './messages.ts';
import { decide, diskFailedRefusal, isReplicating, log, persist, sendMeta, type Draft } from './decide.ts';
import type { PeerInfo, RecoverSource, VolumeState } from './state-types.ts';

function refuse(d: Draft, r: MirrorRefusal): void {
  d.actions.push({ type: 'refuse', refusal: r });
}

/**
 * What `recover` without `--source` does, from the generations: `local` / `peer` with generations
 * rewritten as for `--source` (a failed disk), `go` (start what the generations say), `wait` (disconnected:
 * decided on the next connect), `nothing` (already mirrored), or a refusal.
 */
type AutoPlan = 'local' | 'peer' | 'go' | 'wait' | 'nothing' | MirrorRefusal;

function autoPlan(s: VolumeState, peer: PeerInfo | null): AutoPlan {
  if (s.flags.diskFailed) return 'peer';
  if (peer === null) return 'wait';
  if (peer.flags.diskFailed === true) return 'local';
  if (isReplicating(s.connection)) return 'nothing';
  if (s.connection.kind === 'RecoveryPending') return 'go';
  const cmp = compareCopies(s.generations, peer.generations);
  if (cmp.kind === 'split-brain' || cmp.kind === 'unrelated') {
    return refusal(
      'MD_RECOVER_NEEDS_SOURCE',
      s.name,
      cmp.why,
      `Run \`tandem md recover ${s.name} --source ${s.server}\` to keep the copy on ${s.server}, or \`--source ${s.peerServer}\` to keep the one on ${s.peerServer}; the other copy is overwritten.`,
    );
  }
  return 'go';
}

/** The operator's `recover` on this server. */
export function onRecover(d: Draft, requested: RecoverSource, nowMs: number, newId: string): void {
  const s = d.s;
  const peer = s.connection.kind === 'Disconnected' ? null : s.peerInfo;
  if (requested === 'local' && s.flags.diskFailed) {
    return refuse(d, diskFailedRefusal(s, 'a failed copy cannot be the source of a recovery'));
  }
  if (requested === 'peer' && peer?.flags.diskFailed === true) {
    return refuse(
      d,
      refusal(
        'MD_PEER_DISK_FAILED',
        s.name,
        `the copy on ${s.peerServer} cannot be the source of a recovery`,
        `Keep the copy on ${s.server} (\`tandem md recover ${s.name}\`), or repair the disk of ${s.peerServer} first.`,
      ),
    );
  }
  const plan = requested === 'auto' ? autoPlan(s, peer) : requested;
  if (typeof plan === 'object') return refuse(d, plan);
  // Accepted: a broken mirror resumes whatever the rest decides.
  const wasBroken = d.s.flags.broken;
  if (wasBroken) persist(d, { flags: { broken: false } });
  switch (plan) {
    case 'nothing':
      log(d, 'info', `volume ${s.name}: recover: the copies are mirrored already, nothing to do`);
      return;
    case 'wait':
      d.s = { ...d.s, pendingRecover: 'auto' };
      log(d, 'info', `volume ${s.name}: recover, applied when ${s.peerServer} connects`);
      return;
    case 'local':
      if (peer === null) return keepForConnect(d, 'local');
      d.s = { ...d.s, recoverRequested: 'to-peer' };
      if (wasBroken) d.actions.push({ type: 'send-meta' });
      d.actions.push({ type: 'send-recover' });
      if (d.s.connection.kind === 'Refused' && d.s.connection.code === 'MD_BROKEN')
        decide(d, peer, nowMs, newId);
      return;
    case 'peer':
      if (d.s.role === 'primary') {
        refuse(d, refusal('MD_RECOVER_ACTIVE_VICTIM', s.name));
        // The broken flag is gone all the same: mirror again if the copies allow it.
        if (peer !== null && d.s.connection.kind === 'Refused') decide(d, peer, nowMs, newId);
        if (wasBroken && peer !== null) d.actions.push({ type: 'send-meta' });
        return;
      }
      if (peer === null) return keepForConnect(d, 'peer');
      return onRecoverAsVictim(d, peer, nowMs, newId);
    case 'go':
      return go(d, peer, nowMs, newId);
  }
}

function keepForConnect(d: Draft, source: 'local' | 'peer'): void {
  d.s = { ...d.s, pendingRecover: source };
  log(
    d,
    'info',
    `volume ${d.s.name}: recover with the ${source} copy as source, applied when the peer connects`,
  );
}

/** `recover` without a source, the link up: start what the generations say, on both servers. */
function go(d: Draft, peer: PeerInfo | null, nowMs: number, newId: string): void {
  const c = d.s.connection;
  const target =
    (c.kind === 'RecoveryPending' && c.direction === 'from-peer') ||
    (peer !== null && compareCopies(d.s.generations, peer.generations).kind === 'peer-newer');
  if (target && d.s.role === 'primary') return refuse(d, refusal('MD_RECOVER_ACTIVE_VICTIM', d.s.name));
  d.s = { ...d.s, recoverRequested: 'any' };
  log(d, 'info', `volume ${d.s.name}: mirror recovery requested by the operator`);
  // The target decides now (it starts first); the source waits for the target's meta.
  if (peer !== null && (target || c.kind !== 'RecoveryPending')) decide(d, peer, nowMs, newId);
  sendMeta(d);
  d.actions.push({ type: 'send-recover-start' });
}

/** The operator chose the peer's copy: take the victim's generations and be resynced from the peer. */
export function onRecoverAsVictim(d: Draft, peer: PeerInfo, nowMs: number, newId: string): void {
  if (d.s.role === 'primary') {
    refuse(d, refusal('MD_RECOVER_ACTIVE_VICTIM', d.s.name));
    if (d.s.connection.kind === 'Disconnected' || d.s.lastDecision === null) decide(d, peer, nowMs, newId);
    return;
  }
  if (d.s.connection.kind === 'Resyncing') return;
  if (peer.flags.diskFailed === true) {
    refuse(d, refusal('MD_PEER_DISK_FAILED', d.s.name, `the copy on ${d.s.peerServer} cannot be the source`));
    decide(d, peer, nowMs, newId);
    return;
  }
  const failed = d.s.flags.diskFailed;
  const r = failed
    ? { victim: onDiskReplaced(d.s.generations), full: true }
    : onResolve(d.s.generations, peer.generations);
  persist(d, {
    generations: r.victim,
    flags: { outdated: true, broken: false, peerOutdated: false, diskFailed: false },
  });
  d.s = { ...d.s, freshnessKnown: false, recoverRequested: 'from-peer', diskError: null };
  log(
    d,
    'warn',
    `volume ${d.s.name}: recover: the local copy will be overwritten from the peer (${r.full ? 'full' : 'dirty regions of both copies'})${failed ? ', rebuilding it after its disk failure' : ''}`,
  );
  decide(d, peer, nowMs, newId);
  // After the decision: the meta carries `inconsistent` once the copy is the target of the recovery.
  sendMeta(d);
  d.actions.push({ type: 'send-recover-start' });
}

/** The peer ran `recover`: resume mirroring here too and start the recovery the generations call for. */
export function onPeerRecoverStart(d: Draft, nowMs: number, newId: string): void {
  if (d.s.flags.broken) persist(d, { flags: { broken: false } });
  d.s = { ...d.s, recoverRequested: 'any' };
  const peer = d.s.peerInfo;
  if (peer !== null && d.s.connection.kind !== 'Disconnected' && !isReplicating(d.s.connection))
    decide(d, peer, nowMs, newId);
  sendMeta(d);
}
