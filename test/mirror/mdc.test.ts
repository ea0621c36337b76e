// MDC framing (src/mirror/mdc.ts FrameReader): frames come out whole and in order however the byte stream
// is cut into chunks (they are queued, not re-joined on every chunk).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  decodeData,
  FrameReader,
  MAX_FRAME_BYTES,
  MdcRefusedError,
  MsgType,
  type DataMsg,
} from '../../src/mirror/mdc.ts';
import { bytesLength, toBuffer } from '../../src/nbd/types.ts';

function frame(type: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(5);
  h.writeUInt8(type, 0);
  h.writeUInt32BE(payload.length, 1);
  return Buffer.concat([h, payload]);
}

/** A frame as the reader should deliver it: data frames decoded (data joined for comparing), others raw. */
type Seen = [number, Buffer | (Omit<DataMsg, 'data'> & { data: Buffer })];

function seen(t: number, p: Buffer, d: DataMsg | undefined): Seen {
  return [t, d === undefined ? Buffer.from(p) : { ...d, data: Buffer.from(toBuffer(d.data)) }];
}

function expected(t: number, p: Buffer): Seen {
  const isData = t === MsgType.write || t === MsgType.resyncBlock;
  return isData && p.length >= 13 ? seen(t, Buffer.alloc(0), decodeData(p)) : [t, p];
}

test('frames survive any chunking of the stream', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.tuple(
          fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(MsgType.write, MsgType.resyncBlock)),
          fc.uint8Array({ maxLength: 300 }),
        ),
        {
          maxLength: 12,
        },
      ),
      fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 20 }),
      (frames, cuts) => {
        const stream = Buffer.concat(frames.map(([t, p]) => frame(t, Buffer.from(p))));
        const got: Seen[] = [];
        const r = new FrameReader();
        r.onFrame = (t, p, d) => got.push(seen(t, p, d));
        let at = 0;
        for (let i = 0; at < stream.length; i++) {
          const n = cuts[i % cuts.length]!;
          r.push(stream.subarray(at, at + n));
          at += n;
        }
        assert.deepEqual(
          got,
          frames.map(([t, p]) => expected(t, Buffer.from(p))),
        );
      },
    ),
    { seed: 5, numRuns: 300 },
  );
});

test('1 MiB frames arriving in 1 KiB chunks come out whole', () => {
  const payload = Buffer.alloc(1024 * 1024, 7);
  const stream = Buffer.concat([frame(11, payload), frame(12, Buffer.from('x'))]);
  const r = new FrameReader();
  const got: [number, number][] = [];
  r.onFrame = (t, p, d) => got.push([t, d === undefined ? p.length : 13 + bytesLength(d.data)]);
  for (let rep = 0; rep < 8; rep++)
    for (let at = 0; at < stream.length; at += 1024) r.push(stream.subarray(at, at + 1024));
  assert.equal(got.length, 16);
  assert.deepEqual(got.slice(0, 2), [
    [11, payload.length],
    [12, 1],
  ]);
});

test('an oversized frame header is refused', () => {
  const r = new FrameReader();
  let err: unknown = null;
  r.onError = (e) => (err = e);
  const h = Buffer.alloc(5);
  h.writeUInt32BE(MAX_FRAME_BYTES + 1, 1);
  r.push(h);
  assert.ok(err instanceof MdcRefusedError && err.code === 'MDC_PROTOCOL');
});
