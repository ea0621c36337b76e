// The live mirror engine (src/mirror/volume.ts): two MirrorVolume instances on 127.0.0.1 with temp files,
// driven through the BlockBackend the active copy exposes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MirrorVolume, MirrorRefusedError } from '../../src/mirror/volume.ts';
import { slowOpen } from './faulty-disk.ts';
import { connected, makeSides, openPair, optionsFor, sha, splitBrain, tempDir, until } from './harness.ts';

const REGION = 64 * 1024;

function block(seed: number, len = 4096): Buffer {
  const b = Buffer.alloc(len);
  for (let i = 0; i < len; i++) b[i] = (seed * 31 + i * 7) & 0xff;
  return b;
}

test('sync writes land on both copies', async () => {
  const { dir, cleanup } = await tempDir();
  const sides = await makeSides(dir);
  const [a, b] = await openPair(sides);
  try {
    await until('connected', () => connected(a) && connected(b));
    const dev = await a.promote();
    for (let i = 0; i < 50; i++)
      await dev.write(((i * 37) % 64) * 65536 + (i % 3) * 4096, block(i), i % 10 === 0);
    await dev.flush();
    assert.equal(await sha(sides[0].dataPath), await sha(sides[1].dataPath));
    assert.equal(a.status().dirtyBytes, 0);
    assert.equal(a.status().role, 'primary');
    assert.equal(b.status().peer, 'UpToDate');
    // The standby copy is never served.
    await assert.rejects(
      b.promote(),
      (err: unknown) => err instanceof MirrorRefusedError && err.code === 'MD_TWO_PRIMARIES',
    );
  } finally {
    await a.close();
    await b.close();
    await cleanup();
  }
});

test('overlapping writes in flight together end in the same order on both copies', async () => {
  const { dir, cleanup } = await tempDir();
  const sides = await makeSides(dir);
  // The active copy's disk completes writes in any order (random delays, seeded).
  let seed = 12345;
  const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const [a, b] = await openPair(sides, [{ openData: slowOpen(4, random) }, {}]);
  try {
    await until('connected', () => connected(a) && connected(b));
    const dev = await a.promote();
    // 8 rounds of 32 writes at once, all within 256 KiB and overlapping each other, some of them large
    // (streamed in pieces); the last one issued to each byte must win on both copies.
    for (let round = 0; round < 8; round++) {
      const writes: Promise<void>[] = [];
      for (let i = 0; i < 32; i++) {
        const len = i % 4 === 0 ? 192 * 1024 : 4096 * (1 + (i % 5));
        const off = ((i * 7919 + round * 104729) % 64) * 1024;
        writes.push(dev.write(off, block(round * 32 + i, len), false));
      }
      await Promise.all(writes);
    }
    await dev.flush();
    await until('idle', () => a.status().dirtyBytes === 0);
    assert.equal(await sha(sides[0].dataPath), await sha(sides[1].dataPath));
  } finally {
    await a.close();
    await b.close();
    await cleanup();
  }
});

test('peer down then back: only the dirty regions are copied and both copies end identical', async () => {
  const { dir, cleanup } = await tempDir();
  const sides = await makeSides(dir);
  const pair = await openPair(sides);
  const a = pair[0];
  let b = pair[1];
  try {
    await until('connected', () => connected(a) && connected(b));
    const dev = await a.promote();
    await dev.write(0, block(1), false);
    await b.close();
    await until('peer lost', () => a.status().connection.kind === 'Disconnected');
    // Writes alone: 5 distinct regions (two writes share region 9).
    const regions = [3, 9, 9, 20, 41, 63];
    for (const [i, r] of regions.entries())
      await dev.write(r * REGION + 512 * i, block(100 + i, 2048), false);
    assert.equal(a.status().dirtyBytes, 5 * REGION);
    assert.notEqual(await sha(sides[0].dataPath), await sha(sides[1].dataPath));
    b = await MirrorVolume.open(optionsFor(sides[1], sides[0]));
    await until('resynced', () => connected(a) && connected(b), 10_000);
    assert.equal(a.status().resyncBytesSent, 5 * REGION, 'exactly the dirty regions were copied');
    assert.equal(a.status().dirtyBytes, 0);
    await dev.flush();
    assert.equal(await sha(sides[0].dataPath), await sha(sides[1].dataPath));
    assert.equal(b.status().local, 'UpToDate');
  } finally {
    await a.close();
    await b.close();
    await cleanup();
  }
});

