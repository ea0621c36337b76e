// The receiving side's streaming (src/mirror/replica.ts, FrameReader in src/mirror/mdc.ts): data messages
// are written while they arrive, overlapping messages end as they arrived even when the disk completes
// them out of order, others go side by side, a message cut off by a closed link is not acknowledged, and
// FLUSH covers every message received before it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FileHandle } from 'node:fs/promises';
import type { Logger } from '../../src/ports/logger.ts';
import {
  FrameReader,
  MsgType,
  type DataHeader,
  type DataStream,
  type MdcConnection,
} from '../../src/mirror/mdc.ts';
import { Replica, STREAM_WRITE_BYTES } from '../../src/mirror/replica.ts';

const KiB = 1024;
const quiet: Logger = {
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  fatal: () => undefined,
  child: () => quiet,
} as unknown as Logger;

/** An in-memory data file whose writes at chosen offsets wait until released. */
class HeldFile {
  readonly bytes = Buffer.alloc(4096 * KiB);
  readonly writes: { pos: number; length: number }[] = [];
  datasyncs = 0;
  readonly #held = new Map<number, { wait: Promise<void>; release: () => void }>();

  hold(pos: number): () => void {
    let release!: () => void;
    const wait = new Promise<void>((r) => (release = r));
    this.#held.set(pos, { wait, release });
    return release;
  }

  async #write(pos: number, bufs: readonly Buffer[]): Promise<number> {
    await this.#held.get(pos)?.wait;
    let at = pos;
    for (const b of bufs) {
      b.copy(this.bytes, at);
      at += b.length;
    }
    this.writes.push({ pos, length: at - pos });
    return at - pos;
  }

  handle(): FileHandle {
    return {
      write: async (b: Buffer, off: number, len: number, pos: number) => ({
        bytesWritten: await this.#write(pos, [b.subarray(off, off + len)]),
        buffer: b,
      }),
      writev: async (bufs: Buffer[], pos: number) => ({
        bytesWritten: await this.#write(pos, bufs),
        buffers: bufs,
      }),
      datasync: () => {
        this.datasyncs++;
        return Promise.resolve();
      },
    } as unknown as FileHandle;
  }
}

/** What the replica sends back, and whether it dropped the link. */
function fakeConn(): { conn: MdcConnection; acks: number[]; sent: number[]; closed: () => boolean } {
  const acks: number[] = [];
  const sent: number[] = [];
  let closed = false;
  const conn = {
    send: (type: number, p: Buffer = Buffer.alloc(0)) => {
      sent.push(type);
      if (type === MsgType.ack) acks.push(p.readUInt32BE(0));
      return true;
    },
    close: () => {
      closed = true;
    },
  } as unknown as MdcConnection;
  return { conn, acks, sent, closed: () => closed };
}

function replica(file: HeldFile): Replica {
  return new Replica({ volume: 'md1', data: file.handle(), log: quiet, isPrimary: () => false });
}

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

test('a message is written while it arrives, in pieces of STREAM_WRITE_BYTES, and acked after its last byte', async () => {
  const file = new HeldFile();
  const c = fakeConn();
  const r = replica(file);
  const s = r.begin(c.conn, MsgType.write, {
    seq: 7,
    offset: 0,
    fua: false,
    length: 2 * STREAM_WRITE_BYTES + 4 * KiB,
  });
  for (let i = 0; i < STREAM_WRITE_BYTES / (64 * KiB); i++) s.data(Buffer.alloc(64 * KiB, 1));
  await settle();
  assert.deepEqual(
    file.writes,
    [{ pos: 0, length: STREAM_WRITE_BYTES }],
    'the first piece is on disk before the rest came',
  );
  assert.deepEqual(c.acks, []);
  s.data(Buffer.alloc(STREAM_WRITE_BYTES, 2));
  s.data(Buffer.alloc(4 * KiB, 3));
  s.end();
  await r.drain();
  assert.deepEqual(c.acks, [7]);
  assert.equal(file.bytes[STREAM_WRITE_BYTES + 5], 2);
  assert.equal(file.bytes[2 * STREAM_WRITE_BYTES + 5], 3);
  assert.equal(file.datasyncs, 0, 'no FUA, no datasync');
});

test('overlapping messages end as they arrived even when the first one is slow on disk; others pass', async () => {
  const file = new HeldFile();
  const c = fakeConn();
  const r = replica(file);
  const release = file.hold(0);
  // A: 0..64K (held on disk); B: 32K..96K overlaps A; C: 1M..1M+4K does not.
  r.apply(c.conn, MsgType.write, { seq: 1, offset: 0, fua: false, data: Buffer.alloc(64 * KiB, 0xa) });
  r.apply(c.conn, MsgType.write, { seq: 2, offset: 32 * KiB, fua: false, data: Buffer.alloc(64 * KiB, 0xb) });
  r.apply(c.conn, MsgType.write, { seq: 3, offset: 1024 * KiB, fua: true, data: Buffer.alloc(4 * KiB, 0xc) });
  await settle();
  await settle();
  assert.deepEqual(c.acks, [3], 'the message on another range is acknowledged while A is held');
  assert.equal(file.datasyncs, 1, 'FUA: durable before its ack');
  release();
  await r.drain();
  assert.deepEqual(c.acks, [3, 1, 2]);
  assert.equal(file.bytes[16 * KiB], 0xa);
  assert.equal(file.bytes[48 * KiB], 0xb, 'B, received after A, wins where they overlap');
  assert.equal(file.bytes[90 * KiB], 0xb);
});

