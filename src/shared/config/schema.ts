/**
 * The zod schema of the operator-facing cluster YAML (issue section 2; STYLE.md 15). `ClusterConfig` is
 * the raw form as written (optional fields, durations as strings such as `30s`); `compileConfig()` turns
 * it into `CompiledConfig` (types.ts). The key names are a contract shared with the tests, the WebUI and
 * docs/configuration.md. Every object is strict: an unknown key is an error that lists the known ones.
 * Group resource and monitor objects are built per type from the registry in resource-types.ts.
 *
 * Defaults that depend on other keys (NP port on `ssl`, witness timing on the heartbeat, recovery
 * target and maxReactivations on other recovery keys, startupServers on the server list, dependsOn on
 * the resource types) are applied by the compiler; they are documented here all the same.
 */
import { z } from 'zod';
import { instanceIdSchema, proxyUrlSchema, regionSchema } from './aws-primitives.ts';
import { DEFAULTS } from './defaults.ts';
import {
  commandSchema,
  countSchema,
  durationSchema,
  endpointSchema,
  envNameSchema,
  hostSchema,
  issueText,
  nameSchema,
  portSchema,
  registerStrict,
  strict,
} from './primitives.ts';
import type { MonitorTypeSpec, ResourceTypeSpec } from './resource-types.ts';
import { MONITOR_TYPES, RESOURCE_TYPES } from './resource-types.ts';

const finalActionSchema = z.enum(['none', 'stop-group', 'stop-cluster-service', 'shutdown', 'reboot']);
const failoverTargetSchema = z.enum(['stable', 'max-priority']);

/** One HTTP NP resolution target (seed 2.4): HEAD `http(s)://target:port/path`; 200 = reachable. */
export const HttpNpSchema = strict({
  /** Name shown by `tandem status` (unique). @default `httpnp<N>` (1-based position in the list) */
  name: nameSchema('NP target name').optional().describe('Name of the NP target. Default httpnp<N>.'),
  /** Host name or IP address that answers HEAD with 200. Required. */
  target: hostSchema('target').describe('Host name or IP address answering HTTP HEAD with 200.'),
  /** TCP port. @default 80, or 443 when `ssl` is true */
  port: portSchema().optional().describe('TCP port. Default 80, or 443 with ssl.'),
  /** Use HTTPS. @default false */
  ssl: z.boolean().default(false).describe('Use HTTPS. Default false.'),
  /** Request path; must start with `/`. @default `/` */
  path: z
    .string()
    .regex(/^\//, {
      error: (iss) =>
        issueText(`path "${String(iss.input)}" does not start with "/"`, `write /${String(iss.input)}`),
    })
    .default(DEFAULTS.npPath)
    .describe('Request path. Default /.'),
  /** How often the target is checked for status (duration). @default 5s */
  interval: durationSchema().default(DEFAULTS.npInterval).describe('Status check interval. Default 5s.'),
  /** Time allowed for one HEAD request (duration). @default 10s */
  timeout: durationSchema().default(DEFAULTS.npTimeout).describe('Timeout of one request. Default 10s.'),
});

/** The witness heartbeat service (`tandem witness`), see docs/architecture.md "Witness". */
export const WitnessSchema = strict({
  /** Host name or IP address of the witness. Required. */
  target: hostSchema('target').describe('Host name or IP address of the witness service.'),
  /** TCP port. @default 29010 */
  port: portSchema().default(DEFAULTS.witnessPort).describe('TCP port. Default 29010.'),
  /** Use HTTPS. @default false */
  ssl: z.boolean().default(false).describe('Use HTTPS. Default false.'),
  /** How often this server posts to the witness (duration). @default cluster.heartbeat.interval */
  interval: durationSchema().optional().describe('Post interval. Default: heartbeat interval.'),
  /** A peer the witness heard less than this long ago is alive (duration). @default cluster.heartbeat.timeout */
  timeout: durationSchema().optional().describe('Liveness timeout. Default: heartbeat timeout.'),
});

