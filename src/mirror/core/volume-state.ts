/**
 * The state machine of one mirror volume on one server (issue 5 section 2), as a pure reducer:
 * `step(state, event) -> { state, actions }`. The engine (src/mirror/volume.ts) feeds it what happened
 * (copy loaded, peer connected / lost, resync progress, operator requests) with the time and any fresh
 * generation id passed in, and carries out the returned actions in order: persist before send.
 *
 * Roles: `secondary` (the copy is not served; it only takes writes from the mirror connection), `primary`
 * (the copy is served as a block device), `none` (not attached). Connection: `Disconnected`, `Connected`
 * (replicating, in sync), `Resyncing` (replicating while the mirror recovery copies what differs; the
 * direction says which way), `RecoveryPending` (`autoRecovery: false`: the copies differ and the recovery
 * waits for `tandem md recover NAME`; nothing is replicated meanwhile), `SplitBrain` (the link is up but
 * both copies were written alone: nothing is replicated until the operator picks a source), `Refused` (the
 * link is up but the copies may not be mirrored: unrelated data, another volume, a broken mirror, two
 * primaries, a failed disk on either side).
 *
 * The module is split for size: decide.ts (the connect decision and the helpers), recover.ts (the
 * operator's recover); this file holds the copy states, promotion, break, disk failure and `step`.
 *
 * Rules, checked here and nowhere else:
 * - A copy is activated (promoted) only when it is UpToDate and the peer, when connected, is neither
 *   primary nor newer. `force` overrides the copy state while disconnected (the operator accepts losing
 *   what the peer has), never an active connected peer and never an incoming resync: two primaries that
 *   replicate to each other are impossible.
 * - A primary that writes without its peer starts a new generation (generations.ts `onBreak`), so that the
 *   peer, when it returns, is recognised as older and receives the dirty regions, and a peer that was
 *   itself activated meanwhile is recognised as a split brain. It persists `peerOutdated` with it.
 * - A copy whose freshness is unknown (`Consistent`) is refused with `MD_PEER_UNKNOWN` unless forced.
 * - Split brain and unrelated copies are reported on every connect and never resolved without
 *   `recover(source)`.
 * - With `autoRecovery: false`, a recovery the generations call for is not started by a connect: the link
 *   stays up as `RecoveryPending`, a primary goes on alone (new generation, `peerOutdated`, dirty bitmap),
 *   the copy to be overwritten is `Outdated` (persisted when it lacks writes) and `recover` (without a
 *   source: the direction the generations say) starts it. The initial full sync of a fresh copy is not a
 *   recovery and starts regardless (decide.ts `resyncOrWait` says why).
 * - A copy whose data partition failed an I/O (`local-io-error`) is `Failed` (`flags.diskFailed`,
 *   persisted best effort): never activated, even forced (MD_DISK_FAILED), never a resync source. The peer
 *   learns it from the meta: a primary peer goes on alone (the failed secondary is not retried in a loop:
 *   the link stays up, refused), a secondary peer stays UpToDate so that the cluster can fail over to it.
 *   Only `recover` clears it (reopening does not: the flag is on the cluster partition): the copy is then
 *   rebuilt by a full resync from the peer (generations.ts `onDiskReplaced`).
 * - The operator's break on a primary tells a mirrored peer that its copy is outdated (persisted there
 *   before the link drops), so the peer is not activated unforced while the primary goes on alone.
 *
 * Copy states: `UpToDate` (holds the latest data it knows of), `Consistent` (whole, but whether the peer
 * wrote since they were last connected is unknown), `Outdated` (known to lack writes: the operator broke
 * the mirror, chose the peer's copy, or a recovery from the peer is pending), `Inconsistent` (partly
 * overwritten by a resync, or just created), `SplitBrain`, `Failed` (its disk failed), `Unknown` (the
 * peer's copy while disconnected, unless recorded as outdated).
 *
 * Freshness, as in DRBD: a copy opened without contact to its peer is only `Consistent`, because the peer
 * may have gone on alone after they were last connected (node-2 goes down, node-1 acknowledges writes
 * alone and crashes, node-2 restarts: its copy lacks those writes and nothing on node-2 can tell). Its
 * activation is refused (`MD_PEER_UNKNOWN`) unless forced, or until the peers connect and compare
 * generations. The only local proof of freshness is the `peerOutdated` flag, persisted by a primary before
 * it writes without its peer: that copy knows it is the newer one, across its own restarts. Having been
 * primary (`wasPrimary`) proves nothing on its own: a primary that crashed while connected left a peer
 * holding every acknowledged write, which the cluster may have activated and written since.
 *
 * A secondary that loses its primary while its daemon keeps running stays UpToDate (it had every
 * acknowledged write up to the moment of the loss: that is what sync mode is for), so the cluster may fail
 * over to it. Whether the old primary is really gone is the cluster core's question (NP resolution), not
 * this one's; if both are activated anyway, the next connect says split brain.
 */
