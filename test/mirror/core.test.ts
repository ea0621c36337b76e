// Unit tests of the pure mirror core: the dirty bitmap and the generation rules (src/mirror/core).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DirtyBitmap } from '../../src/mirror/core/bitmap.ts';
import {
  afterResync,
  compareCopies,
  JUST_CREATED,
  onBreak,
  onResolve,
  type Generations,
} from '../../src/mirror/core/generations.ts';
import {
  CLEAN_FLAGS,
  initVolumeState,
  step,
  type PeerInfo,
  type VolumeState,
} from '../../src/mirror/core/volume-state.ts';

test('bitmap: ranges, counts, iteration, serialization and merge', () => {
  const b = new DirtyBitmap(1_000_000, 65536); // 16 regions, the last one short
  assert.equal(b.regions, 16);
  assert.equal(b.setRange(65535, 2), 2);
  assert.equal(b.setRange(999_999, 1), 1);
  assert.equal(b.count(), 3);
  assert.equal(b.dirtyBytes(), 2 * 65536 + (1_000_000 - 15 * 65536));
  assert.deepEqual(
    [...b.dirtyRegions()].map((r) => r.index),
    [0, 1, 15],
  );
  assert.equal(b.region(15).length, 1_000_000 - 15 * 65536);
  assert.equal(b.clearRange(0, 65536 + 10), 1, 'only fully covered regions clear');
  assert.equal(
    b.clearRange(15 * 65536, 1_000_000),
    1,
    'the short last region clears at the end of the volume',
  );
  const copy = DirtyBitmap.deserialize(1_000_000, 65536, b.serialize());
  assert.deepEqual(
    [...copy.dirtyRegions()].map((r) => r.index),
    [1],
  );
  const other = new DirtyBitmap(1_000_000, 65536);
  other.setRegion(4);
  other.setRegion(1);
  assert.equal(copy.merge(other), 1);
  assert.deepEqual(
    [...copy.dirtyRegions()].map((r) => r.index),
    [1, 4],
  );
  assert.throws(() => copy.merge(new DirtyBitmap(2_000_000, 65536)), RangeError);
  assert.throws(() => new DirtyBitmap(1000, 1000), RangeError);
  copy.setAll();
  assert.equal(copy.count(), 16);
});

const g = (current: string, bitmap: string | null = null, history: string[] = []): Generations => ({
  current,
  bitmap,
  history,
});
const A = 'aaaaaaaaaaaaaaaa';
const B = 'bbbbbbbbbbbbbbbb';
const C = 'cccccccccccccccc';
const D = 'dddddddddddddddd';

test('generations: the documented rules', () => {
  assert.equal(compareCopies(g(A), g(A)).kind, 'identical');
  const wrote = onBreak(g(A), B);
  assert.deepEqual(wrote, g(B, A));
  assert.equal(onBreak(wrote, C), wrote, 'already writing alone: unchanged');
  assert.deepEqual(compareCopies(wrote, g(A)), {
    kind: 'local-newer',
    full: false,
    why: compareCopies(wrote, g(A)).why,
  });
  assert.equal(compareCopies(g(A), wrote).kind, 'peer-newer');
  assert.equal(compareCopies(g(B, A), g(C, A)).kind, 'split-brain');
  assert.deepEqual(
    [compareCopies(g(D, C, [A]), g(A)).kind, compareCopies(g(D, C, [A]), g(A)).full],
    ['local-newer', true],
  );
  assert.equal(compareCopies(g(D, C, [A]), g(B, A)).kind, 'split-brain');
  assert.equal(compareCopies(g(A), g(B)).kind, 'unrelated');
  assert.deepEqual(
    [compareCopies(g(JUST_CREATED), g(A)).kind, compareCopies(g(JUST_CREATED), g(A)).full],
    ['peer-newer', true],
  );
  const done = afterResync(g(B, A), g(A));
  assert.deepEqual(done.source, g(B, null, [A]));
  assert.equal(compareCopies(done.source, done.target).kind, 'identical');
  // Split brain resolved with B's copy: the victim goes back to the common point, bitmap-based.
  const r = onResolve(g(C, A), g(B, A));
  assert.equal(r.full, false);
  assert.equal(compareCopies(g(B, A), r.victim).kind, 'local-newer');
  const u = onResolve(g(D), g(B));
  assert.equal(u.full, true);
  assert.equal(compareCopies(g(B), u.victim).kind, 'local-newer');
});

