/**
 * `DaemonControl` (src/daemon/control.ts) over the running loop: what the control API (src/api) reads and
 * asks of this daemon. Reads (`status`, `plan`, `routeFor`) look at the core's current view; operations go
 * through the loop's queue like every other event, so they are ordered with heartbeats and action results.
 */
import type { OperatorOp, OperatorReply, Plan } from '../core/types.ts';
import type { Logger } from '../ports/logger.ts';
import type { AlertLog, AlertRecord } from '../ports/store.ts';
import type { TransportStats } from '../ports/transport.ts';
import type { CompiledConfig } from '../shared/config/types.ts';
import type { MirrorHost } from '../mirror/host.ts';
import type { MirrorDiskStatus, StatusDoc } from '../shared/status.ts';
import { mirrorOperation, mirrorStatuses } from './mirror-status.ts';
import type { DaemonControl } from './control.ts';
import type { DaemonLoop } from './loop.ts';

export interface ControlOptions {
  server: string;
  config: CompiledConfig;
  loop: Pick<DaemonLoop, 'view' | 'routeFor' | 'request'>;
  alertLog: Pick<AlertLog, 'list'>;
  logger: Logger;
  /** The core's plain-text plan renderer (`renderPlan` of src/core/node.ts). */
  renderPlan: (plan: Plan) => string;
  /** Heartbeat transport counters, shown on the local server's status entry. */
  transportStats?: () => TransportStats;
  /** This server's mirror disk copies (null/absent when it holds none or in tests). */
  mirror?: MirrorHost | null;
}

export class LoopControl implements DaemonControl {
  readonly server: string;
  readonly config: CompiledConfig;
  readonly #o: ControlOptions;

  constructor(opts: ControlOptions) {
    this.server = opts.server;
    this.config = opts.config;
    this.#o = opts;
  }

  status(): StatusDoc {
    const view = this.#o.loop.view().status;
    const mirrors = this.mirrors();
    const status = mirrors.length > 0 ? { ...view, mirrors } : view;
    const stats = this.#o.transportStats?.();
    if (!stats) return status;
    return {
      ...status,
      servers: status.servers.map((s) =>
        s.name === this.server ? { ...s, heartbeatStats: { ...stats } } : s,
      ),
    };
  }

  mirrors(): MirrorDiskStatus[] {
    return mirrorStatuses(this.#o.mirror ?? null, this.config, this.server);
  }

  async mirrorOp(op: {
    action: 'break' | 'recover' | 'force';
    name: string;
    source?: string;
  }): Promise<OperatorReply> {
    this.#o.logger.info(
      { op: `md-${op.action}`, md: op.name, source: op.source },
      `operator request md ${op.action}`,
    );
    const reply = await mirrorOperation(this.#o.mirror ?? null, this.config, this.server, op);
    if (!reply.ok)
      this.#o.logger.warn({ md: op.name, code: reply.code }, `md ${op.action} refused: ${reply.message}`);
    return reply;
  }

  plan(): Plan {
    return this.#o.loop.view().plan;
  }

  planText(): string {
    return this.#o.renderPlan(this.plan());
  }

  alerts(opts: { afterSeq?: number; limit?: number }): AlertRecord[] {
    return this.#o.alertLog.list(opts);
  }

  routeFor(op: OperatorOp): string {
    return this.#o.loop.routeFor(op);
  }

  async operate(op: OperatorOp, opts: { timeoutMs: number; forwarded: boolean }): Promise<OperatorReply> {
    this.#o.logger.info({ op: op.op, request: op, forwarded: opts.forwarded }, `operator request ${op.op}`);
    const reply = await this.#o.loop.request(op, opts.timeoutMs);
    const fields = { op: op.op, ok: reply.ok, code: reply.code, object: reply.object };
    if (reply.ok) this.#o.logger.info(fields, `operator request ${op.op}: ${reply.message}`);
    else this.#o.logger.warn(fields, `operator request ${op.op} refused or failed: ${reply.message}`);
    return reply;
  }
}
