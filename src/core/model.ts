/**
 * The node's state: everything `decide()` reads (the snapshot) and the event handlers update. One plain
 * object, so a decision input can be copied, saved and replayed (STYLE.md 19). Times are local monotonic
 * milliseconds. The prose of the node's states and transitions is at the top of node.ts.
 */
import type { CompiledConfig, FailoverTargetRule } from '../shared/config/types.ts';
import { indexConfig, type ConfigIndex } from './config-index.ts';
import type {
  GroupRelease,
  OperatorOp,
  PeerReport,
  PersistedState,
  ResourceLocalState,
  ServiceState,
} from './types.ts';

/** What this server knows of one peer. */
export interface PeerRecord {
  name: string;
  /** Latest accepted report of the current incarnation (null = never heard). */
  report: PeerReport | null;
  /** Local time at which `report` was heard (witness: answer time - age). */
  reportHeardAt: number | null;
  /** Local time each interconnect last carried a valid report of this peer. */
  lanHeardAt: Record<string, number>;
  /** Local time the witness last heard this peer (answer time - age). */
  witnessHeardAt: number | null;
  /** Config hash of the peer when it differs from ours. */
  mismatch: string | null;
  /** Hashes already alerted as CONFIG_MISMATCH. */
  mismatchAlerted: string[];
  /** Last observed liveness (observe.ts turns changes into alerts). */
  seen: 'unknown' | 'heard' | 'lost' | 'down';
  /** Local time it was noticed lost (start of an NP resolution round). */
  lostAtMs: number | null;
  /** Last observed per-interconnect state, for path alerts. */
  lanUp: Record<string, boolean>;
  viaWitnessOnly: boolean;
  /** Release ids of this incarnation already acted on. */
  releasesSeen: number[];
}

/** Why a group that nobody runs should be started, and where. */
export interface GroupNeed {
  event: 'START' | 'FAILOVER';
  from: string | null;
  /** Preferred target (move, operator start); used when it is a candidate. */
  to: string | null;
  rule: FailoverTargetRule;
  reason: string;
  operator: boolean;
  /** Not a target for this need (the server that failed the group or left the cluster). */
  exclude: string | null;
}

/** Why the local copy of a group is being stopped and what follows. */
export interface StopIntent {
  kind:
    | 'operator'
    | 'move'
    | 'failback'
    | 'failover'
    | 'leave'
    | 'isolation'
    | 'final'
    | 'yield'
    | 'double-active';
  reason: string;
  /** Published once the group is offline here. */
  release: Omit<GroupRelease, 'id'> | null;
  /** Keep the group offline (operator stop, stop-group final action). */
  hold: boolean;
  /** Timeout of each stop action (isolation: the isolation stop bound). */
  timeoutMs: number | null;
}

export interface LocalGroup {
  name: string;
  /** This server runs (or is bringing up or down) the group as its single owner. */
  owner: boolean;
  /** Desired local state while owner. */
  goal: 'online' | 'offline';
  claim: number | null;
  /** Context of the current activation (TANDEM_EVENT, failover source, reason). */
  start: { event: 'START' | 'FAILOVER' | 'RECOVER'; from: string | null; reason: string } | null;
  stop: StopIntent | null;
  need: GroupNeed | null;
  hold: boolean;
  release: GroupRelease | null;
  /** The activation ladder ended with final action `none`: stay in error, start nothing more. */
  stuck: boolean;
  /** Last reported state, for GROUP_* alerts. */
  lastState: string;
}

export interface LocalResource {
  name: string;
  group: string;
  state: ResourceLocalState;
  /** Startup probe: pending until its result is back; true for resources never probed here. */
  probed: boolean;
  /** Found running (or in doubt) by the probe while not owned: must be adopted or stopped. */
  stray: boolean;
  /** Must be stopped before it is started (probe found it failed, or reactivation). */
  restart: boolean;
  inflight: { id: string; verb: 'start' | 'stop' | 'probe'; hard: boolean } | null;
  /** Hard stop issued in the current isolation episode. */
  hardStopped: boolean;
  nextEvent: 'START' | 'FAILOVER' | 'RECOVER' | null;
  activationRetries: number;
  deactivationRetries: number;
  /** Failovers this resource's activation failures caused from this server. */
  failovers: number;
  operatorStopped: boolean;
  lastError: { code: number; message: string } | null;
}

