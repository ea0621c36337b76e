/**
 * `ClusterNode`: one server's decision core, driven by its caller (etcd raft style; docs/architecture.md
 * "The loop"). The shell feeds events with the local monotonic time (`step`), then drains `ready()`:
 * persist, send the report, start the actions, log alerts and diagnostics, and tick again at `wakeAtMs`.
 * No I/O, clocks, timers or randomness in here.
 *
 * ## States and legal transitions (the cluster service on this server)
 *
 * - `stopped`: the daemon answers the API but takes no part in the cluster; it still sends its report so
 *   peers know it is stopped (and need no grant from it). Left by `cluster-start`, or at daemon start unless
 *   the persisted `serviceWanted` is `stopped`.
 * - `starting`: every resource of every group this server may run is probed (monitor verb); a group is
 *   decided on only once its probes are back. Grants are given, strays found running are stopped when
 *   another server has the group, nothing is started. Left for `running` when every configured server is
 *   heard or `syncWait` passed (autoStart groups that run nowhere then need an owner).
 * - `running`: groups are claimed, started, monitored, failed over, moved and failed back (plan/decide.ts).
 *   Left for `stopping` by `cluster-stop` (operator or SIGTERM), the final action `stop-cluster-service`,
 *   or for `stopped` directly by isolation with `actionOnIsolation: stop-cluster-service`.
 * - `stopping`: every local group is stopped in reverse dependency order and released to the other
 *   servers; then `stopped`. Peers that hear `stopped` with every group offline fail over at once.
 *
 * Orthogonal to the service state:
 *
 * - *isolated* (an episode, `state.isolation`): the lease ran out (no contact for `leaseMs`) or NP
 *   resolution found every target unreachable while every peer is lost. All groups are stopped at once with
 *   the isolation stop bound as timeout; what still runs at the deadline is stopped hard; then
 *   `actionOnIsolation` runs (only if the lease had been held: a server that never had contact just stops
 *   what it found). With `none` the episode ends when contact returns and the server rejoins by itself.
 * - *going down*: an OS action (shutdown/reboot) was issued; nothing is started any more.
 *
 * Group ownership is the claim/grant protocol of placement/claims.ts; every ownership change passes the
 * invariant checks of transitions.ts.
 */
import { onFenceDone, scheduleFencing } from './membership/fencing.ts';
import { observeMembership } from './membership/observe.ts';
import { ingestReport, ingestWitnessPeers } from './membership/peers.ts';
import { createNodeState, type NodeState } from './model.ts';
import { handleOperator, evaluateReplies, routeFor as route } from './operator.ts';
import { Out } from './out.ts';
import { decideAll, decide } from './plan/decide.ts';
import { needsFromDownPeer, refreshNeeds } from './placement/needs.ts';
import { onResourceDone } from './recovery/activation.ts';
import { onMonitorDone, onScriptDone, scheduleMonitors } from './recovery/monitors.ts';
import { buildReport, persistedState, reportContentKey } from './report.ts';
import { checkSync, nextWake, onNpResult, onWitnessAnswer, scheduleChecks, startService } from './service.ts';
import { buildStatus } from './status/status-doc.ts';
import { commitIntent, reportGroupChanges } from './transitions.ts';
import type { CoreEvent, NodeView, OperatorOp, Plan, Ready } from './types.ts';
import type { ClusterNodeInit } from './model.ts';

export { renderPlan } from './plan/render.ts';
export type { ClusterNodeInit } from './model.ts';
export { decide };

/** Decide/commit passes per step before giving up (each pass must change something to continue). */
const MAX_PASSES = 32;

export class ClusterNode {
  readonly #s: NodeState;
  readonly #out = new Out();
  #seq = 0;
  #lastSend: { key: string; at: number } | null = null;

