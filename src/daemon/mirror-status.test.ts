import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MirrorHost } from '../mirror/host.ts';
import { MirrorRefusedError, type MirrorStatus, type MirrorVolume } from '../mirror/volume.ts';
import type { CompiledConfig, CompiledResource } from '../shared/config/types.ts';
import { mirrorOperation, mirrorStatuses } from './mirror-status.ts';

const md = (name: string): CompiledResource =>
  ({
    name,
    type: 'md',
    params: { peer: null },
    perServer: { 'node-1': { peer: 'node-2' }, 'node-2': { peer: 'node-1' } },
  }) as unknown as CompiledResource;
const config = { resources: [md('md1'), md('md2')] } as unknown as CompiledConfig;

function fakeVolume(calls: string[], refuse = false, over: Partial<MirrorStatus> = {}): MirrorVolume {
  const status = {
    name: 'md1',
    role: 'primary',
    local: 'UpToDate',
    peer: 'Outdated',
    connection: { kind: 'Resyncing', direction: 'to-peer', full: false },
    dirtyBytes: 65_536,
    resync: { doneBytes: 1, totalBytes: 2, rateBytesPerSec: 3, etaSec: null },
    asyncQueueDepth: 0,
    diskFailure: null,
    recoveryPending: null,
    ...over,
  } as unknown as MirrorStatus;
  return {
    status: () => status,
    break: () => (calls.push('break'), Promise.resolve({ peerOutdated: true })),
    recover: (source: string) => {
      calls.push(`recover ${source}`);
      if (refuse)
        return Promise.reject(
          new MirrorRefusedError({ code: 'MD_RECOVER_ACTIVE_VICTIM', message: 'm', remedy: 'r' } as never),
        );
      return Promise.resolve();
    },
  } as unknown as MirrorVolume;
}

function host(v: MirrorVolume | null, forced: string[] = []): MirrorHost {
  return {
    volume: (name) => (name === 'md1' ? v : null),
    openError: (name) =>
      name === 'md2'
        ? { code: 'MD_META_CORRUPT', message: 'both slots damaged', remedy: 'restore it' }
        : null,
    statuses: () => [],
    allowForce: (name) => void forced.push(name),
    takeForce: () => false,
    close: () => Promise.resolve(),
  };
}

test('statuses: the engine state of each local copy, and the open error of a copy that is not open', () => {
  const s = mirrorStatuses(host(fakeVolume([])), config, 'node-1');
  assert.equal(s.length, 2);
  assert.deepEqual(
    { ...s[0], resync: s[0]?.resync },
    {
      name: 'md1',
      server: 'node-1',
      peerServer: 'node-2',
      role: 'primary',
      local: 'UpToDate',
      peer: 'Outdated',
      connection: 'Resyncing to-peer',
      dirtyBytes: 65_536,
      resync: { doneBytes: 1, totalBytes: 2, rateBytesPerSec: 3, etaSec: null },
      asyncQueueDepth: 0,
      error: null,
      diskFailure: null,
      recoveryPending: null,
    },
  );
  assert.equal(s[1]?.error?.code, 'MD_META_CORRUPT');
  assert.deepEqual(mirrorStatuses(null, config, 'node-3'), [], 'a server outside the mirror holds no copy');
});

test('break and recover act on the local copy; recover maps the source server to local or peer', async () => {
  const calls: string[] = [];
  const h = host(fakeVolume(calls));
  const brk = await mirrorOperation(h, config, 'node-1', { action: 'break', name: 'md1' });
  assert.equal(brk.ok, true);
  assert.match(brk.message, /The copy on node-2 is marked outdated/);
  assert.equal(
    (await mirrorOperation(h, config, 'node-1', { action: 'recover', name: 'md1', source: 'node-1' })).ok,
    true,
  );
  await mirrorOperation(h, config, 'node-1', { action: 'recover', name: 'md1', source: 'node-2' });
  // Without --source: the direction the generations say.
  const auto = await mirrorOperation(h, config, 'node-1', { action: 'recover', name: 'md1' });
  assert.equal(auto.ok, true);
  assert.match(auto.message, /the copy the generations say is newer is the source/);
  assert.deepEqual(calls, ['break', 'recover local', 'recover peer', 'recover auto']);
});

test('statuses: a failed disk and a pending recovery are shown with their reason and remedy', () => {
  const failure = {
    code: 'MD_DISK_FAILED' as const,
    message:
      'Volume md1: The local disk of the copy failed (write on the data partition /d of node-1 failed: EIO)',
    remedy: 'Replace or repair the data partition /d on node-1, then run `tandem md recover md1` on node-1',
  };
  const failed = mirrorStatuses(
    host(
      fakeVolume([], false, {
        local: 'Failed',
        peer: 'UpToDate',
        connection: { kind: 'Refused', code: 'MD_DISK_FAILED', why: 'write failed: EIO' },
        resync: null,
        diskFailure: failure,
      }),
    ),
    config,
    'node-1',
  )[0];
  // Failed in the document too, and diskFailure says why.
  assert.equal(failed?.local, 'Failed');
  assert.deepEqual(failed?.diskFailure, failure);
  assert.equal(failed?.connection, 'Refused: MD_DISK_FAILED: write failed: EIO');
  const pending = mirrorStatuses(
    host(
      fakeVolume([], false, {
        local: 'Outdated',
        connection: { kind: 'RecoveryPending', direction: 'from-peer', full: false, why: 'peer newer' },
        resync: null,
        recoveryPending: {
          direction: 'from-peer',
          full: false,
          why: 'peer newer',
          command: 'tandem md recover md1',
        },
      }),
    ),
    config,
    'node-1',
  )[0];
  assert.equal(pending?.connection, 'RecoveryPending from-peer: peer newer');
  assert.equal(pending?.recoveryPending?.command, 'tandem md recover md1');
  assert.equal(pending?.local, 'Outdated');
});

test('refusals name the object, the reason and the remedy', async () => {
  const h = host(fakeVolume([], true));
  const badSource = await mirrorOperation(h, config, 'node-1', {
    action: 'recover',
    name: 'md1',
    source: 'node-3',
  });
  assert.equal(badSource.code, 'INVALID_REQUEST');
  assert.match(badSource.message, /--source must name node-1 or node-2 \(the copy that wins\), not node-3/);
  const unknown = await mirrorOperation(h, config, 'node-1', { action: 'break', name: 'md9' });
  assert.equal(unknown.code, 'NOT_FOUND');
  assert.match(unknown.remedy ?? '', /md1, md2/);
  const notOpen = await mirrorOperation(h, config, 'node-1', { action: 'break', name: 'md2' });
  assert.match(notOpen.message, /both slots damaged/);
  const engine = await mirrorOperation(h, config, 'node-1', {
    action: 'recover',
    name: 'md1',
    source: 'node-2',
  });
  assert.equal(engine.ok, false);
  assert.match(engine.message, /MD_RECOVER_ACTIVE_VICTIM/);
});

test('force allows one forced activation of the local copy and says what to run next', async () => {
  const forced: string[] = [];
  const r = await mirrorOperation(host(fakeVolume([]), forced), config, 'node-1', {
    action: 'force',
    name: 'md1',
  });
  assert.equal(r.ok, true);
  assert.deepEqual(forced, ['md1']);
  assert.match(r.message, /tandem group start \S+ --to node-1/);
  assert.match(r.message, /tandem md recover md1 --source node-1/);
});
