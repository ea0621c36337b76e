/**
 * What the control API (src/api) needs from a running daemon. The daemon implements it; API tests use a fake.
 * Operations are carried out where they must run: the API asks `routeFor(op)` and forwards the request to
 * that server's API (with the same credential) when it is not this one, so the API layer never has to know
 * the placement rules.
 */
import type { OperatorOp, OperatorReply, Plan } from '../core/types.ts';
import type { CompiledConfig } from '../shared/config/types.ts';
import type { MirrorDiskStatus, StatusDoc } from '../shared/status.ts';
import type { AlertRecord } from '../ports/store.ts';

export interface DaemonControl {
  readonly server: string;
  readonly config: CompiledConfig;
  /** Cluster-wide status as this server sees it. */
  status(): StatusDoc;
  /** What this server would do now, with reasons. */
  plan(): Plan;
  /**
   * `plan()` rendered by the core's plain-text plan renderer (the same text the daemon logs), for
   * `GET /api/v1/plan` and `tandem plan`. The API may not import the core's renderer (layering), so the
   * daemon renders it.
   */
  planText(): string;
  /** This server's alert log (newest last). */
  alerts(opts: { afterSeq?: number; limit?: number }): AlertRecord[];
  /**
   * The server that must carry out `op` (the group's owner, the requested target, or this server). The API
   * forwards the request there when it is not this server.
   */
  routeFor(op: OperatorOp): string;
  /**
   * Carry out an operator request on this server. Resolves when the request has been carried out (or refused) or `timeoutMs` passed.
   */
  operate(op: OperatorOp, opts: { timeoutMs: number; forwarded: boolean }): Promise<OperatorReply>;
  /** This server's mirror disk copies (empty when it holds none). */
  mirrors(): MirrorDiskStatus[];
  /**
   * `tandem md break|recover` on this server's copy of md resource `name`: `break` stops mirroring (this copy
   * goes on alone); `recover` resolves a break or a split brain, `source` (a server name) being the copy
   * that wins: the other one is resynced from it; `force` lets the next activation of this copy go ahead
   * even when it is not known to be the latest (the operator's decision after the other copy is lost).
   */
  mirrorOp(op: {
    action: 'break' | 'recover' | 'force';
    name: string;
    source?: string;
  }): Promise<OperatorReply>;
}
