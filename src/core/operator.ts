/**
 * Operator requests (API / CLI), already routed to this server by `routeFor`: validation with named
 * refusals (OperationErrorCode, object, remedy), the state change, and the reply, which for long operations
 * (group start/stop/move, resource start/stop, cluster stop) is sent once the outcome is known.
 */
import { OperationErrorCode } from '../shared/errors.ts';
import { withDependents } from './config-index.ts';
import { groupLocalResources, hasLocalActivity, isResourceActive, localGroupState } from './group-state.ts';
import { confirmDown } from './membership/fencing.ts';
import { clearGroupFailures } from './membership/peers.ts';
import type { NodeState, PendingReply } from './model.ts';
import { AlertCode, type Out } from './out.ts';
import { chooseTarget, ineligible, selfIneligible } from './placement/candidates.ts';
import { activeHolders, otherActiveHolders } from './placement/claims.ts';
import { startNeed } from './placement/needs.ts';
import { startService } from './service.ts';
import { beginLeave, beginStop } from './transitions.ts';
import type { OperatorOp, OperatorReply } from './types.ts';

function ok(requestId: string, message: string): OperatorReply {
  return { requestId, ok: true, message };
}

function refused(
  requestId: string,
  code: OperationErrorCode,
  object: string,
  message: string,
  remedy: string,
): OperatorReply {
  return { requestId, ok: false, code, object, message, remedy };
}

/** Where `op` must be carried out: the group's owner, the requested or computed target, or this server. */
export function routeFor(s: NodeState, op: OperatorOp, now: number): string {
  const holderOf = (group: string): string | null => activeHolders(s, group, now)[0] ?? null;
  switch (op.op) {
    case 'group-start': {
      if (op.server) return op.server;
      const g = s.ix.groups.get(op.group);
      if (!g) return s.self;
      return holderOf(op.group) ?? chooseTarget(s, op.group, now, 'max-priority', null) ?? s.self;
    }
    case 'group-stop':
    case 'group-move':
      return holderOf(op.group) ?? s.self;
    case 'resource-start':
    case 'resource-stop': {
      const g = s.ix.resources.get(op.resource)?.group;
      return (g ? holderOf(g) : null) ?? s.self;
    }
    default:
      return s.self;
  }
}

export function handleOperator(s: NodeState, requestId: string, op: OperatorOp, now: number, out: Out): void {
  const reply = carryOut(s, requestId, op, now, out);
  if (reply) out.replies.push(reply);
}

const notFound = (requestId: string, kind: string, name: string): OperatorReply =>
  refused(
    requestId,
    OperationErrorCode.notFound,
    name,
    `No ${kind} named ${name} in the cluster configuration.`,
    `Check the name with tandem status.`,
  );

