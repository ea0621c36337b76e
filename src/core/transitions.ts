/**
 * Committing decisions (STYLE.md 6, DRBD's drbd_state.c): every change of a group's ownership, claim or
 * grant, and every resource action, goes through `commitIntent`: the intent (draft) is sanitized against the
 * current state (a stale or duplicate intent is dropped quietly), then the hard invariants are checked, then
 * it is committed. A violated invariant is a bug elsewhere: it is refused with an error diagnostic, never
 * carried out. The invariants:
 *
 * - never become a group's owner while another live server reports it active, while a higher-ranked live
 *   claimant exists, without a published claim, or without every required grant;
 * - never become an owner while isolated, without lease, going down, or with the cluster service not running;
 * - never grant a group that is active here, that we claim, or while another live server other than the
 *   claimant has it active;
 * - never start a resource of a group this server does not own, or whose dependencies are not online.
 */
import type { Intent } from './plan/decide.ts';
import {
  groupLocalResources,
  hasLocalActivity,
  isResourceActive,
  localGroupState,
  probesDone,
} from './group-state.ts';
import { hasLease } from './membership/lease.ts';
import { markedSelf, nextId, type NodeState, type StopIntent } from './model.ts';
import { AlertCode, type Out } from './out.ts';
import { selfIneligible } from './placement/candidates.ts';
import { decideGrant, grantBlockers, higherClaimant, otherActiveHolders } from './placement/claims.ts';
import type { ResourceAction } from './types.ts';

/** Named refusals of the hard invariants. */
export const Refusal = {
  doubleActivation: 'WOULD_DOUBLE_ACTIVATE',
  notGranted: 'CLAIM_NOT_GRANTED',
  notEligible: 'SERVER_NOT_ELIGIBLE',
  grantConflict: 'GRANT_CONFLICT',
  notOwner: 'NOT_OWNER',
} as const;
export type Refusal = (typeof Refusal)[keyof typeof Refusal];

function refuse(out: Out, code: Refusal, intent: Intent, detail: string): false {
  out.diag('error', `invariant refused: ${detail}`, {
    code,
    intent: intent.kind,
    group: 'group' in intent ? intent.group : null,
  });
  return false;
}

/** Validate and commit one intent; returns whether the state changed. */
export function commitIntent(s: NodeState, intent: Intent, now: number, out: Out): boolean {
  switch (intent.kind) {
    case 'claim': {
      const lg = s.groups[intent.group];
      if (!lg || lg.claim !== null || lg.owner) return false;
      const holders = otherActiveHolders(s, intent.group, now);
      if (holders.length > 0)
        return refuse(
          out,
          Refusal.doubleActivation,
          intent,
          `claim ${intent.group} while active on ${holders.join(', ')}`,
        );
      const g = s.grants[intent.group];
      if (g && g.server !== s.self)
        return refuse(
          out,
          Refusal.grantConflict,
          intent,
          `claim ${intent.group} while granted to ${g.server}`,
        );
      s.nextClaim += 1;
      lg.claim = s.nextClaim;
      out.diag('info', 'claim', { group: intent.group, claim: lg.claim });
      return true;
    }
    case 'withdraw': {
      const lg = s.groups[intent.group];
      if (!lg || lg.claim === null || lg.owner) return false;
      lg.claim = null;
      out.diag('info', 'claim withdrawn', { group: intent.group, why: intent.why });
      return true;
    }
    case 'grant':
      return commitGrant(s, intent, now, out);
    case 'become-owner':
      return commitOwner(s, intent, now, out);
    case 'begin-stop':
      if (!hasLocalActivity(s, intent.group)) return false;
      beginStop(s, intent.group, intent.stop, out);
      return true;
    case 'start':
      return commitStart(s, intent, now, out);
    case 'stop':
      return commitStop(s, intent, out);
    case 'settle':
      return settle(s, intent.group, out);
    case 'restart-done': {
      let changed = false;
      for (const r of groupLocalResources(s, intent.group)) {
        if (r.restart && !isResourceActive(r)) {
          r.restart = false;
          changed = true;
        }
      }
      return changed;
    }
    case 'service-stopped':
      if (s.service !== 'stopping') return false;
      s.service = 'stopped';
      out.alert(
        'info',
        'cluster',
        s.self,
        AlertCode.serviceStopped,
        `The cluster service stopped on ${s.self}.`,
      );
      return true;
    case 'isolation-action':
      return isolationAction(s, out);
  }
}

function commitGrant(
  s: NodeState,
  intent: Extract<Intent, { kind: 'grant' }>,
  now: number,
  out: Out,
): boolean {
  const cur = s.grants[intent.group];
  if (intent.grant === null) {
    if (!cur) return false;
    delete s.grants[intent.group];
    return true;
  }
  // Sanitize: the grant must still be what the rules give now.
  const want = decideGrant(s, intent.group, now);
  if (want?.server !== intent.grant.server || want.claim !== intent.grant.claim) return false;
  const lg = s.groups[intent.group];
  if (lg?.claim !== null || hasLocalActivity(s, intent.group)) {
    return refuse(out, Refusal.grantConflict, intent, `grant ${intent.group} while claiming or running it`);
  }
  const others = otherActiveHolders(s, intent.group, now).filter((h) => h !== want.server);
  if (others.length > 0)
    return refuse(
      out,
      Refusal.doubleActivation,
      intent,
      `grant ${intent.group} to ${want.server} while active on ${others.join(', ')}`,
    );
  if (cur?.server === want.server && cur.claim === want.claim) return false;
  s.grants[intent.group] = { server: want.server, claim: want.claim };
  out.diag('info', 'grant', { group: intent.group, to: want.server, claim: want.claim });
  return true;
}

