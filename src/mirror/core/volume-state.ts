/**
 * The state machine of one mirror volume on one server (issue 5 section 2), as a pure reducer:
 * `step(state, event) -> { state, actions }`. The engine (src/mirror/volume.ts) feeds it what happened
 * (copy loaded, peer connected / lost, resync progress, operator requests) with the time and any fresh
 * generation id passed in, and carries out the returned actions in order: persist before send.
 *
 * Roles: `secondary` (the copy is not served; it only takes writes from the mirror connection), `primary`
 * (the copy is served as a block device), `none` (not attached). Connection: `Disconnected`, `Connected`
 * (replicating, in sync), `Resyncing` (replicating while the mirror recovery copies what differs; the
 * direction says which way), `SplitBrain` (the link is up but both copies were written alone: nothing is
 * replicated until the operator picks a source), `Refused` (the link is up but the copies may not be
 * mirrored: unrelated data, another volume, a broken mirror, two primaries).
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
 *
 * Copy states: `UpToDate` (holds the latest data it knows of), `Consistent` (whole, but whether the peer
 * wrote since they were last connected is unknown), `Outdated` (known to lack writes: the operator broke
 * the mirror, or chose the peer's copy), `Inconsistent` (partly overwritten by a resync, or just created),
 * `SplitBrain`, `Unknown` (the peer's copy while disconnected, unless recorded as outdated).
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
import {
  compareCopies,
  JUST_CREATED,
  onBreak,
  onFirstActivation,
  onResolve,
  afterResync,
} from './generations.ts';
import type { Generations } from './generations.ts';
import { refusal } from './messages.ts';
import type { MirrorCode } from './messages.ts';
import {
  CLEAN_FLAGS,
  type Connection,
  type CopyFlags,
  type CopyState,
  type PeerInfo,
  type ResyncDirection,
  type StepResult,
  type VolumeAction,
  type VolumeEvent,
  type VolumeState,
} from './state-types.ts';

export * from './state-types.ts';

/**
 * The state of a copy just loaded from its metadata (role secondary, no peer): `Consistent` unless its
 * flags prove it newer than the peer (see the module comment).
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
}): VolumeState {
  // Metadata written before `peerOutdated` existed lacks it: a missing flag proves nothing.
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
    freshnessKnown: flags.peerOutdated,
  };
  return withCopyStates(s);
}

/** True while writes are mirrored to the peer (in sync, or during a resync in either direction). */
export function isReplicating(c: Connection): boolean {
  return c.kind === 'Connected' || c.kind === 'Resyncing';
}

/** Derives both copy states from the rest; called after every change so they never disagree. */
function withCopyStates(s: VolumeState): VolumeState {
  const c = s.connection;
  let local: CopyState;
  if (c.kind === 'SplitBrain') local = 'SplitBrain';
  else if (s.flags.inconsistent || (c.kind === 'Resyncing' && c.direction === 'from-peer'))
    local = 'Inconsistent';
  else if (s.flags.outdated) local = 'Outdated';
  else if (s.generations.current === JUST_CREATED) {
    // Blank on both sides: as good as the peer's, the first activation picks the initial sync's source.
    local =
      s.peerInfo?.generations.current === JUST_CREATED && isReplicating(c) ? 'UpToDate' : 'Inconsistent';
  } else local = s.freshnessKnown ? 'UpToDate' : 'Consistent';
  let peer: CopyState;
  if (c.kind === 'Disconnected' || c.kind === 'Refused') peer = s.flags.peerOutdated ? 'Outdated' : 'Unknown';
  else if (c.kind === 'SplitBrain') peer = 'SplitBrain';
  else if (c.kind === 'Resyncing' && c.direction === 'to-peer') peer = 'Inconsistent';
  else peer = local === 'UpToDate' ? 'UpToDate' : 'Unknown';
  return { ...s, local, peer };
}

interface Draft {
  s: VolumeState;
  actions: VolumeAction[];
}

function persist(d: Draft, patch: { generations?: Generations; flags?: Partial<CopyFlags> }): void {
  const generations = patch.generations ?? d.s.generations;
  const flags: CopyFlags = { ...d.s.flags, ...patch.flags };
  d.s = { ...d.s, generations, flags };
  d.actions.push({ type: 'persist', generations, flags });
}

