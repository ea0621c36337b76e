/**
 * The export as a real block device (issue 5, section 4): nbdfuse (libnbd-bin) exposes it as MOUNTDIR/nbd,
 * losetup turns that into /dev/loopN, mkfs.ext4 formats it, the test mounts it, writes files, syncs and
 * unmounts; `fsck -f -n` must be clean on the loop device and again on the backing file once everything is
 * detached, and the files read back from the backing file (debugfs) byte for byte.
 *
 * Root only (loop devices, mounts, /dev/fuse); skips with a message otherwise (fails when TANDEM_REQUIRE_ALL=1).
 * Every program touching the FUSE file runs as a child process: the NBD server answering it lives in this
 * process, so a synchronous call here would deadlock. The nbdfuse + loop plumbing is fs-support.ts's FuseLoop.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { run, runOk, withServed } from './helpers.ts';
import { FuseLoop, fsTestSkip } from './fs-support.ts';

const skip = fsTestSkip({ debugfs: 'e2fsprogs' });

const MiB = 1024 * 1024;

test(
  'nbdfuse + loop device: mkfs.ext4, mount, write, sync, umount, fsck clean',
  { skip, timeout: 20_000 },
  async () => {
    await withServed({ size: 64 * MiB }, async (s) => {
      const fsDir = join(s.dir, 'fs');
      await mkdir(fsDir);
      const big = randomBytes(3 * MiB + 123);
      await writeFile(join(s.dir, 'big.bin'), big);

      const dev = new FuseLoop(s.dir, s.uri);
      let nbdfuseExit: number | null;
      try {
        const loop = await dev.attach();
        assert.match(loop, /^\/dev\/loop\d+$/);
        await runOk('mkfs.ext4', ['-q', '-F', loop]);
        await dev.mount(fsDir);
        await runOk('sh', [
          '-c',
          `set -e; echo 'hello from tandem' > ${fsDir}/hello.txt; cp ${s.dir}/big.bin ${fsDir}/big.bin; ` +
            `mkdir ${fsDir}/d; for i in $(seq 1 50); do echo "file $i" > ${fsDir}/d/f$i; done; sync`,
        ]);
        await dev.umount();
        const fsck = await run('fsck.ext4', ['-f', '-n', loop]);
        assert.equal(fsck.code, 0, `fsck on ${loop}: ${fsck.stdout}${fsck.stderr}`);
      } finally {
        nbdfuseExit = await dev.detach();
      }
      assert.equal(nbdfuseExit, 0, `nbdfuse exit: ${dev.nbdfuseStderr}`);

      // Everything detached: the backing file alone holds a clean filesystem with the files.
      const fsck = await run('fsck.ext4', ['-f', '-n', s.file]);
      assert.equal(fsck.code, 0, `fsck on the backing file: ${fsck.stdout}${fsck.stderr}`);
      const hello = await runOk('debugfs', ['-R', 'cat /hello.txt', s.file]);
      assert.equal(hello.stdout, 'hello from tandem\n');
      const out = join(s.dir, 'big.out');
      await runOk('debugfs', ['-R', `dump /big.bin ${out}`, s.file]);
      assert.ok((await readFile(out)).equals(big), 'big.bin read back byte for byte');
      const f50 = await runOk('debugfs', ['-R', 'cat /d/f50', s.file]);
      assert.equal(f50.stdout, 'file 50\n');
      assert.equal(s.logs.filter((l) => l.level === 'error').length, 0);
    });
  },
);
