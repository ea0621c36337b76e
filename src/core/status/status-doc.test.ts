import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ingestReport, ingestWitnessPeers } from '../membership/peers.ts';
import { Out } from '../out.ts';
import { testConfig, testReport, testState } from '../test-support.ts';
import { buildStatus } from './status-doc.ts';

const config = testConfig({ servers: 3, witness: true });

test('server states: online, offline (lost or service stopped), isolated, unknown; how each is heard', () => {
  const s = testState(config);
  const out = new Out();
  s.nowMs = 20_000;
  ingestReport(s, testReport(config, 'node-2', { service: 'stopped' }), 19_000, 'lan1', out);
  ingestWitnessPeers(
    s,
    { 'node-3': { ageMs: 100, report: testReport(config, 'node-3', { isolated: true }) } },
    out,
  );
  let st = buildStatus(s, 20_000);
  assert.deepEqual(
    st.servers.map((x) => [x.name, x.state, x.heardVia]),
    [
      ['node-1', 'online', 'self'],
      ['node-2', 'offline', 'interconnect'],
      ['node-3', 'isolated', 'witness'],
    ],
  );
  assert.deepEqual(
    st.servers[1]?.heartbeats.map((h) => [h.name, h.state, h.lastHeardAgoMs]),
    [
      ['lan1', 'normal', 1000],
      ['lan2', 'unknown', null],
      ['witness', 'unknown', null],
    ],
  );
  assert.ok(st.cluster.warnings?.some((w) => w.includes('node-3 is heard only through the witness')));
  st = buildStatus(s, 40_000);
  assert.deepEqual(
    st.servers.map((x) => x.state),
    ['online', 'offline', 'offline'],
  );
  const fresh = buildStatus(testState(config), 0);
  assert.deepEqual(
    fresh.servers.map((x) => x.state),
    ['online', 'unknown', 'unknown'],
  );
});

test('groups: the server that has it, its resources from that server report, failover marks', () => {
  const s = testState(config);
  const out = new Out();
  s.nowMs = 100;
  s.marks.failover1 = ['node-1'];
  ingestReport(
    s,
    testReport(config, 'node-2', {
      groups: { failover1: { state: 'online', claim: 3 } },
      resources: { exec1: 'online', exec2: 'starting' },
      failedGroups: [],
    }),
    100,
    'lan1',
    out,
  );
  ingestReport(s, testReport(config, 'node-3', { failedGroups: ['failover1'] }), 100, 'lan1', out);
  const g = buildStatus(s, 100).groups[0];
  assert.deepEqual([g?.state, g?.server, g?.failedOn], ['online', 'node-2', ['node-1', 'node-3']]);
  assert.deepEqual(
    g?.resources.map((r) => [r.name, r.type, r.state]),
    [
      ['exec1', 'exec', 'online'],
      ['exec2', 'exec', 'starting'],
    ],
  );
});
