/**
 * A real filesystem on the mirror disk across a switchover (issue 5 section 4: "`nbdfuse` exposing the volume
 * as a file, loop-mounted, `mkfs.ext4`, files written, `fsck -f` clean on the standby's copy after a
 * switchover").
 *
 * Two MirrorVolumes (sync mode) on loopback, as in test/mirror. node-a is activated and served by Tandem's NBD
 * server on a unix socket; nbdfuse + a loop device make it a block device that gets an ext4 filesystem and
 * files. Then the switchover, in the md driver's order: node-a's NBD server closes, node-a is deactivated,
 * node-b is activated and served on its own socket. node-b's copy must be a clean filesystem (fsck on its data
 * file before activation and on the loop device after) holding every file byte for byte; a file written there
 * must reach node-a (now the standby), and both data files end identical.
 *
 * Root only, skips otherwise (fails when TANDEM_REQUIRE_ALL=1); see fs-support.ts. Every program touching a
 * FUSE file or a mount is a child process: the NBD servers and both volumes live in this process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createHash, randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { MirrorRefusedError, MirrorVolume } from '../../src/mirror/volume.ts';
import { createNbdServer, type NbdServer } from '../../src/nbd/server.ts';
import type { BlockBackend } from '../../src/nbd/types.ts';
import { connected, makeSides, optionsFor, sha, tempDir, until, type Side } from '../mirror/harness.ts';
import { run, runOk } from './helpers.ts';
import { FuseLoop, fsTestSkip } from './fs-support.ts';

const skip = fsTestSkip({ debugfs: 'e2fsprogs', sha256sum: 'coreutils' });

const MiB = 1024 * 1024;
const SIZE = 64 * MiB;
const EXPORT = 'md1';

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/** The files written on node-a: a few MiB of random data, small files, an empty one. */
function filesToWrite(): Map<string, Buffer> {
  const files = new Map<string, Buffer>([
    ['big-1.bin', randomBytes(3 * MiB + 4321)],
    ['big-2.bin', randomBytes(MiB + 17)],
    ['hello.txt', Buffer.from('hello from node-a\n')],
    ['empty', Buffer.alloc(0)],
  ]);
  for (let i = 1; i <= 20; i++) files.set(`d/small-${i}.bin`, randomBytes(1 + i * 97));
  return files;
}

async function stage(root: string, files: Map<string, Buffer>): Promise<void> {
  for (const [name, data] of files) {
    await mkdir(dirname(join(root, name)), { recursive: true });
    await writeFile(join(root, name), data);
  }
}

/** sha256 of each file under `root` (a mount point), computed by sha256sum in a child process. */
async function sumsOnMount(root: string, names: readonly string[]): Promise<Map<string, string>> {
  const r = await runOk('sh', ['-c', 'cd "$1" && shift && sha256sum -- "$@"', 'sh', root, ...names]);
  const sums = new Map<string, string>();
  for (const line of r.stdout.split('\n')) {
    const m = /^([0-9a-f]{64}) {2}(.+)$/.exec(line);
    if (m !== null) sums.set(m[2]!, m[1]!);
  }
  return sums;
}

/** Serves the active copy on a unix socket; like the md driver, refuses new clients once it is not primary. */
function serve(v: MirrorVolume, dev: BlockBackend, path: string, errors: string[]): Promise<NbdServer> {
  return createNbdServer({
    exportName: EXPORT,
    backend: () => (v.status().role === 'primary' ? dev : null),
    listen: { path },
    log: (level, msg, fields) => {
      if (level === 'error') errors.push(`${v.name}: ${msg} ${JSON.stringify(fields ?? {})}`);
    },
  });
}

function uriOf(server: NbdServer): string {
  return `nbd+unix:///${EXPORT}?socket=${server.address}`;
}

/**
 * Activates `v` once the peer's deactivation has reached it: until the peer's new role arrives over the
 * mirror connection, the activation is refused as two primaries (a refusal, logged at warn, nothing else).
 */
