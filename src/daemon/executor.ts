/**
 * The plan consumer (STYLE.md 4 and 9; issue 3 section 3): runs the actions of `Ready.actions` through a
 * handler table and turns whatever happens into events for the loop. The daemon registers the real handlers
 * (handlers.ts: drivers, /bin/sh scripts, NP prober, witness client); tests register simulated ones.
 *
 * Guarantees, whatever a handler does:
 * - `resource`, `monitor`, `script` and `os` actions end in exactly one `action-done` event;
 * - `np-check` ends in exactly one `np-result` event per configured NP target (ok = HTTP 200);
 * - `witness` ends in exactly one `witness` event;
 * - the deadline (`action.timeoutMs`; OS actions OS_ACTION_TIMEOUT_MS; NP and witness their own timeouts plus
 *   a second) is enforced here with an AbortController: at the deadline the handler's signal is aborted (the
 *   drivers kill their process groups) and the event is emitted at once, without waiting for the handler.
 *
 * Mapping (execution status separate from result): a result -> `{ exec: 'done', result, code, message }`;
 * deadline or a thrown NoResponseError -> `timeout`; a thrown NotInstalledError or spawn ENOENT -> `not-installed`; a thrown
 * ResourceError -> `done`/`failed` with its code; cancelled by the daemon -> `cancelled`; anything else ->
 * `error` (logged as a bug). Completions after the event was emitted are logged and dropped.
 */
import type {
  Action,
  CoreEvent,
  ExecOutcome,
  FenceAction,
  MonitorAction,
  MonitorResult,
  NpCheckAction,
  OsAction,
  PeerReport,
  ResourceAction,
  ScriptAction,
  StartStopResult,
  WitnessAction,
} from '../core/types.ts';
import type { DriverContext, DriverResult } from '../drivers/driver.ts';
import { NoResponseError, NotInstalledError } from '../drivers/messages.ts';
import type { Clock, Timer } from '../ports/clock.ts';
import type { Logger } from '../ports/logger.ts';
import type { NpProbeResult, WitnessAnswer } from '../ports/probes.ts';
import type { CompiledConfig, CompiledHttpNp } from '../shared/config/types.ts';
import { CancelledError, ResourceError } from '../shared/errors.ts';

/** Deadline of an OS action (shutdown/reboot command): it normally returns at once. */
export const OS_ACTION_TIMEOUT_MS = 60_000;
/** Added to NP and witness timeouts: their clients resolve within the timeout themselves. */
const PROBE_SLACK_MS = 1_000;

export interface HandlerContext {
  /** Aborted at the deadline or when the daemon cancels the action. */
  signal: AbortSignal;
  /** Log attributed to the action's object (resource, monitor, ...). */
  log: DriverContext['log'];
}

/** The handler table (STYLE.md 4). */
export interface ActionHandlers {
  resource(
    action: ResourceAction,
    ctx: HandlerContext,
  ): Promise<DriverResult<StartStopResult | MonitorResult>>;
  monitor(action: MonitorAction, ctx: HandlerContext): Promise<DriverResult<MonitorResult>>;
  script(action: ScriptAction, ctx: HandlerContext): Promise<DriverResult<StartStopResult>>;
  os(action: OsAction, ctx: HandlerContext): Promise<DriverResult<StartStopResult>>;
  /** Forced stop of a peer's instance (fencing), resolved once it is stopped. */
  fence(action: FenceAction, ctx: HandlerContext): Promise<DriverResult<StartStopResult>>;
  /** Probe one NP target (called once per configured target). */
  'np-check'(target: CompiledHttpNp, action: NpCheckAction, ctx: HandlerContext): Promise<NpProbeResult>;
  /** Exchange `report` (the last one broadcast; null before the first) with the witness. */
  witness(action: WitnessAction, report: PeerReport | null, ctx: HandlerContext): Promise<WitnessAnswer>;
}