function log(d: Draft, level: 'info' | 'warn' | 'error', message: string): void {
  d.actions.push({ type: 'log', level, message });
}

/**
 * Starts writing alone if primary (new generation) and the link is not replicating. `peerOutdated` is
 * persisted with it, before any write is acknowledged alone, so that this copy still knows it is the newer
 * one after its own restart.
 */
function maybeBreakAway(d: Draft, newId: string): void {
  if (d.s.role !== 'primary' || isReplicating(d.s.connection)) return;
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
function becomeFresh(d: Draft): void {
  d.s = { ...d.s, freshnessKnown: true };
}

/** The connect decision: compare generations and choose Connected / Resyncing / SplitBrain / Refused. */
function decide(d: Draft, peer: PeerInfo, nowMs: number, newId: string): void {
  const name = d.s.name;
  d.s = { ...d.s, lastDecision: null };
  const refuse = (code: MirrorCode, why: string): void => {
    d.s = { ...d.s, connection: { kind: 'Refused', code, why }, resync: null };
    log(d, 'error', refusal(code, name, why).message);
    maybeBreakAway(d, newId);
  };
  if (peer.volumeId !== d.s.volumeId) return refuse('MD_VOLUME_MISMATCH', `peer volume id ${peer.volumeId}`);
  if (peer.size < d.s.size) return refuse('MD_SIZE_MISMATCH', `peer size ${peer.size} < ${d.s.size} bytes`);
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
      if (source === 'local') startResync(d, 'to-peer', false, nowMs, cmp.why);
      else if (source === 'peer') startResync(d, 'from-peer', false, nowMs, cmp.why);
      else {
        d.s = { ...d.s, connection: { kind: 'Connected' }, resync: null };
        becomeFresh(d);
        if (d.s.flags.outdated || d.s.flags.inconsistent || d.s.flags.peerOutdated)
          persist(d, { flags: { outdated: false, inconsistent: false, peerOutdated: false } });
        log(d, 'info', `volume ${name}: connected, copies identical (${cmp.why})`);
      }
      return;
    }
    case 'local-newer':
      return startResync(d, 'to-peer', cmp.full, nowMs, cmp.why);
    case 'peer-newer':
      // Known older now: even if the link drops before the copy starts, it is not activated unforced.
      d.s = { ...d.s, freshnessKnown: false };
      if (d.s.role === 'primary') {
        // An active copy is never overwritten under the application.
        return refuse('MD_PEER_NEWER', `${cmp.why}; the local copy is active`);
      }
      return startResync(d, 'from-peer', cmp.full, nowMs, cmp.why);
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

function startResync(d: Draft, direction: ResyncDirection, full: boolean, nowMs: number, why: string): void {
  d.s = {
    ...d.s,
    connection: { kind: 'Resyncing', direction, full },
    resync: { direction, full, doneBytes: 0, totalBytes: 0, startedAtMs: nowMs, updatedAtMs: nowMs },
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

function onPromote(d: Draft, force: boolean, newId: string, nowMs: number): void {
  const s = d.s;
  if (s.role === 'primary') return;
  const linkUp = s.connection.kind !== 'Disconnected';
  const refuse = (code: MirrorCode, detail?: string, remedy?: string): void => {
    d.actions.push({ type: 'refuse', refusal: refusal(code, s.name, detail, remedy) });
  };
  // Hard refusals: force does not apply.
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
    if (s.local !== 'UpToDate') return refuse('MD_NOT_UP_TO_DATE', `the copy is ${s.local}`);
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
  // A just-created pair: the first activation makes this copy the initial sync's source.
  if (d.s.peerInfo !== null && d.s.connection.kind === 'Connected' && g !== s.generations) {
    decide(d, d.s.peerInfo, nowMs, newId);
  }
}

/** One step of the state machine. Pure: the same state and event always give the same result. */
export function step(state: VolumeState, event: VolumeEvent): StepResult {
  const d: Draft = { s: state, actions: [] };
  switch (event.type) {
    case 'peer-connected': {
      d.s = { ...d.s, peerInfo: event.peer };
      if (d.s.pendingRecover !== null) {
        const source = d.s.pendingRecover;
        d.s = { ...d.s, pendingRecover: null };
        if (source === 'peer') onRecoverAsVictim(d, event.peer, event.nowMs, event.newId);
        else {
          d.actions.push({ type: 'send-recover' });
          decide(d, event.peer, event.nowMs, event.newId);
        }
      } else decide(d, event.peer, event.nowMs, event.newId);
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
      // or when in sync and the peer's generations moved on (its first activation).
      const c = d.s.connection.kind;
      const stillIdentical = compareCopies(d.s.generations, event.peer.generations).kind === 'identical';
      if (c === 'SplitBrain' || c === 'Refused' || (c === 'Connected' && !stillIdentical)) {
        decide(d, event.peer, event.nowMs, event.newId);
      }
      break;
    }
    case 'peer-lost': {
      const wasTarget = d.s.connection.kind === 'Resyncing' && d.s.connection.direction === 'from-peer';
      d.s = { ...d.s, connection: { kind: 'Disconnected' }, peerInfo: null, resync: null };
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
      d.s = { ...d.s, connection: { kind: 'Connected' }, resync: null, lastDecision: null };
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
    case 'break': {
      const linkUp = d.s.connection.kind !== 'Disconnected';
      d.s = { ...d.s, connection: { kind: 'Disconnected' }, peerInfo: null, resync: null };
      persist(d, { flags: { broken: true, ...(d.s.role === 'primary' ? {} : { outdated: true }) } });
      if (linkUp) d.actions.push({ type: 'disconnect', why: 'mirror break requested by the operator' });
      maybeBreakAway(d, event.newId);
      log(d, 'warn', `volume ${d.s.name}: mirror break requested by the operator`);
      break;
    }
    case 'recover': {
      if (d.s.flags.broken) {
        persist(d, { flags: { broken: false } });
        if (d.s.connection.kind !== 'Disconnected') d.actions.push({ type: 'send-meta' });
      }
      const peer = d.s.peerInfo;
      if (event.source === 'peer' && d.s.role === 'primary') {
        d.actions.push({ type: 'refuse', refusal: refusal('MD_RECOVER_ACTIVE_VICTIM', d.s.name) });
        // The broken flag is gone all the same: mirror again if the copies allow it.
        if (peer !== null && d.s.connection.kind === 'Refused') decide(d, peer, event.nowMs, event.newId);
        break;
      }
      if (peer === null || d.s.connection.kind === 'Disconnected') {
        d.s = { ...d.s, pendingRecover: event.source };
        log(
          d,
          'info',
          `volume ${d.s.name}: recover with the ${event.source} copy as source, applied when the peer connects`,
        );
        break;
      }
      if (event.source === 'peer') onRecoverAsVictim(d, peer, event.nowMs, event.newId);
      else {
        d.actions.push({ type: 'send-recover' });
        if (d.s.connection.kind === 'Refused' && d.s.connection.code === 'MD_BROKEN')
          decide(d, peer, event.nowMs, event.newId);
      }
      break;
    }
  }
  return { state: withCopyStates(d.s), actions: d.actions };
}

/** The operator chose the peer's copy: take the victim's generations and be resynced from the peer. */
function onRecoverAsVictim(d: Draft, peer: PeerInfo, nowMs: number, newId: string): void {
  if (d.s.role === 'primary') {
    d.actions.push({ type: 'refuse', refusal: refusal('MD_RECOVER_ACTIVE_VICTIM', d.s.name) });
    if (d.s.connection.kind === 'Disconnected' || d.s.lastDecision === null) decide(d, peer, nowMs, newId);
    return;
  }
  if (d.s.connection.kind === 'Resyncing') return;
  const r = onResolve(d.s.generations, peer.generations);
  persist(d, { generations: r.victim, flags: { outdated: true, broken: false, peerOutdated: false } });
  d.s = { ...d.s, freshnessKnown: false };
  log(
    d,
    'warn',
    `volume ${d.s.name}: recover: the local copy will be overwritten from the peer (${r.full ? 'full' : 'dirty regions of both copies'})`,
  );
  d.actions.push({ type: 'send-meta' });
  decide(d, peer, nowMs, newId);
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