function carryOut(
  s: NodeState,
  requestId: string,
  op: OperatorOp,
  now: number,
  out: Out,
): OperatorReply | null {
  const pend = (target: string | null = null): null => {
    s.pendingReplies.push({ requestId, op, target });
    return null;
  };
  switch (op.op) {
    case 'cluster-start': {
      if (s.goingDown)
        return refused(
          requestId,
          OperationErrorCode.serverUnavailable,
          s.self,
          `${s.self} is going down (${s.goingDown}).`,
          'Wait until it is back.',
        );
      if (s.service === 'stopping')
        return refused(
          requestId,
          OperationErrorCode.groupBusy,
          s.self,
          `The cluster service is stopping on ${s.self}.`,
          'Wait until it has stopped, then start it again.',
        );
      if (s.serviceWanted !== 'running') {
        s.serviceWanted = 'running';
        out.persistDirty = true;
      }
      if (s.service !== 'stopped')
        return ok(requestId, `The cluster service is already ${s.service} on ${s.self}.`);
      if (s.isolation?.actionDone) s.isolation = null;
      startService(s, now, out);
      return ok(requestId, `The cluster service is starting on ${s.self}; groups start after the sync wait.`);
    }
    case 'cluster-stop': {
      if (!op.daemonShutdown && s.serviceWanted !== 'stopped') {
        s.serviceWanted = 'stopped';
        out.persistDirty = true;
      }
      if (s.service === 'stopped')
        return ok(requestId, `The cluster service is already stopped on ${s.self}.`);
      beginLeave(s, op.daemonShutdown ? 'daemon shutting down' : 'operator request', out);
      return pend();
    }
    case 'group-start':
      return groupStart(s, requestId, op.group, op.server ?? null, now, pend);
    case 'group-stop': {
      const lg = s.groups[op.group];
      if (!lg) return notFound(requestId, 'group', op.group);
      if (hasLocalActivity(s, op.group)) {
        lg.stuck = false;
        if (lg.stop) {
          lg.stop = { ...lg.stop, release: null, hold: true, reason: `${lg.stop.reason}; operator request` };
        } else
          beginStop(
            s,
            op.group,
            { kind: 'operator', reason: 'operator request', release: null, hold: true, timeoutMs: null },
            out,
          );
        lg.need = null;
        return pend();
      }
      const others = otherActiveHolders(s, op.group, now);
      if (others.length > 0) {
        return refused(
          requestId,
          OperationErrorCode.invalidRequest,
          op.group,
          `Group ${op.group} is active on ${others.join(', ')}, not on ${s.self}.`,
          `Send the request to ${others[0]} (tandem routes it there).`,
        );
      }
      if (lg.need) {
        lg.need = null;
        lg.hold = true;
        return ok(requestId, `The pending start of ${op.group} was cancelled.`);
      }
      return refused(
        requestId,
        OperationErrorCode.alreadyOffline,
        op.group,
        `Group ${op.group} is already offline.`,
        'Nothing to do.',
      );
    }
    case 'group-move':
      return groupMove(s, requestId, op.group, op.to ?? null, now, out, pend);
    case 'resource-start':
    case 'resource-stop':
      return resourceOp(s, requestId, op.op, op.resource, pend);
    case 'monitor-suspend':
    case 'monitor-resume': {
      if (op.monitor !== undefined && !s.monitors[op.monitor])
        return notFound(requestId, 'monitor', op.monitor);
      const names = op.monitor !== undefined ? [op.monitor] : Object.keys(s.monitors);
      const suspend = op.op === 'monitor-suspend';
      for (const n of names) {
        const m = s.monitors[n];
        if (!m || m.suspended === suspend) continue;
        m.suspended = suspend;
        m.failures = 0;
        m.reactivations = 0;
        m.failovers = 0;
        m.scriptRuns = 0;
        m.finalDone = false;
        m.pendingStep = null;
        m.inflight = null;
        out.alert(
          'info',
          'monitor',
          n,
          suspend ? AlertCode.monitorSuspended : AlertCode.monitorResumed,
          `Monitor ${n} ${suspend ? 'suspended' : 'resumed'} on ${s.self}.`,
        );
      }
      return ok(requestId, `${names.length} monitor(s) ${suspend ? 'suspended' : 'resumed'} on ${s.self}.`);
    }
    case 'group-reset': {
      if (!s.groups[op.group]) return notFound(requestId, 'group', op.group);
      s.resetEpochs[op.group] = (s.resetEpochs[op.group] ?? 0) + 1;
      clearGroupFailures(s, op.group);
      out.persistDirty = true;
      out.alert(
        'info',
        'group',
        op.group,
        AlertCode.marksReset,
        `Failover marks and failure counts of ${op.group} were reset.`,
      );
      return ok(requestId, `Failover marks and failure counts of ${op.group} were reset on every server.`);
    }
    case 'confirm-down': {
      if (!s.ix.servers.has(op.server)) return notFound(requestId, 'server', op.server);
      if (op.server === s.self)
        return refused(
          requestId,
          OperationErrorCode.invalidRequest,
          op.server,
          `${op.server} is the server answering this request; it is running.`,
          'Send confirm-down to a surviving server (tandem --server <survivor> server confirm-down NAME).',
        );
      const why = confirmDown(s, op.server, now, out);
      if (why !== null)
        return refused(
          requestId,
          OperationErrorCode.invalidRequest,
          op.server,
          `${why}.`,
          'Only confirm a server down after its instance is stopped (EC2 console or aws ec2 stop-instances).',
        );
      return ok(requestId, `${op.server} is confirmed stopped on ${s.self}; its groups may be taken over.`);
    }
  }
}

