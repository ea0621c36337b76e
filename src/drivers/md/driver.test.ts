import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { ResourceError } from '../../shared/errors.ts';
import { tableProblems } from '../messages.ts';
import { MdDriver } from './driver.ts';
import { MD_MESSAGES, MDNW_MESSAGES, MDW_MESSAGES } from './errors.ts';
import { MdnwMonitorDriver, MdwMonitorDriver } from './monitor.ts';
import { FakeSystem, MdWorld, until } from './test-support.ts';

const START = { event: 'START', failoverFrom: null } as const;

function codeOf(err: unknown): number {
  assert.ok(err instanceof ResourceError, String(err));
  return err.code;
}

/** True once something accepts on the unix socket. */
function accepts(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ path });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

test('message tables are well formed', () => {
  for (const t of [MD_MESSAGES, MDW_MESSAGES, MDNW_MESSAGES]) assert.deepEqual(tableProblems(t), []);
});

test('a fresh pair: start waits for the link, serves on the default socket, stop undoes it (idempotent)', async () => {
  const w = await MdWorld.create();
  try {
    const d = new MdDriver({ system: new FakeSystem() });
    const h1 = await w.open('node-1');
    const starting = d.start(w.md1, START, w.ctx('node-1'));
    // The peer's daemon comes up a moment later: the blank copy waits for it instead of failing.
    await new Promise((r) => setTimeout(r, 150));
    await w.open('node-2');
    assert.deepEqual(await starting, { result: 'ok' });
    const sock = join(w.ctx('node-1').stateDir, 'nbd', 'md1.sock');
    assert.equal(statSync(join(w.ctx('node-1').stateDir, 'nbd')).mode & 0o777, 0o700);
    assert.ok(await accepts(sock));
    assert.equal(h1.volume('md1')?.status().role, 'primary');
    assert.deepEqual(await d.monitor(w.md1, w.ctx('node-1')), { result: 'running' });
    assert.deepEqual(await d.monitor(w.md1, w.ctx('node-2')), { result: 'stopped' });
    // Start again: already active, nothing changes.
    assert.deepEqual(await d.start(w.md1, START, w.ctx('node-1')), { result: 'ok' });

    assert.deepEqual(await d.stop(w.md1, START, w.ctx('node-1')), { result: 'ok' });
    assert.equal(h1.volume('md1')?.status().role, 'secondary');
    assert.equal(existsSync(sock), false);
    assert.deepEqual(await d.monitor(w.md1, w.ctx('node-1')), { result: 'stopped' });
    assert.deepEqual(await d.stop(w.md1, START, w.ctx('node-1')), { result: 'ok' });
  } finally {
    await w.close();
  }
});

test('activation refusals carry codes of the md table and show in mdw; mdnw names the peer', async () => {
  const w = await MdWorld.create();
  try {
    const d = new MdDriver({ system: new FakeSystem() });
    const mdw = new MdwMonitorDriver();
    let now = 1_000_000;
    const mdnw = new MdnwMonitorDriver({ now: () => now });
    await w.open('node-2');
    // A blank copy whose peer never comes: not the latest (1), after waiting at most connectTimeout.
    const t0 = Date.now();
    const err = await d.start(w.md1, START, w.ctx('node-2', undefined, 4_000)).catch((e: unknown) => e);
    assert.equal(codeOf(err), 1);
    assert.match((err as Error).message, /not up to date.*node-2.*\[MD_NOT_UP_TO_DATE\].*Remedy:/s);
    assert.ok(Date.now() - t0 < 3_000);
    const r = await mdw.check(w.monitor('mdw'), w.ctx('node-2'));
    assert.equal(r.result, 'failed');
    assert.equal(r.code, 4);
    const n1 = await mdnw.check(w.monitor('mdnw'), w.ctx('node-2'));
    now += 75_000;
    const n2 = await mdnw.check(w.monitor('mdnw'), w.ctx('node-2'));
    assert.equal(n1.code, 1);
    assert.match(
      n2.message ?? '',
      /not connected to node-1 \(mdc 127\.0\.0\.1:\d+\) for at least 1 min 15 s/,
    );

    // node-1 comes up and activates; node-2 is refused while node-1 is active (9), and mdw is normal again.
    await w.open('node-1');
    await d.start(w.md1, START, w.ctx('node-1'));
    await until(
      'in sync',
      () => w.hosts.get('node-2')?.volume('md1')?.status().connection.kind === 'Connected',
    );
    const two = await d.start(w.md1, START, w.ctx('node-2')).catch((e: unknown) => e);
    assert.equal(codeOf(two), 9);
    assert.deepEqual(await mdw.check(w.monitor('mdw'), w.ctx('node-2')), { result: 'running' });
    assert.deepEqual(await mdnw.check(w.monitor('mdnw'), w.ctx('node-2')), { result: 'running' });
    await d.stop(w.md1, START, w.ctx('node-1'));
  } finally {
    await w.close();
  }
});

