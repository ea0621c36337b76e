// A failing local disk (src/mirror/core/volume-state.ts `local-io-error`), live: two MirrorVolume instances on
// 127.0.0.1, one of them with a data partition whose writes fail with EIO (`openData`, faulty-disk.ts). The
// copy becomes Failed (persisted), is never activated, a failed primary fails further writes and a failed
// secondary lets the primary go on alone; `recover` rebuilds the copy with a full resync. The md driver,
// mdw and the status document report it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MirrorVolume, MirrorRefusedError } from '../../src/mirror/volume.ts';
import { BackendError } from '../../src/nbd/types.ts';
import { MdDriver } from '../../src/drivers/md/driver.ts';
import { MdwMonitorDriver } from '../../src/drivers/md/monitor.ts';
import { FakeSystem, MdWorld } from '../../src/drivers/md/test-support.ts';
import { ResourceError } from '../../src/shared/errors.ts';
import { mirrorStatuses } from '../../src/daemon/mirror-status.ts';
import { renderMirrors } from '../../src/cli/output/text.ts';
import {
  block,
  connected,
  makeSides,
  openPair,
  optionsFor,
  REGION,
  sha,
  tempDir,
  until,
  VOLUME_SIZE,
} from './harness.ts';
import { faultyOpen, noFaults } from './faulty-disk.ts';

const eioError = (err: unknown): boolean => err instanceof BackendError && err.errno === 'EIO';

