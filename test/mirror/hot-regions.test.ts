// The hot regions (activity log, src/mirror/hot-regions.ts) and what they change on disk: recently written
// regions stay marked in the persisted bitmap after the peer's ack, so rewriting them saves no metadata;
// the least recently written leave the disk lazily; a clean close saves the exact bitmap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HotRegions } from '../../src/mirror/hot-regions.ts';
import { MetadataStore } from '../../src/mirror/metadata.ts';
import { MirrorVolume } from '../../src/mirror/volume.ts';
import { connected, makeSides, optionsFor, tempDir, until, VOLUME_SIZE, type Side } from './harness.ts';

const REGION = 64 * 1024;

/** The newest saved metadata of a copy, read as a crash would leave it (the volume stays open). */
async function onDisk(side: Side): Promise<{ regions: number[]; seq: bigint }> {
  const { store, meta } = await MetadataStore.open(side.clusterPath, {
    volumeId: 'vol-1',
    size: VOLUME_SIZE,
    regionSize: REGION,
  });
  await store.close();
  return { regions: [...meta.bitmap.dirtyRegions()].map((r) => r.index), seq: store.sequence };
}

test('HotRegions: a new region is added, a pending save is handed out, the least recent leave', async () => {
  const h = new HotRegions(3);
  assert.deepEqual(h.touch(0, 1), { added: [0, 1], pending: [] });
  let resolve!: () => void;
  const save = new Promise<void>((r) => (resolve = r));
  h.covered([0, 1], save);
  const t = h.touch(1, 2);
  assert.deepEqual(t.added, [2]);
  assert.equal(t.pending.length, 1, 'region 1 waits for the save still covering it');
  resolve();
  await save;
  h.covered([2], Promise.resolve());
  await Promise.resolve();
  assert.deepEqual(h.touch(1, 1), { added: [], pending: [] }, 'durable: nothing to wait for');
  // Recency now 0, 2, 1: region 0 leaves when 7 comes in.
  assert.deepEqual(h.touch(7, 7).added, [7]);
  assert.deepEqual([...h.regions()].sort(), [1, 2, 7]);
});

test('HotRegions: regions whose save failed leave the set, so the next write saves again', async () => {
  const h = new HotRegions(8);
  const failed = Promise.reject(new Error('disk gone'));
  h.covered(h.touch(4, 5).added, failed);
  await failed.catch(() => undefined);
  assert.deepEqual(h.touch(4, 5).added, [4, 5]);
  assert.throws(() => new HotRegions(-1), RangeError);
});

test('rewriting hot regions saves no metadata; acked regions stay marked on disk until they cool', async () => {
  const { dir, cleanup } = await tempDir();
  const sides = await makeSides(dir);
  const a = await MirrorVolume.open(optionsFor(sides[0], sides[1], { hotRegions: 4, hotExtent: REGION }));
  const b = await MirrorVolume.open(optionsFor(sides[1], sides[0]));
  try {
    await until('connected', () => connected(a) && connected(b));
    const dev = await a.promote();
    await dev.write(3 * REGION, Buffer.alloc(4096, 1), false);
    const first = await onDisk(sides[0]);
    assert.deepEqual(first.regions, [3]);
    for (let i = 0; i < 50; i++) await dev.write(3 * REGION + (i % 16) * 4096, Buffer.alloc(4096, i), false);
    const after = await onDisk(sides[0]);
    assert.equal(after.seq, first.seq, 'no metadata save for writes to a hot region');
    assert.equal(a.status().dirtyBytes, 0, 'the peer has everything: clean in memory');
    // A crash now would copy region 3 (acknowledged by the peer, but possibly written again in flight).
    assert.deepEqual(after.regions, [3]);
    // Four more regions: 3 is the least recently written and leaves the disk with the next save.
    for (const r of [10, 11, 12, 13]) await dev.write(r * REGION, Buffer.alloc(4096, r), false);
    assert.deepEqual((await onDisk(sides[0])).regions, [10, 11, 12, 13]);
    await a.close();
    assert.deepEqual((await onDisk(sides[0])).regions, [], 'a clean close saves the exact bitmap');
  } finally {
    await a.close();
    await b.close();
    await cleanup();
  }
});

test('hot extents: entering an extent saves it whole; its other regions are then written with no save', async () => {
  const { dir, cleanup } = await tempDir();
  const sides = await makeSides(dir);
  // Extents of 4 regions, 2 of them hot.
  const a = await MirrorVolume.open(optionsFor(sides[0], sides[1], { hotRegions: 2, hotExtent: 4 * REGION }));
  const b = await MirrorVolume.open(optionsFor(sides[1], sides[0]));
  try {
    await until('connected', () => connected(a) && connected(b));
    const dev = await a.promote();
    await dev.write(5 * REGION, Buffer.alloc(4096, 1), false);
    const first = await onDisk(sides[0]);
    assert.deepEqual(first.regions, [4, 5, 6, 7], 'the whole extent 1 is marked by one save');
    for (const r of [4, 6, 7, 5]) await dev.write(r * REGION, Buffer.alloc(4096, r), false);
    assert.equal((await onDisk(sides[0])).seq, first.seq, 'no save within a hot extent');
    // A write across extents 1 and 2 enters extent 2 (one save), then extent 0 pushes extent 1 out.
    await dev.write(8 * REGION - 2048, Buffer.alloc(4096, 9), false);
    assert.deepEqual((await onDisk(sides[0])).regions, [4, 5, 6, 7, 8, 9, 10, 11]);
    await dev.write(0, Buffer.alloc(4096, 10), false);
    assert.deepEqual((await onDisk(sides[0])).regions, [0, 1, 2, 3, 8, 9, 10, 11]);
    assert.equal(a.status().dirtyBytes, 0, 'the peer has everything: clean in memory');
  } finally {
    await a.close();
    await b.close();
    await cleanup();
  }
});

test('alone, every written region is on disk before the write is acknowledged, hot or not', async () => {
  const { dir, cleanup } = await tempDir();
  const sides = await makeSides(dir);
  const a = await MirrorVolume.open(optionsFor(sides[0], sides[1], { hotRegions: 2, hotExtent: REGION }));
  const b = await MirrorVolume.open(optionsFor(sides[1], sides[0]));
  try {
    await until('connected', () => connected(a) && connected(b));
    const dev = await a.promote();
    await b.close();
    await until('peer lost', () => a.status().connection.kind === 'Disconnected');
    const regions = [5, 9, 1, 30, 9, 17];
    await Promise.all(
      regions.map((r, i) => dev.write(r * REGION + i * 512, Buffer.alloc(512, i + 1), false)),
    );
    const saved = await onDisk(sides[0]);
    assert.deepEqual(saved.regions, [1, 5, 9, 17, 30]);
    assert.equal(a.status().dirtyBytes, 5 * REGION);
    // Rewriting regions dirty on disk needs no save, though only 2 of them are hot.
    for (const r of [5, 9, 1, 30, 17, 5]) await dev.write(r * REGION, Buffer.alloc(512, r), false);
    assert.equal((await onDisk(sides[0])).seq, saved.seq);
  } finally {
    await a.close();
    await b.close();
    await cleanup();
  }
});