import { compareCopies, JUST_CREATED, onFirstActivation, onBreak, afterResync } from './generations.ts';
import type { Generations } from './generations.ts';
import { refusal } from './messages.ts';
import type { MirrorCode } from './messages.ts';
import {
  becomeFresh,
  decide,
  diskFailedRefusal,
  isReplicating,
  log,
  maybeBreakAway,
  persist,
  type Draft,
} from './decide.ts';
import { onPeerRecoverStart, onRecover, onRecoverAsVictim } from './recover.ts';
import {
  CLEAN_FLAGS,
  type CopyFlags,
  type CopyState,
  type StepResult,
  type VolumeEvent,
  type VolumeState,
} from './state-types.ts';

export * from './state-types.ts';
export { diskFailedRefusal, isReplicating } from './decide.ts';

/**
 * The state of a copy just loaded from its metadata (role secondary, no peer): `Consistent` unless its
 * flags prove it newer than the peer (see the module comment), `Failed` when its disk failed.
 */
export function initVolumeState(args: {
  name: string;
  volumeId: string;
  size: number;
  generations: Generations;
  flags: CopyFlags;
  dirtyBytes: number;
  /** @default 'this server' */
  server?: string;
  /** @default 'the peer' */
  peerServer?: string;
  /** @default true */
  autoRecovery?: boolean;
  /** The data partition, for messages. @default 'the data partition' */
  dataPath?: string;
}): VolumeState {
  // Metadata written before a flag existed lacks it: a missing flag proves nothing.
  const flags: CopyFlags = { ...CLEAN_FLAGS, ...args.flags };
  const s: VolumeState = {
    name: args.name,
    server: args.server ?? 'this server',
    peerServer: args.peerServer ?? 'the peer',
    volumeId: args.volumeId,
    size: args.size,
    role: 'secondary',
    local: 'Unknown',
    peer: 'Unknown',
    connection: { kind: 'Disconnected' },
    generations: args.generations,
    flags,
    peerInfo: null,
    dirtyBytes: args.dirtyBytes,
    resync: null,
    pendingRecover: null,
    lastDecision: null,
    freshnessKnown: flags.peerOutdated && !flags.diskFailed,
    autoRecovery: args.autoRecovery ?? true,
    recoverRequested: null,
    dataPath: args.dataPath ?? 'the data partition',
    diskError: null,
  };
  return withCopyStates(s);
}

/** Derives both copy states from the rest; called after every change so they never disagree. */
function withCopyStates(s: VolumeState): VolumeState {
  const c = s.connection;
  let local: CopyState;
  if (s.flags.diskFailed) local = 'Failed';
  else if (c.kind === 'SplitBrain') local = 'SplitBrain';
  else if (s.flags.inconsistent || (c.kind === 'Resyncing' && c.direction === 'from-peer'))
    local = 'Inconsistent';
  else if (s.flags.outdated || (c.kind === 'RecoveryPending' && c.direction === 'from-peer'))
    local = 'Outdated';
  else if (s.generations.current === JUST_CREATED) {
    // Blank on both sides: as good as the peer's, the first activation picks the initial sync's source.
    local =
      s.peerInfo?.generations.current === JUST_CREATED && isReplicating(c) ? 'UpToDate' : 'Inconsistent';
  } else local = s.freshnessKnown ? 'UpToDate' : 'Consistent';
  let peer: CopyState;
  if (c.kind !== 'Disconnected' && s.peerInfo?.flags.diskFailed === true) peer = 'Failed';
  else if (c.kind === 'Disconnected' || c.kind === 'Refused')
    peer = s.flags.peerOutdated ? 'Outdated' : 'Unknown';
  else if (c.kind === 'SplitBrain') peer = 'SplitBrain';
  else if (c.kind === 'Resyncing' && c.direction === 'to-peer') peer = 'Inconsistent';
  else if (c.kind === 'RecoveryPending') peer = c.direction === 'to-peer' ? 'Outdated' : 'Unknown';
  else peer = local === 'UpToDate' ? 'UpToDate' : 'Unknown';
  return { ...s, local, peer };
}

