/**
 * Monitor resources (issue section 3, the seed's Monitor and Recovery Action pages): when a monitor runs
 * (timing `always` while the cluster service runs, or while its `active` resource is online here; first
 * check `startWait` after that, then every `interval`; never while suspended), how a result counts, and the
 * recovery ladder once `retries` consecutive failures beyond the first put it in error:
 *
 * 1. reactivation of the target here (event RECOVER), up to `maxReactivations`;
 * 2. failover: failover mark here, stop, release with `failoverTarget`, up to `maxFailovers`;
 * 3. the final action, once.
 *
 * A configured script runs before each step. `final-only` skips 1-2; `script` only runs the
 * beforeReactivation script (up to max(1, maxReactivations) times); target LocalServer has only the final
 * action. Counters reset when the monitor reports normal again. Recovery of a group or resource that is not
 * active here is skipped (the error still counts for the "stable server" rule).
 *
 * Results (STYLE.md 9): `running` = normal, `degraded` = warning, `failed` / `stopped` = failure
 * (MONITOR_ERROR); an exec timeout follows `noResponse` (none: ignored, warn: warning, recover: failure
 * recorded as MONITOR_TIMEOUT); other exec failures are failures (MONITOR_ERROR); `cancelled` is ignored.
 */
import type { CompiledMonitor } from '../../shared/config/types.ts';
import { formatMonitorProblem } from '../../shared/errors.ts';
import { withDependents } from '../config-index.ts';
import { localGroupState } from '../group-state.ts';
import { nextId, type MonitorRt, type NodeState, type RecoveryStepKind } from '../model.ts';
import { AlertCode, type Out } from '../out.ts';
import { beginStop, markFailed } from '../transitions.ts';
import type { ExecOutcome, MonitorResult, StartStopResult } from '../types.ts';
import { applyFinalAction } from './activation.ts';

export function monitorApplicable(s: NodeState, m: CompiledMonitor): boolean {
  const rt = s.monitors[m.name];
  if (!rt || rt.suspended || s.service !== 'running' || s.isolation || s.goingDown) return false;
  if (m.activeResource === null) return true;
  const r = s.resources[m.activeResource];
  return r !== undefined && r.state === 'online' && !r.restart && s.groups[r.group]?.owner === true;
}

/** Update applicability and issue the checks that are due. */
export function scheduleMonitors(s: NodeState, now: number, out: Out): void {
  for (const m of s.ix.config.monitors) {
    const rt = s.monitors[m.name];
    if (!rt) continue;
    if (!monitorApplicable(s, m)) {
      rt.state = rt.suspended ? 'suspended' : 'offline';
      rt.applicableSince = null;
      rt.nextCheckAt = null;
      rt.pendingStep = null;
      continue;
    }
    if (rt.applicableSince === null) {
      rt.applicableSince = now;
      rt.nextCheckAt = now + m.startWaitMs;
      if (rt.state === 'offline' || rt.state === 'suspended') rt.state = 'normal';
    }
    if (rt.inflight === null && rt.nextCheckAt !== null && now >= rt.nextCheckAt) {
      const id = nextId(s);
      rt.inflight = id;
      s.actions[id] = { kind: 'monitor', monitor: m.name };
      out.actions.push({
        id,
        kind: 'monitor',
        monitor: m.name,
        timeoutMs: m.timeoutMs,
        reason: `monitor ${m.name} interval`,
      });
    }
  }
}

type Verdict =
  | { kind: 'normal' }
  | { kind: 'warning'; code: number; message: string }
  | { kind: 'failure'; timeout: boolean; code: number; message: string }
  | { kind: 'ignore' };

