import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ingestReport } from '../membership/peers.ts';
import { newMonitor } from '../model.ts';
import { Out } from '../out.ts';
import { testConfig, testReport, testState } from '../test-support.ts';
import type { PeerReport } from '../types.ts';
import { candidates, chooseTarget, failbackTarget, pickByRule } from './candidates.ts';
import { decideGrant, grantBlockers, higherClaimant } from './claims.ts';

const config = testConfig({ servers: 3 });

function hear(s: ReturnType<typeof testState>, server: string, over: Partial<PeerReport>, at = 100): void {
  s.nowMs = at;
  const prev = s.peers[server]?.report?.seq ?? 0;
  ingestReport(s, testReport(config, server, { seq: prev + 1, ...over }), at, 'lan1', new Out());
}

test('candidates: heard, running (or starting) the service, not isolated, no failover mark, same config', () => {
  const cases: { name: string; over: Partial<PeerReport>; want: string[] }[] = [
    { name: 'healthy', over: {}, want: ['node-1', 'node-2'] },
    { name: 'sync wait', over: { service: 'starting' }, want: ['node-1', 'node-2'] },
    { name: 'service stopped', over: { service: 'stopped' }, want: ['node-1'] },
    { name: 'isolated', over: { isolated: true }, want: ['node-1'] },
    { name: 'failover mark', over: { failedGroups: ['failover1'] }, want: ['node-1'] },
    { name: 'other config', over: { configHash: 'x' }, want: ['node-1'] },
  ];
  for (const c of cases) {
    const s = testState(config);
    hear(s, 'node-2', c.over);
    assert.deepEqual(candidates(s, 'failover1', 200), c.want, c.name);
  }
  const s = testState(config);
  s.marks.failover1 = ['node-1'];
  assert.deepEqual(candidates(s, 'failover1', 200), [], 'our own mark excludes us');
});

test('target rules: max-priority takes the first; stable takes the fewest monitor errors, ties by priority', () => {
  const s = testState(config);
  hear(s, 'node-2', { monitorErrors: 0 });
  hear(s, 'node-3', { monitorErrors: 0 });
  s.monitors = { m: { ...newMonitor('m'), state: 'error' } };
  const list = ['node-1', 'node-2', 'node-3'];
  assert.equal(pickByRule(s, 'failover1', list, 'max-priority'), 'node-1');
  assert.equal(pickByRule(s, 'failover1', list, 'stable'), 'node-2');
  assert.equal(
    chooseTarget(s, 'failover1', 200, 'max-priority', 'node-3', null),
    'node-3',
    'preferred when a candidate',
  );
  assert.equal(
    chooseTarget(s, 'failover1', 200, 'max-priority', null, 'node-1'),
    'node-2',
    'excluded server skipped',
  );
});

test('failback auto: a higher-ranked candidate with the service running', () => {
  const fb = testConfig({
    groupsYaml: '  - { name: g1, failback: auto, resources: [{ name: r1, type: exec, start: ./a.sh }] }',
  });
  const s = testState(fb, 'node-2');
  s.nowMs = 100;
  ingestReport(s, testReport(fb, 'node-1', { service: 'starting' }), 100, 'lan1', new Out());
  assert.equal(failbackTarget(s, 'g1', 'node-2', 100), null, 'not during its sync wait');
  ingestReport(s, testReport(fb, 'node-1', { seq: 2 }), 100, 'lan1', new Out());
  assert.equal(failbackTarget(s, 'g1', 'node-2', 100), 'node-1');
});

test('grants: to the best live claimant, kept while it claims, never while another server has the group', () => {
  const s = testState(config);
  hear(s, 'node-3', { groups: { failover1: { state: 'offline', claim: 4 } } });
  assert.equal(decideGrant(s, 'failover1', 100), null, 'node-2 never heard yet: its state is unknown');
  hear(s, 'node-2', { groups: { failover1: { state: 'offline', claim: 7 } } });
  assert.deepEqual(
    decideGrant(s, 'failover1', 100),
    { server: 'node-2', claim: 7 },
    'higher precedence first',
  );
  s.grants.failover1 = { server: 'node-3', claim: 4 };
  assert.deepEqual(
    decideGrant(s, 'failover1', 100),
    { server: 'node-3', claim: 4 },
    'a standing grant is kept',
  );
  hear(s, 'node-3', { groups: { failover1: { state: 'offline', claim: null } } });
  assert.deepEqual(
    decideGrant(s, 'failover1', 100),
    { server: 'node-2', claim: 7 },
    'released when withdrawn',
  );
  hear(s, 'node-3', { groups: { failover1: { state: 'online', claim: null } } });
  assert.equal(decideGrant(s, 'failover1', 100), null, 'active elsewhere');
  s.groups.failover1!.claim = 1;
  assert.equal(decideGrant(s, 'failover1', 100), null, 'we claim it ourselves');
});

test('an adopter (claimant with the group already active) is preferred and outranks offline claims', () => {
  const s = testState(config, 'node-3');
  hear(s, 'node-1', { groups: { failover1: { state: 'offline', claim: 2 } } });
  hear(s, 'node-2', { groups: { failover1: { state: 'starting', claim: 9 } } });
  assert.deepEqual(decideGrant(s, 'failover1', 100), { server: 'node-2', claim: 9 });
  assert.equal(higherClaimant(s, 'failover1', 100)?.server, 'node-1');
});

test('grant blockers: a grant counts only for our current claim and incarnation', () => {
  const s = testState(config);
  const echo = { 'node-1': { incarnation: 'node-1#1', sentAtMs: 50 } };
  hear(s, 'node-2', { grants: { failover1: { server: 'node-1', claim: 3 } }, echo });
  hear(s, 'node-3', {
    grants: { failover1: { server: 'node-1', claim: 3 } },
    echo: { 'node-1': { incarnation: 'node-1#0', sentAtMs: 50 } },
  });
  assert.deepEqual(grantBlockers(s, 'failover1', 3, 100), ['grant from node-3']);
  assert.deepEqual(grantBlockers(s, 'failover1', 4, 100), ['grant from node-2', 'grant from node-3']);
});