/** The `cluster:` section. */
export const ClusterSectionSchema = strict({
  /** Cluster name; also tells clusters apart at a shared witness. Required. */
  name: nameSchema('cluster name').describe('Cluster name.'),
  /**
   * File holding the shared secret that authenticates heartbeats and API calls, relative to the config
   * file's directory. Required. Create it with `head -c 32 /dev/urandom | base64 > FILE; chmod 600 FILE`.
   */
  secretFile: z
    .string({
      error: issueText(
        'secretFile must name the shared secret file',
        'write secretFile: ./cluster.secret (relative to this file) and create it on every server with: head -c 32 /dev/urandom | base64 > cluster.secret; chmod 600 cluster.secret',
      ),
    })
    .min(1)
    .describe('Shared secret file, relative to the config file. Required.'),
  /** Heartbeat timing. */
  heartbeat: strict({
    /** Send interval (duration). @default 1s */
    interval: durationSchema().default(DEFAULTS.heartbeatInterval).describe('Send interval. Default 1s.'),
    /** A peer silent on every interconnect this long is lost (duration, > interval). @default 10s */
    timeout: durationSchema().default(DEFAULTS.heartbeatTimeout).describe('Loss timeout. Default 10s.'),
  })
    .prefault({})
    .describe('Heartbeat timing.'),
  /** At cluster start, wait this long for all servers before starting groups (duration, 0s allowed). @default 5m */
  syncWait: durationSchema({ allowZero: true })
    .default(DEFAULTS.syncWait)
    .describe('Startup sync wait. Default 5m.'),
  /** Network partition (NP) resolution. */
  networkPartition: strict({
    /** What an isolated server does once its groups are stopped. @default shutdown */
    actionOnIsolation: z
      .enum(['none', 'stop-cluster-service', 'shutdown', 'reboot'])
      .default(DEFAULTS.actionOnIsolation)
      .describe('Action of an isolated server. Default shutdown.'),
    /**
     * Bound within which an isolated server has its groups stopped; what still runs then is killed
     * (duration). @default heartbeat.timeout / 5
     */
    isolationStopTimeout: durationSchema()
      .optional()
      .describe('Stop bound when isolated. Default timeout/5.'),
    /** HTTP method NP targets (seed 2.4). @default [] */
    http: z.array(HttpNpSchema).default([]).describe('HTTP NP targets. Default none.'),
  })
    .prefault({})
    .describe('Network partition resolution.'),
  /** Witness heartbeat service. @default none */
  witness: WitnessSchema.optional().describe('Witness service. Default none.'),
  /** How this server shuts down or reboots itself (shell commands). */
  osActions: strict({
    /** @default `systemctl poweroff` */
    shutdown: commandSchema('shutdown').default(DEFAULTS.osShutdown).describe('Default systemctl poweroff.'),
    /** @default `systemctl reboot` */
    reboot: commandSchema('reboot').default(DEFAULTS.osReboot).describe('Default systemctl reboot.'),
  })
    .prefault({})
    .describe('OS shutdown/reboot commands.'),
  /** Entries kept in the on-disk alert log ring. @default 10000 */
  alertLogSize: countSchema(1)
    .default(DEFAULTS.alertLogSize)
    .describe('Alert log entries kept. Default 10000.'),
});

/**
 * The `aws:` section (issue 4 section 1): how Tandem reaches the AWS APIs. Every key is optional; without
 * the section, region and credentials come from the SDK's usual sources (environment, `~/.aws` files,
 * then the instance metadata).
 */
export const AwsSectionSchema = strict({
  /** Region, e.g. `us-east-1`. @default null: AWS_REGION, the profile, then the instance metadata */
  region: regionSchema()
    .nullable()
    .optional()
    .describe('Region, e.g. us-east-1. Default: AWS_REGION, the profile, then the instance metadata.'),
  /** Profile of the shared `~/.aws/config` and `~/.aws/credentials` files. @default null: AWS_PROFILE, else `default` */
  profile: z
    .string({ error: issueText('profile must be a string', 'write the profile name, e.g. ha') })
    .regex(/^[^\s[\]]+$/, {
      error: (iss) =>
        issueText(
          `"${String(iss.input)}" is not a profile name`,
          'write the name as it appears in ~/.aws/config ([profile NAME]), without spaces or brackets',
        ),
    })
    .nullable()
    .optional()
    .describe('Shared config/credentials profile. Default: AWS_PROFILE, else default.'),
  /**
   * HTTP(S) proxy for the AWS API calls only (never for the instance metadata at 169.254.169.254), e.g.
   * `http://proxy.example:3128` or `http://user:password@proxy.example:3128`. @default null: no proxy
   */
  proxy: proxyUrlSchema()
    .nullable()
    .optional()
    .describe('HTTP(S) proxy URL for AWS API calls (not for instance metadata). Default none.'),
  /** Upper bound of one AWS API call, retries included (duration). @default 100s */
  callTimeout: durationSchema()
    .default(DEFAULTS.awsCallTimeout)
    .describe('Timeout of one AWS call, retries included. Default 100s.'),
  /** Extra environment variables for AWS access (`AWS_ENDPOINT_URL`, `AWS_CA_BUNDLE`, ...). @default {} */
  environment: z
    .record(envNameSchema(), z.string())
    .default({})
    .describe('Extra environment variables for AWS access (strings). Default none.'),
});

