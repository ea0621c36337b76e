/**
 * NBD conformance with real clients (issue 5, section 4): qemu-io and qemu-img from Debian's qemu-utils talk to
 * Tandem's NBD server over a unix socket and over TCP on 127.0.0.1; every write is checked byte for byte in the
 * backing file from the test. Skips (naming the package) when qemu-utils is missing, unless
 * TANDEM_REQUIRE_ALL=1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { needPrograms, pattern, run, runOk, withServed, type RunResult, type Served } from './helpers.ts';
import { RawClient } from './raw-client.ts';
import { NbdCmd, NbdErrno } from '../../src/nbd/protocol.ts';
import type { FileBackend } from '../../src/nbd/file-backend.ts';
import type { BlockBackend } from '../../src/nbd/types.ts';

const skip = needPrograms({ 'qemu-io': 'qemu-utils', 'qemu-img': 'qemu-utils' });
const KiB = 1024;
const MiB = 1024 * 1024;

function qemuIo(uri: string, cmds: string[], extra: string[] = []): Promise<RunResult> {
  return runOk('qemu-io', [...extra, '-f', 'raw', uri, ...cmds.flatMap((c) => ['-c', c])]);
}

/** The standard exercise; returns what the file must contain afterwards. */
async function exercise(s: Served, size: number): Promise<Buffer> {
  const expected = Buffer.alloc(size);
  const r = await qemuIo(s.uri, [
    'write -P 0xab 0 64k',
    'read -P 0xab 0 64k',
    'flush',
    'discard 0 4k',
    'read -P 0 0 4k',
    'write -P 0xcd 128k 64k',
    'write -z 136k 8k',
    'write -f -P 0x11 1M 1M',
    'read -P 0x11 1M 1M',
    // Unaligned, odd-sized: the export has a minimum block size of 1.
    'write -P 0x5a 300001 1234',
    'read -P 0x5a 300001 1234',
  ]);
  assert.match(r.stdout, /wrote 65536\/65536 bytes at offset 0/);
  assert.match(r.stdout, /discard 4096\/4096 bytes at offset 0/);
  assert.doesNotMatch(r.stdout, /Pattern verification failed/);
  expected.fill(0xab, 4 * KiB, 64 * KiB);
  expected.fill(0xcd, 128 * KiB, 136 * KiB);
  expected.fill(0xcd, 144 * KiB, 192 * KiB);
  expected.fill(0x11, MiB, 2 * MiB);
  expected.fill(0x5a, 300001, 300001 + 1234);
  return expected;
}

test('qemu-io over a unix socket: write, read, flush, discard, zero, FUA, aio bursts', { skip }, async () => {
  const size = 4 * MiB;
  await withServed({ size }, async (s) => {
    const expected = await exercise(s, size);
    // aio burst: 8 writes in flight, then aio_flush.
    const aio = await qemuIo(s.uri, [
      ...Array.from({ length: 8 }, (_, i) => `aio_write -P ${0x30 + i} ${2 * MiB + i * 128 * KiB} 128k`),
      'aio_flush',
      ...Array.from({ length: 8 }, (_, i) => `read -P ${0x30 + i} ${2 * MiB + i * 128 * KiB} 128k`),
    ]);
    assert.doesNotMatch(aio.stdout, /Pattern verification failed/);
    for (let i = 0; i < 8; i++)
      expected.fill(0x30 + i, 2 * MiB + i * 128 * KiB, 2 * MiB + (i + 1) * 128 * KiB);
    assert.ok((await readFile(s.file)).equals(expected), 'backing file matches what qemu-io wrote');
  });
});

test('qemu-io over TCP on 127.0.0.1; reads past the end are refused', { skip }, async () => {
  const size = 4 * MiB;
  await withServed({ size, tcp: true }, async (s) => {
    assert.match(s.server.address, /^127\.0\.0\.1:\d+$/);
    const expected = await exercise(s, size);
    assert.ok((await readFile(s.file)).equals(expected));
    // qemu refuses out-of-range I/O itself...
    const past = await run('qemu-io', ['-f', 'raw', s.uri, '-c', `read ${size} 512`]);
    assert.match(past.stdout + past.stderr, /read failed: (Input\/output error|Invalid argument)/);
    // ...so ask the server directly: a READ crossing the end gets EINVAL, the backend is not touched.
    const c = await RawClient.connect(s.server.address);
    try {
      await c.go('vol1');
      c.sendRequest({ type: NbdCmd.read, handle: 7n, offset: size - 512, length: 1024 });
      assert.deepEqual(await c.readReply(), { error: NbdErrno.EINVAL, handle: 7n });
    } finally {
      c.close();
    }
  });
});