function groupStart(
  s: NodeState,
  requestId: string,
  group: string,
  server: string | null,
  now: number,
  pend: () => null,
): OperatorReply | null {
  const lg = s.groups[group];
  if (!lg) return notFound(requestId, 'group', group);
  if (server !== null && !s.ix.servers.has(server)) return notFound(requestId, 'server', server);
  if (server !== null && server !== s.self) {
    return refused(
      requestId,
      OperationErrorCode.invalidRequest,
      group,
      `The start of ${group} on ${server} must be carried out on ${server}, not ${s.self}.`,
      `Send the request to ${server} (tandem routes it there).`,
    );
  }
  if (s.service !== 'running') {
    return refused(
      requestId,
      OperationErrorCode.serviceStopped,
      s.self,
      `The cluster service is ${s.service} on ${s.self}.`,
      `Start it with tandem cluster start (and wait for the sync wait) first.`,
    );
  }
  const holders = activeHolders(s, group, now);
  if (holders.length > 0) {
    const where = holders[0] ?? s.self;
    const st = where === s.self ? localGroupState(s, group) : s.peers[where]?.report?.groups[group]?.state;
    if (st === 'online')
      return refused(
        requestId,
        OperationErrorCode.alreadyOnline,
        group,
        `Group ${group} is already online on ${where}.`,
        `To run it elsewhere use tandem group move ${group} --to SERVER.`,
      );
    if (st === 'error')
      return refused(
        requestId,
        OperationErrorCode.groupBusy,
        group,
        `Group ${group} is in error on ${where}.`,
        `Stop it first with tandem group stop ${group}.`,
      );
    return refused(
      requestId,
      OperationErrorCode.groupBusy,
      group,
      `Group ${group} is ${st ?? 'busy'} on ${where}.`,
      'Wait until it settles and retry.',
    );
  }
  const inel = selfIneligible(s, group);
  if (inel !== null)
    return refused(
      requestId,
      OperationErrorCode.notEligible,
      group,
      `Group ${group} cannot start on ${s.self}: ${inel}.`,
      `Start it on a server that may run it, or fix the cause and run tandem group reset ${group}.`,
    );
  lg.need = startNeed('operator request', s.self, 'max-priority', true);
  lg.hold = false;
  return pend();
}

