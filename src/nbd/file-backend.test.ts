import { test } from 'node:test';
import { spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileBackend, ZERO_CHUNK_BYTES, errnoOf } from './file-backend.ts';
import { BackendError } from './types.ts';
import { NbdError } from './errors.ts';

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tandem-fb-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const rejectsWith = (errno: string) => (e: unknown) => e instanceof BackendError && e.errno === errno;

test('read, write, FUA, flush, zero and trim land in the file', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'd.img');
    const size = 3 * ZERO_CHUNK_BYTES;
    await writeFile(file, Buffer.alloc(size, 0xff));
    for (const sync of [false, true]) {
      const b = await FileBackend.open(file, { sync });
      try {
        assert.equal(b.size, size);
        await b.write(100, Buffer.from('hello'), false);
        await b.write(200, Buffer.from('fua'), true);
        await b.flush();
        assert.equal((await b.read(100, 5)).toString(), 'hello');
        // Zero a range spanning more than one 1 MiB chunk, unaligned at both ends.
        await b.writeZeroes(1000, 2 * ZERO_CHUNK_BYTES + 10, true);
        await b.trim(size - 512, 512, false);
        const content = await readFile(file);
        const expected = Buffer.alloc(size, 0xff);
        expected.write('hello', 100);
        expected.write('fua', 200);
        expected.fill(0, 1000, 1000 + 2 * ZERO_CHUNK_BYTES + 10);
        expected.fill(0, size - 512);
        assert.ok(content.equals(expected), `sync=${sync}`);
      } finally {
        await b.close();
      }
      await writeFile(file, Buffer.alloc(size, 0xff));
    }
  });
});

test('size: rounded down to 512, extended when asked for more, refused below 512', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'd.img');
    await writeFile(file, Buffer.alloc(5000));
    const a = await FileBackend.open(file);
    assert.equal(a.size, 4608);
    await a.close();
    const b = await FileBackend.open(file, { size: 1 << 20 });
    assert.equal(b.size, 1 << 20);
    assert.equal((await stat(file)).size, 1 << 20);
    await b.close();
    await assert.rejects(FileBackend.open(file, { size: 100 }), (e: unknown) => {
      return e instanceof NbdError && e.code === 'NBD_BACKEND_SIZE_INVALID' && e.message.includes(file);
    });
    await assert.rejects(FileBackend.open(file, { size: 2 << 20, readOnly: true }), (e: unknown) => {
      return e instanceof NbdError && e.code === 'NBD_BACKEND_SIZE_INVALID';
    });
    await assert.rejects(FileBackend.open(join(dir, 'missing')), (e: unknown) => {
      return e instanceof NbdError && e.code === 'NBD_BACKEND_OPEN_FAILED' && /ENOENT/.test(e.message);
    });
  });
});

test('read-only, out-of-range and closed backends refuse with the right errno', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'd.img');
    await writeFile(file, Buffer.alloc(4096, 7));
    const ro = await FileBackend.open(file, { readOnly: true });
    assert.equal(ro.readOnly, true);
    await assert.rejects(ro.write(0, Buffer.alloc(1), false), rejectsWith('EPERM'));
    await assert.rejects(ro.writeZeroes(0, 1, false), rejectsWith('EPERM'));
    await assert.rejects(ro.trim(0, 1, false), rejectsWith('EPERM'));
    assert.ok((await ro.read(0, 4096)).equals(Buffer.alloc(4096, 7)));
    await assert.rejects(ro.read(4000, 97), rejectsWith('EINVAL'));
    await ro.close();
    await assert.rejects(ro.read(0, 1), rejectsWith('ESHUTDOWN'));
    await assert.rejects(ro.flush(), rejectsWith('ESHUTDOWN'));
    await ro.close();

    const rw = await FileBackend.open(file);
    await assert.rejects(rw.write(4095, Buffer.alloc(2), false), rejectsWith('ENOSPC'));
    await rw.close();
  });
});

test('fs errors map to NBD errnos', () => {
  const e = (code: string) => Object.assign(new Error(code), { code });
  assert.equal(errnoOf(e('EDQUOT')), 'ENOSPC');
  assert.equal(errnoOf(e('EFBIG')), 'ENOSPC');
  assert.equal(errnoOf(e('EROFS')), 'EPERM');
  assert.equal(errnoOf(e('EIO')), 'EIO');
  assert.equal(errnoOf(new Error('x')), 'EIO');
});

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const hasLosetup = spawnSync('sh', ['-c', 'command -v losetup'], { stdio: 'ignore' }).status === 0;
const blockSkip =
  isRoot && hasLosetup ? false : 'needs root and losetup (apt-get install mount) for a loop device';
if (blockSkip && process.env.TANDEM_REQUIRE_ALL === '1') {
  throw new Error(`TANDEM_REQUIRE_ALL=1 but the block-device test cannot run: ${blockSkip}`);
}

test('a block device is sized from sysfs', { skip: blockSkip }, async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'd.img');
    await writeFile(file, Buffer.alloc(3 * 1024 * 1024 + 512, 1));
    const r = spawnSync('losetup', ['--find', '--show', file], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const dev = r.stdout.trim();
    try {
      const b = await FileBackend.open(dev);
      try {
        assert.equal(b.size, 3 * 1024 * 1024 + 512);
        assert.ok((await b.read(0, 512)).equals(Buffer.alloc(512, 1)));
      } finally {
        await b.close();
      }
      await assert.rejects(FileBackend.open(dev, { size: 4 * 1024 * 1024 }), (e: unknown) => {
        return e instanceof NbdError && e.code === 'NBD_BACKEND_SIZE_INVALID' && e.message.includes(dev);
      });
    } finally {
      spawnSync('losetup', ['-d', dev]);
    }
  });
});
