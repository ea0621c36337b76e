/**
 * Contracts of the pure decision core (STYLE.md 1-6): what goes in (events, with the time passed in), what
 * comes out (`Ready`: the report to broadcast, actions to run, alerts, the next wake-up time) and the plan
 * vocabulary. The daemon shell (src/daemon) and the simulated cluster harness (test/sim) both drive
 * `ClusterNode` (src/core/node.ts) through exactly these types. docs/architecture.md explains the protocol.
 *
 * Time: every `...Ms` timestamp here is on the local server's monotonic clock (milliseconds), except
 * fields of a `PeerReport`, which are on the *sender's* clock and are only ever echoed back to it.
 */
import type { StatusDoc } from '../shared/status.ts';

export type GroupLocalState = 'offline' | 'starting' | 'online' | 'stopping' | 'error';
export type ResourceLocalState = 'offline' | 'starting' | 'online' | 'stopping' | 'error';
export type ServiceState = 'stopped' | 'starting' | 'running' | 'stopping';

/**
 * Everything a server tells its peers, sent as the body of every heartbeat (full state, so a lost packet is
 * repaired by the next one) and relayed through the witness. Authentication, replay protection and
 * encoding are the transport's job; the core sees only verified reports.
 */
export interface PeerReport {
  cluster: string;
  server: string;
  /** Random per daemon start; a new incarnation means the peer restarted. */
  incarnation: string;
  /** Increases with every report of this incarnation. */
  seq: number;
  /** Sender's monotonic clock when sent; echoed back so the sender can measure its lease. */
  sentAtMs: number;
  configHash: string;
  service: ServiceState;
  /** True while the sender considers itself isolated. */
  isolated: boolean;
  /** Last report heard from each peer: echoing the peer's own `sentAtMs` renews the peer's lease. */
  echo: Record<string, { incarnation: string; sentAtMs: number }>;
  /**
   * Local state of every group on the sender, and its claim to start one (see docs: claims and grants).
   * `release` is present after the sender stopped the group so that another server takes it over (move,
   * failover, failback, leaving the cluster, isolation); `hold` after an operator stopped it (peers then do
   * not start it on their own at cluster start).
   */
  groups: Record<
    string,
    { state: GroupLocalState; claim: number | null; release?: GroupRelease; hold?: boolean }
  >;
  /** For each group, the claim this server grants: `{ server, claim }`. */
  grants: Record<string, { server: string; claim: number }>;
  /** Groups that failed on the sender and may not be placed there (failover marks). */
  failedGroups: string[];
  /** Number of monitors in error on the sender (the "stable server" rule prefers fewer). */
  monitorErrors: number;
  /** Local resource states, for status on other servers. */
  resources: Record<string, ResourceLocalState>;
  /** Local monitor states, for status on other servers. */
  monitors: Record<string, 'normal' | 'warning' | 'error' | 'suspended' | 'offline'>;
  /**
   * Failover-mark reset generation per group (`tandem group reset`): peers take the maximum, and a server
   * drops its own mark for a group whenever the generation it knows grows. Absent = all zero.
   */
  resetEpochs?: Record<string, number>;
}

/**
 * A group handed over by its last owner: whoever is the target (`to`, or the `rule` applied to the
 * candidates without the sender) claims it. `id` is unique per sender incarnation, so a release is acted on
 * once.
 */
export interface GroupRelease {
  id: number;
  kind: 'move' | 'failover' | 'failback' | 'leave' | 'isolation';
  to: string | null;
  rule: 'stable' | 'max-priority';
  /** Short human reason, e.g. `monitor custom1 error`. */
  reason: string;
}

/** How a driver call ended (STYLE.md 9): execution status is separate from the result. */
export type ExecOutcome<R> =
  | { exec: 'done'; result: R; code?: number; message?: string }
  | { exec: 'timeout' | 'cancelled' | 'not-installed' | 'error'; code?: number; message: string };

export type StartStopResult = 'ok' | 'failed';
export type MonitorResult = 'running' | 'stopped' | 'failed' | 'degraded';

/** Operator requests (API/CLI), already routed to this server. */
export type OperatorOp =
  | { op: 'cluster-start' }
  /**
   * Leave the cluster: stop (or fail over) local groups, then the service. `daemonShutdown` (SIGTERM) does
   * not record the service as wanted stopped, so the next daemon start joins again.
   */
  | { op: 'cluster-stop'; daemonShutdown?: boolean }
  | { op: 'group-start'; group: string; server?: string }
  | { op: 'group-stop'; group: string }
  | { op: 'group-move'; group: string; to?: string }
  | { op: 'resource-start'; resource: string }
  | { op: 'resource-stop'; resource: string }
  | { op: 'monitor-suspend'; monitor?: string }
  | { op: 'monitor-resume'; monitor?: string }
  /** Clear failover marks and counters of a group (after the operator fixed the cause). */
  | { op: 'group-reset'; group: string }
  /** The operator confirms a lost server's instance is stopped (after a failed forced stop). */
  | { op: 'confirm-down'; server: string };

