/**
 * `decide(snapshot, nowMs) -> Plan`: the pure, level-triggered planner (STYLE.md 1-5, Pacemaker's
 * scheduler). From the node's state alone it derives, for every group, what this server should do now:
 * stop the local copy (isolation, leaving the cluster, failback, strays, double activation), carry on a
 * start or stop in dependency order, or claim the group and start it once every grant is in; plus the grant
 * this server publishes for each group and the service-level steps (service stopped, isolation action).
 *
 * `decideAll` returns the plan (what `tandem plan` shows, with reasons and dependencies) together with the
 * typed intents that transitions.ts validates and commits. Nothing here mutates the state.
 */
import type { CompiledGroup } from '../../shared/config/types.ts';
import { precedence } from '../config-index.ts';
import { groupLocalResources, isResourceActive, localGroupState, probesDone } from '../group-state.ts';
import { downBlocker, hasLease, isIgnorable } from '../membership/lease.ts';
import { isHeard } from '../membership/peers.ts';
import type { LocalGroup, LocalResource, NodeState, StopIntent } from '../model.ts';
import { chooseTarget, failbackTarget, selfIneligible } from '../placement/candidates.ts';
import {
  decideGrant,
  grantBlockers,
  higherClaimant,
  otherActiveHolders,
  peerClaimants,
} from '../placement/claims.ts';
import type { Plan, PlanStep } from '../types.ts';

type StartCtx = { event: 'START' | 'FAILOVER' | 'RECOVER'; from: string | null; reason: string };

export type Intent =
  | { kind: 'claim'; group: string }
  | { kind: 'withdraw'; group: string; why: string }
  | { kind: 'grant'; group: string; grant: { server: string; claim: number } | null }
  | { kind: 'become-owner'; group: string; start: StartCtx; adopt: boolean }
  | { kind: 'begin-stop'; group: string; stop: StopIntent }
  | {
      kind: 'start';
      group: string;
      resource: string;
      event: StartCtx['event'];
      from: string | null;
      reason: string;
    }
  | { kind: 'stop'; group: string; resource: string; reason: string; timeoutMs: number; hard: boolean }
  | { kind: 'settle'; group: string }
  | { kind: 'restart-done'; group: string }
  | { kind: 'service-stopped' }
  | { kind: 'isolation-action' };

export interface Decision {
  plan: Plan;
  intents: Intent[];
}

class PlanBuilder {
  readonly steps: PlanStep[] = [];
  /** Step id of the pending start/stop of each resource, for dependencies. */
  readonly byResource = new Map<string, string>();

  add(
    text: string,
    reason: string,
    dependsOn: string[],
    status: NonNullable<PlanStep['status']>,
    waitingFor?: string,
  ): string {
    const id = String(this.steps.length + 1);
    const step: PlanStep = { id, text, reason, dependsOn, status };
    if (waitingFor !== undefined) step.waitingFor = waitingFor;
    this.steps.push(step);
    return id;
  }
}

export function decide(s: NodeState, now: number): Plan {
  return decideAll(s, now).plan;
}

export function decideAll(s: NodeState, now: number): Decision {
  const b = new PlanBuilder();
  const intents: Intent[] = [];
  const claimed = new Set<string>();
  for (const g of s.ix.config.groups) decideGroup(s, g, now, b, intents);
  for (const i of intents) if (i.kind === 'claim' || i.kind === 'become-owner') claimed.add(i.group);
  for (const g of s.ix.config.groups) {
    if (claimed.has(g.name)) continue;
    const want = decideGrant(s, g.name, now);
    const cur = s.grants[g.name] ?? null;
    if (want?.server !== cur?.server || want?.claim !== cur?.claim)
      intents.push({ kind: 'grant', group: g.name, grant: want });
  }
  decideService(s, now, b, intents);
  return { plan: { server: s.self, steps: b.steps }, intents };
}

