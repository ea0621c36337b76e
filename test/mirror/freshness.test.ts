// Freshness of a copy opened without its peer (src/mirror/core/volume-state.ts, "Freshness"), live: two
// MirrorVolume instances on 127.0.0.1. A copy whose daemon restarts while its peer is away is only
// Consistent: its activation is refused (MD_PEER_UNKNOWN) unless forced, or until the peer connects. A
// primary that went on alone persisted that its peer is outdated and is UpToDate after its own restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MirrorVolume, MirrorRefusedError } from '../../src/mirror/volume.ts';
import { block, connected, makeSides, openPair, optionsFor, REGION, sha, tempDir, until } from './harness.ts';

const peerUnknown = (err: unknown): boolean =>
  err instanceof MirrorRefusedError &&
  err.code === 'MD_PEER_UNKNOWN' &&
  /the copy on node-b may lack writes node-a made after they were last connected/.test(err.message) &&
  /Connect node-a/.test(err.remedy);

test('secondary down, primary writes alone and crashes, secondary restarts: refused unless forced or connected', async () => {
  const { dir, cleanup } = await tempDir();
  const sides = await makeSides(dir);
  let [a, b] = await openPair(sides);
  try {
    await until('connected', () => connected(a) && connected(b));
    const dev = await a.promote();
    await dev.write(0, block(1), false);
    // node-b goes down; node-a goes on alone and acknowledges writes.
    await b.close();
    await until('peer lost', () => a.status().connection.kind === 'Disconnected');
    await dev.write(7 * REGION, block(2), true);
    assert.equal(a.status().peer, 'Outdated', 'the primary recorded that the peer lacks writes');
    // node-a goes down too; node-b restarts alone.
    await a.close();
    b = await MirrorVolume.open(optionsFor(sides[1], sides[0]));
    assert.equal(b.status().local, 'Consistent');
    await assert.rejects(b.promote(), peerUnknown);
    const t0 = performance.now();
    await assert.rejects(b.promote({ waitForPeerMs: 150 }), peerUnknown);
    assert.ok(performance.now() - t0 >= 140, 'waited for the peer before refusing');
    assert.equal(b.status().role, 'secondary');
    // node-a restarts alone: it knows it is the newer copy and is activated without force.
    await b.close();
    a = await MirrorVolume.open(optionsFor(sides[0], sides[1]));
    assert.equal(a.status().local, 'UpToDate');
    const devA = await a.promote();
    assert.deepEqual(await devA.read(7 * REGION, 4096), block(2));
    // Connected, the generations decide: node-a's writes go to node-b.
    b = await MirrorVolume.open(optionsFor(sides[1], sides[0]));
    await until('resynced', () => connected(a) && connected(b), 10_000);
    await devA.flush();
    assert.equal(await sha(sides[0].dataPath), await sha(sides[1].dataPath));
    assert.equal(b.status().local, 'UpToDate');
    assert.equal(a.status().peer, 'UpToDate');
  } finally {
    await a.close();
    await b.close();
    await cleanup();
  }
});

test('a forced activation of a Consistent copy is allowed, and makes it the newer copy', async () => {
  const { dir, cleanup } = await tempDir();
  const sides = await makeSides(dir);
  let [a, b] = await openPair(sides);
  try {
    await until('connected', () => connected(a) && connected(b));
    await a.close();
    await b.close();
    b = await MirrorVolume.open(optionsFor(sides[1], sides[0]));
    assert.equal(b.status().local, 'Consistent');
    const dev = await b.promote({ force: true });
    assert.equal(b.status().local, 'UpToDate');
    assert.equal(b.status().peer, 'Outdated');
    await dev.write(3 * REGION, block(9), false);
    a = await MirrorVolume.open(optionsFor(sides[0], sides[1]));
    await until('resynced to node-a', () => connected(a) && connected(b), 10_000);
    await dev.flush();
    assert.equal(await sha(sides[0].dataPath), await sha(sides[1].dataPath));
    assert.equal(b.status().resyncBytesSent, REGION);
  } finally {
    await a.close();
    await b.close();
    await cleanup();
  }
});

test('both restart in sync: activation waits for the peer and proceeds once the copies compare identical', async () => {
  const { dir, cleanup } = await tempDir();
  const sides = await makeSides(dir);
  let [a, b] = await openPair(sides);
  try {
    await until('connected', () => connected(a) && connected(b));
    await a.close();
    await b.close();
    b = await MirrorVolume.open(optionsFor(sides[1], sides[0]));
    const pending = b.promote({ waitForPeerMs: 10_000 });
    await new Promise((r) => setTimeout(r, 50));
    a = await MirrorVolume.open(optionsFor(sides[0], sides[1]));
    const dev = await pending;
    assert.equal(b.status().role, 'primary');
    await dev.write(0, block(5), false);
    await until('connected', () => connected(a) && connected(b));
    assert.equal(await sha(sides[0].dataPath), await sha(sides[1].dataPath));
  } finally {
    await a.close();
    await b.close();
    await cleanup();
  }
});

test('a secondary whose daemon stayed up is activated without force after its primary vanished', async () => {
  const { dir, cleanup } = await tempDir();
  const sides = await makeSides(dir);
  const pair = await openPair(sides);
  let a = pair[0];
  const b = pair[1];
  try {
    await until('connected', () => connected(a) && connected(b));
    const dev = await a.promote();
    await dev.write(0, block(4), false);
    await a.close();
    await until('peer lost', () => b.status().connection.kind === 'Disconnected');
    assert.equal(b.status().local, 'UpToDate');
    const devB = await b.promote();
    assert.deepEqual(await devB.read(0, 4096), block(4));
    await devB.write(0, block(6), false);
    await b.close();
    // node-a, stopped while primary and connected, restarts alone: node-b may have taken over (it did).
    a = await MirrorVolume.open(optionsFor(sides[0], sides[1]));
    assert.equal(a.status().local, 'Consistent');
    await assert.rejects(
      a.promote(),
      (err: unknown) => err instanceof MirrorRefusedError && err.code === 'MD_PEER_UNKNOWN',
    );
  } finally {
    await a.close();
    await b.close();
    await cleanup();
  }
});
