import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterNode } from '../node.ts';
import { testConfig, testReport } from '../test-support.ts';
import type { Action, AlertEntry, CoreEvent } from '../types.ts';
import type { CompiledConfig } from '../../shared/config/types.ts';

const base = testConfig({ np: false });
const fencing = (delays: [number, number] = [0, 5_000]): CompiledConfig => ({
  ...base,
  fencing: {
    type: 'aws',
    action: 'stop',
    timeoutMs: 60_000,
    checkIntervalMs: 60_000,
    servers: {
      'node-1': { instanceId: 'i-0000000000000001', delayMs: delays[0] },
      'node-2': { instanceId: 'i-0000000000000002', delayMs: delays[1] },
    },
  },
});

/** node-1 hears node-2 running failover1 until t=1000, then nothing: returns what node-1 does over time. */
function run(
  config: CompiledConfig,
  self: 'node-1' | 'node-2',
  onFence: (a: Action, n: ClusterNode, now: number) => void,
  untilMs = 40_000,
): { actions: { at: number; a: Action }[]; alerts: { at: number; a: AlertEntry }[]; node: ClusterNode } {
  const peer = self === 'node-1' ? 'node-2' : 'node-1';
  const n = new ClusterNode({ config, self, incarnation: `${self}#1`, nowMs: 0, persisted: null });
  const actions: { at: number; a: Action }[] = [];
  const alerts: { at: number; a: AlertEntry }[] = [];
  const feed = (e: CoreEvent, now: number): void => {
    n.step(e, now);
    drain(now);
  };
  const drain = (now: number): void => {
    const r = n.ready();
    for (const a of r.alerts) alerts.push({ at: now, a });
    for (const a of r.actions) {
      actions.push({ at: now, a });
      if (a.kind === 'resource' && a.verb === 'probe')
        feed({ type: 'action-done', actionId: a.id, outcome: { exec: 'done', result: 'stopped' } }, now);
      else if (a.kind === 'resource')
        feed({ type: 'action-done', actionId: a.id, outcome: { exec: 'done', result: 'ok' } }, now);
      else if (a.kind === 'fence') onFence(a, n, now);
    }
  };
  drain(0);
  const groups = { failover1: { state: 'online' as const, claim: 1 } };
  for (let t = 10; t <= 1_000; t += 500) {
    const report = testReport(config, peer, { seq: t, sentAtMs: t, groups });
    feed({ type: 'heartbeat', via: 'lan1', report }, t);
  }
  for (let t = 1_100; t <= untilMs; t += 100) feed({ type: 'tick' }, t);
  return { actions, alerts, node: n };
}

const starts = (r: ReturnType<typeof run>): number[] =>
  r.actions.filter((x) => x.a.kind === 'resource' && x.a.verb === 'start').map((x) => x.at);

test('without fencing the group fails over as soon as the peer is down', () => {
  const r = run(base, 'node-1', () => assert.fail('no fencing configured'));
  assert.ok(starts(r).length > 0);
  assert.ok(!r.actions.some((x) => x.a.kind === 'fence'));
});

test('with fencing the survivor stops the peer first and fails over only after the stop succeeded', () => {
  let fencedAt = -1;
  const pending: { id: string; at: number }[] = [];
  const r = run(fencing(), 'node-1', (a, _n, now) => {
    assert.equal(a.kind === 'fence' && a.server, 'node-2');
    pending.push({ id: a.id, at: now });
  });
  assert.equal(pending.length, 1, 'one forced stop');
  assert.deepEqual(starts(r), [], 'nothing started while the forced stop runs');
  assert.ok(r.alerts.some((x) => x.a.code === 'FENCE_STARTED' && x.a.object === 'node-2'));
  const st = r.node.view(40_000).status.servers.find((s) => s.name === 'node-2');
  assert.equal(st?.fencing?.state, 'fencing');
  assert.match(
    r.node
      .plan(40_000)
      .steps.map((s) => s.waitingFor ?? '')
      .join(' '),
    /forced stop of node-2/,
  );
  // The stop completes: the group starts.
  const p = pending[0]!;
  r.node.step(
    {
      type: 'action-done',
      actionId: p.id,
      outcome: { exec: 'done', result: 'ok', message: 'instance i-0000000000000002 stopped' },
    },
    40_100,
  );
  fencedAt = 40_100;
  const ready = r.node.ready();
  assert.ok(ready.alerts.some((a) => a.code === 'FENCE_DONE'));
  assert.ok(
    ready.actions.some((a) => a.kind === 'resource' && a.verb === 'start'),
    `starts after ${fencedAt}`,
  );
});

test('the fencing delay of the survivor postpones the forced stop', () => {
  const at: number[] = [];
  const r0 = run(fencing([0, 5_000]), 'node-1', (_a, _n, now) => at.push(now));
  const r5 = run(fencing([0, 5_000]), 'node-2', (_a, _n, now) => at.push(now));
  assert.equal(at.length, 2);
  assert.equal(at[1]! - at[0]!, 5_000, 'node-2 waits its 5 s delay longer than node-1');
  assert.ok(r0.alerts.length > 0 && r5.alerts.length > 0);
});

test('a failed forced stop cancels the failover until the operator confirms the server is down', () => {
  const r = run(fencing(), 'node-1', (a, n, now) =>
    n.step(
      {
        type: 'action-done',
        actionId: a.id,
        outcome: { exec: 'done', result: 'failed', code: 1, message: 'UnauthorizedOperation' },
      },
      now,
    ),
  );
  assert.deepEqual(starts(r), [], 'the group stays put');
  const fail =
    r.node.ready().alerts.find((a) => a.code === 'FENCE_FAILED') ??
    r.alerts.find((x) => x.a.code === 'FENCE_FAILED')?.a;
  assert.ok(fail, 'FENCE_FAILED raised');
  assert.match(fail.message, /tandem server confirm-down node-2/);
  assert.equal(r.node.view(40_000).status.servers.find((s) => s.name === 'node-2')?.fencing?.state, 'failed');
  r.node.step(
    { type: 'operator', requestId: 'r1', request: { op: 'confirm-down', server: 'node-2' } },
    40_100,
  );
  const ready = r.node.ready();
  assert.equal(ready.replies[0]?.ok, true);
  assert.ok(ready.actions.some((a) => a.kind === 'resource' && a.verb === 'start'));
});

test('confirm-down is refused for the answering server and for a peer that is heard', () => {
  const n = new ClusterNode({
    config: fencing(),
    self: 'node-1',
    incarnation: 'node-1#1',
    nowMs: 0,
    persisted: null,
  });
  n.step({ type: 'operator', requestId: 'a', request: { op: 'confirm-down', server: 'node-1' } }, 1);
  assert.equal(n.ready().replies[0]?.code, 'INVALID_REQUEST');
  n.step({ type: 'heartbeat', via: 'lan1', report: testReport(base, 'node-2') }, 2);
  n.step({ type: 'operator', requestId: 'b', request: { op: 'confirm-down', server: 'node-2' } }, 3);
  const r = n.ready().replies.find((x) => x.requestId === 'b');
  assert.equal(r?.ok, false);
  assert.match(r?.message ?? '', /heard/);
});