test('mdw: warning while active without the peer; normal where no copy is held; error when not open', async () => {
  const w = await MdWorld.create('        initialSync: skip\n');
  try {
    const d = new MdDriver({ system: new FakeSystem() });
    const mdw = new MdwMonitorDriver();
    await w.open('node-1');
    await w.open('node-2');
    await d.start(w.md1, START, w.ctx('node-1'));
    // The peer goes away while node-1 is active.
    await w.hosts.get('node-2')?.close();
    w.hosts.delete('node-2');
    const v1 = w.hosts.get('node-1')?.volume('md1');
    await until('node-1 alone', () => v1?.status().connection.kind === 'Disconnected');
    const r = await mdw.check(w.monitor('mdw'), w.ctx('node-1'));
    assert.equal(r.result, 'degraded');
    assert.equal(r.code, 8);
    assert.match(r.message ?? '', /md1 is active on node-1 while node-2 is not connected/);
    assert.deepEqual(await mdw.check(w.monitor('mdw'), w.ctx('node-3', null)), { result: 'running' });
    const bad = await mdw.check(w.monitor('mdw'), w.ctx('node-2', w.failedHost()));
    assert.equal(bad.result, 'failed');
    assert.equal(bad.code, 1);
    assert.match(bad.message ?? '', /MD_META_CORRUPT/);
    const start = await d.start(w.md1, START, w.ctx('node-2', w.failedHost())).catch((e: unknown) => e);
    assert.equal(codeOf(start), 3);
    // A server outside the pair holds no copy: starting there is a parameter error.
    const third = await d.start(w.md1, START, w.ctx('node-3', null)).catch((e: unknown) => e);
    assert.equal(codeOf(third), 8);
    await d.stop(w.md1, { ...START, hard: true }, w.ctx('node-1'));
    assert.equal(w.hosts.get('node-1')?.volume('md1')?.status().role, 'secondary');
  } finally {
    await w.close();
  }
});

test('mount: nbd-client and mount on start; a busy unmount names the processes; then stop completes', async () => {
  const w = await MdWorld.create(
    '        initialSync: skip\n',
    '        mount: { device: /dev/nbd3, path: /mnt/md1, fsType: ext4, options: noatime }\n',
  );
  try {
    const sys = new FakeSystem();
    const d = new MdDriver({ system: sys });
    await w.open('node-1');
    await w.open('node-2');
    await d.start(w.md1, START, w.ctx('node-1'));
    const sock = join(w.ctx('node-1').stateDir, 'nbd', 'md1.sock');
    assert.deepEqual(sys.runs, [
      `nbd-client -unix ${sock} /dev/nbd3 -N md1`,
      'mount -t ext4 -o noatime /dev/nbd3 /mnt/md1',
    ]);
    sys.runs.length = 0;
    sys.answer = (program) =>
      program === 'umount'
        ? {
            kind: 'failed',
            status: 32,
            stdout: '',
            stderr: 'umount: /mnt/md1: target is busy.',
            detail: 'exited with status 32',
          }
        : program === 'fuser'
          ? {
              kind: 'ok',
              stdout: '',
              stderr:
                '                     USER        PID ACCESS COMMAND\n/mnt/md1:            app        4242 ..c.. postgres\n',
            }
          : { kind: 'ok', stdout: '', stderr: '' };
    const busy = await d.stop(w.md1, START, w.ctx('node-1')).catch((e: unknown) => e);
    assert.equal(codeOf(busy), 6);
    assert.match((busy as Error).message, /\/mnt\/md1 is in use by: .*4242.*postgres/);
    assert.equal(w.hosts.get('node-1')?.volume('md1')?.status().role, 'primary', 'still active');
    sys.answer = () => ({ kind: 'ok', stdout: '', stderr: '' });
    sys.runs.length = 0;
    assert.deepEqual(await d.stop(w.md1, START, w.ctx('node-1')), { result: 'ok' });
    assert.deepEqual(sys.runs, ['umount /mnt/md1', 'nbd-client -d /dev/nbd3']);
    assert.equal(w.hosts.get('node-1')?.volume('md1')?.status().role, 'secondary');

    // A failed mount undoes the start; a missing nbd-client is "not installed" (11).
    sys.answer = (program) =>
      program === 'mount'
        ? {
            kind: 'failed',
            status: 32,
            stdout: '',
            stderr: 'mount: wrong fs type',
            detail: 'exited with status 32',
          }
        : { kind: 'ok', stdout: '', stderr: '' };
    const m = await d.start(w.md1, START, w.ctx('node-1')).catch((e: unknown) => e);
    assert.equal(codeOf(m), 5);
    assert.match(
      (m as Error).message,
      /mount -t ext4 -o noatime \/dev\/nbd3 \/mnt\/md1 exited with status 32: mount: wrong fs type/,
    );
    assert.equal(w.hosts.get('node-1')?.volume('md1')?.status().role, 'secondary');
    assert.equal(existsSync(sock), false);
    sys.answer = (program) =>
      program === 'nbd-client'
        ? { kind: 'missing', detail: 'spawn nbd-client ENOENT' }
        : { kind: 'ok', stdout: '', stderr: '' };
    const missing = await d.start(w.md1, START, w.ctx('node-1')).catch((e: unknown) => e);
    assert.equal(codeOf(missing), 11);
  } finally {
    await w.close();
  }
});