export type MonitorLocalState = 'normal' | 'warning' | 'error' | 'suspended' | 'offline';

export interface MonitorRt {
  name: string;
  state: MonitorLocalState;
  suspended: boolean;
  applicableSince: number | null;
  nextCheckAt: number | null;
  inflight: string | null;
  /** Consecutive failures. */
  failures: number;
  reactivations: number;
  failovers: number;
  scriptRuns: number;
  finalDone: boolean;
  /** Recovery step waiting for its script. */
  pendingStep: RecoveryStepKind | null;
  lastError: { code: number; message: string } | null;
}

export type RecoveryStepKind = 'reactivation' | 'failover' | 'final' | 'script';

export interface NpTargetRt {
  name: string;
  last: { ok: boolean; sentAtMs: number; detail: string } | null;
  lastOkSentAt: number | null;
  alerted: 'normal' | 'error' | null;
}

export interface CheckRt {
  inflight: { id: string; issuedAt: number } | null;
  lastIssuedAt: number | null;
  /** Run at once when this is later than lastIssuedAt (peer loss, lease at risk). */
  wantedAt: number | null;
}

export interface IsolationRt {
  sinceMs: number;
  cause: string;
  /** Whether the lease had been held (then actionOnIsolation runs). */
  hadLease: boolean;
  actionDone: boolean;
}

/** Fencing of one peer in its current loss episode (membership/fencing.ts). */
export interface FenceRt {
  state: 'none' | 'waiting' | 'fencing' | 'fenced' | 'failed';
  /** lostAt of the episode this state belongs to. */
  episode: number | null;
  /** When the forced stop is due (after this server's fencing delay). */
  dueAt: number | null;
  inflight: string | null;
  detail: string;
  /** When the state last changed. */
  atMs: number | null;
}

export interface PendingReply {
  requestId: string;
  op: OperatorOp;
  /** Server a move goes to. */
  target: string | null;
}

export interface NodeState {
  ix: ConfigIndex;
  self: string;
  incarnation: string;
  nowMs: number;
  daemonStartMs: number;
  service: ServiceState;
  serviceWanted: 'running' | 'stopped';
  serviceStartMs: number | null;
  /** The machine is going down (os action issued): start nothing more. */
  goingDown: 'shutdown' | 'reboot' | null;
  peers: Record<string, PeerRecord>;
  contactAtMs: number | null;
  isolation: IsolationRt | null;
  /** When the last isolation episode ended: silence before it is no evidence that a peer is gone. */
  isolationEndedAt: number | null;
  np: Record<string, NpTargetRt>;
  npCheck: CheckRt;
  witness: CheckRt & {
    state: 'unknown' | 'normal' | 'error';
    detail: string;
    lastOk: { sentAtMs: number; atMs: number } | null;
  };
  groups: Record<string, LocalGroup>;
  resources: Record<string, LocalResource>;
  monitors: Record<string, MonitorRt>;
  /** Failover marks: group -> servers (only this server's own marks are authoritative). */
  marks: Record<string, string[]>;
  resetEpochs: Record<string, number>;
  grants: Record<string, { server: string; claim: number }>;
  nextClaim: number;
  nextReleaseId: number;
  nextActionId: number;
  /** In-flight monitor/script/np/witness/os actions by id (resource actions live on the resource). */
  actions: Record<
    string,
    { kind: 'monitor' | 'script' | 'np' | 'witness' | 'os' | 'fence'; monitor?: string; peer?: string }
  >;
  /** Fencing state per peer (only with `fencing:` configured). */
  fencing: Record<string, FenceRt>;
  pendingReplies: PendingReply[];
}