/** One server's entry under `fencing.servers`. */
export const FencingServerSchema = strict({
  /** The server's EC2 instance: `i-` and 8 or 17 hex digits. Required. */
  instanceId: instanceIdSchema().describe('EC2 instance id of the server, e.g. i-0123456789abcdef0.'),
  /**
   * How long this server waits before fencing a peer it lost (duration, `0s` allowed). Different on every
   * server: the one that should survive a partition gets the smaller delay. @default 0s
   */
  delay: durationSchema({ allowZero: true })
    .default(DEFAULTS.fencingDelay)
    .describe('Wait before fencing a lost peer; different per server. Default 0s.'),
});

/**
 * The `fencing:` section (issue 4 section 4, the seed's "Fencing" step): before a group fails over from a
 * server judged down, the survivor stops that server's instance. @default none (no fencing)
 */
export const FencingSchema = strict({
  /** Fencing method; only `aws` (StopInstances with Force). Required. */
  type: z.literal('aws').describe('Fencing method: aws (forced stop of the EC2 instance).'),
  /** stop | reboot. @default stop */
  action: z
    .enum(['stop', 'reboot'])
    .default(DEFAULTS.fencingAction)
    .describe('What is done to the lost server instance. Default stop.'),
  /** Until the fenced instance is stopped; a forced stop that takes longer fails (duration). @default 180s */
  timeout: durationSchema()
    .default(DEFAULTS.fencingTimeout)
    .describe('Time allowed for the instance to stop. Default 180s.'),
  /** Period of the fencing check monitor (`fencew`) (duration). @default 60s */
  checkInterval: durationSchema()
    .default(DEFAULTS.fencingCheckInterval)
    .describe('Interval of the fencing check. Default 60s.'),
  /** Every server of the cluster with its instance and delay. Required. */
  servers: z
    .record(z.string(), FencingServerSchema)
    .describe('Per server: instanceId and delay. Every server needs an entry.'),
});

/** One server. List order is priority: the first is the master server. */
export const ServerSchema = strict({
  /** Server name, used by `tandem daemon --server NAME`. Required. */
  name: nameSchema('server name').describe('Server name.'),
  /**
   * Heartbeat paths, `address[:port]` (UDP, default port 29002). Every server lists the same number;
   * interconnect i of one server talks to interconnect i of the others. Required (at least one).
   */
  interconnects: z
    .array(endpointSchema(DEFAULTS.interconnectPort))
    .min(1)
    .describe('Interconnect addresses, address[:port] (UDP, default port 29002).'),
  /** Control API + WebUI, `address[:port]` (TCP). @default first interconnect address, port 29003 */
  api: endpointSchema(DEFAULTS.apiPort)
    .optional()
    .describe('API address[:port] (TCP, default 29003). Default: first interconnect.'),
});

/** Unwraps `.default()` so a per-server override never injects a default of its own. */
function withoutDefault(s: z.ZodType): z.ZodType {
  return s instanceof z.ZodDefault ? (s.unwrap() as z.ZodType) : s;
}

/** The strict object of one type's per-server overrides: its overridable keys, all optional. */
function overrideSchema(type: string, params: z.ZodRawShape, keys: readonly string[]) {
  const shape: Record<string, z.ZodType> = {};
  for (const k of keys) {
    const s = params[k];
    if (s !== undefined) shape[k] = withoutDefault(s as z.ZodType).optional();
  }
  return registerStrict(z.strictObject(shape), { keys, perServerOf: type });
}

/** Per-server overrides: `servers: { node-2: { start: ./start-b.sh } }`. */
function serversMap(type: string, params: z.ZodRawShape, keys: readonly string[]) {
  return z
    .record(z.string(), overrideSchema(type, params, keys))
    .optional()
    .describe(`Per-server overrides ("Set Up Individually"); keys: ${keys.join(', ') || 'none'}.`);
}

