/**
 * The active copy's write path (issue 5 section 2), for MirrorVolume: writes (whole or streamed in pieces),
 * FLUSH, and the peer's acknowledgements they wait for.
 *
 * A write's regions are marked dirty first (the volume's `markDirty`: on disk as dirty before any byte of
 * the write is, see volume.ts). Then every WRITE_PIECE_BYTES received go to the local copy and, when
 * replicating, to the peer as one WRITE message each, while the rest of the write still arrives (the NBD
 * server streams large requests). Sync mode ends a write when every piece is on the local copy and
 * acknowledged by the peer (FUA: durable on both), async mode when it is local, with at most `queueSize`
 * writes awaiting the peer (beyond that a write just stays dirty for the next resync). The regions may be
 * clean again once the write is on both copies (`regionsDone`). Without the peer, a write ends only once
 * the loss is persisted (the new generation and `peerOutdated`): none is acknowledged alone before that.
 */
import type { FileHandle } from 'node:fs/promises';
import type { Logger } from '../ports/logger.ts';
import { BackendError, bytesLength, type Bytes, type WriteStream } from '../nbd/types.ts';
import { writeAllAt } from '../nbd/write-all.ts';
import { encodeSeq, MsgType, type MdcConnection } from './mdc.ts';

/** Regions a write touches (the bitmap's `regionsOf`). */
export interface RegionRange {
  readonly first: number;
  readonly last: number;
}

/** What the write path needs from its volume. */
export interface WriteHost {
  readonly data: FileHandle;
  /** Throws a BackendError when this write may not run (not active here, out of range, failed disk). */
  checkWritable(offset: number, length: number): void;
  /** Marks the regions dirty; resolves once they are on disk as dirty (null: nothing to write). */
  markDirty(offset: number, length: number): Promise<RegionRange | null>;
  /** The write is over; `peerHas`: on both copies. */
  regionsDone(r: RegionRange, peerHas: boolean): void;
  /** The mirror connection (if up) and whether the volume replicates on it now. */
  link(): { conn: MdcConnection | null; replicating: boolean };
  /** Resolves once the state machine's queued events (and their saves) are done. */
  settled(): Promise<void>;
  /** A local I/O error: the copy's disk failed; returns the error to answer with. */
  ioFailed(op: 'read' | 'write' | 'flush', err: unknown): BackendError;
}

export interface WritePathOptions {
  /** Volume name (messages, logs). */
  readonly name: string;
  readonly mode: 'sync' | 'async';
  readonly queueSize: number;
  readonly ackTimeoutMs: number;
  readonly log: Logger;
}

/** Bytes of a streamed write sent to the local copy and the peer together (one WRITE message each). */
export const WRITE_PIECE_BYTES = 256 * 1024;

/** Where a write goes (#route): the connection, or null (alone: `alone`, or the async queue is full). */
interface Route {
  readonly conn: MdcConnection | null;
  readonly alone: boolean;
}

/** One piece of a write under way: its local write and the peer's ack (null: not sent to the peer). */
interface Piece {
  readonly local: Promise<void>;
  readonly peer: Promise<boolean> | null;
}

/** A write not yet on the local copy: its byte range, and when it is (never rejects). */
interface Underway {
  readonly start: number;
  readonly end: number;
  readonly done: Promise<void>;
}