test('split brain is reported by both and resolved only by recover(source)', async () => {
  const { dir, cleanup } = await tempDir();
  const sides = await makeSides(dir);
  const pair = await openPair(sides);
  try {
    const devB = await splitBrain(sides, pair);
    const [a, b] = pair;
    await until(
      'split brain on both',
      () => a.status().connection.kind === 'SplitBrain' && b.status().connection.kind === 'SplitBrain',
    );
    assert.equal(a.status().local, 'SplitBrain');
    assert.ok(sides[0].log.lines.some((l) => l.level === 'error' && /Split brain/.test(l.msg)));
    assert.ok(sides[1].log.lines.some((l) => l.level === 'error' && /Split brain/.test(l.msg)));
    // Not resolved by waiting.
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(a.status().connection.kind, 'SplitBrain');
    assert.notEqual(await sha(sides[0].dataPath), await sha(sides[1].dataPath));
    await assert.rejects(
      a.promote(),
      (err: unknown) => err instanceof MirrorRefusedError && err.code === 'MD_TWO_PRIMARIES',
    );
    // Keep b's copy (b is active): a's copy is overwritten.
    await a.recover('peer');
    await until('recovered', () => connected(a) && connected(b), 10_000);
    await devB.flush();
    assert.equal(await sha(sides[0].dataPath), await sha(sides[1].dataPath));
    assert.equal(b.status().resyncBytesSent, 2 * REGION, 'the regions dirty on either side');
  } finally {
    await pair[0].close();
    await pair[1].close();
    await cleanup();
  }
});

test('a peer with another secret or another volume id is refused', async () => {
  const { dir, cleanup } = await tempDir();
  const sides = await makeSides(dir);
  const [a, b] = await openPair(sides, [{}, { secret: 'other-secret' }]);
  try {
    await until('refused', () => sides[0].log.lines.some((l) => /failed authentication/.test(l.msg)));
    assert.equal(a.status().connection.kind, 'Disconnected');
    assert.equal(b.status().connection.kind, 'Disconnected');
  } finally {
    await a.close();
    await b.close();
  }
  const sides2 = await makeSides(dir);
  sides2[0].clusterPath += '2';
  sides2[1].clusterPath += '2';
  const [c, d] = await openPair(sides2, [{}, { volumeId: 'vol-2' }]);
  try {
    await until('refused', () => sides2[1].log.lines.some((l) => /offers volume vol-1/.test(l.msg)));
    assert.ok(sides2[0].log.lines.some((l) => /refused/.test(l.msg)));
    assert.equal(c.status().connection.kind, 'Disconnected');
  } finally {
    await c.close();
    await d.close();
    await cleanup();
  }
});

test('async mode: writes resolve locally, reach the peer in order, queue depth visible', async () => {
  const { dir, cleanup } = await tempDir();
  const sides = await makeSides(dir);
  const [a, b] = await openPair(sides, [{ mode: 'async' }, { mode: 'async' }]);
  try {
    await until('connected', () => connected(a) && connected(b));
    const dev = await a.promote();
    const writes = [];
    for (let i = 0; i < 40; i++) writes.push(dev.write((i % 16) * 4096, block(i), false));
    await Promise.all(writes);
    assert.ok(a.status().asyncQueueDepth >= 0);
    await until('queue drained', () => a.status().asyncQueueDepth === 0);
    await until('peer caught up', () => a.status().dirtyBytes === 0);
    assert.equal(await sha(sides[0].dataPath), await sha(sides[1].dataPath));
  } finally {
    await a.close();
    await b.close();
    await cleanup();
  }
});

test('a torn metadata write is survived: the volume reopens from the previous slot', async () => {
  const { readFile, writeFile } = await import('node:fs/promises');
  const { slotBytesFor } = await import('../../src/mirror/metadata.ts');
  const { dir, cleanup } = await tempDir();
  const sides = await makeSides(dir);
  const pair = await openPair(sides);
  let a = pair[0];
  const b = pair[1];
  try {
    await until('connected', () => connected(a) && connected(b));
    await a.close();
    // Garble both slots' first bytes in turn: one damaged slot at a time is always survivable.
    const buf = await readFile(sides[0].clusterPath);
    buf.fill(0x77, 16, 48);
    await writeFile(sides[0].clusterPath, buf);
    a = await MirrorVolume.open(optionsFor(sides[0], sides[1]));
    await until('reconnected', () => connected(a) && connected(b));
    await a.close();
    const buf2 = await readFile(sides[0].clusterPath);
    const slot = slotBytesFor(4 * 1024 * 1024, REGION);
    buf2.fill(0x77, slot + 16, slot + 48);
    await writeFile(sides[0].clusterPath, buf2);
    a = await MirrorVolume.open(optionsFor(sides[0], sides[1]));
    await until('reconnected again', () => connected(a) && connected(b));
  } finally {
    await a.close();
    await b.close();
    await cleanup();
  }
});