export interface ExecutorOptions {
  config: CompiledConfig;
  clock: Clock;
  logger: Logger;
  handlers: ActionHandlers;
  /** Where events go (the loop's queue). */
  emit: (event: CoreEvent) => void;
  /** The last report broadcast (what the witness gets). */
  lastReport: () => PeerReport | null;
}

interface InFlight {
  id: string;
  controller: AbortController;
  /** Resolves when the handler settled (whatever the event said). */
  settled: Promise<void>;
  timer: Timer | null;
  /** The event for this unit was emitted. */
  done: boolean;
}

type Outcome = ExecOutcome<StartStopResult | MonitorResult>;

class DeadlineError extends Error {
  constructor(ms: number) {
    super(`deadline of ${ms} ms passed`);
    this.name = 'DeadlineError';
  }
}

function errnoCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let i = 0; i < 4 && e instanceof Error; i++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string') return code;
    e = e.cause;
  }
  return undefined;
}

/** What a settled handler call means as an ExecOutcome (used for results and thrown errors alike). */
export function outcomeOf(r: DriverResult<StartStopResult | MonitorResult>): Outcome {
  const out: Outcome = { exec: 'done', result: r.result };
  if (r.code !== undefined) out.code = r.code;
  if (r.message !== undefined) out.message = r.message;
  return out;
}

export function outcomeOfError(err: unknown): Outcome {
  if (err instanceof NotInstalledError)
    return { exec: 'not-installed', code: err.code, message: err.message };
  if (err instanceof NoResponseError) return { exec: 'timeout', code: err.code, message: err.message };
  if (err instanceof ResourceError)
    return { exec: 'done', result: 'failed', code: err.code, message: err.message };
  if (err instanceof CancelledError) return { exec: 'cancelled', message: err.message };
  if (errnoCode(err) === 'ENOENT') return { exec: 'not-installed', message: (err as Error).message };
  return { exec: 'error', message: err instanceof Error ? err.message : String(err) };
}

function describeAction(a: Action): { fields: Record<string, unknown>; what: string } {
  switch (a.kind) {
    case 'resource':
      return {
        fields: { resource: a.resource, group: a.group },
        what: `${a.verb} of resource ${a.resource}`,
      };
    case 'monitor':
      return { fields: { monitor: a.monitor }, what: `check of monitor ${a.monitor}` };
    case 'script':
      return {
        fields: { monitor: a.monitor, step: a.step },
        what: `${a.step} script of monitor ${a.monitor}`,
      };
    case 'os':
      return { fields: { os: a.action }, what: `OS action ${a.action}` };
    case 'fence':
      return { fields: { peer: a.server }, what: `forced stop of ${a.server}` };
    case 'np-check':
      return { fields: {}, what: 'NP check' };
    case 'witness':
      return { fields: {}, what: 'witness exchange' };
  }
}

export class Executor {
  readonly #o: ExecutorOptions;
  readonly #inflight = new Map<string, InFlight>();
  #closed = false;

  constructor(opts: ExecutorOptions) {
    this.#o = opts;
  }

  /** Number of units (actions, NP targets) still running. */
  get inFlight(): number {
    return this.#inflight.size;
  }

