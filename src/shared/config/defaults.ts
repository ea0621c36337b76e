/**
 * Default values of the cluster config (issue section 2, "Defaults where the seed is silent"), in one
 * place so the schema (which shows them in the JSON Schema and TSDoc), the compiler and
 * docs/configuration.md agree. Durations are written as the operator would write them.
 */

export const DEFAULTS = {
  heartbeatInterval: '1s',
  heartbeatTimeout: '10s',
  syncWait: '5m',
  actionOnIsolation: 'shutdown',
  interconnectPort: 29002,
  apiPort: 29003,
  witnessPort: 29010,
  npHttpPort: 80,
  npHttpsPort: 443,
  npPath: '/',
  npInterval: '5s',
  npTimeout: '10s',
  osShutdown: 'systemctl poweroff',
  osReboot: 'systemctl reboot',
  alertLogSize: 10000,
  groupAutoStart: true,
  groupFailoverAuto: true,
  failoverTarget: 'stable',
  failback: 'manual',
  activationRetries: 0,
  activationFailoverThreshold: 1,
  activationFinalAction: 'none',
  deactivationRetries: 0,
  deactivationFinalAction: 'shutdown',
  monitorInterval: '60s',
  monitorTimeout: '120s',
  monitorRetries: 1,
  monitorStartWait: '0s',
  recoveryAction: 'failover',
  /** maxReactivations when the action is `restart`; 0 for every other action. */
  restartMaxReactivations: 3,
  maxFailovers: 1,
  recoveryFinalAction: 'none',
  recoveryScriptTimeout: '30s',
  /** Default `recovery.noResponse` of the AWS monitor types (local checks default to recover). */
  noResponse: 'warn',
} as const;

/** The recovery target meaning "this server" (the seed's LocalServer). */
export const LOCAL_SERVER = 'LocalServer';
