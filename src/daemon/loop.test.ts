// Tests of the daemon loop with a scripted core and a virtual clock: persist strictly before send, one event
// at a time in arrival order, the single wake-up timer, operator replies and timeouts, alerts, the decision
// log, persist failure and disposal without leaked timers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Action } from '../core/types.ts';
import { RecordingLogger } from '../adapters/recording-logger.ts';
import { FakeClock } from '../../test/fakes/fake-clock.ts';
import {
  emptyReady,
  FakeNode,
  ManualStore,
  MemoryAlertLog,
  RecordingTransport,
  report,
} from '../../test/daemon-fakes/fake-node.ts';
import { DecisionLog } from './decision-log.ts';
import { DaemonLoop } from './loop.ts';

/** Let every pending promise callback run (the loop's awaits), without moving the virtual clock. */
const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

const PERSIST = { serviceWanted: 'running' as const, failedGroups: {} };

function rig(opts: { decisionDir?: string } = {}) {
  const trace: string[] = [];
  const clock = new FakeClock(1_000);
  const node = new FakeNode(trace);
  const store = new ManualStore(trace);
  const transport = new RecordingTransport(trace);
  const alertLog = new MemoryAlertLog();
  const logger = new RecordingLogger();
  const dispatched: Action[] = [];
  const fatal: unknown[] = [];
  const decisionLog = opts.decisionDir
    ? new DecisionLog({ dir: opts.decisionDir, maxFiles: 3, wallMs: () => clock.wallMs(), logger })
    : null;
  const loop = new DaemonLoop({
    server: 'node-1',
    configHash: 'test-hash',
    node,
    clock,
    store,
    transport,
    alertLog,
    logger,
    decisionLog,
    decisionSnapshot: () => ({ stepsSeen: node.steps.length }),
    renderPlan: (p) => p.steps.map((s) => s.text).join('\n'),
    dispatch: (a) => {
      dispatched.push(a);
      trace.push(`dispatch:${a.id}`);
    },
    onFatal: (e) => fatal.push(e),
  });
  return { trace, clock, node, store, transport, alertLog, logger, dispatched, fatal, loop, decisionLog };
}

const monitorAction = (id: string): Action => ({
  kind: 'monitor',
  id,
  reason: 'interval',
  monitor: 'custom1',
  timeoutMs: 1000,
});

void test('persists before it sends, and handles events strictly one at a time in arrival order', async () => {
  const r = rig();
  r.node.readies.push(
    emptyReady({ persist: PERSIST, send: report('node-1', { seq: 1 }), actions: [monitorAction('a1')] }),
    emptyReady({ send: report('node-1', { seq: 2 }) }),
  );
  r.loop.enqueue({ type: 'heartbeat', via: 'lan1', report: report('node-2') });
  r.loop.enqueue({ type: 'tick' });
  // The first event is stepped; its persist is pending; nothing was sent and the tick waits.
  await Promise.resolve();
  assert.deepEqual(r.trace, ['step:heartbeat', 'persist:start']);
  assert.equal(r.transport.sent.length, 0);
  r.store.complete();
  await r.loop.idle();
  assert.deepEqual(r.trace, [
    'step:heartbeat',
    'persist:start',
    'persist:done',
    'send:1',
    'dispatch:a1',
    'step:tick',
    'send:2',
  ]);
  assert.equal(r.loop.lastSent()?.seq, 2);
  await r.loop.dispose();
});

void test('start() carries out the Ready of construction without stepping', async () => {
  const r = rig();
  r.node.readies.push(emptyReady({ send: report('node-1'), actions: [monitorAction('probe1')] }));
  r.loop.start();
  await r.loop.idle();
  assert.deepEqual(r.trace, ['send:1', 'dispatch:probe1']);
  await r.loop.dispose();
});

void test('one wake-up timer: armed at wakeAtMs, re-armed when it changes, a tick when it fires', async () => {
  const r = rig();
  r.node.readies.push(
    emptyReady({ wakeAtMs: 1_500 }),
    emptyReady({ wakeAtMs: 1_200 }),
    emptyReady({ wakeAtMs: 1_200 }),
  );
  r.loop.start();
  await r.loop.idle();
  r.loop.enqueue({ type: 'np-result', target: 'np1', ok: true, sentAtMs: 1_000 });
  await r.loop.idle();
  r.loop.enqueue({ type: 'np-result', target: 'np1', ok: true, sentAtMs: 1_000 });
  await r.loop.idle();
  assert.equal(r.clock.pendingTimers(), 1);
  r.clock.runUntil(1_199);
  assert.equal(r.node.steps.length, 2);
  r.clock.runUntil(1_200);
  await r.loop.idle();
  assert.deepEqual(
    r.node.steps.map((s) => [s.event.type, s.nowMs]),
    [
      ['np-result', 1_000],
      ['np-result', 1_000],
      ['tick', 1_200],
    ],
  );
  // The last Ready (default) has no wake-up: no timer is left.
  assert.equal(r.clock.pendingTimers(), 0);
  await r.loop.dispose();
});