function groupMove(
  s: NodeState,
  requestId: string,
  group: string,
  to: string | null,
  now: number,
  out: Out,
  pend: (t: string | null) => null,
): OperatorReply | null {
  const lg = s.groups[group];
  const g = s.ix.groups.get(group);
  if (!lg || !g) return notFound(requestId, 'group', group);
  if (to !== null && !s.ix.servers.has(to)) return notFound(requestId, 'server', to);
  if (!lg.owner) {
    const others = otherActiveHolders(s, group, now);
    if (others.length > 0)
      return refused(
        requestId,
        OperationErrorCode.invalidRequest,
        group,
        `Group ${group} is active on ${others.join(', ')}, not on ${s.self}.`,
        `Send the request to ${others[0]} (tandem routes it there).`,
      );
    return refused(
      requestId,
      OperationErrorCode.alreadyOffline,
      group,
      `Group ${group} is not running, so it cannot be moved.`,
      `Start it where you want it: tandem group start ${group} --server SERVER.`,
    );
  }
  const st = localGroupState(s, group);
  if (st !== 'online' || lg.stop)
    return refused(
      requestId,
      OperationErrorCode.groupBusy,
      group,
      `Group ${group} is ${st} on ${s.self}.`,
      'Wait until it is online, then move it.',
    );
  if (to === s.self)
    return refused(
      requestId,
      OperationErrorCode.alreadyOnline,
      group,
      `Group ${group} is already online on ${s.self}.`,
      'Name another server with --to.',
    );
  if (to !== null) {
    const why = ineligible(s, group, to, now);
    if (why !== null)
      return refused(
        requestId,
        OperationErrorCode.notEligible,
        to,
        `Group ${group} cannot move to ${to}: ${why}.`,
        `Pick a server that is online and may run ${group} (tandem status).`,
      );
  }
  const target = to ?? chooseTarget(s, group, now, g.failover.target, null, s.self);
  if (target === null)
    return refused(
      requestId,
      OperationErrorCode.notEligible,
      group,
      `No other server can run ${group} now.`,
      `Start the cluster service on another startup server of ${group}.`,
    );
  beginStop(
    s,
    group,
    {
      kind: 'move',
      reason: `move to ${target} (operator request)`,
      release: { kind: 'move', to: target, rule: g.failover.target, reason: 'operator request' },
      hold: false,
      timeoutMs: null,
    },
    out,
  );
  return pend(target);
}

function resourceOp(
  s: NodeState,
  requestId: string,
  op: 'resource-start' | 'resource-stop',
  name: string,
  pend: () => null,
): OperatorReply | null {
  const r = s.resources[name];
  const cfg = s.ix.resources.get(name);
  if (!r || !cfg) return notFound(requestId, 'resource', name);
  const lg = s.groups[r.group];
  if (!lg?.owner || lg.goal !== 'online' || lg.stop) {
    return refused(
      requestId,
      OperationErrorCode.invalidRequest,
      name,
      `Group ${r.group} of ${name} is not online on ${s.self}.`,
      `Start the group first: tandem group start ${r.group}.`,
    );
  }
  if (op === 'resource-start') {
    if (r.state === 'online' && !r.operatorStopped)
      return refused(
        requestId,
        OperationErrorCode.alreadyOnline,
        name,
        `Resource ${name} is already online on ${s.self}.`,
        'Nothing to do.',
      );
    const off = cfg.dependsOn.filter(
      (d) => s.resources[d]?.state !== 'online' || s.resources[d]?.operatorStopped,
    );
    if (off.length > 0)
      return refused(
        requestId,
        OperationErrorCode.invalidRequest,
        name,
        `Resource ${name} depends on ${off.join(', ')}, which is not online.`,
        `Start ${off.join(', ')} first.`,
      );
    r.operatorStopped = false;
    if (r.state === 'error') r.restart = true;
    lg.stuck = false;
    return pend();
  }
  if (!isResourceActive(r) && r.operatorStopped)
    return refused(
      requestId,
      OperationErrorCode.alreadyOffline,
      name,
      `Resource ${name} is already offline on ${s.self}.`,
      'Nothing to do.',
    );
  for (const n of withDependents(s.ix, name)) {
    const x = s.resources[n];
    if (x) x.operatorStopped = true;
  }
  return pend();
}

/** Resolve pending replies whose outcome is known now. */
export function evaluateReplies(s: NodeState, now: number, out: Out): void {
  const keep: PendingReply[] = [];
  for (const p of s.pendingReplies) {
    const reply = outcome(s, p, now);
    if (reply) out.replies.push(reply);
    else keep.push(p);
  }
  s.pendingReplies = keep;
}

function failed(p: PendingReply, object: string, message: string, remedy: string): OperatorReply {
  return refused(p.requestId, OperationErrorCode.operationFailed, object, message, remedy);
}

