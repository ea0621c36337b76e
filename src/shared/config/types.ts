/**
 * The compiled cluster configuration (STYLE.md 15): what `compileConfig()` returns after the raw YAML
 * (`ClusterConfig`, see `schema.ts`) has been validated. Every default is filled in, every duration is a
 * plain number of milliseconds, every per-server override ("Set Up Individually" in the seed's dialogs)
 * is already resolved into `perServer`, and every cross-reference has been checked. Everything after the
 * config layer (core, daemon, API, CLI) reads only this shape.
 *
 * This file is a contract: the core, the daemon and the tests are written against it. Add fields freely;
 * do not rename or remove them.
 */

/** What an isolated server does once its groups are stopped (seed 2.4, NP resolution). */
export const IsolationAction = {
  none: 'none',
  stopClusterService: 'stop-cluster-service',
  shutdown: 'shutdown',
  reboot: 'reboot',
} as const;
export type IsolationAction = (typeof IsolationAction)[keyof typeof IsolationAction];

/** Final action at the end of a recovery ladder (seed: Recovery Action page, "Final Action"). */
export const FinalAction = {
  none: 'none',
  stopGroup: 'stop-group',
  stopClusterService: 'stop-cluster-service',
  shutdown: 'shutdown',
  reboot: 'reboot',
} as const;
export type FinalAction = (typeof FinalAction)[keyof typeof FinalAction];

/** Failover target rule: "Stable server" or "Maximum priority server" in the seed's dialogs. */
export type FailoverTargetRule = 'stable' | 'max-priority';

/** One heartbeat path of a server: UDP on `address:port`. */
export interface CompiledInterconnect {
  /** `lan1`, `lan2`, ... in list order (index + 1), as clpstat names heartbeat resources. */
  name: string;
  address: string;
  port: number;
}

export interface CompiledServer {
  name: string;
  /** 0 = master server (highest priority); list order in the YAML. */
  priority: number;
  /** Same length and order on every server (interconnect i of node-1 talks to interconnect i of node-2). */
  interconnects: CompiledInterconnect[];
  api: { address: string; port: number };
}

/** HTTP method NP resolution target (seed 2.4): HEAD `http(s)://target:port/path`, 200 = reachable. */
export interface CompiledHttpNp {
  name: string;
  target: string;
  port: number;
  ssl: boolean;
  path: string;
  intervalMs: number;
  timeoutMs: number;
}

/** Witness heartbeat service (`tandem witness`), see docs/architecture.md. */
export interface CompiledWitness {
  target: string;
  port: number;
  ssl: boolean;
  intervalMs: number;
  /** A peer the witness heard from less than this long ago is alive. */
  timeoutMs: number;
}

/** Timing derived from the heartbeat settings; see docs/architecture.md "Leases". */
export interface CompiledLease {
  /** True when NP targets or a witness are configured: only then can a server tell it is isolated. */
  enforced: boolean;
  /** A server that has had no contact (peer echo, witness answer, NP 200) for this long is isolated. */
  leaseMs: number;
  /** An isolated server stops its groups within this bound; what still runs then is killed. */
  isolationStopTimeoutMs: number;
  /** Extra wait for clock-rate differences and scheduling delays. */
  marginMs: number;
}

export interface CompiledCluster {
  name: string;
  /** Absolute path of the shared secret file. The secret itself is never part of the config object. */
  secretFile: string;
  heartbeat: { intervalMs: number; timeoutMs: number };
  syncWaitMs: number;
  networkPartition: {
    actionOnIsolation: IsolationAction;
    http: CompiledHttpNp[];
  };
  witness: CompiledWitness | null;
  osActions: { shutdown: string; reboot: string };
  lease: CompiledLease;
  /** Bounded alert log ring size (entries). */
  alertLogSize: number;
}

export interface ActivationPolicy {
  /** Retries of a failed activation on the same server before failing over. */
  retries: number;
  /** How many failovers this resource's activation failures may cause before the final action. */
  failoverThreshold: number;
  finalAction: FinalAction;
}
export interface DeactivationPolicy {
  retries: number;
  finalAction: FinalAction;
}

/**
 * A group resource. `params` holds the type-specific keys with per-server overrides resolved:
 * `paramsFor(resource, server)` is `{ ...params, ...perServer[server] }`.
 */
export interface CompiledResource {
  name: string;
  type: string;
  group: string;
  /** Names of resources in the same group that must be online before this one starts. */
  dependsOn: string[];
  timeoutMs: number;
  activation: ActivationPolicy;
  deactivation: DeactivationPolicy;
  /** Type-specific settings, common values ("Common" tab). For `exec`: see ExecParams. */
  params: Record<string, unknown>;
  /** Per-server overrides ("Set Up Individually"), already validated against the type's schema. */
  perServer: Record<string, Record<string, unknown>>;
  /** Operator's free-text comment (the seed's "Comment" field), when written. */
  comment?: string;
}