test('split brain: an error for mdw on the copy that is not active, a warning on the active one; start refused (2)', async () => {
  const w = await MdWorld.create('        initialSync: skip\n');
  try {
    const d = new MdDriver({ system: new FakeSystem() });
    const mdw = new MdwMonitorDriver();
    const mdnw = new MdnwMonitorDriver();
    await w.open('node-1');
    await w.open('node-2');
    await until(
      'connected',
      () => w.hosts.get('node-1')?.volume('md1')?.status().connection.kind === 'Connected',
    );
    // node-2 goes away; node-1 is activated alone and writes.
    await w.hosts.get('node-2')?.close();
    w.hosts.delete('node-2');
    await d.start(w.md1, START, w.ctx('node-1'));
    const b1 = await w.hosts.get('node-1')!.volume('md1')!.promote();
    await b1.write(0, Buffer.alloc(4096, 1), true);
    await d.stop(w.md1, START, w.ctx('node-1'));
    await w.hosts.get('node-1')?.close();
    w.hosts.delete('node-1');
    // node-2 comes back alone and is forced active (the operator's choice), and writes too.
    const h2 = await w.open('node-2');
    const b2 = await h2.volume('md1')!.promote({ force: true });
    await b2.write(8192, Buffer.alloc(4096, 2), true);
    // They meet again.
    const h1 = await w.open('node-1');
    await until('split brain seen', () => h1.volume('md1')?.status().connection.kind === 'SplitBrain');
    await until(
      'split brain seen by node-2',
      () => h2.volume('md1')?.status().connection.kind === 'SplitBrain',
    );
    const onStandby = await mdw.check(w.monitor('mdw'), w.ctx('node-1'));
    assert.equal(onStandby.result, 'failed');
    assert.equal(onStandby.code, 3);
    const onActive = await mdw.check(w.monitor('mdw'), w.ctx('node-2'));
    assert.equal(onActive.result, 'degraded');
    assert.equal(onActive.code, 103);
    assert.equal((await mdnw.check(w.monitor('mdnw'), w.ctx('node-1'))).code, 2);
    // Refused while node-2 is active (9), and for the split brain itself once it is not (2).
    assert.equal(codeOf(await d.start(w.md1, START, w.ctx('node-1')).catch((e: unknown) => e)), 9);
    await h2.volume('md1')!.demote();
    // node-1 learns of the demotion from node-2's next meta message.
    let sb: unknown = null;
    for (let i = 0; i < 100; i++) {
      sb = await d.start(w.md1, START, w.ctx('node-1')).catch((e: unknown) => e);
      if (codeOf(sb) !== 9) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(codeOf(sb), 2);
    assert.match((sb as Error).message, /tandem md recover md1 --source SERVER|recover/);
  } finally {
    await w.close();
  }
});

test('autoRecovery: false: mdw warns (9) on both servers while the recovery waits; mdnw is normal', async () => {
  const w = await MdWorld.create('        initialSync: skip\n        autoRecovery: false\n');
  try {
    const d = new MdDriver({ system: new FakeSystem() });
    const mdw = new MdwMonitorDriver();
    const mdnw = new MdnwMonitorDriver();
    const h1 = await w.open('node-1');
    await w.open('node-2');
    await d.start(w.md1, START, w.ctx('node-1'));
    const v1 = h1.volume('md1')!;
    await until('in sync', () => v1.status().connection.kind === 'Connected');
    await w.hosts.get('node-2')!.close();
    await until('alone', () => v1.status().connection.kind === 'Disconnected');
    await (await v1.promote()).write(0, Buffer.alloc(4096, 7), false);
    const h2 = await w.open('node-2');
    await until('pending', () => h2.volume('md1')?.status().connection.kind === 'RecoveryPending');
    await until('pending', () => v1.status().connection.kind === 'RecoveryPending');
    const onActive = await mdw.check(w.monitor('mdw'), w.ctx('node-1'));
    assert.equal(onActive.result, 'degraded');
    assert.equal(onActive.code, 9);
    assert.match(onActive.message ?? '', /pending from node-1 to node-2 .*run `tandem md recover md1`/);
    const onStandby = await mdw.check(w.monitor('mdw'), w.ctx('node-2'));
    assert.equal(onStandby.code, 9);
    assert.match(onStandby.message ?? '', /pending from node-1 to node-2/);
    assert.deepEqual(await mdnw.check(w.monitor('mdnw'), w.ctx('node-1')), { result: 'running' });
    await d.stop(w.md1, START, w.ctx('node-1'));
  } finally {
    await w.close();
  }
});
