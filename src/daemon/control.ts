/**
 * What the control API (src/api) needs from a running daemon. The daemon implements it; API tests use a fake.
 * Operations are carried out where they must run: `operate` on any server routes the request (through the
 * peer's API) to the server that owns the object, so the API layer never has to know the placement rules.
 */
import type { OperatorOp, OperatorReply, Plan } from '../core/types.ts';
import type { CompiledConfig } from '../shared/config/types.ts';
import type { StatusDoc } from '../shared/status.ts';
import type { AlertRecord } from '../ports/store.ts';

export interface DaemonControl {
  readonly server: string;
  readonly config: CompiledConfig;
  /** Cluster-wide status as this server sees it. */
  status(): StatusDoc;
  /** What this server would do now, with reasons. */
  plan(): Plan;
  /** This server's alert log (newest last). */
  alerts(opts: { afterSeq?: number; limit?: number }): AlertRecord[];
  /**
   * Carry out an operator request: locally when it concerns this server, else forwarded to the server that
   * must run it. Resolves when the request has been carried out (or refused) or `timeoutMs` passed.
   */
  operate(op: OperatorOp, opts: { timeoutMs: number; forwarded: boolean }): Promise<OperatorReply>;
}
