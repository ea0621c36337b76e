/**
 * NBD negotiation and transmission edge cases with a raw socket (issue 5): what real clients never send but a
 * server must answer per proto.md (NBD_OPT_LIST, unknown export, structured replies refused, NBD_OPT_ABORT,
 * bad magic, oversized requests), plus the server's own promises: FLUSH waits for earlier writes, replies
 * only after the backend settled, back-pressure, refusal while the volume is not served here, shutdown.
 * Needs no external program.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, lstat } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RawClient } from './raw-client.ts';
import { EXPORT, pattern, withServed } from './helpers.ts';
import { CmdFlag, NbdCmd, NbdErrno, NbdInfo, NbdOpt, NbdRep } from '../../src/nbd/protocol.ts';
import { createNbdServer } from '../../src/nbd/server.ts';
import { BackendError, bytesLength, type BlockBackend } from '../../src/nbd/types.ts';
import { NbdError } from '../../src/nbd/errors.ts';

const MiB = 1024 * 1024;

test('greeting: fixed newstyle with NO_ZEROES; NBD_OPT_LIST names the export', async () => {
  await withServed({}, async (s) => {
    const c = await RawClient.connect(s.server.address);
    try {
      assert.equal(await c.handshake(), 3);
      c.sendOption(NbdOpt.list);
      const replies = await c.readOptionReplies();
      assert.equal(replies.length, 2);
      assert.equal(replies[0]!.type, NbdRep.server);
      assert.equal(replies[0]!.data.readUInt32BE(0), EXPORT.length);
      assert.equal(replies[0]!.data.toString('utf8', 4), EXPORT);
      assert.equal(replies[1]!.type, NbdRep.ack);
      // LIST with data is invalid, and the session goes on.
      c.sendOption(NbdOpt.list, Buffer.from('x'));
      assert.equal((await c.readOptionReply()).type, NbdRep.errInvalid);
    } finally {
      c.close();
    }
  });
});

test('INFO/GO: unknown export refused with ERR_UNKNOWN, then the right one; block sizes advertised', async () => {
  await withServed({ size: 2 * MiB }, async (s) => {
    const c = await RawClient.connect(s.server.address);
    try {
      await c.handshake();
      c.sendOption(NbdOpt.go, RawClient.infoPayload('nope'));
      const refused = await c.readOptionReply();
      assert.equal(refused.type, NbdRep.errUnknown);
      assert.match(refused.data.toString(), /no export named "nope".*"vol1"/);

      c.sendOption(NbdOpt.info, RawClient.infoPayload(EXPORT, [NbdInfo.blockSize]));
      const info = await c.readOptionReplies();
      assert.deepEqual(
        info.map((r) => [r.type, r.type === NbdRep.info ? r.data.readUInt16BE(0) : -1]),
        [
          [NbdRep.info, NbdInfo.export],
          [NbdRep.info, NbdInfo.blockSize],
          [NbdRep.ack, -1],
        ],
      );
      const exp = info[0]!.data;
      assert.equal(Number(exp.readBigUInt64BE(2)), 2 * MiB);
      // HAS_FLAGS | SEND_FLUSH | SEND_FUA | SEND_TRIM | SEND_WRITE_ZEROES; no READ_ONLY, no CAN_MULTI_CONN.
      assert.equal(exp.readUInt16BE(10), 1 | 4 | 8 | 32 | 64);
      const bs = info[1]!.data;
      assert.deepEqual([bs.readUInt32BE(2), bs.readUInt32BE(6), bs.readUInt32BE(10)], [1, 4096, 32 * MiB]);

      // Malformed GO payload (name length beyond the data).
      const bad = RawClient.infoPayload(EXPORT);
      bad.writeUInt32BE(1000, 0);
      c.sendOption(NbdOpt.go, bad);
      assert.equal((await c.readOptionReply()).type, NbdRep.errInvalid);

      // After INFO, GO on the same connection enters transmission.
      c.sendOption(NbdOpt.go, RawClient.infoPayload(''));
      assert.equal((await c.readOptionReplies()).at(-1)!.type, NbdRep.ack);
      c.sendRequest({ type: NbdCmd.read, handle: 9n, offset: 0, length: 8 });
      assert.deepEqual(await c.readReply(), { error: 0, handle: 9n });
      assert.ok((await c.read(8)).equals(Buffer.alloc(8)));
    } finally {
      c.close();
    }
  });
});

test('structured replies and unknown options are refused with ERR_UNSUP; ABORT is acknowledged and closes', async () => {
  await withServed({}, async (s) => {
    const c = await RawClient.connect(s.server.address);
    await c.handshake();
    c.sendOption(NbdOpt.structuredReply);
    assert.equal((await c.readOptionReply()).type, NbdRep.errUnsup);
    for (const opt of [NbdOpt.startTls, NbdOpt.setMetaContext, NbdOpt.extendedHeaders, 4242]) {
      c.sendOption(opt, Buffer.from('ignored payload'));
      const r = await c.readOptionReply();
      assert.equal(r.option, opt);
      assert.equal(r.type, NbdRep.errUnsup);
    }
    c.sendOption(NbdOpt.abort);
    assert.equal((await c.readOptionReply()).type, NbdRep.ack);
    await c.closed;
  });
});

test('hard disconnects: bad option magic, unknown client flags, refused EXPORT_NAME', async () => {
  await withServed({}, async (s) => {
    const a = await RawClient.connect(s.server.address);
    await a.handshake();
    a.sendOption(NbdOpt.list, Buffer.alloc(0), 0x1122334455667788n);
    await a.closed;

    const b = await RawClient.connect(s.server.address);
    await b.handshake(0x80);
    await b.closed;

    const d = await RawClient.connect(s.server.address);
    await d.handshake();
    d.sendOption(NbdOpt.exportName, Buffer.from('nope'));
    await d.closed;
    assert.equal(d.pending, 0);

    // EXPORT_NAME accepted: size, flags and (without NO_ZEROES) 124 zero bytes.
    const e = await RawClient.connect(s.server.address);
    try {
      await e.handshake(1);
      e.sendOption(NbdOpt.exportName, Buffer.from(EXPORT));
      const reply = await e.read(134);
      assert.equal(Number(reply.readBigUInt64BE(0)), s.backend.size);
      assert.ok(reply.subarray(10).equals(Buffer.alloc(124)));
    } finally {
      e.close();
    }
    assert.ok(
      s.logs.some(
        (l) => l.msg === 'nbd connection closed' && /bad option magic/.test(String(l.fields?.reason)),
      ),
    );
  });
});

test('transmission: range, size, command and flag checks; oversized write keeps the connection', async () => {
  const size = 2 * MiB;
  await withServed({ size }, async (s) => {
    const c = await RawClient.connect(s.server.address);
    try {
      await c.go(EXPORT);
      const cases: Array<[Parameters<RawClient['sendRequest']>[0], number]> = [
        [{ type: NbdCmd.read, handle: 1n, offset: size, length: 1 }, NbdErrno.EINVAL],
        [{ type: NbdCmd.write, handle: 2n, offset: size - 2, data: pattern(1, 4) }, NbdErrno.ENOSPC],
        [{ type: NbdCmd.writeZeroes, handle: 3n, offset: size, length: 512 }, NbdErrno.ENOSPC],
        [{ type: NbdCmd.trim, handle: 4n, offset: size - 1, length: 2 }, NbdErrno.EINVAL],
        [{ type: NbdCmd.read, handle: 5n, offset: 0, length: 32 * MiB + 1 }, NbdErrno.EINVAL],
        [{ type: 42, handle: 6n }, NbdErrno.EINVAL],
        [{ type: NbdCmd.read, handle: 7n, flags: CmdFlag.df, offset: 0, length: 1 }, NbdErrno.EINVAL],
        [{ type: NbdCmd.flush, handle: 8n, offset: 1 }, NbdErrno.EINVAL],
        [{ type: NbdCmd.read, handle: 9n, offset: 2 ** 60, length: 1 }, NbdErrno.EINVAL],
      ];
      for (const [req, errno] of cases) {
        c.sendRequest(req);
        assert.deepEqual(await c.readReply(), { error: errno, handle: req.handle }, `request ${req.handle}`);
      }
      // A 33 MiB write: EINVAL at once, the payload is skipped, and the next request works.
      const big = 33 * MiB;
      c.sendRequest({ type: NbdCmd.write, handle: 10n, offset: 0, length: big });
      assert.deepEqual(await c.readReply(), { error: NbdErrno.EINVAL, handle: 10n });
      c.write(pattern(0xee, big));
      c.sendRequest({
        type: NbdCmd.write,
        handle: 11n,
        offset: 512,
        data: pattern(0x42, 512),
        flags: CmdFlag.fua,
      });
      assert.deepEqual(await c.readReply(), { error: 0, handle: 11n });
      c.sendRequest({ type: NbdCmd.writeZeroes, handle: 12n, offset: 768, length: 8, flags: CmdFlag.noHole });
      assert.deepEqual(await c.readReply(), { error: 0, handle: 12n });
      c.sendRequest({ type: NbdCmd.read, handle: 13n, offset: 0, length: 1024 });
      assert.deepEqual(await c.readReply(), { error: 0, handle: 13n });
      const expected = Buffer.alloc(1024);
      expected.fill(0x42, 512, 768);
      expected.fill(0x42, 776, 1024);
      assert.ok((await c.read(1024)).equals(expected));
      // Bad request magic: hard disconnect.
      c.sendRequest({ type: NbdCmd.read, handle: 14n, length: 1, magic: 0xdeadbeef });
      await c.closed;
    } finally {
      c.close();
    }
  });
});

/** A backend whose calls wait until the test releases them. */
function heldBackend(size: number) {
  const calls: Array<{ op: string; offset: number; length: number; release: (err?: Error) => void }> = [];
  let onCall: (() => void) | null = null;
  const state = { autoRelease: false };
  const hold = (op: string, offset: number, length: number) =>
    new Promise<void>((resolve, reject) => {
      if (state.autoRelease) return resolve();
      calls.push({ op, offset, length, release: (err) => (err ? reject(err) : resolve()) });
      onCall?.();
    });
  const backend: BlockBackend = {
    size,
    readOnly: false,
    read: async (o, l) => {
      await hold('read', o, l);
      return Buffer.alloc(l, 0x61);
    },
    write: (o, d) => hold('write', o, bytesLength(d)),
    flush: () => hold('flush', 0, 0),
    trim: (o, l) => hold('trim', o, l),
    writeZeroes: (o, l) => hold('zero', o, l),
  };
  const waitCalls = async (n: number): Promise<void> => {
    while (calls.length < n) await new Promise<void>((r) => (onCall = r));
  };
  return { backend, calls, waitCalls, state };
}

