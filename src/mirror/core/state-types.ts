/**
 * The vocabulary of the mirror volume state machine (issue 5 section 2): roles, copy states, the
 * connection, the persisted flags, what a peer says about itself, and the events and actions of
 * `step` (volume-state.ts, which re-exports all of it and documents the rules). Pure data, no logic.
 */
import type { Comparison, Generations } from './generations.ts';
import type { MirrorCode, MirrorRefusal } from './messages.ts';

export type Role = 'primary' | 'secondary' | 'none';
export type CopyState =
  | 'UpToDate'
  | 'Consistent'
  | 'Outdated'
  | 'Inconsistent'
  | 'SplitBrain'
  /** The copy's data partition failed an I/O (`flags.diskFailed`): never activated, never a resync source. */
  | 'Failed'
  | 'Unknown';
export type ResyncDirection = 'to-peer' | 'from-peer';
/** Which copy a `recover` keeps: this one, the peer's, or (`auto`) the one the generations say is newer. */
export type RecoverSource = 'local' | 'peer' | 'auto';

export type Connection =
  | { readonly kind: 'Disconnected' }
  | { readonly kind: 'Connected' }
  | { readonly kind: 'Resyncing'; readonly direction: ResyncDirection; readonly full: boolean }
  /**
   * `autoRecovery: false`: the copies differ and the mirror recovery waits for `tandem md recover NAME`.
   * Nothing is replicated meanwhile (a primary goes on alone, marking regions dirty).
   */
  | {
      readonly kind: 'RecoveryPending';
      readonly direction: ResyncDirection;
      readonly full: boolean;
      readonly why: string;
    }
  | { readonly kind: 'SplitBrain'; readonly why: string }
  | { readonly kind: 'Refused'; readonly code: MirrorCode; readonly why: string };

/** Persisted next to the generations (metadata.ts). */
export interface CopyFlags {
  /** The copy was primary when last persisted (after a crash, its dirty regions go to the peer). */
  readonly wasPrimary: boolean;
  /** A resync into this copy started and has not finished: the copy is not usable. */
  readonly inconsistent: boolean;
  /** Known to lack writes the peer has (operator break on a secondary, or chosen as recover victim). */
  readonly outdated: boolean;
  /** The operator broke the mirror: no connection until `recover`. */
  readonly broken: boolean;
  /**
   * The peer lacks writes this copy holds: set (and persisted) before a primary writes without its peer,
   * cleared once the copies are in sync again. The one proof that a copy opened alone is UpToDate.
   */
  readonly peerOutdated: boolean;
  /**
   * The data partition failed an I/O (`local-io-error`): the copy is `Failed` until `recover` rebuilds it
   * with a full resync from the peer. Persisted when the cluster partition still takes writes.
   */
  readonly diskFailed: boolean;
}

export const CLEAN_FLAGS: CopyFlags = {
  wasPrimary: false,
  inconsistent: false,
  outdated: false,
  broken: false,
  peerOutdated: false,
  diskFailed: false,
};

/** What a peer says about itself on connect and whenever it changes (the mdc meta message). */
export interface PeerInfo {
  readonly volumeId: string;
  readonly size: number;
  readonly generations: Generations;
  readonly flags: CopyFlags;
  readonly role: Role;
  readonly dirtyBytes: number;
}

export interface ResyncProgress {
  readonly direction: ResyncDirection;
  readonly full: boolean;
  readonly doneBytes: number;
  readonly totalBytes: number;
  readonly startedAtMs: number;
  readonly updatedAtMs: number;
}

export interface VolumeState {
  readonly name: string;
  /** This server's and the peer's names (refusal messages). */
  readonly server: string;
  readonly peerServer: string;
  readonly volumeId: string;
  readonly size: number;
  readonly role: Role;
  readonly local: CopyState;
  readonly peer: CopyState;
  readonly connection: Connection;
  readonly generations: Generations;
  readonly flags: CopyFlags;
  /** Latest meta the peer sent while the link is up; null while disconnected. */
  readonly peerInfo: PeerInfo | null;
  /** Bytes of the regions the peer may lack (the local dirty bitmap). */
  readonly dirtyBytes: number;
  readonly resync: ResyncProgress | null;
  /** A `recover` asked while disconnected, applied on the next connect. */
  readonly pendingRecover: RecoverSource | null;
  /**
   * `autoRecovery` of the volume (config): false = a mirror recovery the generations call for waits for
   * the operator (`RecoveryPending`), except the initial full sync of a fresh copy.
   */
  readonly autoRecovery: boolean;
  /**
   * The operator asked for the mirror recovery (here, or on the peer: MDC recover / recover-start) and it
   * has not started yet: the next decision may start it in that direction (`any`: whichever the
   * generations say) even with `autoRecovery` off. Cleared when a resync starts and when the link drops.
   */
  readonly recoverRequested: ResyncDirection | 'any' | null;
  /** The data partition (messages). */
  readonly dataPath: string;
  /** What failed when the disk failed (op, path, error), while this process knows it; null otherwise. */
  readonly diskError: string | null;
  /** The last comparison of generations, with its reason (status). */
  readonly lastDecision: Comparison | null;
  /**
   * Whether this copy is known to hold the latest data: compared with the peer since it was opened (and
   * not found older), or `flags.peerOutdated`, or activated by force. Without it the copy is `Consistent`.
   */
  readonly freshnessKnown: boolean;
}