/** Promotes `v`, retrying while the peer still counts as primary (its demotion's meta is on the way). */
async function promoteWhenPeerDemoted(v: MirrorVolume) {
  for (let i = 0; ; i++) {
    try {
      return await v.promote();
    } catch (err) {
      if (!(err instanceof MirrorRefusedError && err.code === 'MD_TWO_PRIMARIES') || i > 200) throw err;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

test('primary disk failure: writes fail with EIO, the copy is Failed (persisted, never activated); the peer takes over; recover rebuilds it in full', async () => {
  const { dir, cleanup } = await tempDir();
  const sides = await makeSides(dir);
  const faults = noFaults();
  const pair = await openPair(sides, [{ openData: faultyOpen(faults) }, {}]);
  let a = pair[0];
  const b = pair[1];
  try {
    await until('connected', () => connected(a) && connected(b));
    const dev = await a.promote();
    await dev.write(0, block(1), false);
    faults.write = true;
    await assert.rejects(dev.write(REGION, block(2), false), eioError);
    await until('failed', () => a.status().local === 'Failed');
    // The disk would work again: writes still fail, the copy is not trusted any more.
    faults.write = false;
    await assert.rejects(dev.write(2 * REGION, block(3), false), (err: unknown) => {
      return eioError(err) && /The local disk of the copy failed/.test((err as Error).message);
    });
    const f = a.status().diskFailure;
    assert.ok(f !== null);
    assert.equal(f.code, 'MD_DISK_FAILED');
    assert.match(f.message, /^Volume md1: .*write on the data partition .* of node-a failed: EIO/);
    assert.ok(f.message.includes(sides[0].dataPath), 'names the data partition');
    assert.match(
      f.remedy,
      /Replace or repair the data partition .* on node-a, then run `tandem md recover md1` on node-a/,
    );
    assert.equal(a.status().flags.diskFailed, true);
    await until('node-b told', () => b.status().peer === 'Failed');
    assert.equal(b.status().local, 'UpToDate', 'the peer holds every acknowledged write');
    assert.deepEqual(
      [a.status().connection.kind, b.status().connection.kind],
      ['Refused', 'Refused'],
      'the link stays up, nothing is mirrored',
    );
    await assert.rejects(
      a.promote({ force: true }),
      (err: unknown) => err instanceof MirrorRefusedError && err.code === 'MD_DISK_FAILED',
    );

    // Failover: the failed copy is deactivated, the peer's is activated without force and written.
    await a.demote();
    const devB = await promoteWhenPeerDemoted(b);
    await devB.write(5 * REGION, block(5), false);

    // node-a's daemon restarts (disk repaired meanwhile): the failure is remembered, not forgotten.
    await a.close();
    a = await MirrorVolume.open(optionsFor(sides[0], sides[1]));
    assert.equal(a.status().local, 'Failed');
    assert.match(
      a.status().diskFailure?.message ?? '',
      /recorded in its metadata before the daemon restarted/,
    );
    await assert.rejects(
      a.promote({ force: true }),
      (err: unknown) => err instanceof MirrorRefusedError && err.code === 'MD_DISK_FAILED',
    );
    // recover (no --source) on the repaired copy: rebuilt by a full resync from node-b.
    await a.recover('auto');
    await until('rebuilt', () => connected(a) && connected(b) && a.status().local === 'UpToDate', 10_000);
    assert.equal(b.status().resyncBytesSent, VOLUME_SIZE, 'a full resync');
    await devB.flush();
    assert.equal(await sha(sides[0].dataPath), await sha(sides[1].dataPath));
    assert.equal(a.status().flags.diskFailed, false);
  } finally {
    await a.close();
    await b.close();
    await cleanup();
  }
});

test('secondary disk failure: the primary marks the peer outdated and goes on alone (no reconnect loop); recover rebuilds it', async () => {
  const { dir, cleanup } = await tempDir();
  const sides = await makeSides(dir);
  const faults = noFaults();
  const [a, b] = await openPair(sides, [{}, { openData: faultyOpen(faults) }]);
  try {
    await until('connected', () => connected(a) && connected(b));
    const dev = await a.promote();
    await dev.write(0, block(1), true);
    faults.write = true;
    // The write the secondary fails completes on the primary alone (its region stays dirty).
    await dev.write(REGION, block(2), false);
    assert.equal(b.status().local, 'Failed');
    assert.equal(a.status().peer, 'Failed');
    assert.deepEqual(a.status().connection, {
      kind: 'Refused',
      code: 'MD_PEER_DISK_FAILED',
      why: 'the data partition of the copy on node-b failed',
    });
    assert.equal(a.status().flags.peerOutdated, true, 'persisted: the peer lacks writes');
    assert.equal(a.status().local, 'UpToDate');
    // Alone, writes go on and are marked dirty; the link is not dropped and redialed in a loop.
    const closes = (): number =>
      sides[0].log.lines.filter((l) => l.msg === 'mirror connection closed').length;
    const before = closes();
    for (const r of [7, 8, 30]) await dev.write(r * REGION, block(r), true);
    assert.ok(a.status().dirtyBytes >= 4 * REGION);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(closes(), before);
    assert.equal(a.status().connection.kind, 'Refused');

    // node-b's disk is replaced; recover without --source on the primary rebuilds node-b in full.
    faults.write = false;
    await a.recover('auto');
    await until('rebuilt', () => connected(a) && connected(b) && b.status().local === 'UpToDate', 10_000);
    assert.equal(a.status().resyncBytesSent, VOLUME_SIZE);
    await dev.flush();
    assert.equal(await sha(sides[0].dataPath), await sha(sides[1].dataPath));
    await dev.write(40 * REGION, block(40), true);
    assert.equal(await sha(sides[0].dataPath), await sha(sides[1].dataPath), 'mirrored again');
  } finally {
    await a.close();
    await b.close();
    await cleanup();
  }
});

test('a failed disk: mdw reports an error (2) with the engine code, the peer a warning, start is refused (14), status shows it', async () => {
  const w = await MdWorld.create('        initialSync: skip\n');
  const faults = noFaults();
  try {
    const d = new MdDriver({ system: new FakeSystem() });
    const mdw = new MdwMonitorDriver();
    await w.open('node-1');
    const h2 = await w.open('node-2', { openData: faultyOpen(faults) });
    await d.start(w.md1, { event: 'START', failoverFrom: null }, w.ctx('node-1'));
    const v1 = w.hosts.get('node-1')!.volume('md1')!;
    const v2 = h2.volume('md1')!;
    await until('in sync', () => v1.status().connection.kind === 'Connected');
    // node-2's disk fails while taking a mirrored write (node-1 serves; written through its engine).
    faults.write = true;
    faults.sync = true;
    const active = await v1.promote();
    await active.write(0, block(9), true);
    await until('failed', () => v2.status().local === 'Failed');

    const onFailed = await mdw.check(w.monitor('mdw'), w.ctx('node-2'));
    assert.equal(onFailed.result, 'failed');
    assert.equal(onFailed.code, 2);
    assert.match(
      onFailed.message ?? '',
      /The local disk of the volume failed\. Volume md1: .*\[MD_DISK_FAILED\] Remedy: /,
    );
    const onActive = await mdw.check(w.monitor('mdw'), w.ctx('node-1'));
    assert.equal(onActive.result, 'degraded');
    assert.equal(onActive.code, 10);
    assert.match(
      onActive.message ?? '',
      /the disk of the copy on node-2 failed; the copy on node-1 is UpToDate and goes on alone/,
    );

    // The failed copy is never activated: the md resource fails to start there with code 14.
    await d.stop(w.md1, { event: 'STOP', failoverFrom: null } as never, w.ctx('node-1'));
    const err = await d
      .start(w.md1, { event: 'START', failoverFrom: null }, w.ctx('node-2'))
      .catch((e: unknown) => e);
    assert.ok(err instanceof ResourceError);
    assert.equal(err.code, 14);
    assert.match(err.message, /\[MD_DISK_FAILED\]/);

    // Status document and CLI text.
    const rows = mirrorStatuses(h2, w.config, 'node-2');
    assert.equal(rows[0]?.diskFailure?.code, 'MD_DISK_FAILED');
    assert.equal(rows[0]?.local, 'Failed');
    const text = renderMirrors({ mirrors: rows });
    assert.match(
      text,
      /^md1: DiskFailed {2}node-2 secondary Failed, node-1 \w+, MD_DISK_FAILED: Volume md1: /,
    );
    assert.match(
      text,
      /Remedy: Replace or repair the data partition .* then run `tandem md recover md1` on node-2/,
    );
  } finally {
    await w.close();
  }
});