const peer = (over: Partial<PeerInfo> = {}): PeerInfo => ({
  volumeId: 'v',
  size: 1024,
  generations: g(A),
  flags: CLEAN_FLAGS,
  role: 'secondary',
  dirtyBytes: 0,
  ...over,
});

/** The state of a just-opened copy at generation A, clean (md1, 1 KiB). */
function fresh(): VolumeState {
  return initVolumeState({
    name: 'md1',
    volumeId: 'v',
    size: 1024,
    generations: g(A),
    flags: CLEAN_FLAGS,
    dirtyBytes: 0,
  });
}

test('volume state: refusals are named, with remedies', () => {
  let s = fresh();
  s = step(s, { type: 'peer-connected', nowMs: 0, peer: peer({ role: 'primary' }), newId: B }).state;
  assert.equal(s.connection.kind, 'Connected');
  const r = step(s, { type: 'promote', nowMs: 1, force: true, newId: C });
  const refusal = r.actions.find((a) => a.type === 'refuse');
  assert.ok(refusal?.type === 'refuse');
  assert.equal(refusal.refusal.code, 'MD_TWO_PRIMARIES');
  assert.match(refusal.refusal.message, /^Volume md1: /);
  assert.equal(r.state.role, 'secondary');
  // Peer is newer: the copy becomes a resync target and is refused even with force while connected.
  let t = fresh();
  t = step(t, { type: 'peer-connected', nowMs: 0, peer: peer({ generations: g(B, A) }), newId: C }).state;
  assert.deepEqual(t.connection, { kind: 'Resyncing', direction: 'from-peer', full: false });
  assert.equal(t.local, 'Inconsistent');
  const r2 = step(t, { type: 'promote', nowMs: 1, force: true, newId: D });
  assert.equal(r2.actions.find((a) => a.type === 'refuse')?.type, 'refuse');
  // Lost mid-resync: inconsistent, refused unforced, allowed forced.
  t = step(t, { type: 'peer-lost', nowMs: 2, newId: D }).state;
  assert.equal(t.local, 'Inconsistent');
  const r3 = step(t, { type: 'promote', nowMs: 3, force: false, newId: D });
  assert.equal(
    (r3.actions.find((a) => a.type === 'refuse') as { refusal: { code: string } }).refusal.code,
    'MD_NOT_UP_TO_DATE',
  );
  assert.equal(step(t, { type: 'promote', nowMs: 3, force: true, newId: D }).state.role, 'primary');
  // Another volume id is refused on connect.
  const u = step(fresh(), {
    type: 'peer-connected',
    nowMs: 0,
    peer: peer({ volumeId: 'w' }),
    newId: B,
  }).state;
  assert.deepEqual(u.connection.kind === 'Refused' && u.connection.code, 'MD_VOLUME_MISMATCH');
});

test('volume state: a just-created pair; the first activation is the source of a full initial copy', () => {
  const blank = {
    name: 'md1',
    volumeId: 'v',
    size: 1024,
    generations: g(JUST_CREATED),
    flags: CLEAN_FLAGS,
    dirtyBytes: 0,
  };
  let s = initVolumeState(blank);
  assert.equal(s.local, 'Inconsistent');
  s = step(s, {
    type: 'peer-connected',
    nowMs: 0,
    peer: peer({ generations: g(JUST_CREATED) }),
    newId: B,
  }).state;
  assert.equal(s.local, 'UpToDate');
  const r = step(s, { type: 'promote', nowMs: 1, force: false, newId: C });
  assert.equal(r.state.role, 'primary');
  assert.deepEqual(r.state.connection, { kind: 'Resyncing', direction: 'to-peer', full: true });
  assert.ok(r.actions.some((a) => a.type === 'start-resync' && a.full));
});

