/**
 * NP resolution and witness ports: the shell asks them when the core requests an `np-check` or `witness`
 * action, and feeds their answers back as events.
 */
import type { PeerReport } from '../core/types.ts';
import type { CompiledHttpNp } from '../shared/config/types.ts';

export interface NpProbeResult {
  target: string;
  ok: boolean;
  /** e.g. `HTTP 200 in 12 ms`, `connect ECONNREFUSED`, `timeout after 10000 ms`. */
  detail: string;
}

export interface NpProber {
  /** HEAD the target once; resolves (never rejects) within `target.timeoutMs`. */
  probe(target: CompiledHttpNp): Promise<NpProbeResult>;
}

export interface WitnessAnswer {
  ok: boolean;
  detail: string;
  /** Other servers of this cluster the witness knows: how long ago it heard each, and its last report. */
  peers: Record<string, { ageMs: number; report: PeerReport | null }>;
}

export interface WitnessClient {
  /** Post our signed report and read the others; resolves (never rejects) within the witness timeout. */
  exchange(report: PeerReport): Promise<WitnessAnswer>;
}