function onPromote(d: Draft, force: boolean, newId: string, nowMs: number): void {
  const s = d.s;
  // Hard refusals: force does not apply. A failed copy is refused even when still active (its writes fail).
  if (s.flags.diskFailed) {
    d.actions.push({ type: 'refuse', refusal: diskFailedRefusal(s) });
    return;
  }
  if (s.role === 'primary') return;
  const linkUp = s.connection.kind !== 'Disconnected';
  const refuse = (code: MirrorCode, detail?: string, remedy?: string): void => {
    d.actions.push({ type: 'refuse', refusal: refusal(code, s.name, detail, remedy) });
  };
  if (linkUp && s.peerInfo?.role === 'primary') return refuse('MD_TWO_PRIMARIES');
  if (s.connection.kind === 'Resyncing' && s.connection.direction === 'from-peer')
    return refuse('MD_RESYNC_TARGET');
  if (!force) {
    if (s.connection.kind === 'SplitBrain') return refuse('MD_SPLIT_BRAIN', s.connection.why);
    if (s.local === 'Consistent') {
      return refuse(
        'MD_PEER_UNKNOWN',
        `the copy on ${s.server} may lack writes ${s.peerServer} made after they were last connected`,
        `Connect ${s.peerServer} (start it and check the mirror connect path), or force the activation if ${s.peerServer}'s copy is lost for good (writes only it holds are then lost).`,
      );
    }
    if (s.local !== 'UpToDate') {
      const c = s.connection;
      const pending =
        c.kind === 'RecoveryPending'
          ? `; a mirror recovery from ${s.peerServer} is pending: run \`tandem md recover ${s.name}\``
          : s.flags.broken && s.flags.outdated
            ? `; the mirror was broken while ${s.peerServer} went on alone: run \`tandem md recover ${s.name}\``
            : '';
      return refuse('MD_NOT_UP_TO_DATE', `the copy on ${s.server} is ${s.local}${pending}`);
    }
    if (s.lastDecision?.kind === 'peer-newer' && linkUp) return refuse('MD_PEER_NEWER', s.lastDecision.why);
  }
  // Forced: the operator chose this copy as the latest.
  d.s = { ...s, role: 'primary', freshnessKnown: s.freshnessKnown || force };
  let g = d.s.generations;
  const alone = !isReplicating(d.s.connection);
  if (g.current === JUST_CREATED && !alone) g = onFirstActivation(g, newId);
  else if (alone) g = onBreak(g, newId);
  const forcedFlags = force ? { outdated: false, inconsistent: false } : {};
  // Alone, the copy may be written at once: the peer is outdated from now on (maybeBreakAway's rule).
  const aloneFlags = alone ? { peerOutdated: true } : {};
  persist(d, { generations: g, flags: { wasPrimary: true, ...forcedFlags, ...aloneFlags } });
  log(
    d,
    force && s.local !== 'UpToDate' ? 'warn' : 'info',
    `volume ${s.name}: activated${force ? ' (forced)' : ''}, copy was ${s.local}`,
  );
  d.actions.push({ type: 'send-meta' });
  // A just-created pair: the first activation makes this copy the initial sync's source. A pending
  // recovery is decided again with the new generations (still pending, now with this copy writing).
  const c = d.s.connection.kind;
  if (d.s.peerInfo !== null && (c === 'Connected' || c === 'RecoveryPending') && g !== s.generations) {
    decide(d, d.s.peerInfo, nowMs, newId);
  }
}

/**
 * The operator breaks the mirror (`tandem md break`). On the primary, a peer that was mirrored (or was
 * waiting for a recovery from here) is told first that its copy is outdated, and the link drops only once
 * it has persisted that (or did not answer in time: this copy's own `peerOutdated` still protects it): a
 * secondary that merely LOSES its primary stays UpToDate so that the cluster can fail over to it, but
 * after a deliberate break the primary goes on writing alone and the secondary must not be activated
 * unforced. On a secondary, the copy outdates itself.
 */