/** Parameters of an `exec` resource after compilation. */
export interface ExecParams {
  start: string;
  stop: string | null;
  /** Keep the started process as the resource (monitored by a `pid` monitor). */
  async: boolean;
  /** Working directory for the commands: the config file's directory. */
  cwd: string;
  /** Extra environment variables. */
  env: Record<string, string>;
}

/**
 * Parameters of an `awsvip` resource after compilation (issue 4 section 2). Per-server keys (`vpcId`,
 * `eniId`, `interface`, `assignAddress`) may differ in `perServer`; after `paramsFor(resource, server)`
 * every server of the group has a string `eniId` of its own (the compiler refuses a config where one has
 * none or two share one). `eniId` is null in the common params only when every server sets its own.
 */
export interface AwsVipParams {
  /** The virtual IPv4 address, without prefix (routes are for `ip/32`). */
  ip: string;
  vpcId: string;
  eniId: string | null;
  /** Linux interface that gets the VIP; null = the one holding the ENI's private IP. */
  interface: string | null;
  /** Put the VIP on the interface with iproute2 on activation (and remove it on deactivation). */
  assignAddress: boolean;
}

/** Parameters of an `awseip` resource after compilation; `eniId` as in `AwsVipParams`. */
export interface AwsEipParams {
  allocationId: string;
  eniId: string | null;
}

/** Parameters of an `awsdns` resource after compilation; `ipAddress` is set per server like `eniId`. */
export interface AwsDnsParams {
  /** Bare id (`Z0123456789ABC`), without `/hostedzone/`. */
  hostedZoneId: string;
  /** Lowercase FQDN with the trailing dot (`srv.hz1.local.`). */
  recordName: string;
  /** The A record's value on this server. */
  ipAddress: string | null;
  /** Seconds. */
  ttl: number;
  /** DELETE the record on deactivation. */
  deleteOnStop: boolean;
}

/** Parameters of an `awsvipw` / `awseipw` monitor: the resource it watches. */
export interface AwsResourceMonitorParams {
  resource: string;
}

/** Parameters of an `awsdnsw` monitor. */
export interface AwsDnsMonitorParams {
  resource: string;
  /** Also resolve the record name and compare the answer with this server's `ipAddress`. */
  resolveCheck: boolean;
  /** `address:port` of the DNS server to ask (`[v6]:port` for IPv6); null = the system resolver. */
  resolver: string | null;
}

/** Parameters of an `awsazw` monitor; `availabilityZone` is set for every server (per server or common). */
export interface AwsAzMonitorParams {
  availabilityZone: string | null;
}

/**
 * Where the active server serves an `md` volume over NBD: a unix socket (absolute path) or a TCP
 * `host:port`. Null in `MdParams.nbd` means the default, `<stateDir>/nbd/<resource>.sock`, which only the
 * daemon can resolve (the state directory is a daemon argument, not part of the config).
 */
export type MdNbdEndpoint = { path: string } | { host: string; port: number };

/** What the `md` resource mounts on activation (real servers): `nbd-client` to `device`, then mount. */
export interface MdMount {
  /** `/dev/nbdN`. */
  device: string;
  /** Absolute mount point. */
  path: string;
  /** Filesystem type passed to `mount -t` (`ext4`, `xfs`, ...). */
  fsType: string;
  /** `mount -o` options; null = none. */
  options: string | null;
}

/**
 * Parameters of an `md` resource (mirror disk, issue 5 section 1) after compilation. The per-server keys
 * (`dataPath`, `clusterPath`, `mdc`, `nbd`, `mount`) may differ in `perServer`; after
 * `paramsFor(resource, server)` each of the group's two servers has a string `dataPath` and `clusterPath`
 * and an `mdc` of its own, and `peer` names the other server (the compiler refuses a config where this
 * does not hold). On a server outside the group (a third server of the cluster), `peer` is null: it
 * holds no copy, and the md monitors have nothing to watch there.
 */
export interface MdParams {
  /** The data partition: an absolute path of a file or block device. */
  dataPath: string | null;
  /** The cluster partition holding the volume's metadata: an absolute path of a file or block device. */
  clusterPath: string | null;
  /** The mirror connect (MDC) endpoint this server listens on and the peer dials (TCP). */
  mdc: { host: string; port: number } | null;
  /** `sync`: a write is acknowledged once durable on both copies; `async`: once durable locally. */
  mode: 'sync' | 'async';
  nbd: MdNbdEndpoint | null;
  /** Volume size in bytes (a multiple of 512); null = the data partition's size. */
  size: number | null;
  /** Bytes per bit of the dirty bitmap (a power of two). */
  regionSize: number;
  /**
   * Recently written regions kept marked on disk after their writes are acknowledged (DRBD's activity log):
   * rewriting them saves no metadata; after a crash they are copied again. 0 = save before every new write.
   */
  hotRegions: number;
  /** Bytes one activity-log entry (hot extent) covers: a power of two, at least regionSize. */
  hotExtent: number;
  /** How the first connection of two fresh copies syncs them: copy everything, or trust they are equal. */
  initialSync: 'full' | 'skip';
  /** Resync automatically when the peer returns (false: wait for `tandem md recover`). */
  autoRecovery: boolean;
  /** Async mode: writes queued for the peer before it falls back to marking regions dirty (requests). */
  queueSize: number;
  sendTimeoutMs: number;
  connectTimeoutMs: number;
  ackTimeoutMs: number;
  mount: MdMount | null;
  /** The other server of the group (set per server); null in the common params. */
  peer: string | null;
}

