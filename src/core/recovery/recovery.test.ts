import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Out } from '../out.ts';
import { testConfig, testState } from '../test-support.ts';
import type { ExecOutcome, MonitorResult, StartStopResult } from '../types.ts';
import { failureOf, onResourceDone } from './activation.ts';
import { monitorApplicable, onMonitorDone, scheduleMonitors } from './monitors.ts';

type Outcome = ExecOutcome<StartStopResult | MonitorResult>;
const FAIL: Outcome = { exec: 'done', result: 'failed', code: 7, message: 'exit 1' };

function owned(config: ReturnType<typeof testConfig>) {
  const s = testState(config);
  const lg = s.groups.failover1!;
  lg.owner = true;
  lg.goal = 'online';
  lg.start = { event: 'START', from: null, reason: 'test' };
  return s;
}

test('failureOf separates execution status from result', () => {
  assert.equal(failureOf({ exec: 'done', result: 'ok' }), null);
  assert.equal(failureOf({ exec: 'done', result: 'degraded' }), null);
  assert.deepEqual(failureOf(FAIL), { code: 7, message: 'exit 1' });
  assert.deepEqual(failureOf({ exec: 'timeout', message: 'after 60000 ms' }), {
    code: 0,
    message: 'after 60000 ms',
  });
});

test('activation ladder: retries, then failover while under the threshold, then the final action', () => {
  const cfg = testConfig({
    groupsYaml: `  - name: failover1
    resources:
      - { name: exec1, type: exec, start: ./a.sh, activation: { retries: 1, failoverThreshold: 1, finalAction: stop-group } }`,
  });
  const s = owned(cfg);
  const r = s.resources.exec1!;
  const attempt = (): Out => {
    const out = new Out();
    r.state = 'starting';
    r.inflight = { id: 'x', verb: 'start', hard: false };
    onResourceDone(s, r, FAIL, out);
    return out;
  };
  let out = attempt();
  assert.deepEqual(
    [r.state, out.alerts.map((a) => a.code)],
    ['offline', ['RESOURCE_START_FAILED', 'ACTIVATION_RETRY']],
  );
  assert.equal(out.alerts[0]?.message, 'Failed to start the resource exec1. (7 : exit 1)');
  out = attempt();
  assert.deepEqual(
    out.alerts.map((a) => a.code),
    ['RESOURCE_START_FAILED', 'ACTIVATION_FAILOVER', 'GROUP_STOPPING'],
  );
  assert.deepEqual(s.marks.failover1, ['node-1']);
  assert.equal(s.groups.failover1?.stop?.release?.kind, 'failover');
  // Back on this server later (marks reset by the operator): the threshold is used up -> final action.
  const lg = s.groups.failover1;
  assert.ok(lg);
  lg.stop = null;
  lg.goal = 'online';
  attempt();
  out = attempt();
  assert.deepEqual(
    out.alerts.map((a) => a.code),
    ['RESOURCE_START_FAILED', 'ACTIVATION_FINAL_ACTION', 'GROUP_STOPPING'],
  );
  const stopOf = (): { hold: boolean } | null | undefined => s.groups.failover1?.stop;
  assert.equal(stopOf()?.hold, true, 'stop-group holds the group offline');
});

test('deactivation ladder: retries, then the final action (shutdown); no ladder while isolated', () => {
  const cfg = testConfig({
    groupsYaml: `  - name: failover1
    resources:
      - { name: exec1, type: exec, start: ./a.sh, stop: ./b.sh, deactivation: { retries: 1 } }`,
  });
  const s = owned(cfg);
  const r = s.resources.exec1!;
  const stopOnce = (): Out => {
    const out = new Out();
    r.state = 'stopping';
    r.inflight = { id: 'y', verb: 'stop', hard: false };
    onResourceDone(s, r, FAIL, out);
    return out;
  };
  assert.deepEqual(
    stopOnce().alerts.map((a) => a.code),
    ['RESOURCE_STOP_FAILED', 'DEACTIVATION_RETRY'],
  );
  const out = stopOnce();
  assert.deepEqual(
    out.alerts.map((a) => a.code),
    ['RESOURCE_STOP_FAILED', 'DEACTIVATION_FINAL_ACTION', 'OS_ACTION'],
  );
  assert.deepEqual(
    out.actions.map((a) => (a.kind === 'os' ? `${a.action}:${a.command}` : a.kind)),
    ['shutdown:systemctl poweroff'],
  );
  assert.equal(r.state, 'error');
  const t = owned(cfg);
  t.isolation = { sinceMs: 0, cause: 'test', hadLease: true, actionDone: false };
  const tr = t.resources.exec1!;
  tr.inflight = { id: 'z', verb: 'stop', hard: false };
  const o2 = new Out();
  onResourceDone(t, tr, FAIL, o2);
  assert.deepEqual(
    o2.alerts.map((a) => a.code),
    ['RESOURCE_STOP_FAILED'],
  );
});