function decideService(s: NodeState, now: number, b: PlanBuilder, intents: Intent[]): void {
  // A group stuck in error (a stop failed past its ladder) does not hold the service or isolation up.
  const busy = (group: string): boolean => {
    const lg = s.groups[group];
    const active = groupLocalResources(s, group).filter(isResourceActive);
    if (active.length === 0) return lg?.owner === true;
    return !(lg?.stuck && active.every((r) => r.state === 'error' && r.inflight === null));
  };
  const anyActive = s.ix.config.groups.some((g) => busy(g.name));
  if (s.service === 'starting' && s.serviceStartMs !== null) {
    const missing = Object.values(s.peers)
      .filter((p) => !isHeard(s.ix, p, now))
      .map((p) => p.name);
    const why = missing.length > 0 ? `${missing.join(', ')} to be heard` : 'the next step';
    b.add(
      `finish the sync wait on ${s.self}`,
      'cluster service starting',
      [],
      'waiting',
      `${why}, at most until ${s.serviceStartMs + s.ix.config.cluster.syncWaitMs} ms`,
    );
  }
  if (s.service === 'stopping') {
    if (!anyActive) intents.push({ kind: 'service-stopped' });
    b.add(
      `stop the cluster service on ${s.self}`,
      'cluster stop',
      [...b.byResource.values()],
      anyActive ? 'waiting' : 'ready',
    );
  }
  for (const m of s.ix.config.monitors) {
    const step = s.monitors[m.name]?.pendingStep;
    if (!step) continue;
    const which =
      step === 'failover' ? 'beforeFailover' : step === 'final' ? 'beforeFinalAction' : 'beforeReactivation';
    const what =
      step === 'final'
        ? `final action ${m.recovery.finalAction}`
        : step === 'script'
          ? 'recovery script'
          : `${step} of ${m.recovery.target}`;
    b.add(
      `${what} on ${s.self} (monitor ${m.name})`,
      `monitor ${m.name} error`,
      [],
      'waiting',
      `script ${which}`,
    );
  }
  const iso = s.isolation;
  if (iso && !iso.actionDone) {
    const action = s.ix.config.cluster.networkPartition.actionOnIsolation;
    const deadline = iso.sinceMs + s.ix.config.cluster.lease.isolationStopTimeoutMs;
    const osAction = action === 'shutdown' || action === 'reboot';
    const due = !anyActive || (osAction && now >= deadline);
    if (due) intents.push({ kind: 'isolation-action' });
    if (iso.hadLease && action !== 'none') {
      b.add(
        `${action} ${s.self}`,
        `isolated: ${iso.cause}`,
        [...b.byResource.values()],
        due ? 'ready' : 'waiting',
      );
    }
  }
}

function decideGroup(s: NodeState, g: CompiledGroup, now: number, b: PlanBuilder, intents: Intent[]): void {
  const lg = s.groups[g.name];
  if (!lg) return;
  const resourcesActive = groupLocalResources(s, g.name).some(isResourceActive);
  if (lg.owner || resourcesActive) {
    const want = mustStop(s, g, lg, now);
    if (want && (lg.stop === null || (want.kind === 'isolation' && lg.stop.kind !== 'isolation'))) {
      intents.push({ kind: 'begin-stop', group: g.name, stop: want });
      return;
    }
  }
  if (lg.stop !== null || (lg.owner && lg.goal === 'offline')) {
    if (resourcesActive) planStop(s, g, lg, now, b, intents);
    else intents.push({ kind: 'settle', group: g.name });
    return;
  }
  if (lg.owner) return planOwnerStart(s, g, lg, b, intents);
  claimFlow(s, g, lg, now, b, intents, resourcesActive);
}

