import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ingestReport } from './membership/peers.ts';
import { Out } from './out.ts';
import { testConfig, testReport, testState } from './test-support.ts';
import { commitIntent } from './transitions.ts';

const config = testConfig({ np: false });

function withPeer(over: Parameters<typeof testReport>[2] = {}) {
  const s = testState(config);
  s.nowMs = 100;
  ingestReport(s, testReport(config, 'node-2', over), 100, 'lan1', new Out());
  return s;
}

const start = { event: 'START' as const, from: null, reason: 'test' };

test('invariant: never become owner while another live server has the group active', () => {
  const s = withPeer({ groups: { failover1: { state: 'online', claim: null } } });
  s.groups.failover1!.claim = 1;
  const out = new Out();
  assert.equal(
    commitIntent(s, { kind: 'become-owner', group: 'failover1', start, adopt: false }, 100, out),
    false,
  );
  assert.equal(s.groups.failover1?.owner, false);
  assert.equal(out.diagnostics[0]?.level, 'error');
  assert.equal(out.diagnostics[0]?.fields?.code, 'WOULD_DOUBLE_ACTIVATE');
});

test('invariant: never become owner without every grant, nor without a claim', () => {
  const s = withPeer();
  const out = new Out();
  assert.equal(
    commitIntent(s, { kind: 'become-owner', group: 'failover1', start, adopt: false }, 100, out),
    false,
  );
  s.groups.failover1!.claim = 1;
  assert.equal(
    commitIntent(s, { kind: 'become-owner', group: 'failover1', start, adopt: false }, 100, out),
    false,
  );
  assert.deepEqual(
    out.diagnostics.map((d) => d.fields?.code),
    ['CLAIM_NOT_GRANTED', 'CLAIM_NOT_GRANTED'],
  );
});

test('become owner with every grant: the group starts, alerts GROUP_STARTING', () => {
  const s = withPeer({
    grants: { failover1: { server: 'node-1', claim: 1 } },
    echo: { 'node-1': { incarnation: 'node-1#1', sentAtMs: 50 } },
  });
  s.groups.failover1!.claim = 1;
  const out = new Out();
  assert.equal(
    commitIntent(s, { kind: 'become-owner', group: 'failover1', start, adopt: false }, 100, out),
    true,
  );
  assert.equal(s.groups.failover1?.owner, true);
  assert.deepEqual(
    out.alerts.map((a) => a.code),
    ['GROUP_STARTING'],
  );
  assert.equal(
    commitIntent(
      s,
      { kind: 'start', group: 'failover1', resource: 'exec2', event: 'START', from: null, reason: 'x' },
      100,
      out,
    ),
    false,
    'exec2 waits for exec1',
  );
  assert.equal(
    commitIntent(
      s,
      { kind: 'start', group: 'failover1', resource: 'exec1', event: 'START', from: null, reason: 'x' },
      100,
      out,
    ),
    true,
  );
  assert.equal(out.actions[0]?.kind, 'resource');
});

test('invariant: never grant a group we claim or run, never while a third server has it', () => {
  const s = withPeer({ groups: { failover1: { state: 'offline', claim: 3 } } });
  s.groups.failover1!.claim = 2;
  const out = new Out();
  assert.equal(
    commitIntent(s, { kind: 'grant', group: 'failover1', grant: { server: 'node-2', claim: 3 } }, 100, out),
    false,
  );
  s.groups.failover1!.claim = null;
  assert.equal(
    commitIntent(s, { kind: 'grant', group: 'failover1', grant: { server: 'node-2', claim: 3 } }, 100, out),
    true,
  );
  assert.deepEqual(s.grants.failover1, { server: 'node-2', claim: 3 });
  assert.equal(
    commitIntent(s, { kind: 'claim', group: 'failover1' }, 100, out),
    false,
    'no claim while we granted another',
  );
  assert.equal(out.diagnostics.at(-1)?.fields?.code, 'GRANT_CONFLICT');
});

test('a resource of a group not owned here is never started', () => {
  const s = withPeer();
  const out = new Out();
  assert.equal(
    commitIntent(
      s,
      { kind: 'start', group: 'failover1', resource: 'exec1', event: 'START', from: null, reason: 'x' },
      100,
      out,
    ),
    false,
  );
  assert.equal(out.diagnostics[0]?.fields?.code, 'NOT_OWNER');
  assert.deepEqual(out.actions, []);
});