function outcome(s: NodeState, p: PendingReply, now: number): OperatorReply | null {
  const op = p.op;
  switch (op.op) {
    case 'cluster-stop':
      return s.service === 'stopped' ? ok(p.requestId, `The cluster service stopped on ${s.self}.`) : null;
    case 'group-start': {
      const lg = s.groups[op.group];
      const st = localGroupState(s, op.group);
      if (lg?.owner && st === 'online') return ok(p.requestId, `Group ${op.group} is online on ${s.self}.`);
      if (st === 'error')
        return failed(
          p,
          op.group,
          `Group ${op.group} failed to start on ${s.self}: ${firstError(s, op.group)}.`,
          `Check the resource, then tandem group stop ${op.group} and start it again.`,
        );
      if (lg && !lg.owner && !lg.need && !hasLocalActivity(s, op.group)) {
        const elsewhere = otherActiveHolders(s, op.group, now);
        if (elsewhere.length > 0 && op.server === undefined)
          return ok(p.requestId, `Group ${op.group} runs on ${elsewhere.join(', ')}.`);
        return elsewhere.length > 0
          ? refused(
              p.requestId,
              OperationErrorCode.alreadyOnline,
              op.group,
              `Group ${op.group} was started on ${elsewhere.join(', ')} instead (a concurrent request or placement ranked it higher).`,
              `Move it with tandem group move ${op.group} --to ${s.self} if it must run here.`,
            )
          : failed(
              p,
              op.group,
              `Group ${op.group} did not start on ${s.self}: ${firstError(s, op.group)}.`,
              `See tandem alerts; fix the cause and run tandem group reset ${op.group}.`,
            );
      }
      return null;
    }
    case 'group-stop': {
      if (!hasLocalActivity(s, op.group))
        return ok(p.requestId, `Group ${op.group} is offline on ${s.self}.`);
      return localGroupState(s, op.group) === 'error'
        ? failed(
            p,
            op.group,
            `Group ${op.group} failed to stop on ${s.self}: ${firstError(s, op.group)}.`,
            `Check the resource and retry tandem group stop ${op.group}.`,
          )
        : null;
    }
    case 'group-move': {
      const t = p.target;
      const st = t ? s.peers[t]?.report?.groups[op.group]?.state : undefined;
      if (st === 'online') return ok(p.requestId, `Group ${op.group} moved to ${t}.`);
      if (st === 'error')
        return failed(
          p,
          op.group,
          `Group ${op.group} failed to start on ${t}.`,
          `See tandem alerts on ${t}.`,
        );
      const local = localGroupState(s, op.group);
      if (local === 'error')
        return failed(
          p,
          op.group,
          `Group ${op.group} failed to stop on ${s.self}: ${firstError(s, op.group)}.`,
          'Check the resource and retry.',
        );
      if (s.groups[op.group]?.owner && local === 'online')
        return failed(p, op.group, `Group ${op.group} is online on ${s.self} again.`, 'Retry the move.');
      return null;
    }
    case 'resource-start':
    case 'resource-stop': {
      const r = s.resources[op.resource];
      if (!r) return ok(p.requestId, 'done');
      const want = op.op === 'resource-start' ? 'online' : 'offline';
      if (r.state === want && r.inflight === null)
        return ok(p.requestId, `Resource ${op.resource} is ${want} on ${s.self}.`);
      if (r.state === 'error' && r.inflight === null)
        return failed(
          p,
          op.resource,
          r.lastError?.message ?? `Resource ${op.resource} failed.`,
          'Check the resource and retry.',
        );
      if (!s.groups[r.group]?.owner)
        return failed(
          p,
          op.resource,
          `Group ${r.group} is no longer online on ${s.self}.`,
          'See tandem status.',
        );
      return null;
    }
    default:
      return ok(p.requestId, 'done');
  }
}

function firstError(s: NodeState, group: string): string {
  const r = groupLocalResources(s, group).find((x) => x.lastError !== null);
  return r?.lastError?.message ?? 'see tandem alerts';
}