/** Whether the local copy (owned or stray) must be stopped now, and why. */
function mustStop(s: NodeState, g: CompiledGroup, lg: LocalGroup, now: number): StopIntent | null {
  const cl = s.ix.config.cluster;
  const releaseAs = (kind: 'isolation' | 'leave', reason: string): StopIntent['release'] =>
    lg.owner && g.failover.auto ? { kind, to: null, rule: g.failover.target, reason } : null;
  if (s.isolation) {
    return {
      kind: 'isolation',
      reason: `${s.self} is isolated: ${s.isolation.cause}`,
      release: releaseAs('isolation', `${s.self} isolated`),
      hold: false,
      timeoutMs: cl.lease.isolationStopTimeoutMs,
    };
  }
  if (s.service === 'stopping' || s.service === 'stopped') {
    return {
      kind: 'leave',
      reason: `the cluster service stops on ${s.self}`,
      release: releaseAs('leave', `cluster service stopped on ${s.self}`),
      hold: false,
      timeoutMs: null,
    };
  }
  const state = localGroupState(s, g.name);
  if (lg.owner) {
    if (state !== 'online' || lg.stop) return null;
    const mine = precedence(s.ix, g.name, s.self);
    for (const p of Object.values(s.peers)) {
      if (p.report?.groups[g.name]?.state !== 'online' || isIgnorable(s, p, now)) continue;
      if (precedence(s.ix, g.name, p.name) < mine) {
        return {
          kind: 'double-active',
          reason: `${g.name} is also online on ${p.name}, which ranks higher`,
          release: null,
          hold: false,
          timeoutMs: null,
        };
      }
    }
    const fb = failbackTarget(s, g.name, s.self, now);
    if (fb) {
      return {
        kind: 'failback',
        reason: `failback to ${fb}`,
        release: { kind: 'failback', to: fb, rule: g.failover.target, reason: `${fb} ranks higher` },
        hold: false,
        timeoutMs: null,
      };
    }
    return null;
  }
  // Strays: resources found running (or in doubt) by the startup probe, not owned here.
  if (!probesDone(s, g.name)) return null;
  const yieldTo = (reason: string): StopIntent => ({
    kind: 'yield',
    reason,
    release: null,
    hold: false,
    timeoutMs: null,
  });
  const holders = otherActiveHolders(s, g.name, now);
  if (holders.length > 0) return yieldTo(`found running while ${g.name} is active on ${holders.join(', ')}`);
  const holder = Object.values(s.peers).find(
    (p) => p.report?.groups[g.name]?.hold === true && !isIgnorable(s, p, now),
  );
  if (holder) return yieldTo(`found running while ${g.name} is held stopped by ${holder.name}`);
  const inel = selfIneligible(s, g.name);
  if (s.service === 'running' && inel !== null)
    return yieldTo(`found running where ${g.name} may not run: ${inel}`);
  const active = peerClaimants(s, g.name, now).find((c) => c.active);
  if (active) return yieldTo(`found running while ${active.server} adopts ${g.name}`);
  return null;
}

function startReason(r: LocalResource, ctx: StartCtx): string {
  return r.nextEvent === 'RECOVER' && ctx.event !== 'RECOVER' ? `reactivation (${ctx.reason})` : ctx.reason;
}

/** Owner, goal online: reactivation stops first, then starts in dependency order. */
function planOwnerStart(
  s: NodeState,
  g: CompiledGroup,
  lg: LocalGroup,
  b: PlanBuilder,
  intents: Intent[],
): void {
  const rs = groupLocalResources(s, g.name);
  const ctx: StartCtx = lg.start ?? { event: 'START', from: null, reason: 'group start' };
  const restarting = rs.filter((r) => r.restart);
  if (restarting.length > 0 && !restarting.some(isResourceActive))
    intents.push({ kind: 'restart-done', group: g.name });
  const stopping = rs.filter((r) => (r.restart || r.operatorStopped) && isResourceActive(r));
  if (stopping.length > 0) {
    const why = stopping.some((r) => r.restart) ? `reactivation (${ctx.reason})` : 'operator request';
    planStopSet(s, g, stopping, why, null, false, b, intents);
  }
  for (const r of rs) {
    if (r.operatorStopped || r.state === 'error' || (r.state === 'online' && !r.restart)) continue;
    const cfg = s.ix.resources.get(r.name);
    const deps = cfg?.dependsOn ?? [];
    const text = `start ${r.name} on ${s.self} (${g.name})`;
    const depSteps = deps.map((d) => b.byResource.get(d)).filter((x): x is string => x !== undefined);
    const reason =
      deps.length > 0 && depSteps.length > 0 ? `depends on ${deps.join(', ')}` : startReason(r, ctx);
    if (r.inflight?.verb === 'start') {
      b.byResource.set(r.name, b.add(text, reason, depSteps, 'running'));
      continue;
    }
    const depsOnline = deps.every((d) => {
      const dr = s.resources[d];
      return dr?.state === 'online' && !dr.restart && dr.inflight === null;
    });
    if (r.restart || r.inflight || !depsOnline) {
      const prior = b.byResource.get(r.name);
      b.byResource.set(r.name, b.add(text, reason, prior ? [...depSteps, prior] : depSteps, 'waiting'));
      continue;
    }
    b.byResource.set(r.name, b.add(text, reason, depSteps, 'ready'));
    intents.push({
      kind: 'start',
      group: g.name,
      resource: r.name,
      event: r.nextEvent ?? ctx.event,
      from: ctx.from,
      reason: startReason(r, ctx),
    });
  }
}