interface PendingAck {
  /** true: the peer acknowledged; false: the peer was lost first (the write completes locally). */
  resolve: (acked: boolean) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class WritePath {
  readonly #o: WritePathOptions;
  readonly #h: WriteHost;
  #seq = 1;
  readonly #acks = new Map<number, PendingAck>();
  /** Writes sent to the peer and not acknowledged yet (the async queue's depth). */
  #peerWrites = 0;
  readonly #flushes = new Map<number, () => void>();
  /** Writes not yet on the local copy, with their byte ranges (overlapping writes wait: writeStream). */
  readonly #underway = new Set<Underway>();

  constructor(o: WritePathOptions, host: WriteHost) {
    this.#o = o;
    this.#h = host;
  }

  /** Writes awaiting the peer's acknowledgement. */
  get peerWrites(): number {
    return this.#peerWrites;
  }

  /** The peer acknowledged WRITE `seq`. */
  acked(seq: number): void {
    const a = this.#acks.get(seq);
    if (a === undefined) return;
    this.#acks.delete(seq);
    clearTimeout(a.timer);
    a.resolve(true);
  }

  /** The peer made everything before FLUSH `seq` durable. */
  flushed(seq: number): void {
    const f = this.#flushes.get(seq);
    this.#flushes.delete(seq);
    f?.();
  }

  /**
   * Everything waiting for the peer, taken (a new connection's acks must not settle them): `settle(null)`
   * ends those writes without the peer (their regions stay dirty), `settle(err)` fails them.
   */
  takeWaiting(): (err: Error | null) => void {
    const acks = [...this.#acks.values()];
    const flushes = [...this.#flushes.values()];
    this.#acks.clear();
    this.#flushes.clear();
    for (const a of acks) clearTimeout(a.timer);
    return (err) => {
      for (const a of acks) {
        if (err === null) a.resolve(false);
        else a.reject(err);
      }
      for (const f of flushes) f();
    };
  }

  async #writeLocal(offset: number, data: Bytes, fua: boolean): Promise<void> {
    try {
      await writeAllAt(this.#h.data, offset, data);
      if (fua) await this.#h.data.datasync();
    } catch (err) {
      void this.#h.ioFailed('write', err);
      throw new BackendError(
        'EIO',
        `local write to volume ${this.#o.name} failed: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
  }

  /** Called by ActiveVolume: a whole write (one piece per 256 KiB of a large buffer). */
  async write(offset: number, data: Bytes, fua: boolean): Promise<void> {
    const s = this.writeStream(offset, bytesLength(data), fua);
    if (Buffer.isBuffer(data)) s.data(data);
    else for (const c of data) s.data(c);
    return s.end();
  }

  /**
   * A write whose data arrive in pieces (the NBD server streams large requests): the regions are marked
   * at once, and every WRITE_PIECE_BYTES received go to the local copy and to the peer (one WRITE message
   * each, FUA on each when the write has it) while the rest is still arriving, so the write's end follows
   * its last byte closely instead of a whole 1 MiB local write plus a round trip. The pieces reach the peer
   * in order on the one connection, so overlapping writes still end there as they were sent. `end`
   * resolves as `write` does: sync mode when every piece is local and acknowledged, async mode when local.
   * Throws at once (BackendError) when the volume is not active here, the range is wrong or the disk failed.
   */
  writeStream(offset: number, length: number, fua: boolean): WriteStream {
    this.#h.checkWritable(offset, length);
    const ready = this.#h.markDirty(offset, length);
    // A write overlapping one under way waits until that one is on the local copy (and so sent): both
    // copies then apply overlapping writes in the same order (the peer keeps arrival order, replica.ts).
    const before: Promise<void>[] = [];
    for (const w of this.#underway) if (w.start < offset + length && offset < w.end) before.push(w.done);
    let finish!: () => void;
    const me: Underway = { start: offset, end: offset + length, done: new Promise((r) => (finish = r)) };
    this.#underway.add(me);
    const localDone = (): void => {
      if (!this.#underway.delete(me)) return;
      finish();
    };
    const gate = before.length === 0 ? ready : Promise.all([ready, ...before]).then(() => ready);
    // Decided once the regions are marked: where this write's pieces go.
    const route = gate.then(() => this.#route());
    route.catch(() => undefined);
    const pieces: Promise<Piece>[] = [];
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let at = offset;
    let over = false;
    const put = (): void => {
      if (pendingBytes === 0) return;
      const bufs = pending.length === 1 ? pending[0]! : pending;
      const pos = at;
      at += pendingBytes;
      pending = [];
      pendingBytes = 0;
      // `then` callbacks run in registration order: the pieces go out in order.
      const piece = route.then((r) => this.#writePiece(r, pos, bufs, fua));
      piece.catch(() => undefined); // the regions could not be marked: #endWrite reports that
      pieces.push(piece);
    };
    return {
      data: (chunk) => {
        if (over) return;
        // A large buffer (a 32 MiB trim as zeros, say) goes out in pieces too: a WRITE message stays small.
        for (let o = 0; o < chunk.length;) {
          const n = Math.min(chunk.length - o, WRITE_PIECE_BYTES - pendingBytes);
          pending.push(n === chunk.length ? chunk : chunk.subarray(o, o + n));
          pendingBytes += n;
          o += n;
          if (pendingBytes >= WRITE_PIECE_BYTES) put();
        }
      },
      end: () => {
        if (over)
          return Promise.reject(new BackendError('EIO', `write to volume ${this.#o.name} ended twice`));
        over = true;
        put();
        return this.#endWrite(ready, route, pieces, fua, at - offset === length, localDone);
      },
      abort: () => {
        if (over) return;
        over = true;
        // What was sent stays sent; the regions stay dirty (never acknowledged as on both copies).
        void this.#endWrite(ready, route, pieces, fua, false, localDone).catch(() => undefined);
      },
    };
  }

  /** Where a write goes: the connection to replicate on (null: alone, or the async queue is full). */
  #route(): Route {
    const { conn, replicating } = this.#h.link();
    const replicate = conn !== null && replicating;
    const asyncFull = this.#o.mode === 'async' && this.#peerWrites >= this.#o.queueSize;
    return { conn: replicate && !asyncFull ? conn : null, alone: !replicate };
  }

  /** One piece: to the local copy and, when replicating on a live connection, to the peer. */
  #writePiece(r: Route, pos: number, data: Bytes, fua: boolean): Piece {
    // Not durable yet (FUA): the whole write syncs once its pieces are all written (#endWrite).
    const local = this.#writeLocal(pos, data, false);
    local.catch(() => undefined);
    const conn = r.conn;
    // The connection may have dropped since the route was taken: the piece is then the loss's business
    // (its regions stay dirty), settled once the loss is persisted like any write waiting for the peer.
    if (conn === null) return { local, peer: null };
    if (conn.closed || this.#h.link().conn !== conn)
      return { local, peer: this.#h.settled().then(() => false) };
    const seq = this.#seq++;
    const peer = new Promise<boolean>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#o.log.warn(
          { volume: this.#o.name, seq },
          `no ack from the peer within ${this.#o.ackTimeoutMs} ms; dropping the mirror connection`,
        );
        conn.close();
      }, this.#o.ackTimeoutMs);
      this.#acks.set(seq, { resolve, reject, timer });
    });
    peer.catch(() => undefined);
    // No copy: the NBD request's buffers are neither reused nor modified once handed to the backend.
    conn.sendData(MsgType.write, { seq, offset: pos, fua, data });
    return { local, peer };
  }

  async #endWrite(
    ready: Promise<{ first: number; last: number } | null>,
    route: Promise<Route>,
    parts: readonly Promise<Piece>[],
    fua: boolean,
    whole: boolean,
    localDone: () => void,
  ): Promise<void> {
    let regions: RegionRange | null;
    let r: Route;
    let pieces: Piece[];
    try {
      regions = await ready; // EIO when the bitmap could not be saved (no piece was written then)
      r = await route;
      pieces = await Promise.all(parts);
    } catch (err) {
      localDone();
      throw err;
    }
    if (regions === null) {
      localDone();
      return;
    }
    let localErr: Error | null = null;
    for (const res of await Promise.allSettled(pieces.map((p) => p.local)))
      if (res.status === 'rejected') localErr ??= res.reason as Error; // #writeLocal's BackendError
    localDone();
    if (localErr === null && fua && whole) {
      try {
        await this.#h.data.datasync();
      } catch (err) {
        localErr = this.#h.ioFailed('flush', err);
      }
    }
    if (r.conn === null) {
      this.#h.regionsDone(regions, false);
      if (localErr !== null) throw localErr;
      if (!whole) throw new BackendError('EIO', `write to volume ${this.#o.name} was cut off`);
      // Alone: not acknowledged before peer-lost has persisted that the peer is outdated (it is queued
      // already when the connection is gone; the queue also holds any break-away in progress). Not
      // skipped when the state already says peerOutdated: the state changes before its save is done.
      if (r.alone) await this.#h.settled();
      return;
    }
    this.#peerWrites++;
    // The regions may be clean again only once the write is on BOTH copies: a bit cleared on the peer's
    // ack alone, while the local write is still running, could reach the disk before the data does.
    const acked = Promise.allSettled(pieces.map((p) => p.peer ?? Promise.resolve(false))).then((res) => {
      this.#peerWrites--;
      const all = res.every((x) => x.status === 'fulfilled' && x.value);
      this.#h.regionsDone(regions, localErr === null && whole && all);
      const failed = res.find((x): x is PromiseRejectedResult => x.status === 'rejected');
      return failed === undefined ? null : (failed.reason as Error); // #onDown's BackendError
    });
    if (this.#o.mode === 'async') {
      if (localErr !== null) throw localErr;
      if (!whole) throw new BackendError('EIO', `write to volume ${this.#o.name} was cut off`);
      return;
    }
    const rejected = await acked;
    if (localErr !== null) throw localErr;
    if (!whole) throw new BackendError('EIO', `write to volume ${this.#o.name} was cut off`);
    if (rejected !== null) throw rejected;
  }

  async flush(): Promise<void> {
    await this.#h.data.datasync().catch((err: unknown) => {
      throw this.#h.ioFailed('flush', err);
    });
    const { conn, replicating } = this.#h.link();
    if (conn !== null && replicating && this.#o.mode === 'sync') {
      const seq = this.#seq++;
      await new Promise<void>((resolve) => {
        this.#flushes.set(seq, resolve);
        conn.send(MsgType.flush, encodeSeq(seq));
      });
    }
  }
}
