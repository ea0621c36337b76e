/**
 * The vocabulary of the mirror volume state machine (issue 5 section 2): roles, copy states, the
 * connection, the persisted flags, what a peer says about itself, and the events and actions of
 * `step` (volume-state.ts, which re-exports all of it and documents the rules). Pure data, no logic.
 */
import type { Comparison, Generations } from './generations.ts';
import type { MirrorCode, MirrorRefusal } from './messages.ts';

export type Role = 'primary' | 'secondary' | 'none';
export type CopyState = 'UpToDate' | 'Consistent' | 'Outdated' | 'Inconsistent' | 'SplitBrain' | 'Unknown';
export type ResyncDirection = 'to-peer' | 'from-peer';

export type Connection =
  | { readonly kind: 'Disconnected' }
  | { readonly kind: 'Connected' }
  | { readonly kind: 'Resyncing'; readonly direction: ResyncDirection; readonly full: boolean }
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
}

export const CLEAN_FLAGS: CopyFlags = {
  wasPrimary: false,
  inconsistent: false,
  outdated: false,
  broken: false,
  peerOutdated: false,
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
  readonly pendingRecover: 'local' | 'peer' | null;
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
      readonly source: 'local' | 'peer';
      readonly newId: string;
    };

export type VolumeAction =
  /** Write generations and flags to the cluster partition (before anything is sent). */
  | { readonly type: 'persist'; readonly generations: Generations; readonly flags: CopyFlags }
  /** Send our meta (generations, flags, role, dirty bytes) to the peer. */
  | { readonly type: 'send-meta' }
  /** This side is the resync source: copy the regions dirty on either side (all when `full`). */
  | { readonly type: 'start-resync'; readonly full: boolean }
  /** Tell the peer the resync is over and which generations to adopt. */
  | { readonly type: 'send-resync-done'; readonly generations: Generations }
  /** Ask the peer to resolve with us as the source (`recover --source` run here). */
  | { readonly type: 'send-recover' }
  /** Drop the connection (refused, or the operator broke the mirror). */
  | { readonly type: 'disconnect'; readonly why: string }
  | { readonly type: 'refuse'; readonly refusal: MirrorRefusal }
  | { readonly type: 'log'; readonly level: 'info' | 'warn' | 'error'; readonly message: string };

export interface StepResult {
  readonly state: VolumeState;
  readonly actions: readonly VolumeAction[];
}