async function promoteAfterPeerDemoted(v: MirrorVolume, timeoutMs = 5000): Promise<BlockBackend> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await v.promote();
    } catch (err) {
      if (!(err instanceof MirrorRefusedError) || err.code !== 'MD_TWO_PRIMARIES' || Date.now() > deadline)
        throw err;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

async function fsckClean(target: string): Promise<void> {
  const r = await run('fsck.ext4', ['-f', '-n', target]);
  assert.equal(r.code, 0, `fsck.ext4 -f -n ${target}: exit ${r.code}\n${r.stdout}${r.stderr}`);
}

/**
 * The active copy `v` never lost its peer and copied nothing by resync: the link stayed up, so every write
 * was acknowledged only once on both copies (the sync-mode contract), not mended afterwards.
 */
function assertMirroredThroughout(v: MirrorVolume, self: Side, peer: Side): void {
  const s = v.status();
  const drops = [...self.log.lines, ...peer.log.lines]
    .filter((l) => l.level !== 'debug' && /peer lost|without the peer|mirror recovery/.test(l.msg))
    .map((l) => l.msg);
  assert.deepEqual(
    { connection: s.connection.kind, dirtyBytes: s.dirtyBytes, resyncBytesSent: s.resyncBytesSent, drops },
    { connection: 'Connected', dirtyBytes: 0, resyncBytesSent: 0, drops: [] },
    `${self.name}: the mirror connection must stay up while it is active (sync mode)`,
  );
}

function errorLines(side: Side): string[] {
  return side.log.lines.filter((l) => l.level === 'error').map((l) => `${side.name}: ${l.msg}`);
}

test(
  'md switchover with ext4 on nbdfuse + loop: the standby copy is clean and holds every file',
  { skip, timeout: 20_000 },
  async () => {
    const { dir, cleanup } = await tempDir();
    const cleanupErrors: unknown[] = [];
    const nbdErrors: string[] = [];
    let a: MirrorVolume | undefined;
    let b: MirrorVolume | undefined;
    let srvA: NbdServer | undefined;
    let srvB: NbdServer | undefined;
    let fuseA: FuseLoop | undefined;
    let fuseB: FuseLoop | undefined;
    try {
      const [sa, sb] = await makeSides(dir, SIZE);
      a = await MirrorVolume.open(optionsFor(sa, sb));
      b = await MirrorVolume.open(optionsFor(sb, sa));
      const va = a;
      const vb = b;
      await until('node-a and node-b connected', () => connected(va) && connected(vb));

      const files = filesToWrite();
      const names = [...files.keys()];
      const expected = new Map([...files].map(([n, d]) => [n, sha256(d)]));
      await stage(join(dir, 'stage'), files);

      // ---- node-a active: format, write, unmount, detach.
      const devA = await a.promote();
      srvA = await serve(a, devA, join(dir, 'a.sock'), nbdErrors);
      fuseA = new FuseLoop(join(dir, 'a'), uriOf(srvA));
      const loopA = await fuseA.attach();
      await runOk('mkfs.ext4', ['-q', '-F', loopA]);
      const mntA = join(dir, 'mnt-a');
      await fuseA.mount(mntA);
      await runOk('sh', ['-c', `set -e; cp -R ${join(dir, 'stage')}/. ${mntA}/; sync`]);
      assert.deepEqual(await sumsOnMount(mntA, names), expected, 'the files as written on node-a');
      await fuseA.umount();
      assert.equal(await fuseA.detach(), 0, `nbdfuse on node-a: ${fuseA.nbdfuseStderr}`);
      // Sync mode: every write (mkfs's whole-device discard included) reached both copies as it was made;
      // a mirror connection dropped on the way would have been papered over by a resync.
      assertMirroredThroughout(a, sa, sb);

      // ---- switchover: node-a's server first (no client may write any more), then the roles.
      await srvA.close();
      await a.demote();
      assert.equal(a.status().role, 'secondary');
      // The standby's copy as it lies on disk, before node-b touches it.
      await fsckClean(sb.dataPath);
      const devB = await promoteAfterPeerDemoted(b);
      assert.equal(b.status().role, 'primary');

      // ---- node-b active: fsck through NBD, every file intact, one more file written.
      srvB = await serve(b, devB, join(dir, 'b.sock'), nbdErrors);
      fuseB = new FuseLoop(join(dir, 'b'), uriOf(srvB));
      const loopB = await fuseB.attach();
      await fsckClean(loopB);
      const mntB = join(dir, 'mnt-b');
      await fuseB.mount(mntB);
      assert.deepEqual(await sumsOnMount(mntB, names), expected, 'the files as node-b serves them');
      const after = randomBytes(256 * 1024 + 5);
      await writeFile(join(dir, 'after.bin'), after);
      await runOk('sh', ['-c', `set -e; cp ${join(dir, 'after.bin')} ${mntB}/after.bin; sync`]);
      await fuseB.umount();
      assert.equal(await fuseB.detach(), 0, `nbdfuse on node-b: ${fuseB.nbdfuseStderr}`);
      await srvB.close();

      // ---- node-a (now the standby) received node-b's writes: both copies identical once idle.
      await until(
        'the mirror idle (connected, nothing dirty)',
        () => connected(va) && connected(vb) && va.status().dirtyBytes === 0 && vb.status().dirtyBytes === 0,
      );
      assert.equal(b.status().peer, 'UpToDate');
      assertMirroredThroughout(b, sb, sa);
      assert.equal(await sha(sa.dataPath), await sha(sb.dataPath), 'node-a and node-b data files identical');
      await fsckClean(sa.dataPath);
      const out = join(dir, 'after.out');
      await runOk('debugfs', ['-R', `dump /after.bin ${out}`, sa.dataPath]);
      assert.ok((await readFile(out)).equals(after), "node-b's new file read back from node-a's copy");

      assert.deepEqual([...errorLines(sa), ...errorLines(sb), ...nbdErrors], []);
    } finally {
      // Innermost first: the mounts and nbdfuse need the NBD servers, which need the volumes.
      const settle = async (step: () => Promise<unknown> | undefined): Promise<void> => {
        try {
          await step();
        } catch (err) {
          cleanupErrors.push(err);
        }
      };
      await settle(() => fuseB?.detach());
      await settle(() => fuseA?.detach());
      await settle(() => srvB?.close());
      await settle(() => srvA?.close());
      await settle(() => b?.close());
      await settle(() => a?.close());
      await settle(cleanup);
    }
    assert.deepEqual(cleanupErrors, []);
  },
);
