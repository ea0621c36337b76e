/**
 * The status document: `GET /api/v1/status`, `tandem status --json`, and the WebUI's data. A stable contract
 * (issue "Cluster core", section 4): keep every field and value named here, add fields freely.
 */

export type ServerState = 'online' | 'offline' | 'isolated' | 'unknown';
export type GroupState = 'online' | 'offline' | 'starting' | 'stopping' | 'error';
export type ResourceStatusState = 'online' | 'offline' | 'starting' | 'stopping' | 'error';
export type MonitorState = 'normal' | 'warning' | 'error' | 'suspended' | 'offline';
export type PathState = 'normal' | 'warning' | 'error' | 'unknown';

export interface HeartbeatStatus {
  /** `lan1`, `lan2`, ... or `witness`. */
  name: string;
  state: PathState;
  /** Milliseconds since this path last carried a valid heartbeat from that server; null = never. */
  lastHeardAgoMs?: number | null;
}

export interface NpStatus {
  name: string;
  state: PathState;
  detail?: string;
}

export interface ServerStatus {
  name: string;
  state: ServerState;
  /** True for the server that answered this request. */
  local: boolean;
  priority?: number;
  /** Cluster service on that server (joined the cluster or not). */
  service?: 'running' | 'stopped' | 'starting' | 'stopping' | 'unknown';
  /** How this server is heard by the answering server: 'interconnect' | 'witness' | 'none' | 'self'. */
  heardVia?: 'self' | 'interconnect' | 'witness' | 'none';
  heartbeats: HeartbeatStatus[];
  np: NpStatus[];
  /** Local server only: heartbeat packets sent, received and dropped (by reason) since the daemon started. */
  heartbeatStats?: {
    sent: number;
    received: number;
    droppedUnsigned: number;
    droppedForeign: number;
    droppedReplayed: number;
    droppedMalformed: number;
  };
  /**
   * Peers, with `fencing:` configured: the forced stop of that server as the answering server sees it
   * (`none` while it is heard; `waiting` for the fencing delay, `fencing`, `fenced`, `failed`).
   */
  fencing?: { state: 'none' | 'waiting' | 'fencing' | 'fenced' | 'failed'; detail: string };
  /** Present when that server's config hash differs from ours. */
  configMismatch?: { ours: string; theirs: string } | null;
}

export interface ResourceStatus {
  name: string;
  type: string;
  state: ResourceStatusState;
  /** Last error code and message, if the last operation failed. */
  error?: { code: number; message: string } | null;
}

export interface GroupStatus {
  name: string;
  state: GroupState;
  server: string | null;
  resources: ResourceStatus[];
  /** Servers on which the group failed and may not run until reset (failover marks). */
  failedOn?: string[];
}

export interface MonitorStatus {
  name: string;
  type: string;
  state: MonitorState;
  /** Per-server states, when known. */
  servers?: Record<string, MonitorState>;
  lastError?: { code: number; message: string } | null;
}

/** One mirror disk volume (md resource) as the answering server's copy sees it (issue 5 section 3). */
export interface MirrorDiskStatus {
  /** The md resource. */
  name: string;
  /** The server holding this copy (the answering server). */
  server: string;
  /** The other server of the mirror. */
  peerServer: string;
  role: 'primary' | 'secondary' | 'none';
  /** Copy state of this server's copy and of the peer's, as far as known. */
  local: MirrorCopyState;
  peer: MirrorCopyState;
  /** `Connected`, `Disconnected`, `Resyncing to-peer|from-peer (full)`, `SplitBrain`, `Refused: why`. */
  connection: string;
  /** What the peer lacks (or this copy lacks, when resyncing from the peer), bytes. */
  dirtyBytes: number;
  resync: { doneBytes: number; totalBytes: number; rateBytesPerSec: number; etaSec: number | null } | null;
  /** Async mode: writes queued to the peer. */
  asyncQueueDepth: number;
  /** The local copy could not be opened (code, message, remedy); the other fields are then empty. */
  error?: { code: string; message: string; remedy: string } | null;
  /** The local disk failed (MD_DISK_FAILED: volume, server, path, error; remedy). */
  diskFailure?: { code: string; message: string; remedy: string } | null;
  /** autoRecovery false and the copies differ: the command that starts the mirror recovery. */
  recoveryPending?: {
    direction: 'to-peer' | 'from-peer';
    full: boolean;
    why: string;
    command: string;
  } | null;
}

export type MirrorCopyState =
  'UpToDate' | 'Consistent' | 'Outdated' | 'Inconsistent' | 'SplitBrain' | 'Failed' | 'Unknown';

export interface StatusDoc {
  cluster: { name: string; state: 'online' | 'degraded' | 'offline' | 'unknown'; warnings?: string[] };
  servers: ServerStatus[];
  groups: GroupStatus[];
  monitors: MonitorStatus[];
  /** Mirror disk volumes of the answering server (present when it holds a copy of an md resource). */
  mirrors?: MirrorDiskStatus[];
  /** Server that produced this document and its clock (ms since epoch) when it did. */
  source?: { server: string; at: number };
}