function commitOwner(
  s: NodeState,
  intent: Extract<Intent, { kind: 'become-owner' }>,
  now: number,
  out: Out,
): boolean {
  const lg = s.groups[intent.group];
  if (!lg || lg.owner) return false;
  if (lg.claim === null)
    return refuse(out, Refusal.notGranted, intent, `start ${intent.group} without a claim`);
  const holders = otherActiveHolders(s, intent.group, now);
  if (holders.length > 0)
    return refuse(
      out,
      Refusal.doubleActivation,
      intent,
      `start ${intent.group} while active on ${holders.join(', ')}`,
    );
  const hc = higherClaimant(s, intent.group, now);
  if (hc)
    return refuse(
      out,
      Refusal.doubleActivation,
      intent,
      `start ${intent.group} while ${hc.server} claims it with precedence`,
    );
  const blockers = grantBlockers(s, intent.group, lg.claim, now);
  if (blockers.length > 0)
    return refuse(
      out,
      Refusal.notGranted,
      intent,
      `start ${intent.group} before grants of ${blockers.join(', ')}`,
    );
  const inel = selfIneligible(s, intent.group);
  if (inel !== null || s.service !== 'running' || !hasLease(s, now) || !probesDone(s, intent.group)) {
    return refuse(
      out,
      Refusal.notEligible,
      intent,
      `start ${intent.group}: ${inel ?? `service ${s.service}, lease or probes`}`,
    );
  }
  const g = s.grants[intent.group];
  if (g)
    return refuse(out, Refusal.grantConflict, intent, `start ${intent.group} while granted to ${g.server}`);
  lg.owner = true;
  lg.goal = 'online';
  lg.start = intent.start;
  lg.stop = null;
  lg.need = null;
  lg.release = null;
  lg.hold = false;
  lg.stuck = false;
  for (const r of groupLocalResources(s, intent.group)) {
    r.stray = false;
    r.nextEvent = null;
    r.operatorStopped = false;
    if (r.state !== 'offline' && r.state !== 'online') r.restart = true;
  }
  const how = intent.adopt ? 'adopting' : 'starting';
  out.alert(
    'info',
    'group',
    intent.group,
    AlertCode.groupStarting,
    `Group ${intent.group} is ${how} on ${s.self} (${intent.start.reason}).`,
  );
  return true;
}

function commitStart(
  s: NodeState,
  intent: Extract<Intent, { kind: 'start' }>,
  now: number,
  out: Out,
): boolean {
  const lg = s.groups[intent.group];
  const r = s.resources[intent.resource];
  const cfg = s.ix.resources.get(intent.resource);
  if (!lg || !r || !cfg || r.inflight || r.state !== 'offline' || r.restart) return false;
  if (!lg.owner || lg.goal !== 'online' || lg.stop)
    return refuse(
      out,
      Refusal.notOwner,
      intent,
      `start ${intent.resource} of ${intent.group}, not owned here`,
    );
  if (!cfg.dependsOn.every((d) => s.resources[d]?.state === 'online')) return false;
  const holders = otherActiveHolders(s, intent.group, now);
  if (holders.length > 0) {
    out.diag('debug', 'resource start deferred: group active elsewhere', {
      resource: intent.resource,
      on: holders.join(','),
    });
    return false;
  }
  const a: ResourceAction = {
    id: nextId(s),
    kind: 'resource',
    verb: 'start',
    resource: r.name,
    group: intent.group,
    timeoutMs: cfg.timeoutMs,
    event: intent.event,
    failoverFrom: intent.from,
    reason: intent.reason,
  };
  r.inflight = { id: a.id, verb: 'start', hard: false };
  r.state = 'starting';
  out.actions.push(a);
  return true;
}

function commitStop(s: NodeState, intent: Extract<Intent, { kind: 'stop' }>, out: Out): boolean {
  const r = s.resources[intent.resource];
  const lg = s.groups[intent.group];
  if (!r || !lg || !isResourceActive(r)) return false;
  if (intent.hard ? r.hardStopped : r.inflight !== null) return false;
  const a: ResourceAction = {
    id: nextId(s),
    kind: 'resource',
    verb: 'stop',
    resource: r.name,
    group: intent.group,
    timeoutMs: intent.timeoutMs,
    event: lg.start?.event ?? 'START',
    failoverFrom: lg.start?.from ?? null,
    reason: intent.reason,
  };
  if (intent.hard) {
    a.hard = true;
    r.hardStopped = true;
  }
  r.inflight = { id: a.id, verb: 'stop', hard: intent.hard };
  r.state = 'stopping';
  out.actions.push(a);
  return true;
}