test('a message cut off by the link closing is not acknowledged; drain still ends', async () => {
  const file = new HeldFile();
  const c = fakeConn();
  const r = replica(file);
  const s = r.begin(c.conn, MsgType.write, { seq: 9, offset: 0, fua: false, length: STREAM_WRITE_BYTES * 2 });
  s.data(Buffer.alloc(STREAM_WRITE_BYTES, 1));
  s.abort();
  s.data(Buffer.alloc(STREAM_WRITE_BYTES, 2));
  s.end();
  await r.drain();
  assert.deepEqual(c.acks, []);
  assert.deepEqual(
    file.writes,
    [{ pos: 0, length: STREAM_WRITE_BYTES }],
    'what arrived was written, nothing after',
  );
});

test('FLUSH runs after every message received before it, not before', async () => {
  const file = new HeldFile();
  const c = fakeConn();
  const r = replica(file);
  const release = file.hold(0);
  r.apply(c.conn, MsgType.write, { seq: 1, offset: 0, fua: false, data: Buffer.alloc(4 * KiB, 1) });
  let flushed = false;
  r.afterDurable(c.conn, () => (flushed = true));
  await settle();
  assert.equal(flushed, false);
  release();
  await r.drain();
  assert.equal(flushed, true);
  assert.equal(file.datasyncs, 1);
});

test('FrameReader streams data messages piece by piece across any chunking, control frames in between', () => {
  const frame = (type: number, payload: Buffer): Buffer => {
    const h = Buffer.alloc(5);
    h.writeUInt8(type, 0);
    h.writeUInt32BE(payload.length, 1);
    return Buffer.concat([h, payload]);
  };
  const dataFrame = (seq: number, offset: number, data: Buffer): Buffer => {
    const h = Buffer.alloc(13);
    h.writeUInt32BE(seq, 0);
    h.writeDoubleBE(offset, 4);
    h.writeUInt8(0, 12);
    return frame(MsgType.write, Buffer.concat([h, data]));
  };
  const d1 = Buffer.alloc(300 * KiB, 1);
  const d2 = Buffer.from('short');
  const stream = Buffer.concat([
    dataFrame(1, 4096, d1),
    frame(MsgType.ping, Buffer.alloc(0)),
    dataFrame(2, 0, d2),
    dataFrame(3, 0, Buffer.alloc(0)),
  ]);
  for (const cut of [1, 7, 4096, 65536, stream.length]) {
    const events: string[] = [];
    const got = new Map<number, Buffer[]>();
    const r = new FrameReader();
    r.onFrame = (t) => events.push(`frame ${t}`);
    r.onDataBegin = (t: number, h: DataHeader): DataStream => {
      events.push(`begin ${t} seq ${h.seq} at ${h.offset} len ${h.length}`);
      const parts: Buffer[] = [];
      got.set(h.seq, parts);
      return {
        data: (b) => parts.push(Buffer.from(b)),
        end: () => events.push(`end ${h.seq}`),
        abort: () => events.push('abort'),
      };
    };
    for (let at = 0; at < stream.length; at += cut) r.push(stream.subarray(at, at + cut));
    assert.deepEqual(events, [
      `begin ${MsgType.write} seq 1 at 4096 len ${d1.length}`,
      `end 1`,
      `frame ${MsgType.ping}`,
      `begin ${MsgType.write} seq 2 at 0 len 5`,
      `end 2`,
      `begin ${MsgType.write} seq 3 at 0 len 0`,
      `end 3`,
    ]);
    assert.ok(Buffer.concat(got.get(1)!).equals(d1), `cut ${cut}: data 1 whole and in order`);
    assert.ok(Buffer.concat(got.get(2)!).equals(d2));
    if (cut < d1.length) assert.ok(got.get(1)!.length > 1, `cut ${cut}: delivered in pieces as it arrived`);
  }
  // Cut off mid-message: abort.
  const r = new FrameReader();
  const events: string[] = [];
  r.onDataBegin = () => ({
    data: () => undefined,
    end: () => events.push('end'),
    abort: () => events.push('abort'),
  });
  r.push(dataFrame(1, 0, d1).subarray(0, 1000));
  r.abort();
  assert.deepEqual(events, ['abort']);
});