export type VolumeEvent =
  | {
      readonly type: 'peer-connected';
      readonly nowMs: number;
      readonly peer: PeerInfo;
      readonly newId: string;
    }
  /** The peer's meta changed while the link is up. */
  | { readonly type: 'peer-meta'; readonly nowMs: number; readonly peer: PeerInfo; readonly newId: string }
  | { readonly type: 'peer-lost'; readonly nowMs: number; readonly newId: string }
  | { readonly type: 'dirty'; readonly nowMs: number; readonly dirtyBytes: number }
  | {
      readonly type: 'resync-progress';
      readonly nowMs: number;
      readonly doneBytes: number;
      readonly totalBytes: number;
    }
  /** Source side: every region was copied. Target side: `generations` are the source's final set. */
  | { readonly type: 'resync-done'; readonly nowMs: number; readonly generations?: Generations }
  | { readonly type: 'promote'; readonly nowMs: number; readonly force: boolean; readonly newId: string }
  | { readonly type: 'demote'; readonly nowMs: number }
  | { readonly type: 'break'; readonly nowMs: number; readonly newId: string }
  | {
      readonly type: 'recover';
      readonly nowMs: number;
      readonly source: RecoverSource;
      readonly newId: string;
    }
  /** The peer ran `recover`: resume mirroring (clear `broken`) and start the recovery the generations say. */
  | { readonly type: 'peer-recover-start'; readonly nowMs: number; readonly newId: string }
  /** The primary broke the mirror and says this copy is outdated (persisted before it is acknowledged). */
  | { readonly type: 'peer-outdate'; readonly nowMs: number }
  /** A read, write or flush of the local data partition failed (EIO and the like). */
  | {
      readonly type: 'local-io-error';
      readonly nowMs: number;
      readonly op: 'read' | 'write' | 'flush';
      readonly error: string;
    };

export type VolumeAction =
  /**
   * Write generations and flags to the cluster partition (before anything is sent). `bestEffort`: a
   * failed save is logged and the state kept in memory (a copy whose disk failed: its cluster partition
   * may be failing too, and nothing must stop it from saying so to the peer).
   */
  | {
      readonly type: 'persist';
      readonly generations: Generations;
      readonly flags: CopyFlags;
      readonly bestEffort: boolean;
    }
  /** Send our meta (generations, flags, role, dirty bytes) to the peer. */
  | { readonly type: 'send-meta' }
  /** This side is the resync source: copy the regions dirty on either side (all when `full`). */
  | { readonly type: 'start-resync'; readonly full: boolean }
  /** Tell the peer the resync is over and which generations to adopt. */
  | { readonly type: 'send-resync-done'; readonly generations: Generations }
  /** Ask the peer to resolve with us as the source (`recover --source` run here). */
  | { readonly type: 'send-recover' }
  /** Tell the peer the operator asked for the mirror recovery (`peer-recover-start` there). */
  | { readonly type: 'send-recover-start' }
  /**
   * Tell the peer its copy is outdated (`peer-outdate` there) and wait, bounded, for its acknowledgement
   * before the actions that follow (the `disconnect` of an operator break).
   */
  | { readonly type: 'send-outdate' }
  /** Acknowledge `peer-outdate`: the flags are persisted. */
  | { readonly type: 'send-outdate-ack' }
  /** Drop the connection (refused, or the operator broke the mirror). */
  | { readonly type: 'disconnect'; readonly why: string }
  | { readonly type: 'refuse'; readonly refusal: MirrorRefusal }
  | { readonly type: 'log'; readonly level: 'info' | 'warn' | 'error'; readonly message: string };

export interface StepResult {
  readonly state: VolumeState;
  readonly actions: readonly VolumeAction[];
}