  constructor(init: ClusterNodeInit) {
    const s = createNodeState(init);
    this.#s = s;
    if (s.serviceWanted === 'running') startService(s, init.nowMs, this.#out);
    this.#settle(init.nowMs);
  }

  /** Feed one event at local time `nowMs` (monotonic). */
  step(event: CoreEvent, nowMs: number): void {
    const s = this.#s;
    const now = Math.max(s.nowMs, nowMs);
    s.nowMs = now;
    this.#apply(event, now);
    this.#settle(now);
  }

  /** Drain what the shell must do now. Call after every `step` (and after construction). */
  ready(): Ready {
    const s = this.#s;
    const now = s.nowMs;
    const key = reportContentKey(s);
    let send = null;
    if (
      this.#lastSend === null ||
      key !== this.#lastSend.key ||
      now >= this.#lastSend.at + s.ix.config.cluster.heartbeat.intervalMs
    ) {
      this.#seq += 1;
      send = buildReport(s, this.#seq, now);
      this.#lastSend = { key, at: now };
    }
    const persist = this.#out.persistDirty ? persistedState(s) : null;
    this.#out.persistDirty = false;
    const d = this.#out.drain();
    return { send, ...d, persist, wakeAtMs: nextWake(s, now, this.#lastSend.at) };
  }

  /** Status document and current plan, as this server sees the cluster. */
  view(nowMs: number): NodeView {
    const now = Math.max(this.#s.nowMs, nowMs);
    return { status: buildStatus(this.#s, now), plan: this.plan(now) };
  }

  /** What this server would do now, with reasons. */
  plan(nowMs: number): Plan {
    return decide(this.#s, Math.max(this.#s.nowMs, nowMs));
  }

  /** Where an operator request must be carried out (the group's owner, the requested/computed target, or self). */
  routeFor(op: OperatorOp, nowMs: number): string {
    return route(this.#s, op, Math.max(this.#s.nowMs, nowMs));
  }

  /** A deep copy of the decision input, for the decision log and `tandem simulate` (STYLE.md 19). */
  snapshot(): NodeState {
    const { ix, ...rest } = this.#s;
    return { ix, ...structuredClone(rest) };
  }

  #apply(e: CoreEvent, now: number): void {
    const s = this.#s;
    const out = this.#out;
    switch (e.type) {
      case 'heartbeat':
        ingestReport(s, e.report, now, e.via, out);
        return;
      case 'witness':
        onWitnessAnswer(s, e.ok, e.sentAtMs, e.detail ?? (e.ok ? '' : 'no answer'), out);
        if (e.ok) ingestWitnessPeers(s, e.peers, out);
        return;
      case 'np-result':
        onNpResult(s, e.target, e.ok, e.sentAtMs, e.detail ?? (e.ok ? 'HTTP 200' : 'no answer'), out);
        return;
      case 'action-done': {
        const r = Object.values(s.resources).find((x) => x.inflight?.id === e.actionId);
        if (r) return onResourceDone(s, r, e.outcome, out);
        const a = s.actions[e.actionId];
        if (!a) return;
        delete s.actions[e.actionId];
        if (a.kind === 'monitor' && a.monitor) onMonitorDone(s, a.monitor, e.actionId, e.outcome, now, out);
        else if (a.kind === 'script' && a.monitor) onScriptDone(s, a.monitor, out);
        else if (a.kind === 'fence' && a.peer) onFenceDone(s, a.peer, e.actionId, e.outcome, now, out);
        else if (a.kind === 'np' && s.npCheck.inflight?.id === e.actionId) s.npCheck.inflight = null;
        else if (a.kind === 'witness' && s.witness.inflight?.id === e.actionId) s.witness.inflight = null;
        return;
      }
      case 'operator':
        handleOperator(s, e.requestId, e.request, now, out);
        return;
      case 'tick':
        return;
    }
  }

  /** Everything that follows an event: membership, sync, needs, decide/commit to a fixed point, checks. */
  #settle(now: number): void {
    const s = this.#s;
    const out = this.#out;
    for (const p of observeMembership(s, now, out)) needsFromDownPeer(s, p, now);
    scheduleFencing(s, now, out);
    checkSync(s, now, out);
    for (let pass = 0; ; pass++) {
      refreshNeeds(s, now, out);
      const { intents } = decideAll(s, now);
      let changed = false;
      for (const i of intents) if (commitIntent(s, i, now, out)) changed = true;
      scheduleMonitors(s, now, out);
      if (!changed) break;
      if (pass >= MAX_PASSES) {
        out.diag('error', 'decision did not settle', { passes: pass, server: s.self });
        break;
      }
    }
    scheduleChecks(s, now, out);
    evaluateReplies(s, now, out);
    reportGroupChanges(s, out);
  }
}
