import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Out } from '../out.ts';
import { testConfig, testReport, testState } from '../test-support.ts';
import { heardVia, ingestReport, ingestWitnessPeers, isHeard, lastHeard, lostAt } from './peers.ts';

const config = testConfig({ witness: true });

test('reports: newer seq accepted, older or equal ignored; a new incarnation on an interconnect replaces the old one', () => {
  const cases: {
    name: string;
    first: [string, number];
    second: [string, number];
    via: string;
    accepted: boolean;
  }[] = [
    { name: 'newer seq', first: ['i1', 1], second: ['i1', 2], via: 'lan1', accepted: true },
    { name: 'same seq (replay)', first: ['i1', 5], second: ['i1', 5], via: 'lan1', accepted: false },
    { name: 'older seq', first: ['i1', 5], second: ['i1', 4], via: 'lan2', accepted: false },
    { name: 'new incarnation on lan', first: ['i1', 9], second: ['i2', 1], via: 'lan1', accepted: true },
  ];
  for (const c of cases) {
    const s = testState(config);
    const out = new Out();
    ingestReport(
      s,
      testReport(config, 'node-2', { incarnation: c.first[0], seq: c.first[1] }),
      100,
      'lan1',
      out,
    );
    s.nowMs = 200;
    const ok = ingestReport(
      s,
      testReport(config, 'node-2', { incarnation: c.second[0], seq: c.second[1] }),
      200,
      c.via,
      out,
    );
    assert.equal(ok, c.accepted, c.name);
  }
});

test('a relayed report of an older incarnation than the one heard on an interconnect is ignored', () => {
  const s = testState(config);
  const out = new Out();
  s.nowMs = 5000;
  ingestReport(s, testReport(config, 'node-2', { incarnation: 'new', seq: 1 }), 5000, 'lan1', out);
  const stale = testReport(config, 'node-2', { incarnation: 'old', seq: 99 });
  ingestWitnessPeers(s, { 'node-2': { ageMs: 3000, report: stale } }, out);
  assert.equal(s.peers['node-2']?.report?.incarnation, 'new');
  assert.equal(
    s.peers['node-2']?.witnessHeardAt,
    null,
    'age of another incarnation is not liveness of this one',
  );
});

test('a peer restart forgets its groups; groups it ran need a new owner', () => {
  const s = testState(config);
  const out = new Out();
  const online = testReport(config, 'node-2', {
    incarnation: 'a',
    groups: { failover1: { state: 'online', claim: 1 } },
  });
  ingestReport(s, online, 10, 'lan1', out);
  ingestReport(s, testReport(config, 'node-2', { incarnation: 'b' }), 20, 'lan1', out);
  assert.equal(s.peers['node-2']?.report?.groups.failover1?.state, 'offline');
  assert.equal(s.groups.failover1?.need?.from, 'node-2');
  assert.equal(s.groups.failover1?.need?.event, 'FAILOVER');
});

test('echo of our own sentAtMs (current incarnation only) renews our contact', () => {
  const s = testState(config);
  const out = new Out();
  s.nowMs = 3000;
  ingestReport(
    s,
    testReport(config, 'node-2', { seq: 1, echo: { 'node-1': { incarnation: 'node-1#0', sentAtMs: 2500 } } }),
    3000,
    'lan1',
    out,
  );
  assert.equal(s.contactAtMs, null, 'echo of a previous incarnation does not count');
  ingestReport(
    s,
    testReport(config, 'node-2', { seq: 2, echo: { 'node-1': { incarnation: 'node-1#1', sentAtMs: 2500 } } }),
    3000,
    'lan1',
    out,
  );
  assert.equal(s.contactAtMs, 2500);
});

test('config mismatch: alerted once per hash, cleared when the hashes agree again', () => {
  const s = testState(config);
  const out = new Out();
  for (let seq = 1; seq <= 3; seq++)
    ingestReport(s, testReport(config, 'node-2', { seq, configHash: 'f'.repeat(64) }), seq, 'lan1', out);
  assert.equal(out.alerts.filter((a) => a.code === 'CONFIG_MISMATCH').length, 1);
  assert.match(
    out.alerts[0]?.message ?? '',
    /node-2 runs a different cluster configuration \(ours [0-9a-f]{12}, theirs f{12}\)/,
  );
  ingestReport(s, testReport(config, 'node-2', { seq: 4 }), 4, 'lan1', out);
  assert.equal(s.peers['node-2']?.mismatch, null);
});

test('liveness: heard per interconnect within the timeout, or through the witness within its timeout', () => {
  const s = testState(config);
  const out = new Out();
  const p = s.peers['node-2']!;
  ingestReport(s, testReport(config, 'node-2'), 1000, 'lan2', out);
  assert.equal(heardVia(s.ix, p, 10_999), 'interconnect');
  assert.equal(isHeard(s.ix, p, 11_000), false);
  s.nowMs = 12_000;
  ingestWitnessPeers(s, { 'node-2': { ageMs: 500, report: null } }, out);
  assert.equal(lastHeard(p), 11_500);
  assert.equal(heardVia(s.ix, p, 12_000), 'witness');
  assert.equal(lostAt(s, p), 21_500);
});

test('reset generations: a grown generation clears our failover mark of that group', () => {
  const s = testState(config);
  const out = new Out();
  s.marks.failover1 = ['node-1'];
  ingestReport(s, testReport(config, 'node-2', { resetEpochs: { failover1: 1 } }), 1, 'lan1', out);
  assert.deepEqual(s.marks, {});
  assert.equal(out.persistDirty, true);
});
