/**
 * The daemon's caller-driven loop (STYLE.md 3; docs/architecture.md "The loop"; issue 3 section 3). The core
 * (`ClusterNode`) has no timers and does no I/O; this loop feeds it events one at a time, strictly in arrival
 * order, and carries out each `Ready` in this order:
 *
 *   event -> node.step(event, now) -> ready = node.ready()
 *     -> persist ready.persist (awaited; retried; the daemon stops if it cannot persist)
 *     -> broadcast ready.send                       (only after the state is on disk)
 *     -> start ready.actions                        (their completions come back as events)
 *     -> alerts to the alert log and the log; diagnostics to the log; operator replies to their callers
 *     -> record the decision input when there were actions (decision-log.ts)
 *     -> arm the one wake-up timer for ready.wakeAtMs (cancel and re-arm when it changes)
 *
 * Events that arrive while a step is being carried out (a heartbeat during the persist) wait in the queue.
 * Operator requests get a promise that resolves with the core's reply matched by request id, or with a
 * TIMEOUT reply after `timeoutMs`.
 */
import type {
  Action,
  AlertEntry,
  CoreEvent,
  NodeView,
  OperatorOp,
  OperatorReply,
  PeerReport,
  PersistedState,
  Plan,
  Ready,
} from '../core/types.ts';
import type { Clock, Timer } from '../ports/clock.ts';
import type { Logger } from '../ports/logger.ts';
import type { AlertLog, StateStore } from '../ports/store.ts';
import type { HeartbeatTransport } from '../ports/transport.ts';
import { OperationErrorCode } from '../shared/errors.ts';
import type { DecisionLog } from './decision-log.ts';

/** The part of `ClusterNode` (src/core/node.ts) the loop drives. */
export interface CoreNodeLike {
  step(event: CoreEvent, nowMs: number): void;
  ready(): Ready;
  view(nowMs: number): NodeView;
  routeFor(op: OperatorOp, nowMs: number): string;
}

export interface LoopOptions {
  server: string;
  configHash: string;
  node: CoreNodeLike;
  clock: Clock;
  store: Pick<StateStore, 'save'>;
  transport: Pick<HeartbeatTransport, 'broadcast'>;
  alertLog: Pick<AlertLog, 'append'>;
  logger: Logger;
  /** Start an action (the executor's `run`). */
  dispatch: (action: Action) => void;
  decisionLog?: DecisionLog | null;
  /** The core's state after the step, saved with each decision input for replay (ClusterNode.snapshot). */
  decisionSnapshot?: () => Record<string, unknown>;
  /** Plain-text plan renderer (src/core/node.ts `renderPlan`), for the log. */
  renderPlan?: (plan: Plan) => string;
  /**
   * The loop cannot go on: the state could not be persisted (so nothing may be sent), or the core threw
   * (a broken invariant). The daemon should stop at once; the loop has stopped processing.
   */
  onFatal: (err: unknown) => void;
  /** Waits between attempts to persist. @default [100, 500] */
  persistRetryDelaysMs?: number[];
}

interface PendingRequest {
  resolve: (reply: OperatorReply) => void;
  timer: Timer;
}

interface ReportWaiter {
  match: (r: PeerReport) => boolean;
  resolve: (r: PeerReport | null) => void;
  timer: Timer;
}

/** The object an operator request is about (for TIMEOUT replies). */
export function objectOf(op: OperatorOp): string {
  switch (op.op) {
    case 'group-start':
    case 'group-stop':
    case 'group-move':
    case 'group-reset':
      return op.group;
    case 'resource-start':
    case 'resource-stop':
      return op.resource;
    case 'monitor-suspend':
    case 'monitor-resume':
      return op.monitor ?? 'monitors';
    case 'cluster-start':
    case 'cluster-stop':
      return 'cluster';
    case 'confirm-down':
      return op.server;
  }
}

const ALERT_FIELD: Record<AlertEntry['objectKind'], string> = {
  cluster: 'cluster',
  server: 'peer',
  group: 'group',
  resource: 'resource',
  monitor: 'monitor',
  np: 'np',
  witness: 'witness',
  heartbeat: 'heartbeat',
};

export class DaemonLoop {
  readonly #o: LoopOptions;
  /** null = carry out the node's current Ready without stepping (after construction). */
  readonly #queue: (CoreEvent | null)[] = [];
  #draining: Promise<void> | null = null;
  #closed = false;
  #fatal = false;
  #wake: Timer | null = null;
  #wakeAt: number | null = null;
  #lastSent: PeerReport | null = null;
  #lastPlanText = '';
  #requestSeq = 0;
  readonly #pending = new Map<string, PendingRequest>();
  #reportWaiters: ReportWaiter[] = [];
  #idleWaiters: (() => void)[] = [];

