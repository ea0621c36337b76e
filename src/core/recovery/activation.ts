/**
 * Results of resource actions and the activation / deactivation failure ladders (issue section 3, the
 * seed's resource "Recovery Operation" tabs):
 *
 * - activation failure: retry `activation.retries` times here; then, while this resource has caused fewer
 *   than `failoverThreshold` failovers from this server, mark the group failed here, stop it and release it
 *   to another server; else the `finalAction` (`none`: the group stays in error here; `stop-group`;
 *   `stop-cluster-service`; `shutdown` / `reboot` through osActions);
 * - deactivation failure: retry `deactivation.retries` times; then the `finalAction` (default shutdown). An
 *   isolated server does not climb the ladder: the hard stop at the isolation deadline follows.
 *
 * Startup probes are answered here too: a resource found running (or in doubt) becomes a stray that the
 * planner adopts or stops.
 */
import type { FinalAction } from '../../shared/config/types.ts';
import { formatResourceFailure } from '../../shared/errors.ts';
import { markFailed, beginStop, beginLeave, issueOsAction } from '../transitions.ts';
import type { LocalResource, NodeState } from '../model.ts';
import { AlertCode, type Out } from '../out.ts';
import type { ExecOutcome, MonitorResult, StartStopResult } from '../types.ts';

type Outcome = ExecOutcome<StartStopResult | MonitorResult>;

/** Failure code and message of an outcome, or null when it succeeded (`ok` / `running` / `degraded`). */
export function failureOf(o: Outcome): { code: number; message: string } | null {
  if (o.exec === 'done') {
    if (o.result === 'ok' || o.result === 'running' || o.result === 'degraded') return null;
    return { code: o.code ?? 0, message: o.message ?? `result ${o.result}` };
  }
  return { code: o.code ?? 0, message: o.message || `exec ${o.exec}` };
}

export function onResourceDone(s: NodeState, r: LocalResource, outcome: Outcome, out: Out): void {
  const inflight = r.inflight;
  if (!inflight) return;
  r.inflight = null;
  if (inflight.verb === 'probe') return onProbe(s, r, outcome, out);
  if (inflight.verb === 'start') return onStart(s, r, outcome, out);
  return onStop(s, r, outcome, inflight.hard, out);
}

function onProbe(s: NodeState, r: LocalResource, o: Outcome, out: Out): void {
  r.probed = true;
  if (o.exec === 'done' && o.result === 'stopped') return;
  if (s.groups[r.group]?.owner) return; // started by us meanwhile (cannot happen before probes; be safe)
  const sure = o.exec === 'done' && (o.result === 'running' || o.result === 'degraded');
  r.state = 'online';
  r.stray = true;
  r.restart = !sure;
  const what = sure
    ? 'found running'
    : `in doubt (${failureOf(o)?.message ?? 'unknown'}), treated as running`;
  out.alert(
    'warning',
    'resource',
    r.name,
    AlertCode.resourceFoundRunning,
    `Resource ${r.name} (${r.group}) was ${what} on ${s.self} at startup.`,
  );
}

