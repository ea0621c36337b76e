/**
 * The mirror recovery's copy loop on the source side (issue 5 section 2: "automatic mirror recovery copies
 * only the dirty regions (a full copy when generations say so) ... writes continue during recovery"), and
 * the per-region write activity it needs to stay correct while the application writes.
 *
 * Ordering argument: a write to a region goes to the peer as a WRITE message as soon as it starts, and the
 * peer applies messages in arrival order. A resync block read while a write to its region is in flight, or
 * that a write overlapped during the read, may hold older bytes than that WRITE; sent after it, the block
 * would undo it on the peer. So the region is read again until a read completes with no write in flight
 * and none started meanwhile: the block then holds every write sent before it.
 */
import type { DirtyBitmap } from './core/bitmap.ts';
import { MsgType, type MdcConnection } from './mdc.ts';

/** Bytes queued in the socket above which the copy loop waits for it to drain. */
const RESYNC_BACKLOG_BYTES = 8 * 1024 * 1024;
/** Progress is reported at most this often (status shows bytes, rate and ETA). */
const PROGRESS_EVERY_MS = 200;

/** Writes in flight per region, and a count of writes ever started per region. */
export class RegionActivity {
  readonly #inflight = new Map<number, number>();
  readonly #touched = new Map<number, number>();

  /** A write to regions `first..last` starts. */
  begin(r: { first: number; last: number }): void {
    for (let i = r.first; i <= r.last; i++) {
      this.#inflight.set(i, (this.#inflight.get(i) ?? 0) + 1);
      this.#touched.set(i, (this.#touched.get(i) ?? 0) + 1);
    }
  }

  /** One write to region `i` is over; true when no other write to it is in flight. */
  end(i: number): boolean {
    const n = (this.#inflight.get(i) ?? 1) - 1;
    if (n <= 0) this.#inflight.delete(i);
    else this.#inflight.set(i, n);
    return n <= 0;
  }

  busy(i: number): boolean {
    return (this.#inflight.get(i) ?? 0) > 0;
  }

  /** Writes ever started to region `i` (compared before and after a read). */
  touches(i: number): number {
    return this.#touched.get(i) ?? 0;
  }
}

export interface ResyncCopy {
  readonly conn: MdcConnection;
  /** The regions to copy: dirty on either side, or all of them. */
  readonly regions: DirtyBitmap;
  readonly activity: RegionActivity;
  read(offset: number, length: number): Promise<Buffer>;
  /** False once `conn` is no longer the live connection (the copy stops). */
  live(): boolean;
  now(): number;
  progress(doneBytes: number, totalBytes: number): void;
  /** Each block sent (status counts resync bytes). */
  sent(bytes: number): void;
}

/**
 * Sends every region of `c.regions` as a RESYNC_BLOCK, in order, with backpressure. Resolves with the bytes
 * sent, or null when the connection went away first (the regions stay dirty for the next connect).
 */
export async function copyRegions(c: ResyncCopy): Promise<{ doneBytes: number; totalBytes: number } | null> {
  const total = c.regions.dirtyBytes();
  let done = 0;
  let lastReport = c.now();
  for (const r of c.regions.dirtyRegions()) {
    if (!c.live() || c.conn.closed) return null;
    let data: Buffer;
    for (;;) {
      const before = c.activity.touches(r.index);
      data = await c.read(r.offset, r.length);
      if (!c.activity.busy(r.index) && c.activity.touches(r.index) === before) break;
      await new Promise((res) => setTimeout(res, 1));
    }
    c.conn.sendData(MsgType.resyncBlock, { seq: 0, offset: r.offset, fua: false, data });
    c.sent(r.length);
    done += r.length;
    while (c.conn.bufferedBytes > RESYNC_BACKLOG_BYTES && !c.conn.closed)
      await new Promise((res) => setTimeout(res, 1));
    const now = c.now();
    if (now - lastReport >= PROGRESS_EVERY_MS) {
      lastReport = now;
      c.progress(done, total);
    }
  }
  if (!c.live() || c.conn.closed) return null;
  return { doneBytes: done, totalBytes: total };
}