const activationSchema = strict({
  /** Retries of a failed activation on the same server. @default 0 */
  retries: countSchema()
    .default(DEFAULTS.activationRetries)
    .describe('Retries on the same server. Default 0.'),
  /** Failovers this resource's activation failures may cause. @default 1 */
  failoverThreshold: countSchema()
    .default(DEFAULTS.activationFailoverThreshold)
    .describe('Failovers before the final action. Default 1.'),
  /** What to do when retries and failovers are used up. @default none */
  finalAction: finalActionSchema
    .default(DEFAULTS.activationFinalAction)
    .describe('Final action. Default none.'),
});

const deactivationSchema = strict({
  /** Retries of a failed deactivation. @default 0 */
  retries: countSchema().default(DEFAULTS.deactivationRetries).describe('Retries. Default 0.'),
  /** What to do when a deactivation keeps failing. @default shutdown */
  finalAction: finalActionSchema
    .default(DEFAULTS.deactivationFinalAction)
    .describe('Final action. Default shutdown.'),
});

/** The group resource object of one registered type: common keys + the type's own keys. */
function resourceSchemaFor<T extends string, S extends z.ZodRawShape>(spec: ResourceTypeSpec<T, S>) {
  return strict({
    /** Resource name, unique in the whole cluster. Required. */
    name: nameSchema('resource name').describe('Resource name (unique in the cluster).'),
    /** Resource type. Required. */
    type: z.literal(spec.type).describe(spec.description),
    /** Free text. */
    comment: z.string().optional().describe('Free text.'),
    /**
     * Resources of the same group that must be online before this one starts.
     * @default every resource of the group whose type this type follows by default (exec: md, awsvip, awseip, awsdns)
     */
    dependsOn: z.array(nameSchema('resource name')).optional().describe('Resources this one needs first.'),
    /** Start/stop timeout (duration). @default 60s for exec, 120s for awsvip and awseip, 300s for awsdns and md */
    timeout: durationSchema()
      .default(spec.defaultTimeout)
      .describe(`Start/stop timeout. Default ${spec.defaultTimeout}.`),
    /** Activation failure policy. */
    activation: activationSchema.prefault({}).describe('Activation failure policy.'),
    /** Deactivation failure policy. */
    deactivation: deactivationSchema.prefault({}).describe('Deactivation failure policy.'),
    /** Add the type's automatic monitors (exec with async: pidw-<name>; awsvip1: awsvipw1; md1: mdw1 and mdnw1, ...). @default true */
    autoMonitor: z.boolean().default(true).describe('Add the automatic monitors. Default true.'),
    ...spec.params,
    /** Per-server overrides of the type's overridable keys. @default none */
    servers: serversMap(spec.type, spec.params, spec.perServerKeys),
  });
}

/** `always` or `{ active: <resource> }`: monitor all the time, or only while the resource is online here. */
export const TimingSchema = z.union([z.literal('always'), strict({ active: nameSchema('resource name') })], {
  error: issueText(
    'timing must be "always" or { active: <resource name> }',
    'write timing: always, or timing: { active: exec1 }',
  ),
});

const scriptSchema = (what: string) => commandSchema(what).nullable().default(null);