function onBreakRequest(d: Draft, newId: string): void {
  const c = d.s.connection;
  const linkUp = c.kind !== 'Disconnected';
  const peerBehind = isReplicating(c) || (c.kind === 'RecoveryPending' && c.direction === 'to-peer');
  const tell = linkUp && d.s.role === 'primary' && d.s.peerInfo !== null && peerBehind;
  d.s = withoutLink(d.s);
  persist(d, { flags: { broken: true, ...(d.s.role === 'primary' ? {} : { outdated: true }) } });
  maybeBreakAway(d, newId);
  if (tell) d.actions.push({ type: 'send-outdate' });
  if (linkUp) d.actions.push({ type: 'disconnect', why: 'mirror break requested by the operator' });
  log(d, 'warn', `volume ${d.s.name}: mirror break requested by the operator`);
}

/** The primary broke the mirror: persist `outdated` (and `broken`), then acknowledge. */
function onPeerOutdate(d: Draft): void {
  if (d.s.role === 'primary') {
    // Two primaries disagree: never outdate the active copy (no ack: the peer's own flag protects it).
    log(d, 'warn', `volume ${d.s.name}: ${d.s.peerServer} says this copy is outdated, but it is active here`);
    return;
  }
  persist(d, { flags: { outdated: true, broken: true, peerOutdated: false } });
  d.s = { ...d.s, freshnessKnown: false, resync: null, recoverRequested: null };
  if (d.s.connection.kind !== 'Disconnected')
    d.s = { ...d.s, connection: { kind: 'Refused', code: 'MD_BROKEN', why: 'broken on the peer' } };
  d.actions.push({ type: 'send-outdate-ack' });
  log(
    d,
    'warn',
    `volume ${d.s.name}: ${d.s.peerServer} broke the mirror and goes on alone: the copy on ${d.s.server} is outdated until \`tandem md recover ${d.s.name}\``,
  );
}

/**
 * The data partition failed an I/O. The copy is `Failed` from now on (persisted, best effort), never
 * activated or used as a source; with the link up, the peer is told through the meta (a primary then goes
 * on alone, a secondary stops taking the failed primary's writes) and the link stays up but refused.
 */
function onLocalIoError(d: Draft, op: 'read' | 'write' | 'flush', error: string): void {
  const what = `${op} on the data partition ${d.s.dataPath} of ${d.s.server} failed: ${error}`;
  if (d.s.flags.diskFailed) {
    if (d.s.diskError === null) d.s = { ...d.s, diskError: what };
    return;
  }
  d.s = { ...d.s, diskError: what, freshnessKnown: false, recoverRequested: null };
  const linkUp = d.s.connection.kind !== 'Disconnected';
  if (linkUp)
    d.s = { ...d.s, connection: { kind: 'Refused', code: 'MD_DISK_FAILED', why: what }, resync: null };
  persist(d, { flags: { diskFailed: true } });
  log(d, 'error', diskFailedRefusal(d.s).message);
  if (linkUp) d.actions.push({ type: 'send-meta' });
}

/** The link is gone: no peer info, no recovery under way or requested. */
function withoutLink(s: VolumeState): VolumeState {
  return { ...s, connection: { kind: 'Disconnected' }, peerInfo: null, resync: null, recoverRequested: null };
}