function classify(m: CompiledMonitor, o: ExecOutcome<StartStopResult | MonitorResult>): Verdict {
  if (o.exec === 'done') {
    if (o.result === 'running' || o.result === 'ok') return { kind: 'normal' };
    if (o.result === 'degraded')
      return { kind: 'warning', code: o.code ?? 0, message: o.message ?? 'degraded' };
    return { kind: 'failure', timeout: false, code: o.code ?? 0, message: o.message ?? `result ${o.result}` };
  }
  if (o.exec === 'cancelled') return { kind: 'ignore' };
  if (o.exec === 'timeout') {
    const message = o.message || `no answer within ${m.timeoutMs} ms`;
    if (m.recovery.noResponse === 'none') return { kind: 'ignore' };
    if (m.recovery.noResponse === 'warn') return { kind: 'warning', code: o.code ?? 0, message };
    return { kind: 'failure', timeout: true, code: o.code ?? 0, message };
  }
  return { kind: 'failure', timeout: false, code: o.code ?? 0, message: o.message || `exec ${o.exec}` };
}

export function onMonitorDone(
  s: NodeState,
  name: string,
  actionId: string,
  o: ExecOutcome<StartStopResult | MonitorResult>,
  now: number,
  out: Out,
): void {
  const m = s.ix.monitors.get(name);
  const rt = s.monitors[name];
  if (!m || !rt || rt.inflight !== actionId) return;
  rt.inflight = null;
  if (!monitorApplicable(s, m) || rt.applicableSince === null) return;
  rt.nextCheckAt = now + m.intervalMs;
  const v = classify(m, o);
  if (v.kind === 'ignore') return;
  if (v.kind === 'normal') {
    if (rt.state === 'error' || rt.state === 'warning') {
      out.alert(
        'info',
        'monitor',
        name,
        AlertCode.monitorNormal,
        `Monitor ${name} is normal again on ${s.self}.`,
      );
    }
    rt.state = 'normal';
    rt.failures = 0;
    rt.reactivations = 0;
    rt.failovers = 0;
    rt.scriptRuns = 0;
    rt.finalDone = false;
    rt.lastError = null;
    return;
  }
  if (v.kind === 'warning') {
    if (rt.state !== 'warning') {
      const code = o.exec === 'timeout' ? AlertCode.monitorTimeout : AlertCode.monitorWarning;
      out.alert('warning', 'monitor', name, code, formatMonitorProblem(name, 'warning', v.code, v.message));
    }
    rt.state = 'warning';
    rt.failures = 0;
    return;
  }
  rt.failures += 1;
  rt.lastError = { code: v.code, message: v.message };
  if (rt.failures <= m.retries) {
    out.diag('info', 'monitor failure, retrying', {
      monitor: name,
      failures: rt.failures,
      retries: m.retries,
    });
    return;
  }
  rt.failures = 0;
  if (rt.state !== 'error') {
    out.alert(
      'error',
      'monitor',
      name,
      v.timeout ? AlertCode.monitorTimeout : AlertCode.monitorError,
      formatMonitorProblem(name, 'error', v.code, v.message),
    );
  }
  rt.state = 'error';
  if (rt.pendingStep === null) nextRecoveryStep(s, m, rt, out);
}

/** The recovery target's group, or null for LocalServer. */
function targetGroup(s: NodeState, m: CompiledMonitor): string | null {
  const rec = m.recovery;
  if (rec.targetKind === 'group') return rec.target;
  if (rec.targetKind === 'resource') return s.ix.resources.get(rec.target)?.group ?? null;
  return null;
}

