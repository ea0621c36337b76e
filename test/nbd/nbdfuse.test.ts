/**
 * The export as a real block device (issue 5, section 4): nbdfuse (libnbd-bin) exposes it as MOUNTDIR/nbd,
 * losetup turns that into /dev/loopN, mkfs.ext4 formats it, the test mounts it, writes files, syncs and
 * unmounts; `fsck -f -n` must be clean on the loop device and again on the backing file once everything is
 * detached, and the files read back from the backing file (debugfs) byte for byte.
 *
 * Root only (loop devices, mounts, /dev/fuse); skips with a message otherwise (fails when TANDEM_REQUIRE_ALL=1).
 * Every program touching the FUSE file runs as a child process: the NBD server answering it lives in this
 * process, so a synchronous call here would deadlock.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { isRoot, needPrograms, run, runOk, withServed } from './helpers.ts';

const extra = !isRoot
  ? 'needs root for loop devices and mounts'
  : !existsSync('/dev/fuse')
    ? 'needs /dev/fuse (load the fuse module, or run the container with --device /dev/fuse)'
    : undefined;
const skip = needPrograms(
  {
    nbdfuse: 'libnbd-bin',
    fusermount3: 'fuse3',
    losetup: 'mount',
    mount: 'mount',
    umount: 'mount',
    'mkfs.ext4': 'e2fsprogs',
    'fsck.ext4': 'e2fsprogs',
    debugfs: 'e2fsprogs',
  },
  extra,
);

const MiB = 1024 * 1024;

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', () => resolve()));
}

test(
  'nbdfuse + loop device: mkfs.ext4, mount, write, sync, umount, fsck clean',
  { skip, timeout: 20_000 },
  async () => {
    await withServed({ size: 64 * MiB }, async (s) => {
      const fuseDir = join(s.dir, 'fuse');
      const fsDir = join(s.dir, 'fs');
      const pidFile = join(s.dir, 'nbdfuse.pid');
      await mkdir(fuseDir);
      await mkdir(fsDir);
      const big = randomBytes(3 * MiB + 123);
      await writeFile(join(s.dir, 'big.bin'), big);

      let nbdfuse: ChildProcess | undefined;
      let nbdfuseErr = '';
      let loop: string | undefined;
      let mounted = false;
      try {
        nbdfuse = spawn('nbdfuse', ['-P', pidFile, fuseDir, s.uri], { stdio: ['ignore', 'ignore', 'pipe'] });
        nbdfuse.stderr!.setEncoding('utf8').on('data', (d: string) => (nbdfuseErr += d));
        const child = nbdfuse;
        await waitFor(`nbdfuse to attach (${nbdfuseErr})`, async () => {
          if (child.exitCode !== null) throw new Error(`nbdfuse exited ${child.exitCode}: ${nbdfuseErr}`);
          return access(pidFile).then(
            () => true,
            () => false,
          );
        });
        loop = (await runOk('losetup', ['--find', '--show', join(fuseDir, 'nbd')])).stdout.trim();
        assert.match(loop, /^\/dev\/loop\d+$/);
        await runOk('mkfs.ext4', ['-q', '-F', loop]);
        await runOk('mount', ['-t', 'ext4', loop, fsDir]);
        mounted = true;
        await runOk('sh', [
          '-c',
          `set -e; echo 'hello from tandem' > ${fsDir}/hello.txt; cp ${s.dir}/big.bin ${fsDir}/big.bin; ` +
            `mkdir ${fsDir}/d; for i in $(seq 1 50); do echo "file $i" > ${fsDir}/d/f$i; done; sync`,
        ]);
        await runOk('umount', [fsDir]);
        mounted = false;
        const fsck = await run('fsck.ext4', ['-f', '-n', loop]);
        assert.equal(fsck.code, 0, `fsck on ${loop}: ${fsck.stdout}${fsck.stderr}`);
      } finally {
        if (mounted) await run('umount', ['-l', fsDir]);
        if (loop !== undefined) await run('losetup', ['-d', loop]);
        if (nbdfuse !== undefined) {
          await run('fusermount3', ['-u', fuseDir]);
          const done = exited(nbdfuse);
          const t = setTimeout(() => nbdfuse?.kill('SIGKILL'), 5000);
          await done;
          clearTimeout(t);
        }
      }
      assert.equal(nbdfuse.exitCode, 0, `nbdfuse exit: ${nbdfuseErr}`);

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