export function newLocalResource(name: string, group: string, probed: boolean): LocalResource {
  return {
    name,
    group,
    state: 'offline',
    probed,
    stray: false,
    restart: false,
    inflight: null,
    hardStopped: false,
    nextEvent: null,
    activationRetries: 0,
    deactivationRetries: 0,
    failovers: 0,
    operatorStopped: false,
    lastError: null,
  };
}

export function newPeer(name: string): PeerRecord {
  return {
    name,
    report: null,
    reportHeardAt: null,
    lanHeardAt: {},
    witnessHeardAt: null,
    mismatch: null,
    mismatchAlerted: [],
    seen: 'unknown',
    lostAtMs: null,
    lanUp: {},
    viaWitnessOnly: false,
    releasesSeen: [],
  };
}

export function newMonitor(name: string): MonitorRt {
  return {
    name,
    state: 'offline',
    suspended: false,
    applicableSince: null,
    nextCheckAt: null,
    inflight: null,
    failures: 0,
    reactivations: 0,
    failovers: 0,
    scriptRuns: 0,
    finalDone: false,
    pendingStep: null,
    lastError: null,
  };
}

export function newLocalGroup(name: string): LocalGroup {
  return {
    name,
    owner: false,
    goal: 'offline',
    claim: null,
    start: null,
    stop: null,
    need: null,
    hold: false,
    release: null,
    stuck: false,
    lastState: 'offline',
  };
}

/** Fresh action id (deterministic counter). */
export function nextId(s: NodeState): string {
  s.nextActionId += 1;
  return `a${s.nextActionId}`;
}

/** Whether this server carries a failover mark for `group`. */
export function markedSelf(s: NodeState, group: string): boolean {
  return (s.marks[group] ?? []).includes(s.self);
}

export interface ClusterNodeInit {
  config: CompiledConfig;
  /** This server's name (one of `config.servers`). */
  self: string;
  /** Opaque, from the shell; different on every daemon start. */
  incarnation: string;
  nowMs: number;
  /** What the previous daemon run persisted (null on first start). */
  persisted: PersistedState | null;
}

/** The state of a freshly started daemon (cluster service still stopped). */
export function createNodeState(init: ClusterNodeInit): NodeState {
  const ix = indexConfig(init.config);
  if (!ix.servers.has(init.self))
    throw new RangeError(`server ${init.self} is not in the cluster configuration`);
  const p = init.persisted;
  const s: NodeState = {
    ix,
    self: init.self,
    incarnation: init.incarnation,
    nowMs: init.nowMs,
    daemonStartMs: init.nowMs,
    service: 'stopped',
    serviceWanted: p?.serviceWanted ?? 'running',
    serviceStartMs: null,
    goingDown: null,
    peers: {},
    contactAtMs: null,
    isolation: null,
    isolationEndedAt: null,
    np: {},
    npCheck: { inflight: null, lastIssuedAt: null, wantedAt: null },
    witness: {
      inflight: null,
      lastIssuedAt: null,
      wantedAt: null,
      state: 'unknown',
      detail: '',
      lastOk: null,
    },
    groups: {},
    resources: {},
    monitors: {},
    marks: structuredClone(p?.failedGroups ?? {}),
    resetEpochs: structuredClone(p?.resetEpochs ?? {}),
    grants: {},
    nextClaim: 0,
    nextReleaseId: 0,
    nextActionId: 0,
    actions: {},
    fencing: {},
    pendingReplies: [],
  };
  for (const srv of init.config.servers) if (srv.name !== init.self) s.peers[srv.name] = newPeer(srv.name);
  for (const t of init.config.cluster.networkPartition.http)
    s.np[t.name] = { name: t.name, last: null, lastOkSentAt: null, alerted: null };
  for (const g of init.config.groups) {
    s.groups[g.name] = newLocalGroup(g.name);
    for (const r of g.resources) s.resources[r] = newLocalResource(r, g.name, true);
  }
  for (const m of init.config.monitors) s.monitors[m.name] = newMonitor(m.name);
  return s;
}
