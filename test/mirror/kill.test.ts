// kill -9 of the PRIMARY process during a write stream, then activation of the survivor: every write
// acknowledged before the kill is on the survivor (the writer records acknowledged block checksums). And
// the restart case: the secondary goes down, the primary acknowledges writes alone and is killed; the
// secondary restarted alone is refused (it lacks those writes); the primary's copy, restarted, has them all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { MirrorRefusedError, MirrorVolume } from '../../src/mirror/volume.ts';
import type { BlockBackend } from '../../src/nbd/types.ts';
import { connected, makeSides, optionsFor, sha, tempDir, until, type Side } from './harness.ts';

interface Primary {
  child: ChildProcess;
  blockBytes: number;
  /** offset -> sha256 of the last acknowledged write there. */
  acked: Map<number, string>;
  exited: Promise<void>;
}

/** Runs node-a (sides[0]) as the primary writer in a child process (child-primary.ts). */
function spawnPrimary(sides: [Side, Side], pauseMs = 0, blockBytes = 4096): Primary {
  const { log: _l, now: _n, random: _r, ...childOpts } = optionsFor(sides[0], sides[1]);
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      fileURLToPath(new URL('./child-primary.ts', import.meta.url)),
      JSON.stringify(childOpts),
      String(pauseMs),
      String(blockBytes),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const acked = new Map<number, string>();
  let out = '';
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString();
    const lines = out.split('\n');
    out = lines.pop()!;
    for (const l of lines) {
      const m = /^ACK (\d+) ([0-9a-f]+)$/.exec(l);
      if (m) acked.set(Number(m[1]), m[2]!);
    }
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return { child, blockBytes, acked, exited };
}

async function kill(p: Primary): Promise<void> {
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  await p.exited;
}

async function assertHolds(
  dev: BlockBackend,
  acked: Map<number, string>,
  who: string,
  blockBytes = 4096,
): Promise<void> {
  for (const [offset, hash] of acked) {
    const got = createHash('sha256')
      .update(await dev.read(offset, blockBytes))
      .digest('hex');
    assert.equal(got, hash, `acknowledged block at ${offset} is on ${who}`);
  }
}

test('kill -9 of the primary mid-stream: the survivor holds every acknowledged write', async () => {
  const { dir, cleanup } = await tempDir();
  const sides = await makeSides(dir);
  // The child is node-a (the primary); this process holds node-b, the secondary.
  const b = await MirrorVolume.open(optionsFor(sides[1], sides[0]));
  const p = spawnPrimary(sides);
  try {
    await until('writes acknowledged', () => p.acked.size >= 150, 15_000);
    await kill(p);
    const snapshot = new Map(p.acked);
    await until('peer lost', () => b.status().connection.kind === 'Disconnected', 5000);
    assert.equal(b.status().local, 'UpToDate');
    const dev = await b.promote();
    await assertHolds(dev, snapshot, 'the survivor');
    assert.ok(snapshot.size >= 150);
  } finally {
    await kill(p);
    await b.close();
    await cleanup();
  }
});

test('kill -9 of the primary between the pieces of streamed 512 KiB writes: every acknowledged one is on the survivor', async () => {
  const { dir, cleanup } = await tempDir();
  const sides = await makeSides(dir, 64 * 1024 * 1024);
  const b = await MirrorVolume.open(optionsFor(sides[1], sides[0]));
  const p = spawnPrimary(sides, 0, 512 * 1024);
  try {
    await until('writes acknowledged', () => p.acked.size >= 24, 15_000);
    await kill(p);
    const snapshot = new Map(p.acked);
    await until('peer lost', () => b.status().connection.kind === 'Disconnected', 5000);
    assert.equal(b.status().local, 'UpToDate');
    const dev = await b.promote();
    await assertHolds(dev, snapshot, 'the survivor', p.blockBytes);
    assert.ok(
      snapshot.size >= 24 && snapshot.size < 128,
      `killed mid-stream (${snapshot.size} of 128 written)`,
    );
  } finally {
    await kill(p);
    await b.close();
    await cleanup();
  }
});

test('secondary down, primary acknowledges writes alone and is killed: the restarted secondary is refused', async () => {
  const { dir, cleanup } = await tempDir();
  const sides = await makeSides(dir, 16 * 1024 * 1024);
  let b = await MirrorVolume.open(optionsFor(sides[1], sides[0]));
  const p = spawnPrimary(sides, 2);
  let a: MirrorVolume | null = null;
  try {
    await until('mirrored writes acknowledged', () => p.acked.size >= 50, 15_000);
    // node-b goes down; node-a goes on alone.
    await b.close();
    const before = p.acked.size;
    await until('writes acknowledged alone', () => p.acked.size >= before + 100, 15_000);
    await kill(p);
    const snapshot = new Map(p.acked);
    // node-b restarts alone: it may lack writes, and says so.
    b = await MirrorVolume.open(optionsFor(sides[1], sides[0]));
    assert.equal(b.status().local, 'Consistent');
    await assert.rejects(
      b.promote(),
      (err: unknown) => err instanceof MirrorRefusedError && err.code === 'MD_PEER_UNKNOWN',
    );
    await b.close();
    // node-a restarts alone: it persisted that node-b is outdated before acknowledging anything alone.
    a = await MirrorVolume.open(optionsFor(sides[0], sides[1]));
    assert.equal(a.status().local, 'UpToDate');
    const dev = await a.promote();
    await assertHolds(dev, snapshot, 'the restarted primary');
    // Both up: node-b receives what it lacks and then holds every acknowledged write as well.
    b = await MirrorVolume.open(optionsFor(sides[1], sides[0]));
    await until('resynced', () => connected(a!) && connected(b), 15_000);
    await dev.flush();
    assert.equal(await sha(sides[0].dataPath), await sha(sides[1].dataPath));
  } finally {
    await kill(p);
    await a?.close();
    await b.close();
    await cleanup();
  }
});
