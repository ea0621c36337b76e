/**
 * Heartbeat transport port. The UDP adapter signs every packet with HMAC-SHA256 of the cluster secret and
 * drops unsigned, foreign-cluster and replayed packets (counted in `stats()`); the in-memory twin
 * (test/fakes) has hooks to drop, delay and partition. Either way, `onReport` sees only verified reports.
 */
import type { PeerReport } from '../core/types.ts';

/** Re-exported so adapters (which may not import core/) can name the report they carry. */
export type { PeerReport };

export interface TransportStats {
  sent: number;
  received: number;
  /** Bad or missing signature. */
  droppedUnsigned: number;
  /** Valid signature but another cluster name. */
  droppedForeign: number;
  /** Sequence number not newer than the last one seen from that incarnation. */
  droppedReplayed: number;
  /** Not parseable. */
  droppedMalformed: number;
}

export interface HeartbeatTransport {
  /** Start listening; resolves once every interconnect socket is bound. */
  start(onReport: (report: PeerReport, via: string) => void): Promise<void>;
  /** Send `report` to every peer on every interconnect (best effort, never throws). */
  broadcast(report: PeerReport): void;
  stats(): TransportStats;
  close(): Promise<void>;
}