/** One step of the state machine. Pure: the same state and event always give the same result. */
export function step(state: VolumeState, event: VolumeEvent): StepResult {
  const d: Draft = { s: state, actions: [] };
  switch (event.type) {
    case 'peer-connected': {
      d.s = { ...d.s, peerInfo: event.peer };
      const pending = d.s.pendingRecover;
      d.s = { ...d.s, pendingRecover: null };
      if (pending === 'peer') onRecoverAsVictim(d, event.peer, event.nowMs, event.newId);
      else if (pending === 'local') {
        d.s = { ...d.s, recoverRequested: 'to-peer' };
        d.actions.push({ type: 'send-recover' });
        decide(d, event.peer, event.nowMs, event.newId);
      } else {
        decide(d, event.peer, event.nowMs, event.newId);
        if (pending === 'auto') onRecover(d, 'auto', event.nowMs, event.newId);
      }
      break;
    }
    case 'peer-meta': {
      d.s = { ...d.s, peerInfo: event.peer };
      if (d.s.connection.kind === 'Disconnected') break;
      if (event.peer.role === 'primary' && d.s.role === 'primary' && isReplicating(d.s.connection)) {
        d.s = {
          ...d.s,
          connection: { kind: 'Refused', code: 'MD_TWO_PRIMARIES', why: 'both activated at once' },
        };
        log(d, 'error', refusal('MD_TWO_PRIMARIES', d.s.name, 'both activated at once').message);
        maybeBreakAway(d, event.newId);
        break;
      }
      // Re-decide when the link is up but not mirroring (a recover on the peer changed its generations),
      // when in sync and the peer's generations moved on (its first activation), or when the peer's disk
      // just failed.
      const c = d.s.connection;
      const stillIdentical = compareCopies(d.s.generations, event.peer.generations).kind === 'identical';
      const peerFailedNow =
        event.peer.flags.diskFailed === true && !(c.kind === 'Refused' && c.code === 'MD_PEER_DISK_FAILED');
      if (
        peerFailedNow ||
        c.kind === 'SplitBrain' ||
        c.kind === 'Refused' ||
        c.kind === 'RecoveryPending' ||
        (c.kind === 'Connected' && !stillIdentical)
      ) {
        decide(d, event.peer, event.nowMs, event.newId);
      }
      break;
    }
    case 'peer-lost': {
      const wasTarget = d.s.connection.kind === 'Resyncing' && d.s.connection.direction === 'from-peer';
      d.s = withoutLink(d.s);
      if (wasTarget)
        log(
          d,
          'warn',
          `volume ${d.s.name}: peer lost during the mirror recovery; the local copy is inconsistent`,
        );
      else log(d, 'warn', `volume ${d.s.name}: peer lost`);
      maybeBreakAway(d, event.newId);
      break;
    }
    case 'dirty':
      d.s = { ...d.s, dirtyBytes: event.dirtyBytes };
      break;
    case 'resync-progress':
      if (d.s.resync !== null) {
        d.s = {
          ...d.s,
          resync: {
            ...d.s.resync,
            doneBytes: event.doneBytes,
            totalBytes: event.totalBytes,
            updatedAtMs: event.nowMs,
          },
        };
      }
      break;
    case 'resync-done': {
      const c = d.s.connection;
      if (c.kind !== 'Resyncing') break;
      if (c.direction === 'to-peer') {
        const { source } = afterResync(d.s.generations, d.s.peerInfo?.generations ?? d.s.generations);
        persist(d, {
          generations: source,
          flags: { outdated: false, inconsistent: false, peerOutdated: false },
        });
        d.actions.push({ type: 'send-resync-done', generations: source });
      } else {
        if (event.generations === undefined) break;
        persist(d, {
          generations: afterResync(event.generations, d.s.generations).target,
          flags: { outdated: false, inconsistent: false, peerOutdated: false },
        });
        d.actions.push({ type: 'send-meta' });
      }
      d.s = {
        ...d.s,
        connection: { kind: 'Connected' },
        resync: null,
        lastDecision: null,
        recoverRequested: null,
      };
      becomeFresh(d);
      log(d, 'info', `volume ${d.s.name}: mirror recovery done, copies identical`);
      break;
    }
    case 'promote':
      d.s = withCopyStates(d.s);
      onPromote(d, event.force, event.newId, event.nowMs);
      break;
    case 'demote':
      if (d.s.role !== 'primary') break;
      d.s = { ...d.s, role: 'secondary' };
      persist(d, { flags: { wasPrimary: false } });
      d.actions.push({ type: 'send-meta' });
      break;
    case 'break':
      onBreakRequest(d, event.newId);
      break;
    case 'recover':
      onRecover(d, event.source, event.nowMs, event.newId);
      break;
    case 'peer-recover-start':
      onPeerRecoverStart(d, event.nowMs, event.newId);
      break;
    case 'peer-outdate':
      onPeerOutdate(d);
      break;
    case 'local-io-error':
      onLocalIoError(d, event.op, event.error);
      break;
  }
  return { state: withCopyStates(d.s), actions: d.actions };
}

/** Resync progress for status: bytes, rate (bytes/s since the start) and ETA in seconds (null if unknown). */
export function resyncStatus(
  s: VolumeState,
  nowMs: number,
): { doneBytes: number; totalBytes: number; rateBytesPerSec: number; etaSec: number | null } | null {
  const r = s.resync;
  if (r === null) return null;
  const elapsed = Math.max(1, nowMs - r.startedAtMs) / 1000;
  const rate = r.doneBytes / elapsed;
  const left = Math.max(0, r.totalBytes - r.doneBytes);
  return {
    doneBytes: r.doneBytes,
    totalBytes: r.totalBytes,
    rateBytesPerSec: Math.round(rate),
    etaSec: rate > 0 ? Math.ceil(left / rate) : null,
  };
}