  constructor(opts: LoopOptions) {
    this.#o = opts;
  }

  /** Carry out the Ready the node produced at construction (probes, first report). */
  start(): void {
    this.#push(null);
  }

  /** Queue an event (heartbeat, action completion, witness answer, NP result, tick). */
  enqueue(event: CoreEvent): void {
    this.#push(event);
  }

  /** The last report broadcast (null before the first). */
  lastSent(): PeerReport | null {
    return this.#lastSent;
  }

  view(): NodeView {
    return this.#o.node.view(this.#o.clock.nowMs());
  }

  routeFor(op: OperatorOp): string {
    return this.#o.node.routeFor(op, this.#o.clock.nowMs());
  }

  /** Ask the core to carry out `op`; resolves with its reply, or a TIMEOUT reply after `timeoutMs`. */
  request(op: OperatorOp, timeoutMs: number): Promise<OperatorReply> {
    const requestId = `${this.#o.server}-op-${++this.#requestSeq}`;
    if (this.#closed) return Promise.resolve(this.#unavailable(requestId, op));
    return new Promise<OperatorReply>((resolve) => {
      const timer = this.#o.clock.setTimer(timeoutMs, () => {
        this.#pending.delete(requestId);
        resolve({
          requestId,
          ok: false,
          code: OperationErrorCode.timeout,
          object: objectOf(op),
          message: `The request ${op.op} was not carried out within ${timeoutMs} ms.`,
          remedy: 'Check `tandem status` and the alert log; the operation may still complete.',
        });
      });
      this.#pending.set(requestId, { resolve, timer });
      this.#push({ type: 'operator', requestId, request: op });
    });
  }

  /**
   * Resolves with the first report broadcast (from now on, or the last one already sent) that `match`
   * accepts, or null after `timeoutMs`.
   */
  waitForReport(match: (r: PeerReport) => boolean, timeoutMs: number): Promise<PeerReport | null> {
    if (this.#lastSent !== null && match(this.#lastSent)) return Promise.resolve(this.#lastSent);
    if (this.#closed) return Promise.resolve(null);
    return new Promise((resolve) => {
      const w: ReportWaiter = {
        match,
        resolve,
        timer: this.#o.clock.setTimer(timeoutMs, () => {
          this.#reportWaiters = this.#reportWaiters.filter((x) => x !== w);
          resolve(null);
        }),
      };
      this.#reportWaiters.push(w);
    });
  }

  /** Resolves when the queue is empty and nothing is being carried out (tests). */
  idle(): Promise<void> {
    if (this.#draining === null && this.#queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.#idleWaiters.push(r));
  }

  /** Stop: no more events are taken; the step in progress finishes; pending requests get an answer. */
  async dispose(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue.length = 0;
    this.#wake?.cancel();
    this.#wake = null;
    this.#wakeAt = null;
    await this.#draining;
    for (const [id, p] of this.#pending) {
      p.timer.cancel();
      p.resolve({
        requestId: id,
        ok: false,
        code: OperationErrorCode.serverUnavailable,
        object: this.#o.server,
        message: `The daemon on ${this.#o.server} is shutting down.`,
        remedy: 'Retry on another server, or after the daemon has restarted.',
      });
    }
    this.#pending.clear();
    for (const w of this.#reportWaiters) {
      w.timer.cancel();
      w.resolve(null);
    }
    this.#reportWaiters = [];
    for (const r of this.#idleWaiters.splice(0)) r();
  }

  #unavailable(requestId: string, op: OperatorOp): OperatorReply {
    return {
      requestId,
      ok: false,
      code: OperationErrorCode.serverUnavailable,
      object: objectOf(op),
      message: `The daemon on ${this.#o.server} is shutting down.`,
      remedy: 'Retry on another server, or after the daemon has restarted.',
    };
  }

  #push(item: CoreEvent | null): void {
    if (this.#closed || this.#fatal) return;
    this.#queue.push(item);
    this.#draining ??= this.#drain();
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0 && !this.#fatal && !this.#closed) {
        const item = this.#queue.shift()!;
        try {
          await this.#process(item);
        } catch (err) {
          this.#fail(err, 'the decision core failed (broken invariant)');
        }
      }
    } finally {
      this.#draining = null;
      if (this.#queue.length === 0 || this.#fatal) for (const r of this.#idleWaiters.splice(0)) r();
    }
  }

  #fail(err: unknown, what: string): void {
    if (this.#fatal) return;
    this.#fatal = true;
    this.#o.logger.error({ err }, `${what}; the daemon must stop`);
    this.#wake?.cancel();
    this.#wake = null;
    this.#o.onFatal(err);
  }

  async #process(item: CoreEvent | null): Promise<void> {
    const o = this.#o;
    const now = o.clock.nowMs();
    if (item !== null) o.node.step(item, now);
    const ready = o.node.ready();
    if (ready.persist !== null && !(await this.#persist(ready.persist))) return;
    if (this.#closed) return;
    if (ready.send !== null) {
      o.transport.broadcast(ready.send);
      this.#lastSent = ready.send;
      this.#reportSent(ready.send);
    }
    for (const a of ready.actions) o.dispatch(a);
    for (const al of ready.alerts) this.#alert(al);
    for (const d of ready.diagnostics) o.logger[d.level](d.fields ?? {}, d.msg);
    for (const r of ready.replies) {
      const p = this.#pending.get(r.requestId);
      if (!p) continue;
      this.#pending.delete(r.requestId);
      p.timer.cancel();
      p.resolve(r);
    }
    if (ready.actions.length > 0) this.#recordDecision(item, ready.actions, now);
    this.#arm(ready.wakeAtMs);
  }

  async #persist(state: PersistedState): Promise<boolean> {
    const delays = this.#o.persistRetryDelaysMs ?? [100, 500];
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#o.store.save(state);
        return true;
      } catch (err) {
        const delay = delays[attempt];
        if (delay === undefined) {
          this.#fail(err, 'could not persist the daemon state, so nothing may be sent (check --state-dir)');
          return false;
        }
        this.#o.logger.warn(
          { err, attempt: attempt + 1 },
          `persisting the daemon state failed; retrying in ${delay} ms`,
        );
        await new Promise<void>((r) => this.#o.clock.setTimer(delay, r));
      }
    }
  }

  #reportSent(report: PeerReport): void {
    const hit = this.#reportWaiters.filter((w) => w.match(report));
    if (hit.length === 0) return;
    this.#reportWaiters = this.#reportWaiters.filter((w) => !hit.includes(w));
    for (const w of hit) {
      w.timer.cancel();
      w.resolve(report);
    }
  }

  #alert(al: AlertEntry): void {
    const o = this.#o;
    try {
      o.alertLog.append({
        time: o.clock.wallMs(),
        server: o.server,
        level: al.level,
        objectKind: al.objectKind,
        object: al.object,
        code: al.code,
        message: al.message,
      });
    } catch (err) {
      o.logger.error({ err, code: al.code }, 'could not append to the alert log');
    }
    const fields = { alert: al.code, objectKind: al.objectKind, [ALERT_FIELD[al.objectKind]]: al.object };
    const level = al.level === 'warning' ? 'warn' : al.level;
    o.logger[level](fields, al.message);
  }

  #recordDecision(event: CoreEvent | null, actions: Action[], nowMs: number): void {
    const o = this.#o;
    if (!o.decisionLog && !o.renderPlan) return;
    let view: NodeView;
    try {
      view = o.node.view(nowMs);
    } catch (err) {
      o.logger.warn({ err }, 'could not read the node view for the decision log');
      return;
    }
    if (o.renderPlan) {
      const text = o.renderPlan(view.plan);
      if (text !== this.#lastPlanText) {
        this.#lastPlanText = text;
        o.logger.info({ steps: view.plan.steps.length }, `plan:\n${text}`);
      }
    }
    if (!o.decisionLog) return;
    let extra: Record<string, unknown> | undefined;
    try {
      if (o.decisionSnapshot) extra = { snapshot: o.decisionSnapshot() };
    } catch (err) {
      o.logger.warn({ err }, 'could not take the core snapshot for the decision log');
    }
    o.decisionLog.record({
      server: o.server,
      configHash: o.configHash,
      nowMs,
      event: event ?? { type: 'tick' },
      status: view.status,
      plan: view.plan,
      actions,
      ...(extra ? { extra } : {}),
    });
  }

  #arm(wakeAtMs: number | null): void {
    if (wakeAtMs === null) {
      this.#wake?.cancel();
      this.#wake = null;
      this.#wakeAt = null;
      return;
    }
    if (this.#wake !== null && this.#wakeAt === wakeAtMs) return;
    this.#wake?.cancel();
    this.#wakeAt = wakeAtMs;
    this.#wake = this.#o.clock.setTimer(Math.max(1, wakeAtMs - this.#o.clock.nowMs()), () => {
      this.#wake = null;
      this.#wakeAt = null;
      this.#push({ type: 'tick' });
    });
  }
}