test('FLUSH waits for the writes received before it; replies only after the backend settled', async () => {
  const h = heldBackend(MiB);
  await withServed({ backend: () => h.backend }, async (s) => {
    const c = await RawClient.connect(s.server.address);
    try {
      await c.go(EXPORT);
      c.sendRequest({ type: NbdCmd.write, handle: 1n, offset: 0, data: pattern(1, 512) });
      c.sendRequest({ type: NbdCmd.trim, handle: 2n, offset: 4096, length: 512 });
      c.sendRequest({ type: NbdCmd.flush, handle: 3n });
      c.sendRequest({ type: NbdCmd.read, handle: 4n, offset: 0, length: 4 });
      await h.waitCalls(3);
      // The write, the trim and the read run concurrently; the flush has not reached the backend.
      assert.deepEqual(h.calls.map((x) => x.op).sort(), ['read', 'trim', 'write']);
      assert.equal(c.pending, 0, 'no reply before the backend settled');
      h.calls.find((x) => x.op === 'read')!.release();
      assert.deepEqual(await c.readReply(), { error: 0, handle: 4n });
      assert.ok((await c.read(4)).equals(Buffer.from('aaaa')));
      h.calls.find((x) => x.op === 'write')!.release();
      assert.deepEqual(await c.readReply(), { error: 0, handle: 1n });
      assert.equal(h.calls.length, 3, 'flush still waits for the trim');
      h.calls.find((x) => x.op === 'trim')!.release(new BackendError('EIO', 'disk gone'));
      assert.deepEqual(await c.readReply(), { error: NbdErrno.EIO, handle: 2n });
      await h.waitCalls(4);
      assert.equal(h.calls[3]!.op, 'flush');
      h.calls[3]!.release(new BackendError('ENOSPC', 'full'));
      assert.deepEqual(await c.readReply(), { error: NbdErrno.ENOSPC, handle: 3n });
      // A non-BackendError failure is a backend bug: EIO, logged at error.
      c.sendRequest({ type: NbdCmd.writeZeroes, handle: 5n, offset: 0, length: 8 });
      await h.waitCalls(5);
      h.calls[4]!.release(new Error('boom'));
      assert.deepEqual(await c.readReply(), { error: NbdErrno.EIO, handle: 5n });
      assert.ok(s.logs.some((l) => l.level === 'error' && l.msg === 'nbd backend failed unexpectedly'));
    } finally {
      c.close();
    }
  });
});

