/**
 * The receiving side of the mirror connection (issue 5 section 2): mirrored writes and resync blocks are
 * applied to the local copy, a write is acknowledged once it is on the local copy (durable first when it
 * carried FUA), and FLUSH / RESYNC_DONE run once everything received before them is durable.
 *
 * Streaming: a data message's bytes are written while the rest of it is still arriving (`begin` gets the
 * header, then pieces of at least STREAM_WRITE_BYTES go to the disk as they come in), so the peer's ack
 * follows the last byte by one small write instead of a whole 1 MiB one. Order: a message whose range
 * overlaps one still being written waits for it, so every byte ends as the messages arrived (the sender's
 * ordering argument in resync.ts relies on it); messages on other ranges go to the disk side by side, and
 * their acks may leave in another order (the sender matches them by seq).
 *
 * The active copy never takes data from the link: it would be written under the application. Receiving
 * some while primary means the peers disagree about roles, so the connection is dropped.
 *
 * A write or sync the local disk fails is reported to the volume (`onIoError`): its copy becomes Failed
 * and tells the primary through its meta, so mirrored data arriving afterwards is dropped unacknowledged
 * (the primary goes on alone) instead of the connection being dropped and retried in a loop.
 *
 * Teardown: the link hands over messages faster than the disk takes them, so writes may still be in flight
 * here when the connection closes. `drain` waits for them (and for pending FLUSH / RESYNC_DONE work); the
 * volume awaits it before closing the data file, which would otherwise fail them with "file closed". A
 * message cut off by the close (`abort`) keeps what was written of it and is not acknowledged: the sender
 * still holds its region dirty.
 */
import type { FileHandle } from 'node:fs/promises';
import type { Logger } from '../ports/logger.ts';
import { writeAllAt } from '../nbd/write-all.ts';
import { bytesLength } from '../nbd/types.ts';
import {
  encodeSeq,
  MsgType,
  type DataHeader,
  type DataMsg,
  type DataStream,
  type MdcConnection,
} from './mdc.ts';

/** Received bytes of a message gathered into one `writev` before it goes to the disk. */
export const STREAM_WRITE_BYTES = 256 * 1024;

export interface ReplicaOptions {
  /** Volume name (logs). */
  readonly volume: string;
  readonly data: FileHandle;
  readonly log: Logger;
  readonly isPrimary: () => boolean;
  /**
   * A write or sync of mirrored data failed on the local disk: the volume marks its copy Failed and tells
   * the primary (which goes on alone). Without it the connection is dropped.
   */
  readonly onIoError?: (err: unknown, op: 'write' | 'flush') => void;
  /** True once the copy's disk failed: mirrored data is dropped unacknowledged (the primary knows). */
  readonly isFailed?: () => boolean;
}

/** A message being written: its byte range and when all of it is on the copy (never rejects). */
interface InFlight {
  readonly start: number;
  readonly end: number;
  readonly done: Promise<void>;
}

const NOOP_STREAM: DataStream = { data: () => undefined, end: () => undefined, abort: () => undefined };

export class Replica {
  readonly #o: ReplicaOptions;
  readonly #inflight = new Set<InFlight>();
  /** afterDurable work in flight (later writes do not wait for it), drained too. */
  readonly #side = new Set<Promise<void>>();

  constructor(o: ReplicaOptions) {
    this.#o = o;
  }

  /** A whole WRITE (acknowledged with its seq) or RESYNC_BLOCK (not acknowledged). */
  apply(conn: MdcConnection, type: number, m: DataMsg): void {
    const s = this.begin(conn, type, {
      seq: m.seq,
      offset: m.offset,
      fua: m.fua,
      length: bytesLength(m.data),
    });
    if (Buffer.isBuffer(m.data)) s.data(m.data);
    else for (const c of m.data) s.data(c);
    s.end();
  }

