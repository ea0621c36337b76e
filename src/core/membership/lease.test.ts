import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Out } from '../out.ts';
import { testConfig, testReport, testState } from '../test-support.ts';
import { hasLease, isDown, isGracefullyStopped, isolationCause, npIsolated, takeoverAt } from './lease.ts';
import { ingestReport } from './peers.ts';

// T = 10 s, I = 1 s: margin 1 s, isolationStopTimeout 2 s, lease 7 s, takeover wait max(10, 7+2+1) = 10 s.

test('the compiled lease numbers match docs/architecture.md', () => {
  const s = testState(testConfig());
  assert.deepEqual(s.ix.config.cluster.lease, {
    enforced: true,
    leaseMs: 7000,
    isolationStopTimeoutMs: 2000,
    marginMs: 1000,
  });
  assert.equal(s.ix.takeoverWaitMs, 10_000);
});

test('hasLease: fresh contact (or no NP/witness at all)', () => {
  const cases: { name: string; np: boolean; contact: number | null; now: number; want: boolean }[] = [
    { name: 'not enforced', np: false, contact: null, now: 50_000, want: true },
    { name: 'no contact yet', np: true, contact: null, now: 100, want: false },
    { name: 'fresh', np: true, contact: 1000, now: 8000, want: true },
    { name: 'expired', np: true, contact: 1000, now: 8001, want: false },
  ];
  for (const c of cases) {
    const s = testState(testConfig({ np: c.np }));
    s.contactAtMs = c.contact;
    assert.equal(hasLease(s, c.now), c.want, c.name);
  }
});

test('isolation: lease expiry, and NP failure while every peer is lost', () => {
  const s = testState(testConfig());
  s.contactAtMs = 1000;
  assert.equal(isolationCause(s, 8000), null);
  assert.match(isolationCause(s, 8001) ?? '', /no contact .* for 7001 ms/);
  const t = testState(testConfig());
  const out = new Out();
  ingestReport(t, testReport(t.ix.config, 'node-2'), 0, 'lan1', out);
  t.contactAtMs = 11_000;
  t.np.np1 = {
    name: 'np1',
    last: { ok: false, sentAtMs: 10_000, detail: 'timeout' },
    lastOkSentAt: 5000,
    alerted: 'error',
  };
  assert.equal(npIsolated(t, 11_000), true, 'node-2 lost at 10000, the round failed');
  t.np.np1.lastOkSentAt = 10_000;
  assert.equal(npIsolated(t, 11_000), false, 'an answer sent after the loss means we are not isolated');
});

test('a lost peer is down after the takeover wait and the NP / witness confirmations', () => {
  type Case = {
    name: string;
    witness: boolean;
    npOkAt: number | null;
    witnessOkAt: number | null;
    now: number;
    want: boolean;
  };
  const cases: Case[] = [
    { name: 'still heard', witness: false, npOkAt: 20_000, witnessOkAt: null, now: 10_999, want: false },
    {
      name: 'lost, NP not asked yet',
      witness: false,
      npOkAt: 5000,
      witnessOkAt: null,
      now: 11_000,
      want: false,
    },
    {
      name: 'lost, NP answered after the loss',
      witness: false,
      npOkAt: 11_000,
      witnessOkAt: null,
      now: 11_003,
      want: true,
    },
    {
      name: 'witness answered too early',
      witness: true,
      npOkAt: 11_000,
      witnessOkAt: 7999,
      now: 11_003,
      want: false,
    },
    {
      name: 'witness confirms (asked >= lease after last heard)',
      witness: true,
      npOkAt: 11_000,
      witnessOkAt: 8000,
      now: 11_003,
      want: true,
    },
  ];
  for (const c of cases) {
    const s = testState(testConfig({ witness: c.witness }));
    const out = new Out();
    ingestReport(s, testReport(s.ix.config, 'node-2'), 1000, 'lan1', out);
    if (c.npOkAt !== null)
      s.np.np1 = {
        name: 'np1',
        last: { ok: true, sentAtMs: c.npOkAt, detail: '' },
        lastOkSentAt: c.npOkAt,
        alerted: 'normal',
      };
    if (c.witnessOkAt !== null) s.witness.lastOk = { sentAtMs: c.witnessOkAt, atMs: c.witnessOkAt + 2 };
    assert.equal(isDown(s, s.peers['node-2']!, c.now), c.want, c.name);
  }
});

test('the takeover wait never starts before this daemon started (a restarted daemon waits a full period)', () => {
  const s = testState(testConfig(), 'node-1', 50_000);
  const out = new Out();
  s.nowMs = 50_000;
  ingestReport(s, testReport(s.ix.config, 'node-2'), 30_000, 'witness', out);
  assert.equal(takeoverAt(s, s.peers['node-2']!), 60_000);
});

test('a heard peer with the service stopped and every group offline is gracefully stopped', () => {
  const s = testState(testConfig());
  const out = new Out();
  ingestReport(s, testReport(s.ix.config, 'node-2', { service: 'stopped' }), 100, 'lan1', out);
  assert.equal(isGracefullyStopped(s, s.peers['node-2']!, 200), true);
  ingestReport(
    s,
    testReport(s.ix.config, 'node-2', {
      seq: 2,
      service: 'stopped',
      groups: { failover1: { state: 'error', claim: null } },
    }),
    300,
    'lan1',
    out,
  );
  assert.equal(isGracefullyStopped(s, s.peers['node-2']!, 300), false, 'a group in error there still counts');
  assert.equal(isGracefullyStopped(s, s.peers['node-2']!, 20_000), false, 'not when lost');
});
