// autoRecovery: false (src/mirror/core/decide.ts `resyncOrWait`, recover.ts), live: two MirrorVolume
// instances on 127.0.0.1. When the peers meet and one copy is behind, nothing is copied until the operator's
// `recover` (without a source: the direction the generations say); the primary goes on alone meanwhile and
// the copy behind is Outdated. The initial full sync of a fresh pair still runs by itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MirrorVolume, MirrorRefusedError } from '../../src/mirror/volume.ts';
import {
  block,
  connected,
  makeSides,
  openPair,
  optionsFor,
  REGION,
  sha,
  type Side,
  splitBrain,
  tempDir,
  until,
  VOLUME_SIZE,
} from './harness.ts';

const OFF = { autoRecovery: false } as const;

const pending = (v: MirrorVolume): boolean => v.status().connection.kind === 'RecoveryPending';

/** node-a primary, writes, node-b away while node-a writes 3 regions alone, node-b back: pending on both. */
async function behind(sides: [Side, Side]) {
  const pair = await openPair(sides, [OFF, OFF]);
  const a = pair[0];
  let b = pair[1];
  await until('connected', () => connected(a) && connected(b));
  const dev = await a.promote();
  await dev.write(0, block(1), false);
  await b.close();
  await until('peer lost', () => a.status().connection.kind === 'Disconnected');
  for (const r of [3, 9, 20]) await dev.write(r * REGION, block(r), false);
  b = await MirrorVolume.open(optionsFor(sides[1], sides[0], OFF));
  await until('recovery pending on both', () => pending(a) && pending(b));
  return { a, b, dev };
}

test('autoRecovery off: the returning peer is not resynced, the primary goes on alone; recover on the target starts it', async () => {
  const { dir, cleanup } = await tempDir();
  const sides = await makeSides(dir);
  const { a, b, dev } = await behind(sides);
  try {
    assert.deepEqual(a.status().recoveryPending, {
      direction: 'to-peer',
      full: false,
      why: a.status().recoveryPending?.why,
      command: 'tandem md recover md1',
    });
    assert.equal(b.status().recoveryPending?.direction, 'from-peer');
    assert.equal(b.status().local, 'Outdated');
    assert.equal(b.status().flags.outdated, true, 'persisted: it lacks writes node-a holds');
    assert.equal(a.status().peer, 'Outdated');
    assert.ok(
      sides[0].log.lines.some(
        (l) => l.level === 'warn' && /autoRecovery is off, run `tandem md recover md1`/.test(l.msg),
      ),
    );
    // Writes go on, alone: not mirrored, marked dirty, and still nothing is copied.
    await dev.write(41 * REGION, block(41), false);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(a.status().resyncBytesSent, 0);
    assert.equal(a.status().dirtyBytes, 4 * REGION);
    assert.ok(pending(a) && pending(b));
    assert.notEqual(await sha(sides[0].dataPath), await sha(sides[1].dataPath));

    // The operator, on the copy that is behind, without --source.
    await b.recover('auto');
    await until('recovered', () => connected(a) && connected(b), 10_000);
    assert.equal(a.status().resyncBytesSent, 4 * REGION, 'only the dirty regions');
    await dev.flush();
    assert.equal(await sha(sides[0].dataPath), await sha(sides[1].dataPath));
    assert.equal(b.status().local, 'UpToDate');
    assert.equal(b.status().flags.outdated, false);
    assert.equal(a.status().recoveryPending, null);
    // Mirrored again.
    await dev.write(50 * REGION, block(50), true);
    assert.equal(await sha(sides[0].dataPath), await sha(sides[1].dataPath));
  } finally {
    await a.close();
    await b.close();
    await cleanup();
  }
});

test('autoRecovery off: the outdated copy is not activated unforced; recover on the source starts it', async () => {
  const { dir, cleanup } = await tempDir();
  const sides = await makeSides(dir);
  const { a, b } = await behind(sides);
  try {
    await a.demote();
    // Refused as two primaries until node-a's meta (now secondary) arrives, then as not up to date.
    let refused: unknown = null;
    await until('refused as outdated', () => {
      void b.promote().then(
        () => (refused = 'promoted'),
        (err: unknown) => (refused = err),
      );
      return refused instanceof MirrorRefusedError && refused.code !== 'MD_TWO_PRIMARIES';
    });
    assert.ok(refused instanceof MirrorRefusedError);
    assert.equal(refused.code, 'MD_NOT_UP_TO_DATE');
    assert.match(
      refused.message,
      /Outdated; a mirror recovery from node-a is pending: run `tandem md recover md1`/,
    );
    assert.equal(b.status().role, 'secondary');
    await a.recover('auto');
    await until('recovered', () => connected(a) && connected(b), 10_000);
    assert.equal(a.status().resyncBytesSent, 3 * REGION);
    assert.equal(await sha(sides[0].dataPath), await sha(sides[1].dataPath));
    // Up to date now: activated without force.
    await b.promote();
    assert.equal(b.status().role, 'primary');
  } finally {
    await a.close();
    await b.close();
    await cleanup();
  }
});

test('autoRecovery off: the initial full sync of a fresh pair is not a recovery and runs by itself', async () => {
  const { dir, cleanup } = await tempDir();
  const sides = await makeSides(dir);
  const fresh = { autoRecovery: false, initialSync: 'full' } as const;
  const [a, b] = await openPair(sides, [fresh, fresh]);
  try {
    await until('connected', () => connected(a) && connected(b));
    const dev = await a.promote();
    await dev.write(0, block(7), false);
    await until('initial sync done', () => connected(a) && connected(b) && b.status().local === 'UpToDate');
    assert.equal(a.status().resyncBytesSent, VOLUME_SIZE);
    assert.equal(await sha(sides[0].dataPath), await sha(sides[1].dataPath));
  } finally {
    await a.close();
    await b.close();
    await cleanup();
  }
});

test('recover without --source is refused for a split brain (MD_RECOVER_NEEDS_SOURCE), with --source it resolves', async () => {
  const { dir, cleanup } = await tempDir();
  const sides = await makeSides(dir);
  const pair = await openPair(sides);
  try {
    const devB = await splitBrain(sides, pair);
    const [a, b] = pair;
    await until('split brain', () => a.status().connection.kind === 'SplitBrain');
    await assert.rejects(
      a.recover('auto'),
      (err: unknown) =>
        err instanceof MirrorRefusedError &&
        err.code === 'MD_RECOVER_NEEDS_SOURCE' &&
        /Volume md1: Which copy to keep cannot be told/.test(err.message) &&
        /tandem md recover md1 --source node-a/.test(err.remedy) &&
        /--source node-b/.test(err.remedy),
    );
    assert.equal(a.status().connection.kind, 'SplitBrain', 'nothing changed');
    await a.recover('peer');
    await until('resolved', () => connected(a) && connected(b), 10_000);
    await devB.flush();
    assert.equal(await sha(sides[0].dataPath), await sha(sides[1].dataPath));
  } finally {
    await pair[0].close();
    await pair[1].close();
    await cleanup();
  }
});