/** Parameters of an `mdw` / `mdnw` monitor: the `md` resource it watches. */
export interface MdMonitorParams {
  resource: string;
}

export interface CompiledGroup {
  name: string;
  /** Servers that may run the group, in failover priority order. */
  startupServers: string[];
  autoStart: boolean;
  failover: { auto: boolean; target: FailoverTargetRule };
  failback: 'manual' | 'auto';
  /** Resource names in a valid start order (dependencies first). */
  resources: string[];
  /** Operator's free-text comment, when written. */
  comment?: string;
}

export type RecoveryAction = 'restart' | 'failover' | 'final-only' | 'script' | 'custom';

export interface CompiledRecovery {
  /** Kind of the recovery target. */
  targetKind: 'group' | 'resource' | 'local-server';
  /** Group or resource name; `LocalServer` for the local server. */
  target: string;
  action: RecoveryAction;
  maxReactivations: number;
  maxFailovers: number;
  failoverTarget: FailoverTargetRule;
  finalAction: FinalAction;
  scripts: {
    beforeReactivation: string | null;
    beforeFailover: string | null;
    beforeFinalAction: string | null;
    timeoutMs: number;
    cwd: string;
  };
  /** AWS monitors: what to do when the AWS call gets no answer. */
  noResponse: 'none' | 'warn' | 'recover';
}

export interface CompiledMonitor {
  name: string;
  type: string;
  intervalMs: number;
  timeoutMs: number;
  /** Consecutive failures before the monitor is in error ("Retry Count"). */
  retries: number;
  startWaitMs: number;
  /** `null` = always; otherwise monitor only while this resource is online on this server. */
  activeResource: string | null;
  recovery: CompiledRecovery;
  /** Type-specific settings (`custom`: command, cwd; `pid`: resource). */
  params: Record<string, unknown>;
  perServer: Record<string, Record<string, unknown>>;
  /** True when the monitor was added automatically for a resource. */
  auto: boolean;
  /** Operator's free-text comment, when written. */
  comment?: string;
}

/** The `aws:` section (issue 4 section 1): how Tandem reaches the AWS APIs. */
export interface CompiledAws {
  /** Region; null = the SDK's usual sources (AWS_REGION, the profile), else the instance metadata. */
  region: string | null;
  /** Shared config/credentials profile; null = AWS_PROFILE or `default`. */
  profile: string | null;
  /** HTTP(S) proxy URL for AWS API calls only (never for the instance metadata); null = none. */
  proxy: string | null;
  /** Upper bound of one AWS API call, retries included (ms). @default 100 s */
  callTimeoutMs: number;
  /** Extra environment variables for AWS access (AWS_ENDPOINT_URL, AWS_PROFILE, ...). */
  environment: Record<string, string>;
}

/** The `fencing:` section (issue 4 section 4): forced stop of a server judged down, before failover. */
export interface CompiledFencing {
  type: 'aws';
  action: 'stop' | 'reboot';
  /** How long a forced stop may take until the instance is stopped (ms). */
  timeoutMs: number;
  /** Period of the fencing check (can this server see every peer's instance) (ms). */
  checkIntervalMs: number;
  /** Per server: its instance and how long this server waits before fencing a peer (ms). */
  servers: Record<string, { instanceId: string; delayMs: number }>;
}

export interface CompiledConfig {
  /** Absolute path of the YAML file this came from (relative paths in it are resolved against its dir). */
  sourceFile: string;
  /** Directory of the config file. */
  baseDir: string;
  cluster: CompiledCluster;
  /** In priority order. */
  servers: CompiledServer[];
  groups: CompiledGroup[];
  resources: CompiledResource[];
  monitors: CompiledMonitor[];
  aws: CompiledAws;
  /** Null when no `fencing:` section is written. */
  fencing: CompiledFencing | null;
  /**
   * sha256 (hex) of a canonical JSON rendering of everything above except `sourceFile` and `baseDir`.
   * Servers exchange it in heartbeats and refuse to cluster when it differs.
   */
  hash: string;
}

/** A problem found in a config file, rendered as `FILE:LINE:COL: path.to.key: what is wrong; how to fix it`. */
export interface ConfigIssue {
  severity: 'error' | 'warning';
  /** Dotted path such as `groups[0].resources[1].dependsOn`. */
  path: string;
  /** 1-based; 0 when the position is unknown. */
  line: number;
  col: number;
  message: string;
  remedy: string;
}