function nextRecoveryStep(s: NodeState, m: CompiledMonitor, rt: MonitorRt, out: Out): void {
  const rec = m.recovery;
  const group = targetGroup(s, m);
  if (rec.targetKind !== 'local-server') {
    const st = group ? localGroupState(s, group) : 'offline';
    if (!group || !s.groups[group]?.owner || st === 'offline' || st === 'stopping') {
      out.alert(
        'info',
        'monitor',
        m.name,
        AlertCode.recoverySkipped,
        `Monitor ${m.name}: recovery skipped, ${rec.target} is not active on ${s.self}.`,
      );
      return;
    }
  }
  const local = rec.targetKind === 'local-server' || rec.action === 'final-only';
  const maxR = local ? 0 : rec.maxReactivations;
  const maxF = local ? 0 : rec.maxFailovers;
  let step: RecoveryStepKind | null = null;
  if (rec.action === 'script' && !local)
    step = rt.scriptRuns < Math.max(1, rec.maxReactivations) ? 'script' : null;
  else if (rt.reactivations < maxR) step = 'reactivation';
  else if (rt.failovers < maxF) step = 'failover';
  else if (!rt.finalDone) step = 'final';
  if (step === null) return;
  const script =
    step === 'script' || step === 'reactivation'
      ? rec.scripts.beforeReactivation
      : step === 'failover'
        ? rec.scripts.beforeFailover
        : rec.scripts.beforeFinalAction;
  if (script !== null) {
    const id = nextId(s);
    s.actions[id] = { kind: 'script', monitor: m.name };
    rt.pendingStep = step;
    const which =
      step === 'script' || step === 'reactivation'
        ? 'beforeReactivation'
        : step === 'failover'
          ? 'beforeFailover'
          : 'beforeFinalAction';
    out.actions.push({
      id,
      kind: 'script',
      monitor: m.name,
      step: which,
      command: script,
      cwd: rec.scripts.cwd,
      timeoutMs: rec.scripts.timeoutMs,
      reason: `monitor ${m.name} error`,
    });
    out.alert(
      'info',
      'monitor',
      m.name,
      AlertCode.recoveryScript,
      `Monitor ${m.name}: running the ${which} script on ${s.self}.`,
    );
    return;
  }
  performStep(s, m, rt, step, out);
}

/** A recovery script finished (whatever its outcome): carry out the step it preceded. */
export function onScriptDone(s: NodeState, name: string, out: Out): void {
  const m = s.ix.monitors.get(name);
  const rt = s.monitors[name];
  if (!m || !rt || rt.pendingStep === null) return;
  const step = rt.pendingStep;
  rt.pendingStep = null;
  performStep(s, m, rt, step, out);
}

function performStep(
  s: NodeState,
  m: CompiledMonitor,
  rt: MonitorRt,
  step: RecoveryStepKind,
  out: Out,
): void {
  const rec = m.recovery;
  const group = targetGroup(s, m);
  const reason = `monitor ${m.name} error`;
  if (step === 'script') {
    rt.scriptRuns += 1;
    return;
  }
  if (step === 'final') {
    rt.finalDone = true;
    // `none` does nothing: the monitor's own error alert already said what is wrong (an alert-only
    // monitor such as mdnw ends here by design), so this is information, not a second error.
    const none = rec.finalAction === 'none';
    out.alert(
      none ? 'info' : 'error',
      'monitor',
      m.name,
      AlertCode.recoveryFinalAction,
      none
        ? `Monitor ${m.name}: no further recovery on ${s.self} (final action none).`
        : `Monitor ${m.name}: final action ${rec.finalAction} on ${s.self}.`,
    );
    applyFinalAction(s, rec.finalAction, group, reason, out);
    return;
  }
  const lg = group ? s.groups[group] : undefined;
  if (!group || !lg?.owner || lg.stop) return;
  if (step === 'reactivation') {
    rt.reactivations += 1;
    const names =
      rec.targetKind === 'resource'
        ? withDependents(s.ix, rec.target)
        : (s.ix.groups.get(group)?.resources ?? []);
    out.alert(
      'warning',
      'monitor',
      m.name,
      AlertCode.recoveryReactivation,
      `Monitor ${m.name}: reactivating ${rec.target} on ${s.self} (${rt.reactivations} of ${rec.maxReactivations}).`,
    );
    lg.start = { event: 'RECOVER', from: null, reason };
    for (const n of names) {
      const r = s.resources[n];
      if (!r) continue;
      r.restart = true;
      r.nextEvent = 'RECOVER';
    }
    return;
  }
  rt.failovers += 1;
  out.alert(
    'error',
    'monitor',
    m.name,
    AlertCode.recoveryFailover,
    `Monitor ${m.name}: failing ${group} over from ${s.self} (${rt.failovers} of ${rec.maxFailovers}).`,
  );
  markFailed(s, group, out);
  beginStop(
    s,
    group,
    {
      kind: 'failover',
      reason,
      release: { kind: 'failover', to: null, rule: rec.failoverTarget, reason },
      hold: false,
      timeoutMs: null,
    },
    out,
  );
}