/** A stop in progress (lg.stop set): reverse dependency order; hard stops past the isolation deadline. */
function planStop(
  s: NodeState,
  g: CompiledGroup,
  lg: LocalGroup,
  now: number,
  b: PlanBuilder,
  intents: Intent[],
): void {
  const stop = lg.stop;
  if (!stop) return;
  const iso = s.isolation;
  const hard = iso !== null && now >= iso.sinceMs + s.ix.config.cluster.lease.isolationStopTimeoutMs;
  const active = groupLocalResources(s, g.name).filter(isResourceActive);
  planStopSet(s, g, active, stop.reason, stop.timeoutMs, hard, b, intents);
}

function planStopSet(
  s: NodeState,
  g: CompiledGroup,
  active: LocalResource[],
  reason: string,
  timeoutMs: number | null,
  hard: boolean,
  b: PlanBuilder,
  intents: Intent[],
): void {
  const lg = s.groups[g.name];
  const activeNames = new Set(active.map((r) => r.name));
  for (const r of [...active].reverse()) {
    const cfg = s.ix.resources.get(r.name);
    const text = `${hard ? 'hard-stop' : 'stop'} ${r.name} on ${s.self} (${g.name})`;
    const deps = (s.ix.dependents.get(r.name) ?? []).filter((d) => activeNames.has(d));
    const depSteps = deps.map((d) => b.byResource.get(d)).filter((x): x is string => x !== undefined);
    const why = deps.length > 0 ? `${reason}; ${deps.join(', ')} depends on it` : reason;
    if (hard && !r.hardStopped) {
      b.byResource.set(r.name, b.add(text, `${reason}; isolation stop deadline passed`, [], 'ready'));
      intents.push({
        kind: 'stop',
        group: g.name,
        resource: r.name,
        reason: `${reason}; isolation stop deadline passed`,
        timeoutMs: cfg?.timeoutMs ?? 0,
        hard: true,
      });
      continue;
    }
    if (r.inflight) {
      b.byResource.set(
        r.name,
        b.add(
          text,
          why,
          depSteps,
          r.inflight.verb === 'stop' ? 'running' : 'waiting',
          r.inflight.verb === 'stop' ? undefined : `${r.inflight.verb} in flight`,
        ),
      );
      continue;
    }
    if (r.state === 'error' && lg?.stuck) {
      b.byResource.set(
        r.name,
        b.add(
          text,
          why,
          depSteps,
          'waiting',
          `operator (${r.name} failed to stop; tandem group stop ${g.name})`,
        ),
      );
      continue;
    }
    const ready = deps.every((d) => !isResourceActive(s.resources[d] ?? r));
    b.byResource.set(r.name, b.add(text, why, depSteps, ready ? 'ready' : 'waiting'));
    if (ready) {
      const t = timeoutMs === null ? (cfg?.timeoutMs ?? 0) : Math.min(timeoutMs, cfg?.timeoutMs ?? timeoutMs);
      intents.push({ kind: 'stop', group: g.name, resource: r.name, reason, timeoutMs: t, hard: false });
    }
  }
}

