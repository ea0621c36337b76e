/**
 * The public contract of a mirror volume (issue 5 section 2) as the daemon, the md driver and the API use
 * it: the options `MirrorVolume.open` takes, the status it reports, and the error its refusals raise.
 * volume.ts re-exports all of it; import from there.
 */
import type { FileHandle } from 'node:fs/promises';
import type { Logger } from '../ports/logger.ts';
import type { Generations } from './core/generations.ts';
import type { MirrorRefusal } from './core/messages.ts';
import type { CopyFlags, CopyState, ResyncDirection, Role, VolumeState } from './core/volume-state.ts';

export interface MirrorVolumeOptions {
  readonly name: string;
  readonly volumeId: string;
  readonly dataPath: string;
  readonly clusterPath: string;
  /** Bytes; default the data partition's size. */
  readonly size?: number;
  readonly regionSize?: number;
  /**
   * Regions kept marked on disk after their writes are acknowledged (the activity log, hot-regions.ts):
   * writing one of them again needs no metadata save first; after a crash of the active server they are
   * copied to the peer. 0 saves the metadata before every write to a clean region.
   * Counted in extents of `hotExtent` bytes, as DRBD's activity log: a sequential writer enters a new
   * extent (one save) every `hotExtent` bytes instead of every region.
   * @default 1024 (4 GiB with 4 MiB extents)
   */
  readonly hotRegions?: number;
  /** Bytes one hot extent covers: a multiple of the region size. @default 4 MiB */
  readonly hotExtent?: number;
  readonly mode: 'sync' | 'async';
  /** `full` (default): fresh copies are synced in full on first activation; `skip`: they start identical. */
  readonly initialSync?: 'full' | 'skip';
  /**
   * Start the mirror recovery when the peers connect and the generations say one copy is behind (the
   * seed product's Auto Mirror Recovery). false: the link comes up as `RecoveryPending`, nothing is copied
   * and the copy behind stays Outdated until `recover` (the initial full sync of fresh copies still runs).
   * @default true
   */
  readonly autoRecovery?: boolean;
  readonly queueSize: number;
  /** Silence on the mirror connection after which the peer counts as lost; PINGs go every tenth of it. */
  readonly sendTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly ackTimeoutMs: number;
  /** Delay between connection attempts (default 500 ms). */
  readonly retryMs?: number;
  readonly self: { readonly name: string; readonly mdc: string };
  readonly peer: { readonly name: string; readonly mdc: string };
  readonly secret: Buffer | string;
  readonly clusterName: string;
  readonly log: Logger;
  /** Monotonic milliseconds. */
  readonly now: () => number;
  /** Random bytes (generation ids). */
  readonly random: (bytes: number) => Buffer;
  /**
   * Opens the data partition (read-write). Test seam: a handle whose reads, writes or syncs fail injects
   * a local disk failure. @default `fs.promises.open(path, 'r+')`
   */
  readonly openData?: (path: string) => Promise<FileHandle>;
}

/** An activation refused by the state machine (named code, message, remedy). */
export class MirrorRefusedError extends Error {
  readonly code: string;
  readonly remedy: string;
  constructor(r: MirrorRefusal) {
    super(r.message);
    this.name = 'MirrorRefusedError';
    this.code = r.code;
    this.remedy = r.remedy;
  }
}

export interface MirrorStatus {
  readonly name: string;
  readonly role: Role;
  /**
   * This copy: `UpToDate`, `Consistent` (opened without its peer: whether the peer wrote since they were
   * last connected is unknown, so activation needs the peer or `force`), `Outdated`, `Inconsistent`,
   * `SplitBrain`, `Failed` (its disk failed: never activated until `recover` rebuilds it).
   */
  readonly local: CopyState;
  /**
   * The peer's copy as last known: `Unknown` while disconnected, unless recorded as `Outdated`; `Failed`
   * when the connected peer says its disk failed.
   */
  readonly peer: CopyState;
  readonly connection: VolumeState['connection'];
  readonly dirtyBytes: number;
  readonly resync: {
    doneBytes: number;
    totalBytes: number;
    rateBytesPerSec: number;
    etaSec: number | null;
  } | null;
  readonly asyncQueueDepth: number;
  readonly generations: Generations;
  /** Total bytes sent as resync blocks since open (tests count them against the regions written). */
  readonly resyncBytesSent: number;
  readonly lastDecision: string | null;
  /** The persisted flags of this copy (broken, outdated, diskFailed, ...). */
  readonly flags: CopyFlags;
  /**
   * The local disk failed (`local` is `Failed`): MD_DISK_FAILED with a message naming the volume, server,
   * data partition and error, and the remedy. Null otherwise.
   */
  readonly diskFailure: MirrorRefusal | null;
  /**
   * `autoRecovery: false` and the copies differ: the recovery waits for the operator. `command` is what
   * to run (`tandem md recover NAME`). Null otherwise.
   */
  readonly recoveryPending: {
    readonly direction: ResyncDirection;
    readonly full: boolean;
    readonly why: string;
    readonly command: string;
  } | null;
}