/** The recovery action of a monitor (the seed's Recovery Action page). */
export const RecoverySchema = strict({
  /**
   * A group name, a resource name, or `LocalServer`. @default the monitor's `target` resource; else
   * `LocalServer` for awsazw and awsfencew; else the group of its `timing.active` resource; otherwise required.
   */
  target: z.string().min(1).optional().describe('Group, resource or LocalServer.'),
  /**
   * restart | failover | final-only | script | custom. @default failover; final-only when the target is
   * LocalServer; on their own resource: custom for awsvipw, awseipw and awsdnsw, final-only for mdnw
   */
  action: z
    .enum(['restart', 'failover', 'final-only', 'script', 'custom'])
    .optional()
    .describe('Recovery action. Default failover (final-only with target LocalServer).'),
  /** Reactivations before going further (restart, custom). @default 3 with restart, else 0 */
  maxReactivations: countSchema().optional().describe('Max reactivations. Default 3 with restart, else 0.'),
  /** Failovers before the final action (failover, custom). @default 1 */
  maxFailovers: countSchema().default(DEFAULTS.maxFailovers).describe('Max failovers. Default 1.'),
  /** stable | max-priority. @default stable */
  failoverTarget: failoverTargetSchema.default(DEFAULTS.failoverTarget).describe('Failover target rule.'),
  /**
   * none | stop-group | stop-cluster-service | shutdown | reboot. @default none; awsazw with its default
   * target LocalServer: stop-cluster-service
   */
  finalAction: finalActionSchema
    .optional()
    .describe('Final action. Default none (awsazw on LocalServer: stop-cluster-service).'),
  /** Scripts run before each step (shell commands in the config directory; null = none). */
  scripts: strict({
    /** @default null */
    beforeReactivation: scriptSchema('beforeReactivation').describe('Script before each reactivation.'),
    /** @default null */
    beforeFailover: scriptSchema('beforeFailover').describe('Script before each failover.'),
    /** @default null */
    beforeFinalAction: scriptSchema('beforeFinalAction').describe('Script before the final action.'),
    /** Timeout of each script (duration). @default 30s */
    timeout: durationSchema()
      .default(DEFAULTS.recoveryScriptTimeout)
      .describe('Script timeout. Default 30s.'),
  })
    .prefault({})
    .describe('Recovery scripts.'),
  /**
   * A check that gets no answer (times out) is none (ignored) | warn | recover (an error that starts recovery).
   * @default warn for the AWS monitors (a slow AWS endpoint must not fail a group over) and mdnw; recover
   * for local checks (custom, pid, mdw).
   */
  noResponse: z
    .enum(['none', 'warn', 'recover'])
    .optional()
    .describe('Default warn for AWS monitors and mdnw, recover for custom, pid and mdw.'),
});

/** The monitor object of one registered type: common keys (with the type's defaults) + its own keys. */
function monitorSchemaFor<T extends string, S extends z.ZodRawShape>(spec: MonitorTypeSpec<T, S>) {
  const d = spec.defaults;
  return strict({
    /** Monitor name, unique (and distinct from automatic monitor names such as pidw-exec1). Required. */
    name: nameSchema('monitor name').describe('Monitor name.'),
    /** Monitor type. Required. */
    type: z.literal(spec.type).describe(spec.description),
    /** Free text. */
    comment: z.string().optional().describe('Free text.'),
    /**
     * The resource this monitor is about; it replaces that resource's automatic monitor (of an md resource:
     * the one of its type, else of its name). @default none (pid, the AWS resource monitors, mdw, mdnw: their `resource`)
     */
    target: nameSchema('resource name')
      .optional()
      .describe('Resource whose automatic monitor this replaces.'),
    /** Check interval (duration). @default 60s (pid: 5s; AWS monitors: 100s; awsfencew: fencing.checkInterval; mdw, mdnw: 10s) */
    interval: durationSchema().default(d.interval).describe(`Check interval. Default ${d.interval}.`),
    /** Time allowed for one check (duration). @default 120s (pid: 10s; AWS monitors: 100s; mdw, mdnw: 30s) */
    timeout: durationSchema().default(d.timeout).describe(`Check timeout. Default ${d.timeout}.`),
    /** Failures in a row beyond the first before the monitor is in error. @default 1 (pid, mdw: 0) */
    retries: countSchema().default(d.retries).describe(`Retry count. Default ${d.retries}.`),
    /** Wait before the first check once the monitor applies (duration, 0s allowed). @default 0s */
    startWait: durationSchema({ allowZero: true }).default(DEFAULTS.monitorStartWait).describe('Default 0s.'),
    /** always | { active: <resource> }. @default always (pid and the AWS resource monitors: active on their resource) */
    timing: TimingSchema.optional().describe('always, or { active: <resource> }. Default always.'),
    /** Recovery action. */
    recovery: RecoverySchema.prefault({}).describe('Recovery action.'),
    ...spec.params,
    /** Per-server overrides of the type's overridable keys. @default none */
    servers: serversMap(spec.type, spec.params, spec.perServerKeys),
  });
}

/** The schema type `resourceSchemaFor` builds for one registered spec (keeps each type's own keys typed). */
type ResourceSchemaOf<R> =
  R extends ResourceTypeSpec<infer T, infer S> ? ReturnType<typeof resourceSchemaFor<T, S>> : never;
type MonitorSchemaOf<M> =
  M extends MonitorTypeSpec<infer T, infer S> ? ReturnType<typeof monitorSchemaFor<T, S>> : never;