test('qemu-img info and convert to and from the export', { skip }, async () => {
  const size = 8 * MiB;
  await withServed({ size }, async (s) => {
    const info = await runOk('qemu-img', ['info', '--output=json', s.uri]);
    assert.equal((JSON.parse(info.stdout) as { 'virtual-size': number })['virtual-size'], size);

    const src = join(s.dir, 'src.img');
    const content = randomBytes(size);
    await writeFile(src, content);
    await runOk('qemu-img', ['convert', '-n', '-f', 'raw', '-O', 'raw', src, s.uri]);
    assert.ok((await readFile(s.file)).equals(content), 'convert into the export landed byte for byte');

    const back = join(s.dir, 'back.img');
    await runOk('qemu-img', ['convert', '-f', 'raw', '-O', 'raw', s.uri, back]);
    assert.ok((await readFile(back)).equals(content), 'convert out of the export returned the same bytes');
    await runOk('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', src, s.uri]);
  });
});

test(
  'read-only backend: qemu cannot open it for writing, writes are refused with EPERM',
  { skip },
  async () => {
    const initial = pattern(0x77, MiB);
    await withServed({ initial, backendOptions: { readOnly: true } }, async (s) => {
      const rw = await run('qemu-io', ['-f', 'raw', s.uri, '-c', 'write 0 4k']);
      assert.notEqual(rw.code, 0);
      // qemu turns the export's READ_ONLY flag into EPERM when opening read-write.
      assert.match(rw.stderr, /Permission denied|read-only/i);
      const ro = await qemuIo(s.uri, ['read -P 0x77 0 1M'], ['-r']);
      assert.doesNotMatch(ro.stdout, /Pattern verification failed/);

      // Writes that reach the server anyway (a client ignoring the flag) get EPERM; payload consumed.
      const c = await RawClient.connect(s.server.address);
      try {
        const { flags } = await c.go('vol1');
        assert.equal(flags & 2, 2, 'NBD_FLAG_READ_ONLY advertised');
        c.sendRequest({ type: NbdCmd.write, handle: 1n, offset: 0, data: pattern(1, 4096) });
        c.sendRequest({ type: NbdCmd.trim, handle: 2n, offset: 0, length: 4096 });
        c.sendRequest({ type: NbdCmd.writeZeroes, handle: 3n, offset: 0, length: 4096 });
        c.sendRequest({ type: NbdCmd.read, handle: 4n, offset: 0, length: 16 });
        const got = new Map<bigint, number>();
        for (let i = 0; i < 4; i++) {
          const r = await c.readReply();
          got.set(r.handle, r.error);
          if (r.handle === 4n) assert.ok((await c.read(16)).equals(pattern(0x77, 16)));
        }
        assert.deepEqual(
          [...got.entries()].sort((a, b) => Number(a[0] - b[0])),
          [
            [1n, NbdErrno.EPERM],
            [2n, NbdErrno.EPERM],
            [3n, NbdErrno.EPERM],
            [4n, 0],
          ],
        );
      } finally {
        c.close();
      }
      assert.ok((await readFile(s.file)).equals(initial), 'read-only file untouched');
    });
  },
);

test(
  'concurrency: 16 aio writes of distinct ranges in flight, and 4 clients at once, all land',
  { skip },
  async () => {
    const size = 16 * MiB;
    let inFlight = 0;
    let maxInFlight = 0;
    let counted: BlockBackend | null = null;
    const counting = (fb: FileBackend): BlockBackend =>
      (counted ??= {
        size: fb.size,
        readOnly: fb.readOnly,
        read: (o, l) => fb.read(o, l),
        write: async (o, d, fua) => {
          maxInFlight = Math.max(maxInFlight, ++inFlight);
          try {
            await fb.write(o, d, fua);
          } finally {
            inFlight--;
          }
        },
        flush: () => fb.flush(),
        trim: (o, l, f) => fb.trim(o, l, f),
        writeZeroes: (o, l, f) => fb.writeZeroes(o, l, f),
      });
    await withServed({ size, backend: counting }, async (s) => {
      const expected = Buffer.alloc(size);
      const perClient = 16;
      const chunk = 192 * KiB;
      const clients = 4;
      await Promise.all(
        Array.from({ length: clients }, (_, c) => {
          const cmds: string[] = [];
          for (let i = 0; i < perClient; i++) {
            const off = (c * perClient + i) * chunk;
            const byte = 1 + ((c * perClient + i) % 250);
            cmds.push(`aio_write -P ${byte} ${off} ${chunk}`);
            expected.fill(byte, off, off + chunk);
          }
          cmds.push('aio_flush');
          return qemuIo(s.uri, cmds);
        }),
      );
      assert.ok((await readFile(s.file)).equals(expected), 'every aio write landed in its range');
      assert.ok(maxInFlight > 1, `requests were processed concurrently (max in flight ${maxInFlight})`);
      assert.equal(s.logs.filter((l) => l.level === 'warn' || l.level === 'error').length, 0);
    });
  },
);
