import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  DEFAULT_BLOCK_SIZES,
  NbdCmd,
  NbdOpt,
  NbdRep,
  decodeInfoRequest,
  decodeRequestHeader,
  encodeExportNameReply,
  encodeGreeting,
  encodeOptionError,
  encodeSimpleReply,
  transmissionFlags,
  validateRequest,
  type RequestHeader,
} from './protocol.ts';
import { ByteQueue } from './byte-queue.ts';

const shape = { size: 1 << 20, readOnly: false, blockSizes: DEFAULT_BLOCK_SIZES };
const req = (r: Partial<RequestHeader>): RequestHeader => ({
  magicOk: true,
  flags: 0,
  type: NbdCmd.read,
  handle: Buffer.alloc(8),
  offset: 0,
  length: 512,
  ...r,
});

test('greeting and fixed replies match proto.md byte for byte', () => {
  assert.equal(encodeGreeting().toString('hex'), '4e42444d41474943' + '49484156454f5054' + '0003');
  const err = encodeOptionError(NbdOpt.go, NbdRep.errUnknown, 'no');
  assert.equal(err.toString('hex'), '0003e889045565a9' + '00000007' + '80000006' + '00000002' + '6e6f');
  assert.equal(encodeExportNameReply(4096, 1, true).length, 10);
  assert.equal(encodeExportNameReply(4096, 1, false).length, 134);
  const handle = Buffer.from('0102030405060708', 'hex');
  assert.equal(encodeSimpleReply(22, handle).toString('hex'), '67446698' + '00000016' + '0102030405060708');
  assert.equal(transmissionFlags(false), 0b1101101);
  assert.equal(transmissionFlags(true), 0b1101111);
});

test('request header decoding, including offsets beyond 2^53', () => {
  const b = Buffer.alloc(28);
  b.writeUInt32BE(0x25609513, 0);
  b.writeUInt16BE(1, 4);
  b.writeUInt16BE(NbdCmd.write, 6);
  b.writeBigUInt64BE(0xdeadbeefn, 8);
  b.writeBigUInt64BE(4096n, 16);
  b.writeUInt32BE(512, 24);
  const h = decodeRequestHeader(b);
  assert.deepEqual(
    { ...h, handle: h.handle.toString('hex') },
    {
      magicOk: true,
      flags: 1,
      type: NbdCmd.write,
      handle: '00000000deadbeef',
      offset: 4096,
      length: 512,
    },
  );
  b.writeBigUInt64BE(2n ** 63n, 16);
  assert.equal(decodeRequestHeader(b).offset, Infinity);
});

test('validateRequest follows the error guidance of proto.md', () => {
  const cases: Array<[Partial<RequestHeader>, string | null, typeof shape | undefined]> = [
    [{}, null, undefined],
    [{ offset: shape.size - 512 }, null, undefined],
    [{ offset: shape.size - 511 }, 'EINVAL', undefined],
    [{ type: NbdCmd.write, offset: shape.size - 511 }, 'ENOSPC', undefined],
    [{ type: NbdCmd.writeZeroes, offset: shape.size, length: 1 }, 'ENOSPC', undefined],
    [{ type: NbdCmd.trim, offset: shape.size, length: 1 }, 'EINVAL', undefined],
    [{ type: NbdCmd.write }, 'EPERM', { ...shape, readOnly: true }],
    [{ type: NbdCmd.trim }, 'EPERM', { ...shape, readOnly: true }],
    [{}, null, { ...shape, readOnly: true }],
    [{ length: 32 * 1024 * 1024 + 1 }, 'EINVAL', { ...shape, size: 2 ** 40 }],
    [{ type: NbdCmd.writeZeroes, length: 2 ** 32 - 1 }, null, { ...shape, size: 2 ** 40 }],
    [{ type: NbdCmd.cache }, 'EINVAL', undefined],
    [{ type: 99 }, 'EINVAL', undefined],
    [{ flags: 1 | 2 }, null, undefined],
    [{ flags: 4 }, 'EINVAL', undefined],
    [{ type: NbdCmd.flush, length: 0 }, null, undefined],
    [{ type: NbdCmd.flush, length: 1 }, 'EINVAL', undefined],
    [{ offset: Infinity }, 'EINVAL', undefined],
    [{ offset: 1 }, 'EINVAL', { ...shape, blockSizes: { ...DEFAULT_BLOCK_SIZES, minimum: 512 } }],
    [{ offset: 1 }, null, undefined],
  ];
  for (const [r, expected, s] of cases) {
    assert.equal(validateRequest(req(r), s ?? shape), expected, JSON.stringify(r));
  }
});

test('decodeInfoRequest rejects inconsistent lengths', () => {
  const ok = Buffer.from('00000003766f6c00020003' + '0001', 'hex');
  assert.deepEqual(decodeInfoRequest(ok), { name: 'vol', requests: [3, 1] });
  assert.equal(decodeInfoRequest(ok.subarray(0, ok.length - 1)), null);
  assert.equal(decodeInfoRequest(Buffer.concat([ok, Buffer.alloc(2)])), null);
  assert.equal(decodeInfoRequest(Buffer.from('0000ffff0000', 'hex')), null);
  assert.deepEqual(decodeInfoRequest(Buffer.from('000000000000', 'hex')), { name: '', requests: [] });
});

test('ByteQueue: any chunking yields the same byte stream', () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ minLength: 0, maxLength: 40 }), { maxLength: 12 }),
      fc.array(fc.integer({ min: 0, max: 30 }), { maxLength: 20 }),
      (chunks, takes) => {
        const all = Buffer.concat(chunks.map((c) => Buffer.from(c)));
        const q = new ByteQueue();
        for (const c of chunks) q.push(Buffer.from(c));
        let pos = 0;
        for (const [i, n] of takes.entries()) {
          const k = Math.min(n, q.length);
          if (i % 3 === 2) {
            assert.equal(q.skip(n), k);
          } else {
            assert.ok(q.take(k).equals(all.subarray(pos, pos + k)));
          }
          pos += k;
          assert.equal(q.length, all.length - pos);
        }
      },
    ),
  );
});