// Mapped over a type parameter so the tuple stays a tuple (a concrete tuple would map its methods too).
type MapResourceSchemas<L extends readonly unknown[]> = { -readonly [K in keyof L]: ResourceSchemaOf<L[K]> };
type MapMonitorSchemas<L extends readonly unknown[]> = { -readonly [K in keyof L]: MonitorSchemaOf<L[K]> };
type ResourceSchemas = MapResourceSchemas<typeof RESOURCE_TYPES>;
type MonitorSchemas = MapMonitorSchemas<typeof MONITOR_TYPES>;

/** A group resource of any registered type, told apart by `type`. */
export const ResourceSchema = z.discriminatedUnion(
  'type',
  // `map` loses the tuple type; each element is exactly ResourceSchemaOf<its spec>.
  RESOURCE_TYPES.map((t: ResourceTypeSpec<string, z.ZodRawShape>) =>
    resourceSchemaFor(t),
  ) as unknown as ResourceSchemas,
);

/** A monitor of any registered type, told apart by `type`. */
export const MonitorSchema = z.discriminatedUnion(
  'type',
  MONITOR_TYPES.map((t: MonitorTypeSpec<string, z.ZodRawShape>) =>
    monitorSchemaFor(t),
  ) as unknown as MonitorSchemas,
);

const groupShape = {
  /** Failover group name (unique). Required. */
  name: nameSchema('group name').describe('Failover group name.'),
  /** Free text. */
  comment: z.string().optional().describe('Free text.'),
  /** Servers that may run the group, in failover priority order. @default all servers in list order */
  startupServers: z
    .array(nameSchema('server name'))
    .min(1)
    .optional()
    .describe('Servers that may run the group, in priority order. Default: all servers.'),
  /** Start the group when the cluster starts (after syncWait). @default true */
  autoStart: z.boolean().default(DEFAULTS.groupAutoStart).describe('Start with the cluster. Default true.'),
  /** Automatic failover and its target rule. */
  failover: strict({
    /** Fail over automatically when the server running the group fails. @default true */
    auto: z.boolean().default(DEFAULTS.groupFailoverAuto).describe('Automatic failover. Default true.'),
    /** stable | max-priority. @default stable */
    target: failoverTargetSchema.default(DEFAULTS.failoverTarget).describe('Failover target rule.'),
  })
    .prefault({})
    .describe('Failover policy.'),
  /** manual | auto: move back to a higher-priority server when it returns. @default manual */
  failback: z.enum(['manual', 'auto']).default(DEFAULTS.failback).describe('Failback. Default manual.'),
};

/** A failover group with its group resources. */
export const GroupSchema = strict({
  ...groupShape,
  /** The group resources (at least one). */
  resources: z.array(ResourceSchema).min(1).describe('Group resources.'),
});

/** A group with its resources left unchecked: used to salvage what is valid when something is not. */
export const GroupShellSchema = z.object({ ...groupShape, resources: z.array(z.unknown()) });

/** The whole cluster YAML. */
export const ClusterConfigSchema = strict({
  /** Cluster-wide settings. */
  cluster: ClusterSectionSchema,
  /** Servers in priority order; the first is the master server. */
  servers: z.array(ServerSchema).min(1).describe('Servers in priority order.'),
  /** Failover groups. @default [] */
  groups: z.array(GroupSchema).default([]).describe('Failover groups.'),
  /** Monitors (automatic ones are added by the compiler). @default [] */
  monitors: z.array(MonitorSchema).default([]).describe('Monitors.'),
  /** AWS access: region, profile, proxy, call timeout, environment. @default all from the SDK's sources */
  aws: AwsSectionSchema.prefault({}).describe('AWS access settings. Default: the SDK sources.'),
  /** Forced stop of a server judged down, before its groups fail over. @default none */
  fencing: FencingSchema.optional().describe('Fencing (forced stop). Default none.'),
});

/** The raw, operator-facing config (optional fields, durations as strings). */
export type ClusterConfig = z.input<typeof ClusterConfigSchema>;
/** The raw config after the schema: schema-level defaults filled, cross-field defaults not yet. */
export type ParsedConfig = z.output<typeof ClusterConfigSchema>;
export type ParsedResource = z.output<typeof ResourceSchema>;
export type ParsedMonitor = z.output<typeof MonitorSchema>;
export type ParsedGroup = z.output<typeof GroupShellSchema>;
export type ParsedServer = z.output<typeof ServerSchema>;
export type ParsedCluster = z.output<typeof ClusterSectionSchema>;
export type ParsedAws = z.output<typeof AwsSectionSchema>;
export type ParsedFencing = z.output<typeof FencingSchema>;