  /** Ids of the actions still running. */
  running(): string[] {
    return [...new Set([...this.#inflight.values()].map((f) => f.id))];
  }

  /** Start `action`; its event(s) arrive through `emit`. Never throws. */
  run(action: Action): void {
    if (this.#closed) return;
    const { fields, what } = describeAction(action);
    const log = this.#o.logger.child({ ...fields, action: action.id });
    const dlog: DriverContext['log'] = (level, msg, f) => log[level](f ?? {}, msg);
    switch (action.kind) {
      case 'resource':
        log.info(
          { reason: action.reason, verb: action.verb, ...(action.hard ? { hard: true } : {}) },
          `${what}`,
        );
        this.#unit(action.id, action.id, action.timeoutMs, what, log, (ctx) =>
          this.#o.handlers.resource(action, { ...ctx, log: dlog }),
        );
        return;
      case 'monitor':
        log.debug({ reason: action.reason }, what);
        this.#unit(action.id, action.id, action.timeoutMs, what, log, (ctx) =>
          this.#o.handlers.monitor(action, { ...ctx, log: dlog }),
        );
        return;
      case 'script':
        log.info({ reason: action.reason }, what);
        this.#unit(action.id, action.id, action.timeoutMs, what, log, (ctx) =>
          this.#o.handlers.script(action, { ...ctx, log: dlog }),
        );
        return;
      case 'os':
        log.warn({ reason: action.reason, command: action.command }, what);
        this.#unit(action.id, action.id, OS_ACTION_TIMEOUT_MS, what, log, (ctx) =>
          this.#o.handlers.os(action, { ...ctx, log: dlog }),
        );
        return;
      case 'fence':
        log.warn({ reason: action.reason }, what);
        this.#unit(action.id, action.id, action.timeoutMs, what, log, (ctx) =>
          this.#o.handlers.fence(action, { ...ctx, log: dlog }),
        );
        return;
      case 'np-check':
        for (const t of this.#o.config.cluster.networkPartition.http) this.#npTarget(action, t, log, dlog);
        return;
      case 'witness':
        this.#witness(action, log, dlog);
        return;
    }
  }

  /** Abort one action (its event says `cancelled`). */
  cancel(actionId: string, reason = 'cancelled by the daemon'): void {
    for (const f of this.#inflight.values())
      if (f.id === actionId) f.controller.abort(new CancelledError(reason));
  }

  /**
   * Stop: abort everything still running (drivers kill their process groups), wait for the handlers to
   * settle (at most `waitMs`), and emit nothing more.
   */
  async dispose(waitMs = 3_000): Promise<void> {
    this.#closed = true;
    const all = [...this.#inflight.values()];
    for (const f of all) {
      f.done = true;
      f.timer?.cancel();
      f.controller.abort(new CancelledError('daemon shutting down'));
    }
    let t: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(all.map((f) => f.settled)),
      new Promise<void>((r) => (t = setTimeout(r, waitMs))),
    ]);
    clearTimeout(t);
  }

  #emit(event: CoreEvent): void {
    if (this.#closed) return;
    try {
      this.#o.emit(event);
    } catch (err) {
      this.#o.logger.error({ err }, 'executor: delivering an event to the loop failed');
    }
  }