function onStart(s: NodeState, r: LocalResource, o: Outcome, out: Out): void {
  const f = failureOf(o);
  const lg = s.groups[r.group];
  if (!f) {
    r.state = 'online';
    r.activationRetries = 0;
    r.lastError = null;
    r.nextEvent = null;
    out.diag('info', 'resource started', { resource: r.name, group: r.group });
    return;
  }
  const message = formatResourceFailure('start', r.name, f.code, f.message);
  r.lastError = { code: f.code, message };
  out.alert('error', 'resource', r.name, AlertCode.resourceStartFailed, message);
  if (!lg?.owner || lg.goal !== 'online' || lg.stop) {
    r.state = 'error'; // a stop is under way: clean up whatever the start left
    return;
  }
  const cfg = s.ix.resources.get(r.name);
  const gcfg = s.ix.groups.get(r.group);
  if (!cfg || !gcfg) return;
  const pol = cfg.activation;
  if (r.activationRetries < pol.retries) {
    r.activationRetries += 1;
    r.state = 'offline';
    out.alert(
      'warning',
      'resource',
      r.name,
      AlertCode.activationRetry,
      `Retrying the start of ${r.name} on ${s.self} (${r.activationRetries} of ${pol.retries}).`,
    );
    return;
  }
  r.activationRetries = 0;
  r.state = 'error';
  if (r.failovers < pol.failoverThreshold) {
    r.failovers += 1;
    out.alert(
      'error',
      'group',
      r.group,
      AlertCode.activationFailover,
      `Activation of ${r.name} failed on ${s.self}; failing ${r.group} over (${r.failovers} of ${pol.failoverThreshold}).`,
    );
    markFailed(s, r.group, out);
    beginStop(
      s,
      r.group,
      {
        kind: 'failover',
        reason: `activation of ${r.name} failed`,
        release: {
          kind: 'failover',
          to: null,
          rule: gcfg.failover.target,
          reason: `activation of ${r.name} failed`,
        },
        hold: false,
        timeoutMs: null,
      },
      out,
    );
    return;
  }
  out.alert(
    'error',
    'group',
    r.group,
    AlertCode.activationFinalAction,
    `Activation of ${r.name} failed on ${s.self} and the failover threshold (${pol.failoverThreshold}) is reached; final action ${pol.finalAction}.`,
  );
  applyFinalAction(s, pol.finalAction, r.group, `activation of ${r.name} failed`, out);
}

function onStop(s: NodeState, r: LocalResource, o: Outcome, hard: boolean, out: Out): void {
  const f = failureOf(o);
  const lg = s.groups[r.group];
  if (!f) {
    r.state = 'offline';
    r.deactivationRetries = 0;
    out.diag('info', 'resource stopped', { resource: r.name, group: r.group, hard });
    return;
  }
  const message = formatResourceFailure('stop', r.name, f.code, f.message);
  r.lastError = { code: f.code, message };
  out.alert('error', 'resource', r.name, AlertCode.resourceStopFailed, message);
  r.state = 'error';
  if (hard || s.isolation) {
    if (lg) lg.stuck = true; // waits for the hard stop at the isolation deadline (or stays in error)
    return;
  }
  const cfg = s.ix.resources.get(r.name);
  if (!cfg) return;
  const pol = cfg.deactivation;
  if (r.deactivationRetries < pol.retries) {
    r.deactivationRetries += 1;
    r.state = 'online';
    out.alert(
      'warning',
      'resource',
      r.name,
      AlertCode.deactivationRetry,
      `Retrying the stop of ${r.name} on ${s.self} (${r.deactivationRetries} of ${pol.retries}).`,
    );
    return;
  }
  r.deactivationRetries = 0;
  if (lg) lg.stuck = true;
  out.alert(
    'error',
    'group',
    r.group,
    AlertCode.deactivationFinalAction,
    `Deactivation of ${r.name} failed on ${s.self}; ${r.group} stays in error; final action ${pol.finalAction}.`,
  );
  if (pol.finalAction === 'shutdown' || pol.finalAction === 'reboot')
    issueOsAction(s, pol.finalAction, `deactivation of ${r.name} failed`, out);
  else if (pol.finalAction === 'stop-cluster-service') beginLeave(s, `deactivation of ${r.name} failed`, out);
}

/**
 * A ladder's final action for `group` (null = LocalServer target: stop-group stops every local group).
 * `none` leaves the failed resource in error and the group there.
 */
export function applyFinalAction(
  s: NodeState,
  action: FinalAction,
  group: string | null,
  reason: string,
  out: Out,
): void {
  const stopGroup = (g: string): void => {
    const lg = s.groups[g];
    if (!lg || (!lg.owner && lg.stop === null)) return;
    lg.stuck = false;
    beginStop(s, g, { kind: 'final', reason, release: null, hold: true, timeoutMs: null }, out);
  };
  switch (action) {
    case 'none':
      return;
    case 'stop-group':
      if (group) stopGroup(group);
      else for (const g of s.ix.config.groups) stopGroup(g.name);
      return;
    case 'stop-cluster-service':
      beginLeave(s, reason, out);
      return;
    case 'shutdown':
    case 'reboot':
      issueOsAction(s, action, reason, out);
      return;
  }
}
