// The operator's break on the primary outdates the secondary (src/mirror/core/volume-state.ts
// `onBreakRequest`), live: two MirrorVolume instances on 127.0.0.1. A secondary that merely loses its
// primary stays UpToDate (the cluster may fail over to it); after a deliberate break the primary goes on
// writing alone, so the secondary is told first and persists that it is outdated: its activation is then
// refused unless forced, across its own restart, until `recover`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MirrorVolume, MirrorRefusedError } from '../../src/mirror/volume.ts';
import { block, connected, makeSides, openPair, optionsFor, REGION, sha, tempDir, until } from './harness.ts';

const notUpToDate = (err: unknown): boolean =>
  err instanceof MirrorRefusedError &&
  err.code === 'MD_NOT_UP_TO_DATE' &&
  /the copy on node-b is Outdated; the mirror was broken while node-a went on alone: run `tandem md recover md1`/.test(
    err.message,
  );

test('break on the primary: the secondary is outdated (persisted) before the link drops, refused unforced, until recover', async () => {
  const { dir, cleanup } = await tempDir();
  const sides = await makeSides(dir);
  let [a, b] = await openPair(sides);
  try {
    await until('connected', () => connected(a) && connected(b));
    const dev = await a.promote();
    await dev.write(0, block(1), true);
    const r = await a.break();
    assert.deepEqual(r, { peerOutdated: true }, 'node-b acknowledged');
    assert.equal(b.status().local, 'Outdated');
    assert.equal(b.status().flags.outdated, true);
    assert.equal(b.status().flags.broken, true);
    assert.ok(
      sides[1].log.lines.some((l) => /node-a broke the mirror and goes on alone/.test(l.msg)),
      'node-b says why',
    );
    // node-a goes on alone; the link comes back refused (broken), nothing is mirrored.
    await dev.write(3 * REGION, block(3), true);
    await until('refused', () => a.status().connection.kind === 'Refused');
    assert.notEqual(await sha(sides[0].dataPath), await sha(sides[1].dataPath));

    // node-a's server is lost; node-b (whose daemon stayed up) is not activated unforced.
    await a.close();
    await until('peer lost', () => b.status().connection.kind === 'Disconnected');
    assert.equal(b.status().local, 'Outdated');
    await assert.rejects(b.promote(), notUpToDate);
    // Nor after its own restart: the flag is on its cluster partition.
    await b.close();
    b = await MirrorVolume.open(optionsFor(sides[1], sides[0]));
    assert.equal(b.status().local, 'Outdated');
    await assert.rejects(b.promote(), notUpToDate);

    // node-a returns; recover (no --source) on node-a resumes mirroring and copies what node-b lacks.
    a = await MirrorVolume.open(optionsFor(sides[0], sides[1]));
    await until('both up, refused', () => a.status().connection.kind === 'Refused');
    await a.recover('auto');
    await until('recovered', () => connected(a) && connected(b), 10_000);
    assert.equal(a.status().resyncBytesSent, REGION, 'the region written alone');
    assert.equal(await sha(sides[0].dataPath), await sha(sides[1].dataPath));
    assert.equal(b.status().local, 'UpToDate');
    assert.deepEqual([b.status().flags.outdated, b.status().flags.broken], [false, false]);
  } finally {
    await a.close();
    await b.close();
    await cleanup();
  }
});

test('a secondary that merely loses its primary stays UpToDate; a forced activation of an outdated one is allowed', async () => {
  const { dir, cleanup } = await tempDir();
  const sides = await makeSides(dir);
  const pair = await openPair(sides);
  const a = pair[0];
  const b = pair[1];
  try {
    await until('connected', () => connected(a) && connected(b));
    const dev = await a.promote();
    await dev.write(0, block(1), true);
    await a.break();
    await a.demote();
    await a.close();
    await until('peer lost', () => b.status().connection.kind === 'Disconnected');
    await assert.rejects(b.promote(), notUpToDate);
    // The operator accepts losing what node-a wrote alone.
    const devB = await b.promote({ force: true });
    assert.deepEqual(await devB.read(0, 4096), block(1), 'every write mirrored before the break is there');
  } finally {
    await a.close();
    await b.close();
    await cleanup();
  }
});