  /**
   * Run one unit of work under a deadline. `finish` turns how it ended into the one event; it is called
   * exactly once: with the result, the thrown error, or the deadline/cancel reason.
   */
  #guard<T>(
    key: string,
    id: string,
    deadlineMs: number,
    work: (ctx: { signal: AbortSignal }) => Promise<T>,
    finish: (
      r: { ok: true; value: T } | { ok: false; error: unknown; by: 'deadline' | 'cancel' | 'throw' },
    ) => void,
    late: (what: string) => void,
  ): void {
    const controller = new AbortController();
    const f: InFlight = { id, controller, settled: Promise.resolve(), timer: null, done: false };
    const end = (r: Parameters<typeof finish>[0]): void => {
      if (f.done) return;
      f.done = true;
      f.timer?.cancel();
      finish(r);
    };
    f.timer = this.#o.clock.setTimer(deadlineMs, () => {
      controller.abort(new DeadlineError(deadlineMs));
      end({ ok: false, error: controller.signal.reason, by: 'deadline' });
    });
    controller.signal.addEventListener('abort', () => {
      if (controller.signal.reason instanceof CancelledError) {
        end({ ok: false, error: controller.signal.reason, by: 'cancel' });
      }
    });
    this.#inflight.set(key, f);
    // An async wrapper turns a synchronous throw of `work` into a rejection.
    const p = (async () => await work({ signal: controller.signal }))();
    f.settled = p.then(
      (value) => {
        if (f.done && !this.#closed) late('completed after its event was sent');
        end({ ok: true, value });
      },
      (error: unknown) => {
        if (f.done && !this.#closed)
          late(`failed after its event was sent: ${error instanceof Error ? error.message : String(error)}`);
        end({ ok: false, error, by: 'throw' });
      },
    );
    void f.settled.finally(() => this.#inflight.delete(key));
  }

  #unit(
    key: string,
    id: string,
    deadlineMs: number,
    what: string,
    log: Logger,
    work: (ctx: { signal: AbortSignal }) => Promise<DriverResult<StartStopResult | MonitorResult>>,
  ): void {
    this.#guard(
      key,
      id,
      deadlineMs,
      work,
      (r) => {
        let outcome: Outcome;
        if (r.ok) outcome = outcomeOf(r.value);
        else if (r.by === 'deadline')
          outcome = { exec: 'timeout', message: `${what} did not finish within ${deadlineMs} ms` };
        else if (r.by === 'cancel')
          outcome = { exec: 'cancelled', message: `${what} was cancelled: ${(r.error as Error).message}` };
        else outcome = outcomeOfError(r.error);
        if (outcome.exec === 'error')
          log.error({ err: r.ok ? undefined : r.error }, `${what} failed unexpectedly`);
        const fields = { exec: outcome.exec, ...(outcome.exec === 'done' ? { result: outcome.result } : {}) };
        const failed = outcome.exec !== 'done' || outcome.result === 'failed';
        if (failed)
          log.warn(
            { ...fields, code: outcome.code, message: outcome.message },
            `${what}: ${outcome.exec === 'done' ? 'failed' : outcome.exec}`,
          );
        else log.debug(fields, `${what}: ${outcome.exec === 'done' ? outcome.result : outcome.exec}`);
        this.#emit({ type: 'action-done', actionId: id, outcome });
      },
      (msg) => log.warn({}, `${what} ${msg}`),
    );
  }

  #npTarget(action: NpCheckAction, t: CompiledHttpNp, log: Logger, dlog: DriverContext['log']): void {
    const sentAtMs = this.#o.clock.nowMs();
    const deadline = t.timeoutMs + PROBE_SLACK_MS;
    this.#guard(
      `${action.id}/${t.name}`,
      action.id,
      deadline,
      (ctx) => this.#o.handlers['np-check'](t, action, { ...ctx, log: dlog }),
      (r) => {
        let ok = false;
        let detail: string;
        if (r.ok) {
          ok = r.value.ok;
          detail = r.value.detail;
        } else if (r.by === 'deadline') detail = `no answer within ${deadline} ms`;
        else detail = r.error instanceof Error ? r.error.message : String(r.error);
        log.debug({ np: t.name, ok, detail }, `NP target ${t.name}: ${ok ? 'reachable' : 'not reachable'}`);
        this.#emit({ type: 'np-result', target: t.name, ok, sentAtMs, detail });
      },
      (msg) => log.debug({ np: t.name }, `NP probe of ${t.name} ${msg}`),
    );
  }

  #witness(action: WitnessAction, log: Logger, dlog: DriverContext['log']): void {
    const sentAtMs = this.#o.clock.nowMs();
    const deadline = (this.#o.config.cluster.witness?.timeoutMs ?? 10_000) + PROBE_SLACK_MS;
    const report = this.#o.lastReport();
    this.#guard(
      action.id,
      action.id,
      deadline,
      (ctx) => this.#o.handlers.witness(action, report, { ...ctx, log: dlog }),
      (r) => {
        let ev: Extract<CoreEvent, { type: 'witness' }>;
        if (r.ok)
          ev = { type: 'witness', ok: r.value.ok, sentAtMs, peers: r.value.peers, detail: r.value.detail };
        else {
          const detail =
            r.by === 'deadline'
              ? `no answer within ${deadline} ms`
              : r.error instanceof Error
                ? r.error.message
                : String(r.error);
          ev = { type: 'witness', ok: false, sentAtMs, peers: {}, detail };
        }
        log.debug({ ok: ev.ok, detail: ev.detail }, `witness exchange: ${ev.ok ? 'ok' : 'failed'}`);
        this.#emit(ev);
      },
      (msg) => log.debug({}, `witness exchange ${msg}`),
    );
  }
}
