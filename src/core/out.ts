/**
 * What one `step` produces besides state changes: actions for the shell, alerts, diagnostics and operator
 * replies, collected here and drained by `ClusterNode.ready()`. Also the table of alert codes (stable ids
 * of the alert log, documented in docs/architecture.md "Alerts").
 */
import type { Action, AlertEntry, Diagnostic, OperatorReply } from './types.ts';

/** Stable alert codes. Never reuse or rename one; add new ones at the end of their area. */
export const AlertCode = {
  serviceStarting: 'CLUSTER_SERVICE_STARTING',
  serviceRunning: 'CLUSTER_SERVICE_RUNNING',
  serviceStopping: 'CLUSTER_SERVICE_STOPPING',
  serviceStopped: 'CLUSTER_SERVICE_STOPPED',
  serverUp: 'SERVER_UP',
  serverLost: 'SERVER_LOST',
  serverDown: 'SERVER_DOWN',
  fenceStarted: 'FENCE_STARTED',
  fenceDone: 'FENCE_DONE',
  fenceFailed: 'FENCE_FAILED',
  fenceConfirmed: 'FENCE_CONFIRMED',
  serverViaWitness: 'SERVER_HEARD_VIA_WITNESS',
  heartbeatLost: 'HEARTBEAT_LOST',
  heartbeatRecovered: 'HEARTBEAT_RECOVERED',
  configMismatch: 'CONFIG_MISMATCH',
  npTargetError: 'NP_TARGET_ERROR',
  npTargetNormal: 'NP_TARGET_NORMAL',
  npIsolated: 'NP_ISOLATED',
  npRejoined: 'NP_CONTACT_REGAINED',
  witnessError: 'WITNESS_ERROR',
  witnessNormal: 'WITNESS_NORMAL',
  groupStarting: 'GROUP_STARTING',
  groupOnline: 'GROUP_ONLINE',
  groupStopping: 'GROUP_STOPPING',
  groupOffline: 'GROUP_OFFLINE',
  groupError: 'GROUP_ERROR',
  groupDoubleActive: 'GROUP_DOUBLE_ACTIVE',
  resourceFoundRunning: 'RESOURCE_FOUND_RUNNING',
  resourceStartFailed: 'RESOURCE_START_FAILED',
  resourceStopFailed: 'RESOURCE_STOP_FAILED',
  activationRetry: 'ACTIVATION_RETRY',
  activationFailover: 'ACTIVATION_FAILOVER',
  activationFinalAction: 'ACTIVATION_FINAL_ACTION',
  deactivationRetry: 'DEACTIVATION_RETRY',
  deactivationFinalAction: 'DEACTIVATION_FINAL_ACTION',
  monitorError: 'MONITOR_ERROR',
  monitorTimeout: 'MONITOR_TIMEOUT',
  monitorWarning: 'MONITOR_WARNING',
  monitorNormal: 'MONITOR_NORMAL',
  monitorSuspended: 'MONITOR_SUSPENDED',
  monitorResumed: 'MONITOR_RESUMED',
  recoveryScript: 'RECOVERY_SCRIPT',
  recoveryReactivation: 'RECOVERY_REACTIVATION',
  recoveryFailover: 'RECOVERY_FAILOVER',
  recoveryFinalAction: 'RECOVERY_FINAL_ACTION',
  recoverySkipped: 'RECOVERY_SKIPPED',
  osAction: 'OS_ACTION',
  marksReset: 'FAILOVER_MARKS_RESET',
} as const;
export type AlertCode = (typeof AlertCode)[keyof typeof AlertCode];

export class Out {
  actions: Action[] = [];
  alerts: AlertEntry[] = [];
  diagnostics: Diagnostic[] = [];
  replies: OperatorReply[] = [];
  /** Persisted state (marks, serviceWanted, reset epochs) changed. */
  persistDirty = false;

  alert(
    level: AlertEntry['level'],
    objectKind: AlertEntry['objectKind'],
    object: string,
    code: AlertCode,
    message: string,
  ): void {
    this.alerts.push({ level, objectKind, object, code, message });
  }

  diag(level: Diagnostic['level'], msg: string, fields?: Diagnostic['fields']): void {
    this.diagnostics.push(fields ? { level, msg, fields } : { level, msg });
  }

  /** Take everything collected so far and start empty. */
  drain(): { actions: Action[]; alerts: AlertEntry[]; diagnostics: Diagnostic[]; replies: OperatorReply[] } {
    const r = {
      actions: this.actions,
      alerts: this.alerts,
      diagnostics: this.diagnostics,
      replies: this.replies,
    };
    this.actions = [];
    this.alerts = [];
    this.diagnostics = [];
    this.replies = [];
    return r;
  }
}