/** Start stopping the local copy of `group` (owned or strays) for `stop`. */
export function beginStop(s: NodeState, group: string, stop: StopIntent, out: Out): void {
  const lg = s.groups[group];
  if (!lg) return;
  lg.stop = stop;
  lg.goal = 'offline';
  lg.claim = null;
  out.alert(
    'info',
    'group',
    group,
    AlertCode.groupStopping,
    `Group ${group} is stopping on ${s.self} (${stop.reason}).`,
  );
}

/** Every resource of a stopping group is offline: finish the stop (release, hold) and forget ownership. */
function settle(s: NodeState, group: string, out: Out): boolean {
  const lg = s.groups[group];
  if (!lg || groupLocalResources(s, group).some(isResourceActive)) return false;
  const stop = lg.stop;
  lg.owner = false;
  lg.goal = 'offline';
  lg.claim = null;
  lg.start = null;
  lg.stop = null;
  lg.stuck = false;
  for (const r of groupLocalResources(s, group)) {
    r.stray = false;
    r.restart = false;
    r.hardStopped = false;
    r.nextEvent = null;
    r.activationRetries = 0;
    r.deactivationRetries = 0;
  }
  if (stop?.release) {
    s.nextReleaseId += 1;
    lg.release = { id: s.nextReleaseId, ...stop.release };
    // Keep the need here too: should the target not take the group, whoever the rule picks next does
    // (this server only when it may run the group).
    const { to, rule, kind, reason } = stop.release;
    lg.need = {
      event: 'START',
      from: null,
      to,
      rule,
      reason: `${kind}: ${reason}`,
      operator: false,
      exclude: null,
    };
  }
  if (stop?.hold) lg.hold = true;
  out.diag('info', 'group settled offline', { group, why: stop?.kind ?? 'none' });
  return true;
}

/** Put a failover mark for `group` on this server (persisted, reported in failedGroups). */
export function markFailed(s: NodeState, group: string, out: Out): void {
  if (markedSelf(s, group)) return;
  s.marks[group] = [...(s.marks[group] ?? []), s.self];
  out.persistDirty = true;
}

/** Shut down or reboot this machine through `osActions`; the node starts nothing more. */
export function issueOsAction(s: NodeState, action: 'shutdown' | 'reboot', reason: string, out: Out): void {
  if (s.goingDown) return;
  s.goingDown = action;
  const id = nextId(s);
  s.actions[id] = { kind: 'os' };
  out.actions.push({ id, kind: 'os', action, command: s.ix.config.cluster.osActions[action], reason });
  out.alert(
    'error',
    'server',
    s.self,
    AlertCode.osAction,
    `${action === 'shutdown' ? 'Shutting down' : 'Rebooting'} ${s.self}: ${reason}.`,
  );
}

/** Leave the cluster (the service stops once every group is offline). */
export function beginLeave(s: NodeState, reason: string, out: Out): void {
  if (s.service !== 'running' && s.service !== 'starting') return;
  s.service = 'stopping';
  out.alert(
    'info',
    'cluster',
    s.self,
    AlertCode.serviceStopping,
    `The cluster service is stopping on ${s.self} (${reason}).`,
  );
}

function isolationAction(s: NodeState, out: Out): boolean {
  const iso = s.isolation;
  if (!iso || iso.actionDone) return false;
  iso.actionDone = true;
  if (!iso.hadLease) return true;
  const action = s.ix.config.cluster.networkPartition.actionOnIsolation;
  if (action === 'shutdown' || action === 'reboot') issueOsAction(s, action, `isolated (${iso.cause})`, out);
  else if (action === 'stop-cluster-service' && s.service !== 'stopped') {
    s.service = 'stopped';
    out.alert(
      'error',
      'cluster',
      s.self,
      AlertCode.serviceStopped,
      `The cluster service stopped on ${s.self} because it was isolated; run tandem cluster start to rejoin.`,
    );
  }
  return true;
}

/** Alerts for group states that changed during a step (online, offline, error). */
export function reportGroupChanges(s: NodeState, out: Out): void {
  for (const g of s.ix.config.groups) {
    const lg = s.groups[g.name];
    if (!lg) continue;
    const st = localGroupState(s, g.name);
    if (st === lg.lastState) continue;
    const prev = lg.lastState;
    lg.lastState = st;
    if (st === 'online')
      out.alert('info', 'group', g.name, AlertCode.groupOnline, `Group ${g.name} is online on ${s.self}.`);
    else if (st === 'offline' && prev !== 'offline')
      out.alert('info', 'group', g.name, AlertCode.groupOffline, `Group ${g.name} is offline on ${s.self}.`);
    else if (st === 'error') {
      const bad = groupLocalResources(s, g.name).find((r) => r.state === 'error');
      const detail = bad?.lastError ? ` Resource ${bad.name}: ${bad.lastError.message}` : '';
      out.alert(
        'error',
        'group',
        g.name,
        AlertCode.groupError,
        `Group ${g.name} is in error on ${s.self}.${detail}`,
      );
    }
  }
}
