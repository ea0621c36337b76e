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

  // The `aws:` and `fencing:` sections and the AWS types (issue 4).
  /** Upper bound of one AWS API call, retries included: the seed's AWS CLI timeout. */
  awsCallTimeout: '100s',
  fencingAction: 'stop',
  /** Until the fenced instance is stopped. */
  fencingTimeout: '180s',
  fencingCheckInterval: '60s',
  fencingDelay: '0s',
  /** Start/stop timeout of awsvip and awseip (route and address calls plus their verification). */
  awsAddressTimeout: '120s',
  /** Start/stop timeout of awsdns: the change must reach INSYNC, which Route 53 takes up to a minute or more for. */
  awsDnsTimeout: '300s',
  awsDnsTtl: 300,
  /** EXPRESSCLUSTER's defaults for the AWS monitors (awsvipw, awseipw, awsdnsw, awsazw). */
  awsMonitorInterval: '100s',
  awsMonitorTimeout: '100s',
  awsMonitorRetries: 1,
  /** Timeout of the fencing check monitor (its interval is fencing.checkInterval). */
  fencingMonitorTimeout: '100s',

  // The mirror disk (issue 5): the `md` resource and its monitors.
  /** TCP port of the mirror connect (MDC) when `mdc` names none. */
  mdcPort: 29051,
  mdMode: 'sync',
  mdRegionSize: '64K',
  mdHotExtent: '4M',
  mdInitialSync: 'full',
  mdAutoRecovery: true,
  /** Async mode: writes queued for the peer (requests). */
  mdQueueSize: 2048,
  /** The seed's product: send 30 s, connect 10 s, ack 100 s. */
  mdSendTimeout: '30s',
  mdConnectTimeout: '10s',
  mdAckTimeout: '100s',
  /** Start/stop timeout of md: activation may wait for the peer's answer and flush the mirror. */
  mdTimeout: '300s',
  /** The md monitors read the engine's local state: cheap, so checked often. */
  mdMonitorInterval: '10s',
  mdMonitorTimeout: '30s',
  /** A failed disk or a refused activation is a fact, not a sample: no retry before recovery. */
  mdwRetries: 0,
  /** A mirror connection may drop for a moment and reconnect: one retry before the warning-level error. */
  mdnwRetries: 1,
} as const;

/** The recovery target meaning "this server" (the seed's LocalServer). */
export const LOCAL_SERVER = 'LocalServer';

/** Name of the automatic fencing check monitor (type awsfencew), added when `fencing:` is written. */
export const FENCING_MONITOR = 'fencew';
