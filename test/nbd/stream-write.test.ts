/**
 * Streamed WRITE requests (src/nbd/connection.ts, STREAM_WRITE_MIN_BYTES): a backend with `writeStream`
 * gets a large payload piece by piece while it arrives, the reply waits for the stream's end, FLUSH waits
 * for it, a refusal thrown at once is answered after the payload is skipped (the connection goes on), and
 * a client that disconnects mid-payload aborts the stream. Raw socket, no external program.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RawClient } from './raw-client.ts';
import { EXPORT, pattern, withServed } from './helpers.ts';
import { NbdCmd, NbdErrno } from '../../src/nbd/protocol.ts';
import { STREAM_WRITE_MIN_BYTES } from '../../src/nbd/connection.ts';
import { BackendError, type BlockBackend, type WriteStream } from '../../src/nbd/types.ts';
import type { FileBackend } from '../../src/nbd/file-backend.ts';

const KiB = 1024;

/** The file backend plus a `writeStream` that records what it gets and ends when the test says so. */
function streaming(fb: FileBackend) {
  const log: string[] = [];
  const pieces: Buffer[] = [];
  let finish: (() => void) | null = null;
  let refuse: BackendError | null = null;
  const backend: BlockBackend = {
    size: fb.size,
    readOnly: false,
    read: (o, l) => fb.read(o, l),
    write: (o, d, f) => fb.write(o, d, f),
    flush: async () => {
      log.push('flush');
      await fb.flush();
    },
    trim: (o, l, f) => fb.trim(o, l, f),
    writeZeroes: (o, l, f) => fb.writeZeroes(o, l, f),
    writeStream: (offset, length, fua): WriteStream => {
      if (refuse !== null) throw refuse;
      log.push(`begin ${offset} ${length} ${fua}`);
      const got: Buffer[] = [];
      return {
        data: (b) => {
          got.push(Buffer.from(b));
          pieces.push(b);
        },
        end: async () => {
          log.push(`end ${Buffer.concat(got).length}`);
          await new Promise<void>((r) => (finish = r));
          await fb.write(offset, Buffer.concat(got), fua);
          log.push('written');
        },
        abort: () => log.push(`abort after ${Buffer.concat(got).length}`),
      };
    },
  };
  return {
    backend,
    log,
    pieces,
    release: () => finish?.(),
    refuseWith: (e: BackendError | null) => (refuse = e),
  };
}

const until = async (what: string, cond: () => boolean): Promise<void> => {
  for (let i = 0; i < 400 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(cond(), what);
};

test('a large WRITE is streamed as it arrives; its reply and a later FLUSH wait for the stream', async () => {
  let h!: ReturnType<typeof streaming>;
  await withServed({ size: 4 * 1024 * KiB, backend: (fb) => (h = streaming(fb)).backend }, async (s) => {
    const c = await RawClient.connect(s.server.address);
    try {
      await c.go(EXPORT);
      const data = pattern(0x5a, 2 * STREAM_WRITE_MIN_BYTES);
      c.sendRequest({ type: NbdCmd.write, handle: 1n, offset: 4096, length: data.length });
      c.write(data.subarray(0, 64 * KiB));
      await until(
        'the stream began and got the first bytes before the rest was sent',
        () => h.pieces.length > 0,
      );
      assert.deepEqual(h.log, [`begin 4096 ${data.length} false`]);
      c.write(data.subarray(64 * KiB));
      c.sendRequest({ type: NbdCmd.flush, handle: 2n });
      await until('end called', () => h.log.includes(`end ${data.length}`));
      assert.ok(!h.log.includes('flush'), 'FLUSH waits for the streamed write');
      h.release();
      assert.deepEqual(await c.readReply(), { error: 0, handle: 1n });
      assert.deepEqual(await c.readReply(), { error: 0, handle: 2n });
      assert.deepEqual(h.log.slice(-2), ['written', 'flush']);
      c.sendRequest({ type: NbdCmd.read, handle: 3n, offset: 4096, length: data.length });
      assert.deepEqual(await c.readReply(), { error: 0, handle: 3n });
      assert.ok((await c.read(data.length)).equals(data));
      // Small writes are not streamed.
      c.sendRequest({ type: NbdCmd.write, handle: 4n, offset: 0, data: pattern(1, 4096) });
      assert.deepEqual(await c.readReply(), { error: 0, handle: 4n });
      assert.equal(h.log.filter((l) => l.startsWith('begin')).length, 1);
    } finally {
      c.close();
    }
  });
});

test('a stream refused at once is answered with its errno after the payload; the connection goes on', async () => {
  let h!: ReturnType<typeof streaming>;
  await withServed({ size: 4 * 1024 * KiB, backend: (fb) => (h = streaming(fb)).backend }, async (s) => {
    const c = await RawClient.connect(s.server.address);
    try {
      await c.go(EXPORT);
      h.refuseWith(new BackendError('EPERM', 'not active here'));
      c.sendRequest({ type: NbdCmd.write, handle: 1n, offset: 0, data: pattern(2, STREAM_WRITE_MIN_BYTES) });
      assert.deepEqual(await c.readReply(), { error: NbdErrno.EPERM, handle: 1n });
      h.refuseWith(null);
      c.sendRequest({ type: NbdCmd.read, handle: 2n, offset: 0, length: 512 });
      assert.deepEqual(await c.readReply(), { error: 0, handle: 2n });
      assert.ok((await c.read(512)).equals(Buffer.alloc(512)), 'nothing was written');
    } finally {
      c.close();
    }
  });
});

test('a client that disconnects mid-payload aborts the stream', async () => {
  let h!: ReturnType<typeof streaming>;
  await withServed({ size: 4 * 1024 * KiB, backend: (fb) => (h = streaming(fb)).backend }, async (s) => {
    const c = await RawClient.connect(s.server.address);
    await c.go(EXPORT);
    c.sendRequest({ type: NbdCmd.write, handle: 1n, offset: 0, length: 4 * STREAM_WRITE_MIN_BYTES });
    c.write(pattern(3, 100 * KiB));
    await until('the stream got the first bytes', () => h.pieces.length > 0);
    c.close();
    await until('aborted', () => h.log.some((l) => l.startsWith('abort')));
    assert.equal(h.log.at(-1), `abort after ${100 * KiB}`);
  });
});