/** No local copy (or strays to adopt): claim when this server is the target, start when fully granted. */
function claimFlow(
  s: NodeState,
  g: CompiledGroup,
  lg: LocalGroup,
  now: number,
  b: PlanBuilder,
  intents: Intent[],
  stray: boolean,
): void {
  if (!probesDone(s, g.name)) {
    for (const r of groupLocalResources(s, g.name)) {
      if (!r.probed)
        b.add(
          `probe ${r.name} on ${s.self} (${g.name})`,
          'startup probe: nothing is decided for the group before',
          [],
          'running',
        );
    }
    return;
  }
  const need = lg.need;
  const withdraw = (why: string): void => {
    if (lg.claim !== null) intents.push({ kind: 'withdraw', group: g.name, why });
  };
  if (!stray && !need) {
    withdraw('no longer needed');
    return planPendingTakeover(s, g, now, b);
  }
  const inel = selfIneligible(s, g.name);
  const target = stray
    ? inel === null
      ? s.self
      : null
    : need
      ? chooseTarget(s, g.name, now, need.rule, need.to, need.exclude)
      : null;
  if (target !== s.self)
    return withdraw(target ? `${target} is the target` : `no candidate${inel ? ` (${inel})` : ''}`);
  const ctx: StartCtx =
    stray || !need
      ? { event: 'START', from: null, reason: `adopt ${g.name}: found running on ${s.self}` }
      : { event: need.event, from: need.from, reason: need.reason };
  let wait: string | null = null;
  if (s.service !== 'running') wait = `the cluster service to be running (now ${s.service})`;
  else if (!hasLease(s, now)) wait = 'contact with a peer, the witness or an NP target (lease)';
  else {
    const holders = otherActiveHolders(s, g.name, now);
    const cur = s.grants[g.name];
    const hc = higherClaimant(s, g.name, now);
    if (holders.length > 0) wait = `${g.name} to stop on ${holders.join(', ')}`;
    else if (cur && cur.server !== s.self) wait = `${cur.server} to finish its claim (granted)`;
    else if (hc) wait = `${hc.server}'s claim (ranks higher)`;
  }
  if (wait !== null) {
    withdraw(wait);
    return planGroupStart(s, g, ctx, b, 'waiting', wait);
  }
  if (lg.claim === null) {
    intents.push({ kind: 'claim', group: g.name });
    return planGroupStart(s, g, ctx, b, 'waiting', 'claim to be published');
  }
  const blockers = grantBlockers(s, g.name, lg.claim, now);
  if (blockers.length > 0) return planGroupStart(s, g, ctx, b, 'waiting', blockers.join(', '));
  intents.push({ kind: 'become-owner', group: g.name, start: ctx, adopt: stray });
  planGroupStart(s, g, ctx, b, 'ready');
}

/** Plan steps of a group start that has not begun yet (every resource not already online). */
function planGroupStart(
  s: NodeState,
  g: CompiledGroup,
  ctx: StartCtx,
  b: PlanBuilder,
  status: 'ready' | 'waiting',
  waitingFor?: string,
): void {
  let first = true;
  for (const name of g.resources) {
    const r = s.resources[name];
    if (!r || (r.state === 'online' && !r.restart)) continue;
    const deps = (s.ix.resources.get(name)?.dependsOn ?? []).filter((d) => b.byResource.has(d));
    const depSteps = deps.map((d) => b.byResource.get(d) ?? '');
    const reason = deps.length > 0 ? `depends on ${deps.join(', ')}` : ctx.reason;
    const st = first || deps.length === 0 ? status : 'waiting';
    const id = b.add(
      `start ${name} on ${s.self} (${g.name})`,
      reason,
      depSteps,
      st,
      first || deps.length === 0 ? waitingFor : undefined,
    );
    b.byResource.set(name, id);
    first = false;
  }
}

/**
 * Display only: a group still active on a lost (not yet down) peer that this server would take over;
 * shows what the takeover waits for (the lease, an NP answer, the witness).
 */
function planPendingTakeover(s: NodeState, g: CompiledGroup, now: number, b: PlanBuilder): void {
  if (!g.failover.auto) return;
  for (const p of Object.values(s.peers)) {
    const st = p.report?.groups[g.name]?.state;
    if (st === undefined || st === 'offline' || isHeard(s.ix, p, now) || isIgnorable(s, p, now)) continue;
    if (chooseTarget(s, g.name, now, g.failover.target, null, p.name) !== s.self) return;
    const ctx: StartCtx = {
      event: 'FAILOVER',
      from: p.name,
      reason: `failover from ${p.name}: heartbeat lost`,
    };
    return planGroupStart(s, g, ctx, b, 'waiting', downBlocker(s, p, now) ?? `${p.name} to be down`);
  }
}