test('probe results: running or in doubt makes a stray, stopped is nothing', () => {
  const cases: { outcome: Outcome; state: string; stray: boolean; restart: boolean }[] = [
    { outcome: { exec: 'done', result: 'stopped' }, state: 'offline', stray: false, restart: false },
    { outcome: { exec: 'done', result: 'running' }, state: 'online', stray: true, restart: false },
    { outcome: { exec: 'done', result: 'failed' }, state: 'online', stray: true, restart: true },
    { outcome: { exec: 'timeout', message: 't' }, state: 'online', stray: true, restart: true },
  ];
  for (const c of cases) {
    const s = testState(testConfig());
    const r = s.resources.exec1!;
    r.probed = false;
    r.inflight = { id: 'p', verb: 'probe', hard: false };
    onResourceDone(s, r, c.outcome, new Out());
    assert.deepEqual(
      [r.state, r.stray, r.restart, r.probed],
      [c.state, c.stray, c.restart, true],
      JSON.stringify(c.outcome),
    );
  }
});

const MON = (recovery: string, extra = '') =>
  `  - { name: m1, type: custom, command: ./m.sh, interval: 2s, timeout: 5s, retries: 1, timing: { active: exec1 }, recovery: ${recovery}${extra} }`;

function monitored(recovery: string, noResponse = 'warn') {
  const cfg = testConfig({
    monitorsYaml: MON(`{ target: failover1, ${recovery}, noResponse: ${noResponse} }`),
  });
  const s = owned(cfg);
  for (const r of Object.values(s.resources)) r.state = 'online';
  return s;
}

function check(s: ReturnType<typeof monitored>, outcome: Outcome, now: number): Out {
  const out = new Out();
  scheduleMonitors(s, now, out);
  const id = s.monitors.m1?.inflight;
  assert.ok(id, 'a check is due');
  onMonitorDone(s, 'm1', id, outcome, now, out);
  s.monitors.m1!.nextCheckAt = now;
  return out;
}

test('monitor: applicability follows the active resource; retries 1 = two failures in a row', () => {
  const s = monitored('action: restart, maxReactivations: 2');
  assert.equal(monitorApplicable(s, s.ix.monitors.get('m1')!), true);
  assert.deepEqual(check(s, FAIL, 0).alerts, []);
  const out = check(s, FAIL, 2000);
  assert.deepEqual(
    out.alerts.map((a) => a.code),
    ['MONITOR_ERROR', 'RECOVERY_REACTIVATION'],
  );
  assert.equal(out.alerts[0]?.message, 'Monitor m1 detected an error. (7 : exit 1)');
  assert.equal(s.resources.exec1?.restart, true);
  assert.equal(monitorApplicable(s, s.ix.monitors.get('m1')!), false, 'not while exec1 restarts');
});

test('monitor ladder: reactivations, failovers, final action, counts reset on normal', () => {
  const s = monitored('action: custom, maxReactivations: 1, maxFailovers: 1, finalAction: none');
  const rt = s.monitors.m1!;
  const error = (t: number): string[] => {
    for (const r of Object.values(s.resources)) r.restart = false;
    s.groups.failover1!.stop = null; // as if the group were back here
    s.groups.failover1!.goal = 'online';
    check(s, FAIL, t);
    const alerts = check(s, FAIL, t + 1).alerts;
    return alerts.map((a) => (a.code === 'RECOVERY_FINAL_ACTION' ? `${a.code} ${a.level}` : a.code));
  };
  // While the monitor stays applicable its state stays `error`: the error is alerted once, each step too.
  assert.deepEqual(error(0), ['MONITOR_ERROR', 'RECOVERY_REACTIVATION']);
  assert.deepEqual(error(10), ['RECOVERY_FAILOVER', 'GROUP_STOPPING']);
  // Final action none does nothing: information, not a second error next to MONITOR_ERROR.
  assert.deepEqual(error(20), ['RECOVERY_FINAL_ACTION info']);
  assert.deepEqual(error(30), [], 'the final action runs once');
  check(s, { exec: 'done', result: 'running' }, 40);
  assert.deepEqual([rt.state, rt.reactivations, rt.failovers, rt.finalDone], ['normal', 0, 0, false]);
});

test('monitor results: degraded warns, exec timeout follows noResponse, cancelled is ignored', () => {
  const cases: { noResponse: string; outcome: Outcome; state: string; codes: string[] }[] = [
    {
      noResponse: 'warn',
      outcome: { exec: 'done', result: 'degraded', code: 3, message: 'slow' },
      state: 'warning',
      codes: ['MONITOR_WARNING'],
    },
    { noResponse: 'none', outcome: { exec: 'timeout', message: 'no answer' }, state: 'normal', codes: [] },
    {
      noResponse: 'warn',
      outcome: { exec: 'timeout', message: 'no answer' },
      state: 'warning',
      codes: ['MONITOR_TIMEOUT'],
    },
    {
      noResponse: 'recover',
      outcome: { exec: 'timeout', message: 'no answer' },
      state: 'error',
      codes: ['MONITOR_TIMEOUT', 'RECOVERY_REACTIVATION'],
    },
    {
      noResponse: 'warn',
      outcome: { exec: 'not-installed', message: 'no such command' },
      state: 'error',
      codes: ['MONITOR_ERROR', 'RECOVERY_REACTIVATION'],
    },
    { noResponse: 'warn', outcome: { exec: 'cancelled', message: 'x' }, state: 'normal', codes: [] },
  ];
  for (const c of cases) {
    const s = monitored('action: restart, maxReactivations: 1', c.noResponse);
    const codes = [...check(s, c.outcome, 0).alerts, ...check(s, c.outcome, 1).alerts].map((a) => a.code);
    assert.deepEqual([s.monitors.m1?.state, codes], [c.state, c.codes], `${c.noResponse} ${c.outcome.exec}`);
  }
});