test('volume state: a copy opened alone is Consistent until compared; peerOutdated proves it fresh', () => {
  const base = {
    name: 'md1',
    server: 'node-2',
    peerServer: 'node-1',
    volumeId: 'v',
    size: 1024,
    generations: g(A),
    flags: CLEAN_FLAGS,
    dirtyBytes: 0,
  };
  let s = initVolumeState(base);
  assert.equal(s.local, 'Consistent');
  assert.equal(s.peer, 'Unknown');
  const r = step(s, { type: 'promote', nowMs: 0, force: false, newId: B });
  const refused = r.actions.find((a) => a.type === 'refuse');
  assert.ok(refused?.type === 'refuse');
  assert.equal(refused.refusal.code, 'MD_PEER_UNKNOWN');
  assert.equal(
    refused.refusal.message,
    'Volume md1: The local copy was opened without contact to its peer: it may lack writes the peer made after they were last connected. (the copy on node-2 may lack writes node-1 made after they were last connected)',
  );
  assert.match(refused.refusal.remedy, /^Connect node-1 .*force the activation if node-1's copy is lost/);
  assert.equal(r.state.role, 'secondary');
  // Metadata written before the flag existed: absent means not set.
  const { peerOutdated: _p, ...oldFlags } = CLEAN_FLAGS;
  assert.equal(initVolumeState({ ...base, flags: oldFlags as typeof CLEAN_FLAGS }).local, 'Consistent');
  // Compared with the peer and identical: UpToDate, and stays so when the peer is lost again.
  s = step(s, { type: 'peer-connected', nowMs: 1, peer: peer(), newId: B }).state;
  assert.equal(s.local, 'UpToDate');
  s = step(s, { type: 'peer-lost', nowMs: 2, newId: C }).state;
  assert.equal(s.local, 'UpToDate');
  // A primary going on alone persists peerOutdated.
  s = step(s, { type: 'promote', nowMs: 3, force: false, newId: C }).state;
  assert.equal(s.role, 'primary');
  assert.equal(s.flags.peerOutdated, true);
  assert.equal(s.peer, 'Outdated');
  const reopened = initVolumeState({ ...base, generations: s.generations, flags: s.flags });
  assert.equal(reopened.local, 'UpToDate', 'after its own restart it still knows it is the newer copy');
  // Connected again: the peer receives the dirty regions, then the flag is cleared.
  let t = step(reopened, { type: 'peer-connected', nowMs: 4, peer: peer(), newId: D });
  assert.deepEqual(t.state.connection, { kind: 'Resyncing', direction: 'to-peer', full: false });
  assert.equal(t.state.flags.peerOutdated, true);
  t = step(t.state, { type: 'resync-done', nowMs: 5 });
  assert.equal(t.state.flags.peerOutdated, false);
  assert.ok(t.actions.some((a) => a.type === 'persist' && !a.flags.peerOutdated));
});

test('volume state: a primary that loses its peer first persists peerOutdated with the new generation', () => {
  let s = fresh();
  s = step(s, { type: 'peer-connected', nowMs: 0, peer: peer(), newId: B }).state;
  s = step(s, { type: 'promote', nowMs: 1, force: false, newId: B }).state;
  assert.equal(s.flags.peerOutdated, false, 'replicating: the peer has every write');
  const r = step(s, { type: 'peer-lost', nowMs: 2, newId: C });
  const first = r.actions.find((a) => a.type !== 'log');
  assert.ok(first?.type === 'persist');
  assert.equal(first.flags.peerOutdated, true);
  assert.deepEqual(first.generations, g(C, A));
});

/** The action types of a step, logs left out. */
const kinds = (actions: readonly { type: string }[]): string[] =>
  actions.filter((a) => a.type !== 'log').map((a) => a.type);

const manual = {
  name: 'md1',
  server: 'node-1',
  peerServer: 'node-2',
  volumeId: 'v',
  size: 1024,
  flags: CLEAN_FLAGS,
  dirtyBytes: 0,
  autoRecovery: false,
  dataPath: '/dev/xvdb2',
};

test('volume state, autoRecovery off: the copies wait as RecoveryPending; recover makes the target start, then the source', () => {
  // This copy wrote alone since A; the peer is at A.
  let src = initVolumeState({
    ...manual,
    generations: g(B, A),
    flags: { ...CLEAN_FLAGS, peerOutdated: true },
  });
  let r = step(src, { type: 'peer-connected', nowMs: 0, peer: peer(), newId: C });
  src = r.state;
  assert.equal(src.connection.kind, 'RecoveryPending');
  assert.ok(!kinds(r.actions).includes('start-resync'));
  assert.ok(
    r.actions.some((a) => a.type === 'log' && /run `tandem md recover md1` to start it/.test(a.message)),
  );
  assert.equal(src.peer, 'Outdated');
  // The target: Outdated, persisted, refused unforced.
  let dst = initVolumeState({ ...manual, server: 'node-2', peerServer: 'node-1', generations: g(A) });
  r = step(dst, { type: 'peer-connected', nowMs: 0, peer: peer({ generations: g(B, A) }), newId: C });
  dst = r.state;
  assert.deepEqual(kinds(r.actions), ['persist']);
  assert.equal(dst.flags.outdated, true);
  assert.equal(dst.local, 'Outdated');
  const refused = step(dst, { type: 'promote', nowMs: 1, force: false, newId: D }).actions.find(
    (a) => a.type === 'refuse',
  );
  assert.ok(refused?.type === 'refuse');
  assert.equal(refused.refusal.code, 'MD_NOT_UP_TO_DATE');
  // recover (no source) on the source: it asks the peer and waits for it.
  r = step(src, { type: 'recover', nowMs: 2, source: 'auto', newId: D });
  assert.deepEqual(kinds(r.actions), ['send-meta', 'send-recover-start']);
  src = r.state;
  assert.equal(src.connection.kind, 'RecoveryPending');
  // The target starts first: inconsistent is persisted before it says so in its meta.
  r = step(dst, { type: 'peer-recover-start', nowMs: 3, newId: D });
  dst = r.state;
  assert.deepEqual(kinds(r.actions), ['persist', 'send-meta']);
  assert.deepEqual(dst.connection, { kind: 'Resyncing', direction: 'from-peer', full: false });
  // The source sees the target ready and starts copying.
  r = step(src, {
    type: 'peer-meta',
    nowMs: 4,
    peer: peer({ generations: dst.generations, flags: dst.flags }),
    newId: D,
  });
  assert.deepEqual(r.state.connection, { kind: 'Resyncing', direction: 'to-peer', full: false });
  assert.ok(kinds(r.actions).includes('start-resync'));
});

test('volume state: a local I/O error makes the copy Failed (never activated), tells the peer, and only recover rebuilds it', () => {
  let s = initVolumeState({ ...manual, autoRecovery: true, generations: g(A) });
  s = step(s, { type: 'peer-connected', nowMs: 0, peer: peer(), newId: B }).state;
  s = step(s, { type: 'promote', nowMs: 1, force: false, newId: B }).state;
  let r = step(s, { type: 'local-io-error', nowMs: 2, op: 'write', error: 'EIO: i/o error, write' });
  s = r.state;
  assert.equal(s.local, 'Failed');
  assert.deepEqual(s.connection, {
    kind: 'Refused',
    code: 'MD_DISK_FAILED',
    why: 'write on the data partition /dev/xvdb2 of node-1 failed: EIO: i/o error, write',
  });
  assert.deepEqual(kinds(r.actions), ['persist', 'send-meta']);
  assert.ok(r.actions.some((a) => a.type === 'persist' && a.bestEffort && a.flags.diskFailed));
  assert.equal(s.flags.peerOutdated, false, 'a failed copy is not the newer one');
  const refused = step(s, { type: 'promote', nowMs: 3, force: true, newId: C }).actions.find(
    (a) => a.type === 'refuse',
  );
  assert.ok(refused?.type === 'refuse');
  assert.equal(refused.refusal.code, 'MD_DISK_FAILED');
  assert.match(
    refused.refusal.message,
    /^Volume md1: .*write on the data partition \/dev\/xvdb2 of node-1 failed: EIO/,
  );
  assert.equal(
    refused.refusal.remedy,
    'Replace or repair the data partition /dev/xvdb2 on node-1, then run `tandem md recover md1` on node-1: its copy is rebuilt by a full resync from node-2.',
  );
  // A failed copy cannot be the source.
  const asSource = step(s, { type: 'recover', nowMs: 4, source: 'local', newId: C });
  assert.equal(asSource.actions.find((a) => a.type === 'refuse')?.type, 'refuse');
  // The peer's side: a failed primary's peer stays UpToDate; a failed secondary's primary goes on alone.
  let p = initVolumeState({
    ...manual,
    autoRecovery: true,
    server: 'node-2',
    peerServer: 'node-1',
    generations: g(A),
  });
  p = step(p, { type: 'peer-connected', nowMs: 0, peer: peer(), newId: B }).state;
  p = step(p, { type: 'promote', nowMs: 1, force: false, newId: B }).state;
  r = step(p, {
    type: 'peer-meta',
    nowMs: 2,
    peer: peer({ flags: { ...CLEAN_FLAGS, diskFailed: true } }),
    newId: C,
  });
  assert.equal(r.state.peer, 'Failed');
  assert.equal(r.state.connection.kind === 'Refused' && r.state.connection.code, 'MD_PEER_DISK_FAILED');
  assert.deepEqual(r.state.generations, g(C, A), 'writes alone from a new generation');
  assert.equal(r.state.flags.peerOutdated, true);
  // Restart: still Failed. recover (no source) while disconnected waits; on connect the copy is rebuilt.
  s = step(s, { type: 'demote', nowMs: 5 }).state;
  let t = initVolumeState({ ...manual, autoRecovery: false, generations: s.generations, flags: s.flags });
  assert.equal(t.local, 'Failed');
  t = step(t, { type: 'recover', nowMs: 6, source: 'auto', newId: D }).state;
  assert.equal(t.pendingRecover, 'peer');
  r = step(t, { type: 'peer-connected', nowMs: 7, peer: peer({ generations: g(C, A) }), newId: D });
  assert.equal(r.state.flags.diskFailed, false);
  assert.equal(r.state.generations.current, JUST_CREATED);
  assert.deepEqual(r.state.connection, { kind: 'Resyncing', direction: 'from-peer', full: true });
});

test('volume state: break on a mirrored primary outdates the peer (persisted there) before the link drops', () => {
  let s = initVolumeState({ ...manual, autoRecovery: true, generations: g(A) });
  s = step(s, { type: 'peer-connected', nowMs: 0, peer: peer(), newId: B }).state;
  s = step(s, { type: 'promote', nowMs: 1, force: false, newId: B }).state;
  const r = step(s, { type: 'break', nowMs: 2, newId: C });
  assert.deepEqual(kinds(r.actions), ['persist', 'persist', 'send-outdate', 'disconnect']);
  assert.equal(r.state.flags.broken, true);
  assert.equal(r.state.flags.peerOutdated, true);
  // The secondary: persisted, then acknowledged.
  let t = initVolumeState({
    ...manual,
    autoRecovery: true,
    server: 'node-2',
    peerServer: 'node-1',
    generations: g(A),
  });
  t = step(t, { type: 'peer-connected', nowMs: 0, peer: peer({ role: 'primary' }), newId: B }).state;
  const o = step(t, { type: 'peer-outdate', nowMs: 3 });
  assert.deepEqual(kinds(o.actions), ['persist', 'send-outdate-ack']);
  assert.ok(o.actions.some((a) => a.type === 'persist' && a.flags.outdated && a.flags.broken));
  t = step(o.state, { type: 'peer-lost', nowMs: 4, newId: D }).state;
  assert.equal(t.local, 'Outdated', 'not UpToDate as after a mere loss of the primary');
  // A break on a secondary, or on a primary that is not mirrored, tells nobody.
  assert.ok(!kinds(step(t, { type: 'break', nowMs: 5, newId: D }).actions).includes('send-outdate'));
});