test('back-pressure: reading pauses while too many write bytes are in flight', async () => {
  const h = heldBackend(8 * MiB);
  await withServed({ backend: () => h.backend, server: { maxInFlightBytes: MiB } }, async (s) => {
    const c = await RawClient.connect(s.server.address);
    try {
      await c.go(EXPORT);
      for (let i = 0; i < 8; i++) {
        c.sendRequest({
          type: NbdCmd.write,
          handle: BigInt(i),
          offset: i * 512 * 1024,
          data: pattern(i, 512 * 1024),
        });
      }
      await h.waitCalls(3);
      // Let the socket deliver whatever it would: the server must not read the remaining writes.
      await new Promise((r) => setTimeout(r, 100));
      assert.ok(h.calls.length < 8, `only ${h.calls.length} of 8 writes admitted while paused`);
      h.state.autoRelease = true;
      for (const call of h.calls.splice(0)) call.release();
      const seen = new Set<bigint>();
      while (seen.size < 8) seen.add((await c.readReply()).handle);
    } finally {
      c.close();
    }
  });
});

test('DISC: in-flight requests finish and reply, then the server closes', async () => {
  const h = heldBackend(MiB);
  await withServed({ backend: () => h.backend }, async (s) => {
    const c = await RawClient.connect(s.server.address);
    await c.go(EXPORT);
    c.sendRequest({ type: NbdCmd.write, handle: 1n, offset: 0, data: pattern(1, 512) });
    c.sendRequest({ type: NbdCmd.disc, handle: 2n });
    await h.waitCalls(1);
    h.calls[0]!.release();
    assert.deepEqual(await c.readReply(), { error: 0, handle: 1n });
    await c.closed;
    // The server sees the close a moment after the client does.
    for (let i = 0; i < 100 && s.server.connections > 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(s.server.connections, 0);
  });
});

test('backend null (not the active server): GO refused with a message; EXPORT_NAME closes', async () => {
  await withServed({ backend: () => null }, async (s) => {
    const c = await RawClient.connect(s.server.address);
    try {
      await c.handshake();
      c.sendOption(NbdOpt.go, RawClient.infoPayload(EXPORT));
      const r = await c.readOptionReply();
      assert.equal(r.type, NbdRep.errUnknown);
      assert.match(r.data.toString(), /not served by this server now/);
      c.sendOption(NbdOpt.exportName, Buffer.from(EXPORT));
      await c.closed;
      assert.equal(c.pending, 0);
    } finally {
      c.close();
    }
  });
});

test('close(): in-flight replies go out, connections end, the unix socket file is removed', async () => {
  const h = heldBackend(MiB);
  await withServed({ backend: () => h.backend }, async (s) => {
    const c = await RawClient.connect(s.server.address);
    const idle = await RawClient.connect(s.server.address);
    await idle.handshake();
    await c.go(EXPORT);
    c.sendRequest({ type: NbdCmd.read, handle: 1n, offset: 0, length: 2 });
    await h.waitCalls(1);
    assert.equal(s.server.connections, 2);
    const closing = s.server.close();
    // New negotiations during shutdown are refused.
    await idle.closed;
    h.calls[0]!.release();
    assert.deepEqual(await c.readReply(), { error: 0, handle: 1n });
    await closing;
    await c.closed;
    assert.equal(s.server.connections, 0);
    await assert.rejects(lstat(s.server.address), { code: 'ENOENT' });
  });
});

test('unix socket: 0600, stale file replaced, live socket and non-socket paths refused', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tandem-nbd-sock-'));
  const path = join(dir, 'nbd.sock');
  const opts = { exportName: EXPORT, backend: () => null, listen: { path } };
  try {
    // A stale socket file: its server was killed without removing it.
    const r = spawnSync(process.execPath, [
      '-e',
      `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`,
    ]);
    assert.equal(r.signal, 'SIGKILL');
    assert.ok((await lstat(path)).isSocket(), 'stale socket file left behind');
    const srv = await createNbdServer(opts);
    try {
      assert.equal((await lstat(path)).mode & 0o777, 0o600);
      await assert.rejects(
        createNbdServer(opts),
        (e: unknown) => e instanceof NbdError && e.code === 'NBD_ADDRESS_IN_USE',
      );
    } finally {
      await srv.close();
    }
    const plain = join(dir, 'data');
    await writeFile(plain, 'precious');
    await assert.rejects(
      createNbdServer({ ...opts, listen: { path: plain } }),
      (e: unknown) => e instanceof NbdError && e.code === 'NBD_PATH_NOT_SOCKET' && e.message.includes(plain),
    );
    assert.equal((await lstat(plain)).size, 8);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('maxConnections: extra connections are closed on accept', async () => {
  await withServed({ server: { maxConnections: 1 } }, async (s) => {
    const a = await RawClient.connect(s.server.address);
    try {
      await a.handshake();
      const b = await RawClient.connect(s.server.address);
      await b.closed;
      assert.ok(s.logs.some((l) => l.msg === 'nbd connection refused: too many connections'));
    } finally {
      a.close();
    }
  });
});

test('a client that does not finish negotiating is disconnected after handshakeTimeoutMs', async () => {
  await withServed({ server: { handshakeTimeoutMs: 50 } }, async (s) => {
    const c = await RawClient.connect(s.server.address);
    await c.handshake();
    await c.closed;
    assert.ok(
      s.logs.some((l) => l.msg === 'nbd connection closed' && l.fields?.reason === 'handshake timed out'),
    );
  });
});
