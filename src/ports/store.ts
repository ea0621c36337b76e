/**
 * Persistence port: the state directory (`--state-dir`). Writes are atomic (temp file + rename + fsync), so a
 * crash never leaves a torn file.
 */
import type { PersistedState } from '../core/types.ts';

/** Re-exported so adapters (which may not import core/) can name what they persist. */
export type { PersistedState };

export interface AlertRecord {
  /** Wall-clock ms. */
  time: number;
  server: string;
  level: 'info' | 'warning' | 'error';
  objectKind: string;
  object: string;
  code: string;
  message: string;
  /** Monotonic sequence number within this server's alert log. */
  seq: number;
}

export interface StateStore {
  load(): Promise<PersistedState | null>;
  save(state: PersistedState): Promise<void>;
}

/** Bounded on-disk ring of alert entries (default 10000). */
export interface AlertLog {
  append(entry: Omit<AlertRecord, 'seq'>): AlertRecord;
  /** Newest last; at most `limit` entries with `seq > afterSeq`. */
  list(opts?: { afterSeq?: number; limit?: number }): AlertRecord[];
  flush(): Promise<void>;
  close(): Promise<void>;
}
