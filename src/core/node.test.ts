import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterNode, decide, renderPlan } from './node.ts';
import { testConfig, testReport } from './test-support.ts';
import type { Ready } from './types.ts';

const config = testConfig();

function node(
  persisted: ConstructorParameters<typeof ClusterNode>[0]['persisted'] = null,
  now = 0,
): ClusterNode {
  return new ClusterNode({ config, self: 'node-1', incarnation: 'node-1#1', nowMs: now, persisted });
}

test('startup: the service starts, every resource is probed, NP checked, a report sent, a wake-up asked', () => {
  const r = node().ready();
  assert.equal(r.send?.service, 'starting');
  assert.equal(r.send?.seq, 1);
  assert.deepEqual(
    r.actions.map((a) => (a.kind === 'resource' ? `${a.verb}:${a.resource}` : a.kind)),
    ['probe:exec1', 'probe:exec2', 'np-check'],
  );
  assert.deepEqual(
    r.alerts.map((a) => a.code),
    ['CLUSTER_SERVICE_STARTING'],
  );
  assert.equal(r.wakeAtMs, 1000);
  assert.equal(r.persist, null);
});

test('startup with the service persisted as stopped: no probes, the report says stopped', () => {
  const r = node({ serviceWanted: 'stopped', failedGroups: {} }).ready();
  assert.equal(r.send?.service, 'stopped');
  assert.deepEqual(r.actions, []);
});

test('heartbeats: every interval, at once when the content changes, never for echoes alone', () => {
  const n = node();
  n.ready();
  const peer = testReport(config, 'node-2', { incarnation: 'node-2#1' });
  n.step({ type: 'heartbeat', via: 'lan1', report: peer }, 10);
  const r1 = n.ready();
  assert.equal(r1.send?.seq, 2, 'a new peer incarnation is news');
  assert.deepEqual(r1.send?.echo['node-2'], { incarnation: 'node-2#1', sentAtMs: 0 });
  n.step({ type: 'heartbeat', via: 'lan1', report: { ...peer, seq: 2, sentAtMs: 500 } }, 500);
  assert.equal(n.ready().send, null, 'only the echo changed');
  n.step({ type: 'tick' }, 1010);
  const r2 = n.ready();
  assert.equal(r2.send?.seq, 3);
  assert.equal(r2.send?.echo['node-2']?.sentAtMs, 500);
});

test('a failover mark is persisted, and restored on the next start', () => {
  const n = node({ serviceWanted: 'running', failedGroups: { failover1: ['node-1'] } });
  assert.deepEqual(n.ready().send?.failedGroups, ['failover1']);
  n.step({ type: 'operator', requestId: 'r1', request: { op: 'group-reset', group: 'failover1' } }, 5);
  const r = n.ready();
  assert.deepEqual(r.persist, { serviceWanted: 'running', failedGroups: {}, resetEpochs: { failover1: 1 } });
  assert.deepEqual(r.send?.resetEpochs, { failover1: 1 });
  assert.equal(r.replies[0]?.ok, true);
});

test('cluster stop by SIGTERM (daemonShutdown) does not persist the service as stopped; by the operator it does', () => {
  const cases = [
    { daemonShutdown: true, persist: null },
    { daemonShutdown: false, persist: { serviceWanted: 'stopped', failedGroups: {} } },
  ];
  for (const c of cases) {
    const n = node();
    n.ready();
    n.step(
      { type: 'operator', requestId: 'r', request: { op: 'cluster-stop', daemonShutdown: c.daemonShutdown } },
      1,
    );
    const r: Ready = n.ready();
    assert.deepEqual(r.persist, c.persist);
    assert.equal(r.send?.service, 'stopped');
    assert.deepEqual(
      r.replies.map((x) => x.ok),
      [true],
    );
  }
});

test('routeFor: group operations go to the owner, starts to the target, the rest stay here', () => {
  const n = node();
  n.ready();
  const online = testReport(config, 'node-2', { groups: { failover1: { state: 'online', claim: 1 } } });
  n.step({ type: 'heartbeat', via: 'lan1', report: online }, 10);
  assert.equal(n.routeFor({ op: 'group-stop', group: 'failover1' }, 10), 'node-2');
  assert.equal(n.routeFor({ op: 'group-move', group: 'failover1', to: 'node-1' }, 10), 'node-2');
  assert.equal(n.routeFor({ op: 'resource-stop', resource: 'exec2' }, 10), 'node-2');
  assert.equal(n.routeFor({ op: 'group-start', group: 'failover1', server: 'node-1' }, 10), 'node-1');
  assert.equal(n.routeFor({ op: 'monitor-suspend' }, 10), 'node-1');
});

test('renderPlan and decide: the plan of a node, with dependencies and waits', () => {
  const n = node();
  n.ready();
  assert.equal(
    renderPlan(n.plan(0)),
    [
      'Plan for node-1:',
      '  1. probe exec1 on node-1 (failover1) [running] -- startup probe: nothing is decided for the group before',
      '  2. probe exec2 on node-1 (failover1) [running] -- startup probe: nothing is decided for the group before',
      '  3. finish the sync wait on node-1 [waiting: node-2 to be heard, at most until 30000 ms] -- cluster service starting',
    ].join('\n'),
  );
  assert.equal(renderPlan({ server: 'x', steps: [] }), 'Plan for x: nothing to do');
  assert.equal(
    renderPlan({
      server: 'node-2',
      steps: [
        {
          id: '1',
          text: 'start exec1 on node-2 (failover1)',
          reason: 'failover from node-1: heartbeat lost',
          dependsOn: [],
          status: 'ready',
        },
        {
          id: '2',
          text: 'start exec2 on node-2 (failover1)',
          reason: 'depends on exec1',
          dependsOn: ['1'],
          status: 'waiting',
        },
      ],
    }),
    'Plan for node-2:\n  1. start exec1 on node-2 (failover1) -- failover from node-1: heartbeat lost\n  2. start exec2 on node-2 (failover1) [waiting] -- after 1; depends on exec1',
  );
  assert.equal(typeof decide, 'function');
});

test('view: status of a lone server during its sync wait', () => {
  const n = node();
  n.ready();
  const st = n.view(5).status;
  assert.equal(st.cluster.state, 'degraded');
  assert.deepEqual(
    st.servers.map((s) => [s.name, s.state, s.local]),
    [
      ['node-1', 'online', true],
      ['node-2', 'unknown', false],
    ],
  );
  assert.deepEqual(
    st.groups.map((g) => [g.name, g.state, g.server]),
    [['failover1', 'offline', null]],
  );
});

test('decide is pure: same snapshot, same plan, snapshot untouched', () => {
  const n = node();
  n.ready();
  n.step({ type: 'heartbeat', via: 'lan1', report: testReport(config, 'node-2') }, 10);
  n.ready();
  const snap = n.snapshot();
  const before = JSON.stringify({ ...snap, ix: null });
  const a = renderPlan(decide(snap, 20));
  const b = renderPlan(decide(snap, 20));
  assert.equal(a, b);
  assert.equal(JSON.stringify({ ...snap, ix: null }), before);
});