void test('operator requests resolve with the reply of the same request id, or TIMEOUT', async () => {
  const r = rig();
  r.node.onStep = (e) => {
    if (e.type === 'operator' && e.request.op === 'group-move') {
      r.node.readies.push(
        emptyReady({
          replies: [
            { requestId: 'someone-else', ok: true, message: 'not ours' },
            { requestId: e.requestId, ok: true, message: 'moved failover1 to node-2' },
          ],
        }),
      );
    }
  };
  const moved = await r.loop.request({ op: 'group-move', group: 'failover1', to: 'node-2' }, 5_000);
  assert.equal(moved.ok, true);
  assert.equal(moved.message, 'moved failover1 to node-2');
  const p = r.loop.request({ op: 'group-stop', group: 'failover1' }, 5_000);
  await r.loop.idle();
  r.clock.advance(5_000);
  const t = await p;
  assert.equal(t.ok, false);
  assert.equal(t.code, 'TIMEOUT');
  assert.equal(t.object, 'failover1');
  assert.equal(r.clock.pendingTimers(), 0);
  await r.loop.dispose();
});

void test('alerts go to the alert log with server and wall time, and to the log with object fields', async () => {
  const r = rig();
  r.node.readies.push(
    emptyReady({
      alerts: [
        {
          level: 'info',
          objectKind: 'group',
          object: 'failover1',
          code: 'GROUP_ONLINE',
          message: 'Group failover1 is online.',
        },
        {
          level: 'warning',
          objectKind: 'server',
          object: 'node-2',
          code: 'HEARTBEAT_LOST',
          message: 'node-2 lost',
        },
      ],
      diagnostics: [{ level: 'debug', msg: 'placement', fields: { group: 'failover1' } }],
    }),
  );
  r.loop.start();
  await r.loop.idle();
  assert.deepEqual(
    r.alertLog.records.map((a) => [a.server, a.time, a.level, a.objectKind, a.object, a.code]),
    [
      ['node-1', r.clock.wallMs(), 'info', 'group', 'failover1', 'GROUP_ONLINE'],
      ['node-1', r.clock.wallMs(), 'warning', 'server', 'node-2', 'HEARTBEAT_LOST'],
    ],
  );
  const info = r.logger.lines.find((l) => l.msg === 'Group failover1 is online.');
  assert.equal(info?.level, 'info');
  assert.equal(info?.fields.group, 'failover1');
  assert.equal(r.logger.lines.find((l) => l.msg === 'node-2 lost')?.fields.peer, 'node-2');
  assert.equal(r.logger.lines.find((l) => l.msg === 'placement')?.level, 'debug');
  await r.loop.dispose();
});

void test('a persist that keeps failing stops the loop before anything is sent', async () => {
  const r = rig();
  r.store.failWith = new Error('ENOSPC');
  r.node.readies.push(
    emptyReady({ persist: PERSIST, send: report('node-1'), actions: [monitorAction('a1')] }),
  );
  r.loop.start();
  await flush();
  r.clock.advance(100);
  await flush();
  r.clock.advance(500);
  await r.loop.idle();
  assert.equal(r.fatal.length, 1);
  assert.deepEqual(r.transport.sent, []);
  assert.deepEqual(r.dispatched, []);
  assert.equal(r.trace.filter((t) => t === 'persist:start').length, 3);
  // Nothing is taken any more.
  r.loop.enqueue({ type: 'tick' });
  await r.loop.idle();
  assert.equal(r.node.steps.length, 0);
  await r.loop.dispose();
});

void test('dispose answers pending requests and leaves no timers', async () => {
  const r = rig();
  r.node.readies.push(emptyReady({ wakeAtMs: 10_000 }));
  r.loop.start();
  const p = r.loop.request({ op: 'cluster-stop' }, 60_000);
  const w = r.loop.waitForReport((x) => x.service === 'stopped', 60_000);
  await r.loop.idle();
  await r.loop.dispose();
  assert.equal((await p).code, 'SERVER_UNAVAILABLE');
  assert.equal(await w, null);
  assert.equal(r.clock.pendingTimers(), 0);
  r.loop.enqueue({ type: 'tick' });
  assert.equal((await r.loop.request({ op: 'cluster-start' }, 1)).ok, false);
});

void test('waitForReport resolves on the first matching broadcast', async () => {
  const r = rig();
  const w = r.loop.waitForReport((x) => x.service === 'stopped', 60_000);
  r.node.readies.push(emptyReady({ send: report('node-1', { service: 'stopping', seq: 1 }) }));
  r.node.readies.push(emptyReady({ send: report('node-1', { service: 'stopped', seq: 2 }) }));
  r.loop.start();
  r.loop.enqueue({ type: 'tick' });
  assert.equal((await w)?.seq, 2);
  // Already sent: resolves at once.
  assert.equal((await r.loop.waitForReport((x) => x.service === 'stopped', 1))?.seq, 2);
  await r.loop.dispose();
});

void test('decision inputs are saved when there were actions, deduplicated, in a bounded ring', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-dec-'));
  try {
    const r = rig({ decisionDir: dir });
    for (let i = 0; i < 6; i++) {
      // Two identical decisions (same event and actions apart from ids), then distinct ones.
      const target = i < 2 ? 'np1' : `np${i}`;
      r.node.readies.push(emptyReady({ actions: [monitorAction(`a${i}`)] }));
      r.loop.enqueue({ type: 'np-result', target, ok: true, sentAtMs: i });
    }
    await r.loop.idle();
    await r.decisionLog!.flush();
    const files = readdirSync(dir).sort();
    assert.equal(files.length, 3, files.join(' '));
    assert.match(files[0]!, /^decision-00000003-[0-9a-f]{16}\.json$/);
    // The core snapshot is saved for replay but does not make otherwise equal decisions distinct.
    const saved = JSON.parse(readFileSync(join(dir, files[2]!), 'utf8'));
    assert.deepEqual(saved.extra, { snapshot: { stepsSeen: 6 } });
    assert.equal(saved.event.target, 'np5');
    assert.equal(typeof saved.time, 'string');
    await r.loop.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
