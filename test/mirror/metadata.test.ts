// Crash-safe metadata on the cluster partition (src/mirror/metadata.ts): a torn write of the newest slot
// loads the previous state; two damaged slots are a named error; another volume's metadata is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readFile, writeFile, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetadataStore, MetadataError, slotBytesFor, type MirrorMeta } from '../../src/mirror/metadata.ts';
import { DirtyBitmap } from '../../src/mirror/core/bitmap.ts';
import { CLEAN_FLAGS } from '../../src/mirror/core/volume-state.ts';

const SIZE = 8 * 1024 * 1024;
const REGION = 64 * 1024;
const expect = { volumeId: 'vol-1', size: SIZE, regionSize: REGION };

function meta(current: string, dirty: number[] = []): MirrorMeta {
  const bitmap = new DirtyBitmap(SIZE, REGION);
  for (const r of dirty) bitmap.setRegion(r);
  return { ...expect, generations: { current, bitmap: null, history: [] }, flags: CLEAN_FLAGS, bitmap };
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tandem-meta-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('initializes a blank partition, saves and reloads the newest state', () =>
  withDir(async (dir) => {
    const path = join(dir, 'cp');
    const a = await MetadataStore.open(path, expect, () => meta('00000000000000a1'));
    assert.equal(a.created, true);
    await a.store.save(meta('00000000000000a2', [3, 7]));
    await a.store.save(meta('00000000000000a3', [3, 7, 100]));
    await a.store.close();
    const b = await MetadataStore.open(path, expect);
    assert.equal(b.created, false);
    assert.equal(b.meta.generations.current, '00000000000000a3');
    assert.deepEqual(
      [...b.meta.bitmap.dirtyRegions()].map((r) => r.index),
      [3, 7, 100],
    );
    await b.store.close();
  }));

test('a torn write of the newest slot loads the previous state', () =>
  withDir(async (dir) => {
    const path = join(dir, 'cp');
    const a = await MetadataStore.open(path, expect, () => meta('00000000000000a1'));
    await a.store.save(meta('00000000000000a2', [1]));
    await a.store.save(meta('00000000000000a3', [1, 2]));
    const newestSlot = Number(a.store.sequence % 2n);
    await a.store.close();
    // Garble a few bytes in the middle of the newest slot (a write that stopped half-way).
    const buf = await readFile(path);
    const at = newestSlot * slotBytesFor(SIZE, REGION) + 40;
    buf.fill(0xee, at, at + 16);
    await writeFile(path, buf);
    const b = await MetadataStore.open(path, expect);
    assert.equal(b.meta.generations.current, '00000000000000a2');
    assert.deepEqual(
      [...b.meta.bitmap.dirtyRegions()].map((r) => r.index),
      [1],
    );
    // The next save goes to the damaged slot, and is then the newest.
    await b.store.save(meta('00000000000000a4'));
    await b.store.close();
    const c = await MetadataStore.open(path, expect);
    assert.equal(c.meta.generations.current, '00000000000000a4');
    await c.store.close();
  }));

test('a write cut short by truncation of the file loads the previous state', () =>
  withDir(async (dir) => {
    const path = join(dir, 'cp');
    const a = await MetadataStore.open(path, expect, () => meta('00000000000000a1'));
    await a.store.save(meta('00000000000000a2'));
    await a.store.save(meta('00000000000000a3'));
    // Initialization wrote sequences 1 and 2; a4 is sequence 5, in slot 1: cut the file short inside it.
    await a.store.save(meta('00000000000000a4'));
    assert.equal(a.store.sequence, 5n);
    await a.store.close();
    await truncate(path, slotBytesFor(SIZE, REGION) + 30);
    const b = await MetadataStore.open(path, expect);
    assert.equal(b.meta.generations.current, '00000000000000a3');
    await b.store.close();
    // Now tear slot 0 too, partly: nothing valid is left.
    const buf = await readFile(path);
    buf.fill(0x55, 30, 60);
    await writeFile(path, buf);
    await assert.rejects(MetadataStore.open(path, expect), (err: unknown) => {
      assert.ok(err instanceof MetadataError);
      assert.equal(err.code, 'MD_META_CORRUPT');
      assert.match(err.message, /both metadata slots are damaged/);
      assert.match(err.message, new RegExp(path.replace(/[/.]/g, '\\$&')));
      assert.match(err.remedy, /recover/);
      return true;
    });
  }));

test('both slots garbled is a named error, even with an init function', () =>
  withDir(async (dir) => {
    const path = join(dir, 'cp');
    const a = await MetadataStore.open(path, expect, () => meta('00000000000000a1'));
    await a.store.close();
    const buf = await readFile(path);
    const slot = slotBytesFor(SIZE, REGION);
    buf.fill(0x42, 10, 20);
    buf.fill(0x42, slot + 10, slot + 20);
    await writeFile(path, buf);
    await assert.rejects(
      MetadataStore.open(path, expect, () => meta('00000000000000b1')),
      { name: 'MetadataError', code: 'MD_META_CORRUPT' },
    );
  }));

test("another volume's metadata is refused", () =>
  withDir(async (dir) => {
    const path = join(dir, 'cp');
    const a = await MetadataStore.open(path, expect, () => meta('00000000000000a1'));
    await a.store.close();
    await assert.rejects(MetadataStore.open(path, { ...expect, volumeId: 'vol-2' }), (err: unknown) => {
      assert.ok(err instanceof MetadataError);
      assert.equal(err.code, 'MD_META_MISMATCH');
      assert.match(err.message, /vol-1/);
      return true;
    });
    await assert.rejects(MetadataStore.open(join(dir, 'missing'), expect), { code: 'MD_META_IO' });
  }));

test('concurrent saves are coalesced and the last one wins', () =>
  withDir(async (dir) => {
    const path = join(dir, 'cp');
    const a = await MetadataStore.open(path, expect, () => meta('00000000000000a1'));
    const saves = [];
    for (let i = 2; i < 12; i++)
      saves.push(a.store.save(meta(`00000000000000${i.toString(16).padStart(2, '0')}`)));
    await Promise.all(saves);
    assert.ok(a.store.sequence < 2n + 10n, `coalesced: ${a.store.sequence}`);
    await a.store.close();
    const b = await MetadataStore.open(path, expect);
    assert.equal(b.meta.generations.current, '000000000000000b');
    await b.store.close();
  }));

test('a save writes only the pages that changed, and the reopened state is whole', () =>
  withDir(async (dir) => {
    // 1 TiB in 64 KiB regions: a 2 MiB bitmap per slot.
    const big = { volumeId: 'vol-big', size: 2 ** 40, regionSize: REGION };
    const path = join(dir, 'cluster.img');
    const state = (dirty: number[]): MirrorMeta => {
      const bitmap = new DirtyBitmap(big.size, REGION);
      for (const r of dirty) bitmap.setRegion(r);
      return {
        ...big,
        generations: { current: 'g1', bitmap: null, history: [] },
        flags: CLEAN_FLAGS,
        bitmap,
      };
    };
    const first = await MetadataStore.open(path, big, () => state([]));
    const whole = first.store.writtenBytes;
    assert.ok(whole >= 2 * 2 * 1024 * 1024, 'initialization writes both slots whole');
    await first.store.save(state([12_345_678]));
    await first.store.save(state([12_345_678, 99]));
    assert.ok(
      first.store.writtenBytes - whole <= 2 * 3 * 4096,
      `two saves wrote ${first.store.writtenBytes - whole} bytes`,
    );
    await first.store.close();
    const again = await MetadataStore.open(path, big);
    assert.deepEqual(
      [...again.meta.bitmap.dirtyRegions()].map((r) => r.index),
      [99, 12_345_678],
    );
    await again.store.save(state([5]));
    // The older slot held [12_345_678]: header, two bitmap pages and the CRC differ.
    assert.ok(
      again.store.writtenBytes <= 4 * 4096,
      `after a reopen too (the slots were read): ${again.store.writtenBytes}`,
    );
    await again.store.close();
    const last = await MetadataStore.open(path, big);
    assert.deepEqual(
      [...last.meta.bitmap.dirtyRegions()].map((r) => r.index),
      [5],
    );
    await last.store.close();
  }));

test('a partial save torn between its pages loads the previous state', () =>
  withDir(async (dir) => {
    // 64 GiB in 64 KiB regions: a 128 KiB bitmap, so header, region 100000's bit and the CRC are on
    // different pages.
    const geo = { volumeId: 'vol-64g', size: 2 ** 36, regionSize: REGION };
    const state = (dirty: number[]): MirrorMeta => {
      const bitmap = new DirtyBitmap(geo.size, REGION);
      for (const r of dirty) bitmap.setRegion(r);
      return {
        ...geo,
        generations: { current: 'g1', bitmap: null, history: [] },
        flags: CLEAN_FLAGS,
        bitmap,
      };
    };
    const path = join(dir, 'cluster.img');
    const { store } = await MetadataStore.open(path, geo, () => state([]));
    await store.save(state([3]));
    const before = await readFile(path);
    await store.save(state([3, 100_000]));
    await store.close();
    const after = await readFile(path);
    const changed: number[] = [];
    for (let at = 0; at < after.length; at += 4096)
      if (!after.subarray(at, at + 4096).equals(before.subarray(at, at + 4096))) changed.push(at);
    assert.equal(changed.length, 3, 'header, the bitmap page, the CRC');
    // Every page but the bitmap page landed: the slot fails its CRC, the other slot holds [3].
    const torn = Buffer.from(after);
    before.copy(torn, changed[1], changed[1], changed[1]! + 4096);
    await writeFile(path, torn);
    const { store: s2, meta: m } = await MetadataStore.open(path, geo);
    assert.deepEqual(
      [...m.bitmap.dirtyRegions()].map((r) => r.index),
      [3],
    );
    await s2.close();
  }));
