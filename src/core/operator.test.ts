import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ingestReport } from './membership/peers.ts';
import { handleOperator } from './operator.ts';
import { Out } from './out.ts';
import { testConfig, testReport, testState } from './test-support.ts';
import type { OperatorOp, PeerReport } from './types.ts';

const config = testConfig({ np: false });

function setup(peer: Partial<PeerReport> | null, local?: (s: ReturnType<typeof testState>) => void) {
  const s = testState(config);
  s.nowMs = 100;
  if (peer) ingestReport(s, testReport(config, 'node-2', peer), 100, 'lan1', new Out());
  local?.(s);
  return s;
}

function run(s: ReturnType<typeof testState>, request: OperatorOp) {
  const out = new Out();
  handleOperator(s, 'r1', request, 100, out);
  return out.replies[0] ?? null;
}

const ownLocal = (s: ReturnType<typeof testState>): void => {
  const lg = s.groups.failover1!;
  lg.owner = true;
  lg.goal = 'online';
  for (const r of Object.values(s.resources)) r.state = 'online';
};

test('refusals name the code, the object and a remedy', () => {
  const online = { groups: { failover1: { state: 'online' as const, claim: 1 } } };
  const cases: {
    name: string;
    peer: Partial<PeerReport> | null;
    local?: (s: ReturnType<typeof testState>) => void;
    op: OperatorOp;
    code: string;
    object: string;
  }[] = [
    {
      name: 'unknown group',
      peer: {},
      op: { op: 'group-start', group: 'nope' },
      code: 'NOT_FOUND',
      object: 'nope',
    },
    {
      name: 'start: online elsewhere',
      peer: online,
      op: { op: 'group-start', group: 'failover1' },
      code: 'ALREADY_ONLINE',
      object: 'failover1',
    },
    {
      name: 'start: marked here',
      peer: {},
      local: (s) => (s.marks.failover1 = ['node-1']),
      op: { op: 'group-start', group: 'failover1' },
      code: 'SERVER_NOT_ELIGIBLE',
      object: 'failover1',
    },
    {
      name: 'start: service stopped',
      peer: {},
      local: (s) => (s.service = 'stopped'),
      op: { op: 'group-start', group: 'failover1' },
      code: 'CLUSTER_SERVICE_STOPPED',
      object: 'node-1',
    },
    {
      name: 'start: for another server',
      peer: {},
      op: { op: 'group-start', group: 'failover1', server: 'node-2' },
      code: 'INVALID_REQUEST',
      object: 'failover1',
    },
    {
      name: 'stop: already offline',
      peer: {},
      op: { op: 'group-stop', group: 'failover1' },
      code: 'ALREADY_OFFLINE',
      object: 'failover1',
    },
    {
      name: 'move: not running',
      peer: {},
      op: { op: 'group-move', group: 'failover1' },
      code: 'ALREADY_OFFLINE',
      object: 'failover1',
    },
    {
      name: 'move: to a non-candidate',
      peer: { failedGroups: ['failover1'] },
      local: ownLocal,
      op: { op: 'group-move', group: 'failover1', to: 'node-2' },
      code: 'SERVER_NOT_ELIGIBLE',
      object: 'node-2',
    },
    {
      name: 'move: to itself',
      peer: {},
      local: ownLocal,
      op: { op: 'group-move', group: 'failover1', to: 'node-1' },
      code: 'ALREADY_ONLINE',
      object: 'failover1',
    },
    {
      name: 'move: nobody else',
      peer: { service: 'stopped' },
      local: ownLocal,
      op: { op: 'group-move', group: 'failover1' },
      code: 'SERVER_NOT_ELIGIBLE',
      object: 'failover1',
    },
    {
      name: 'resource start: group not here',
      peer: {},
      op: { op: 'resource-start', resource: 'exec1' },
      code: 'INVALID_REQUEST',
      object: 'exec1',
    },
    {
      name: 'resource start: online',
      peer: {},
      local: ownLocal,
      op: { op: 'resource-start', resource: 'exec1' },
      code: 'ALREADY_ONLINE',
      object: 'exec1',
    },
    {
      name: 'monitor: unknown',
      peer: {},
      op: { op: 'monitor-suspend', monitor: 'nope' },
      code: 'NOT_FOUND',
      object: 'nope',
    },
  ];
  for (const c of cases) {
    const reply = run(setup(c.peer, c.local), c.op);
    assert.ok(reply, c.name);
    assert.deepEqual([reply.ok, reply.code, reply.object], [false, c.code, c.object], c.name);
    assert.ok(reply.remedy && reply.remedy.length > 0, `${c.name}: remedy`);
  }
});

test('accepted long operations reply later; immediate ones at once', () => {
  const s = setup({});
  assert.equal(run(s, { op: 'group-start', group: 'failover1' }), null);
  assert.equal(s.pendingReplies.length, 1);
  assert.equal(s.groups.failover1?.need?.operator, true);
  const m = setup({});
  assert.equal(run(m, { op: 'monitor-suspend' })?.ok, true);
  const g = setup({});
  assert.equal(run(g, { op: 'group-reset', group: 'failover1' })?.ok, true);
  assert.equal(g.resetEpochs.failover1, 1);
});

test('move hands the group over: stop here with a release to the target', () => {
  const s = setup({}, ownLocal);
  assert.equal(run(s, { op: 'group-move', group: 'failover1' }), null);
  assert.deepEqual(s.groups.failover1?.stop?.release, {
    kind: 'move',
    to: 'node-2',
    rule: 'stable',
    reason: 'operator request',
  });
  assert.equal(s.pendingReplies[0]?.target, 'node-2');
});