  /** A WRITE or RESYNC_BLOCK whose data will follow in pieces (`data`), then `end` (or `abort`). */
  begin(conn: MdcConnection, type: number, h: DataHeader): DataStream {
    if (this.#o.isPrimary()) {
      this.#o.log.error(
        { volume: this.#o.volume },
        'mirror write received while primary; dropping the connection',
      );
      conn.close();
      return NOOP_STREAM;
    }
    if (this.#o.isFailed?.() === true) return NOOP_STREAM;
    const start = h.offset;
    const end = h.offset + h.length;
    const before: Promise<void>[] = [];
    for (const f of this.#inflight) if (f.start < end && start < f.end) before.push(f.done);
    const gate = before.length === 0 ? null : Promise.all(before);
    let finish!: () => void;
    const self: InFlight = { start, end, done: new Promise<void>((r) => (finish = r)) };
    this.#inflight.add(self);

    const writes: Promise<Error | null>[] = [];
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let at = start;
    const data = this.#o.data;
    const put = (): void => {
      if (pendingBytes === 0) return;
      const bufs = pending;
      const pos = at;
      at += pendingBytes;
      pending = [];
      pendingBytes = 0;
      const w = (): Promise<void> => writeAllAt(data, pos, bufs.length === 1 ? bufs[0]! : bufs);
      writes.push(
        (gate === null ? w() : gate.then(w)).then(
          () => null,
          (err: unknown) => err as Error,
        ),
      );
    };
    const settle = async (ack: boolean): Promise<void> => {
      try {
        const failed = (await Promise.all(writes)).find((e) => e !== null);
        if (!ack) return;
        if (failed !== undefined) throw failed;
        if (h.fua) await data.datasync();
        if (type === MsgType.write) conn.send(MsgType.ack, encodeSeq(h.seq));
      } catch (err) {
        this.#ioError(conn, err, 'write');
      } finally {
        this.#inflight.delete(self);
        finish();
      }
    };
    let over = false;
    return {
      data: (chunk) => {
        if (over) return;
        pending.push(chunk);
        pendingBytes += chunk.length;
        if (pendingBytes >= STREAM_WRITE_BYTES) put();
      },
      end: () => {
        if (over) return;
        over = true;
        put();
        void settle(true);
      },
      abort: () => {
        if (over) return;
        over = true;
        void settle(false);
      },
    };
  }

  /**
   * Runs `then` once everything received so far is applied and durable. Later writes do not wait for it
   * (a flush covers what came before it, as on a local disk).
   */
  afterDurable(conn: MdcConnection, then: () => unknown): void {
    const earlier = [...this.#inflight].map((f) => f.done);
    const p = Promise.all(earlier).then(async () => {
      try {
        await this.#o.data.datasync();
      } catch (err) {
        return this.#ioError(conn, err, 'flush');
      }
      try {
        await then();
      } catch (err) {
        this.#fail(conn, err, 'handling a mirror message after a flush failed');
      }
    });
    this.#side.add(p);
    void p.finally(() => this.#side.delete(p));
  }

  /**
   * Resolves once every write, FLUSH and RESYNC_DONE received so far has been carried out (or has failed
   * and been logged). The caller stops new messages first (closes the link); work queued by the drained
   * work itself is waited for too.
   */
  async drain(): Promise<void> {
    while (this.#inflight.size > 0 || this.#side.size > 0) {
      await Promise.allSettled([...[...this.#inflight].map((f) => f.done), ...this.#side]);
    }
  }

  /** The local disk failed: the volume is told (it marks the copy Failed), else the connection drops. */
  #ioError(conn: MdcConnection, err: unknown, op: 'write' | 'flush'): void {
    const report = this.#o.onIoError;
    if (report === undefined) return this.#fail(conn, err, `local ${op} of mirrored data failed`);
    this.#o.log.error(
      { volume: this.#o.volume, err: (err as Error).message },
      `local ${op} of mirrored data failed: the local disk of the copy failed`,
    );
    report(err, op);
  }

  #fail(conn: MdcConnection, err: unknown, what: string): void {
    this.#o.log.error(
      { volume: this.#o.volume, err: (err as Error).message },
      `${what}; dropping the connection`,
    );
    conn.close();
  }
}