export type CoreEvent =
  /** A verified heartbeat arrived on interconnect `via` (e.g. `lan1`). */
  | { type: 'heartbeat'; via: string; report: PeerReport }
  /** The witness answered (ok) or not; `peers` carries what it knows of every other server. */
  | {
      type: 'witness';
      ok: boolean;
      /** When our request left (local clock). */
      sentAtMs: number;
      peers: Record<string, { ageMs: number; report: PeerReport | null }>;
      detail?: string;
    }
  /** An NP target answered (ok = HTTP 200) or not. `sentAtMs` is when our request left. */
  | { type: 'np-result'; target: string; ok: boolean; sentAtMs: number; detail?: string }
  /** An action requested in `Ready.actions` finished. */
  | { type: 'action-done'; actionId: string; outcome: ExecOutcome<StartStopResult | MonitorResult> }
  | { type: 'operator'; requestId: string; request: OperatorOp }
  /** Nothing happened; time passed (the shell calls this at `Ready.wakeAtMs`). */
  | { type: 'tick' };

interface ActionBase {
  /** Unique id; the shell reports completion with it. */
  id: string;
  /** Human reason, e.g. `due to monitor custom1 error`. */
  reason: string;
}

/** Start, stop or probe (monitor verb) of a group resource on this server. */
export interface ResourceAction extends ActionBase {
  kind: 'resource';
  verb: 'start' | 'stop' | 'probe';
  resource: string;
  group: string;
  timeoutMs: number;
  /** Environment for exec resources: `TANDEM_EVENT` and `TANDEM_FAILOVER_FROM`. */
  event: 'START' | 'FAILOVER' | 'RECOVER';
  failoverFrom: string | null;
  /** Stop only: kill without grace (isolation deadline passed). */
  hard?: boolean;
}

/** Run a monitor's check once. */
export interface MonitorAction extends ActionBase {
  kind: 'monitor';
  monitor: string;
  timeoutMs: number;
}

/** Run a recovery script (before reactivation / failover / final action). */
export interface ScriptAction extends ActionBase {
  kind: 'script';
  monitor: string;
  step: 'beforeReactivation' | 'beforeFailover' | 'beforeFinalAction';
  command: string;
  cwd: string;
  timeoutMs: number;
}

/** Shut down or reboot this machine through `osActions`. */
export interface OsAction extends ActionBase {
  kind: 'os';
  action: 'shutdown' | 'reboot';
  command: string;
}

/** Check every NP target now. */
export interface NpCheckAction extends ActionBase {
  kind: 'np-check';
}

/** Post our report to the witness and read the others. */
export interface WitnessAction extends ActionBase {
  kind: 'witness';
}

/** Forced stop of a peer's instance (fencing), then wait until it is stopped. */
export interface FenceAction extends ActionBase {
  kind: 'fence';
  server: string;
  timeoutMs: number;
}

export type Action =
  ResourceAction | MonitorAction | ScriptAction | OsAction | NpCheckAction | WitnessAction | FenceAction;

/** One alert log entry (structured; time is filled in by the shell from its wall clock). */
export interface AlertEntry {
  level: 'info' | 'warning' | 'error';
  /** Object kind and name, e.g. `group` / `failover1`. */
  objectKind: 'cluster' | 'server' | 'group' | 'resource' | 'monitor' | 'np' | 'witness' | 'heartbeat';
  object: string;
  /** Stable id, e.g. `GROUP_ONLINE`, `HEARTBEAT_LOST`, `NP_ISOLATED`, `CONFIG_MISMATCH`. */
  code: string;
  message: string;
}

/** Structured diagnostics for the log (the core never logs itself). */
export interface Diagnostic {
  level: 'debug' | 'info' | 'warn' | 'error';
  msg: string;
  fields?: Record<string, string | number | boolean | null>;
}

/** Outcome of an operator request, delivered in a later `Ready` once known. */
export interface OperatorReply {
  requestId: string;
  ok: boolean;
  /** OperationErrorCode value when refused. */
  code?: string;
  object?: string;
  message: string;
  remedy?: string;
}

/** What the shell must do after feeding events (etcd raft's Ready): drain it, then call `advance()`. */
export interface Ready {
  /** Broadcast this report on every interconnect now (null = nothing new to send). */
  send: PeerReport | null;
  actions: Action[];
  alerts: AlertEntry[];
  diagnostics: Diagnostic[];
  replies: OperatorReply[];
  /** Call `tick` at this local time at the latest (null = only on events). */
  wakeAtMs: number | null;
  /** State worth persisting (failover marks, counters), or null when unchanged. */
  persist: PersistedState | null;
}

/** What survives a daemon restart (written before anything is sent). */
export interface PersistedState {
  /** Whether the operator left the cluster service stopped (`tandem cluster stop`). */
  serviceWanted: 'running' | 'stopped';
  /** Group name -> servers on which it failed. */
  failedGroups: Record<string, string[]>;
  /** Failover-mark reset generation per group (see `PeerReport.resetEpochs`). */
  resetEpochs?: Record<string, number>;
}

/** A step of a plan, with its dependencies and reason (Pacemaker transition graph). */
export interface PlanStep {
  id: string;
  /** `start exec1 on node-2`, `stop failover1 on node-1`, `shutdown node-1`. */
  text: string;
  reason: string;
  dependsOn: string[];
  /**
   * `ready` = will be carried out now, `running` = its action is in flight, `waiting` = blocked (by
   * `dependsOn` or by what `waitingFor` says).
   */
  status?: 'ready' | 'running' | 'waiting';
  /** What the step waits for besides `dependsOn`, e.g. `grant from node-1`. */
  waitingFor?: string;
}

export interface Plan {
  server: string;
  steps: PlanStep[];
}

/** Read-only view used for `tandem status` and `tandem plan`. */
export interface NodeView {
  status: StatusDoc;
  plan: Plan;
}
