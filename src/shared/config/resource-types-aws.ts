/**
 * The AWS group resource and monitor types of the config (issue 4 sections 2-4): `awsvip` (a VPC route to
 * the active server's ENI), `awseip` (an Elastic IP associated with it), `awsdns` (a Route 53 A record
 * pointing at it), their automatic monitors `awsvipw` / `awseipw` / `awsdnsw`, the availability zone
 * monitor `awsazw` and the fencing check monitor `awsfencew`. The compiled `params` keys are the contract
 * the drivers read (types.ts: AwsVipParams, AwsEipParams, AwsDnsParams, ...).
 *
 * Keys that identify something of one server (its ENI, its address in the record, its zone) are optional
 * in the schema so they can be written per server only, and the checks then require every server that
 * can run the resource to end up with one, as the seed's "Set Up Individually" tabs do.
 */
import { z } from 'zod';
import {
  availabilityZoneSchema,
  awsAutoMonitorName,
  awsIdSchema,
  bareHostedZoneId,
  compileResolver,
  hostedZoneIdSchema,
  interfaceNameSchema,
  ipv4Schema,
  normalizeRecordName,
  recordNameSchema,
  regionOfZone,
  resolverSchema,
} from './aws-primitives.ts';
import { DEFAULTS, LOCAL_SERVER } from './defaults.ts';
import type { PathSeg } from './issues.ts';
import { didYouMean, listNames } from './issues.ts';
import { countSchema, ms, nameSchema } from './primitives.ts';
import type { MonitorCheckContext, ReportFn, ResourceCheckContext, TypeCompileContext } from './type-spec.ts';
import { defineMonitorType, defineResourceType } from './type-spec.ts';
import type {
  AwsAzMonitorParams,
  AwsDnsMonitorParams,
  AwsDnsParams,
  AwsEipParams,
  AwsResourceMonitorParams,
  AwsVipParams,
  CompiledMonitor,
  CompiledResource,
} from './types.ts';

/** How one per-server value (an ENI, the record's address) is checked across the group's servers. */
interface OwnValueRule {
  key: string;
  /** What the value is, for the remedy: "the ENI of node-2's instance". */
  what: (server: string) => string;
  example: string;
  /** Why each server needs its own: "each server routes the VIP to its own ENI". */
  why: string;
  /** A value shared by two servers is an error (ENIs) or a warning (record addresses). */
  shared: 'error' | 'warning';
}

/**
 * Every server that can run the group must end up with a value (its override, else the common one), and
 * no two servers with the same value. Reports at the override when there is one, else at the common key.
 */
function checkOwnValue(
  rule: OwnValueRule,
  common: string | undefined,
  overrides: ReadonlyMap<string, Readonly<Record<string, unknown>>>,
  report: ReportFn,
  ctx: ResourceCheckContext,
): void {
  const { key } = rule;
  const owner = new Map<string, string>();
  for (const server of ctx.servers) {
    const o = overrides.get(server)?.[key];
    const own = typeof o === 'string' ? o : undefined;
    const value = own ?? common;
    const perServerPath: PathSeg[] = ['servers', server, key];
    if (value === undefined) {
      const where =
        ctx.servers.length === 1 ? `${key} (or servers.${server}.${key})` : `servers.${server}.${key}`;
      report(
        perServerPath,
        `no ${key} for ${server}, which can run group ${ctx.group}`,
        `set ${where} to ${rule.what(server)}, e.g. ${rule.example}; ${rule.why}`,
      );
      continue;
    }
    const first = owner.get(value);
    if (first === undefined) {
      owner.set(value, server);
      continue;
    }
    const say = rule.shared === 'error' ? report : ctx.warn;
    say(
      own !== undefined ? perServerPath : [key],
      `${key} ${value} is set for both ${first} and ${server}`,
      `${rule.why}: set servers.${server}.${key} to ${rule.what(server)}`,
    );
  }
}

/** The automatic monitor of an AWS resource: EXPRESSCLUSTER's defaults, recovery reactivate then fail over. */
function awsAutoMonitor(
  resource: CompiledResource,
  monitorType: string,
  params: Record<string, unknown>,
  ctx: TypeCompileContext,
): CompiledMonitor {
  return {
    name: awsAutoMonitorName(resource.name, resource.type, monitorType),
    type: monitorType,
    intervalMs: ms(DEFAULTS.awsMonitorInterval),
    timeoutMs: ms(DEFAULTS.awsMonitorTimeout),
    retries: DEFAULTS.awsMonitorRetries,
    startWaitMs: ms(DEFAULTS.monitorStartWait),
    activeResource: resource.name,
    recovery: {
      targetKind: 'resource',
      target: resource.name,
      action: 'custom',
      maxReactivations: 1,
      maxFailovers: 1,
      failoverTarget: 'stable',
      finalAction: 'none',
      scripts: {
        beforeReactivation: null,
        beforeFailover: null,
        beforeFinalAction: null,
        timeoutMs: ms(DEFAULTS.recoveryScriptTimeout),
        cwd: ctx.baseDir,
      },
      noResponse: DEFAULTS.noResponse,
    },
    params,
    perServer: {},
    auto: true,
  };
}

/** Copies the keys of `raw` that are written (per-server overrides are partial). */
function written(raw: Readonly<Record<string, unknown>>, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (raw[k] !== undefined) out[k] = raw[k];
  return out;
}

const ENI_EXAMPLE = 'eni-0123456789abcdef0';
const eniIdSchema = () =>
  awsIdSchema('eni', 'eniId', ENI_EXAMPLE)
    .optional()
    .describe('ENI of the server instance (set per server). Required for every server of the group.');

/**
 * `awsvip`: a virtual IP outside the VPC's CIDR blocks, reached through a `/32` route in every route
 * table of the VPC that holds one, pointed at the active server's ENI (the seed's AWS Virtual IP resource).
 */
export const awsVipResourceType = defineResourceType({
  type: 'awsvip',
  description: 'AWS virtual IP: VPC routes for ip/32 point at the active server ENI.',
  params: {
    /** The virtual IPv4 address, without prefix; outside every CIDR block of the VPC. Required. */
    ip: ipv4Schema('ip', '10.1.0.20').describe('Virtual IPv4 address (no prefix), outside the VPC CIDRs.'),
    /** VPC whose route tables hold the `ip/32` route. Required. */
    vpcId: awsIdSchema('vpc', 'vpcId', 'vpc-0a1b2c3d').describe('VPC id, e.g. vpc-0a1b2c3d.'),
    /** ENI the route points at on this server. Required for every server of the group (set per server). */
    eniId: eniIdSchema(),
    /** Linux interface that gets the VIP. @default the interface holding the ENI's private IP */
    interface: interfaceNameSchema()
      .optional()
      .describe('Interface for the VIP. Default: the one holding the ENI private IP.'),
    /** Put the VIP on the interface (iproute2) while active. @default true */
    assignAddress: z.boolean().default(true).describe('Add the VIP to the interface. Default true.'),
  },
  perServerKeys: ['vpcId', 'eniId', 'interface', 'assignAddress'],
  defaultTimeout: DEFAULTS.awsAddressTimeout,
  defaultDependsOnTypes: [],
  compileParams(raw): Record<string, unknown> {
    const p: AwsVipParams = {
      ip: raw.ip,
      vpcId: raw.vpcId,
      eniId: raw.eniId ?? null,
      interface: raw.interface ?? null,
      assignAddress: raw.assignAddress,
    };
    return { ...p };
  },
  compileOverride(raw): Record<string, unknown> {
    return written(raw, ['vpcId', 'eniId', 'interface', 'assignAddress']);
  },
  check(raw, overrides, report, ctx): void {
    checkOwnValue(
      {
        key: 'eniId',
        what: (s) => `the ENI of ${s}'s instance`,
        example: ENI_EXAMPLE,
        why: 'each server routes the VIP to its own ENI',
        shared: 'error',
      },
      raw.eniId,
      overrides,
      report,
      ctx,
    );
  },
  autoMonitor(resource, ctx): CompiledMonitor {
    const p: AwsResourceMonitorParams = { resource: resource.name };
    return awsAutoMonitor(resource, 'awsvipw', { ...p }, ctx);
  },
});

/** `awseip`: an Elastic IP associated with the active server's ENI (the seed's AWS Elastic IP resource). */
export const awsEipResourceType = defineResourceType({
  type: 'awseip',
  description: 'AWS Elastic IP: associated with the active server ENI.',
  params: {
    /** Allocation id of the Elastic IP. Required. */
    allocationId: awsIdSchema('eipalloc', 'allocationId', 'eipalloc-0123456789abcdef0').describe(
      'Allocation id of the Elastic IP, e.g. eipalloc-0123456789abcdef0.',
    ),
    /** ENI the EIP is associated with on this server. Required for every server of the group. */
    eniId: eniIdSchema(),
  },
  perServerKeys: ['eniId'],
  defaultTimeout: DEFAULTS.awsAddressTimeout,
  defaultDependsOnTypes: [],
  compileParams(raw): Record<string, unknown> {
    const p: AwsEipParams = { allocationId: raw.allocationId, eniId: raw.eniId ?? null };
    return { ...p };
  },
  compileOverride(raw): Record<string, unknown> {
    return written(raw, ['eniId']);
  },
  check(raw, overrides, report, ctx): void {
    checkOwnValue(
      {
        key: 'eniId',
        what: (s) => `the ENI of ${s}'s instance`,
        example: ENI_EXAMPLE,
        why: 'each server associates the Elastic IP with its own ENI',
        shared: 'error',
      },
      raw.eniId,
      overrides,
      report,
      ctx,
    );
  },
  autoMonitor(resource, ctx): CompiledMonitor {
    const p: AwsResourceMonitorParams = { resource: resource.name };
    return awsAutoMonitor(resource, 'awseipw', { ...p }, ctx);
  },
});

/** `awsdns`: a Route 53 A record pointing at the active server's address (the seed's AWS DNS resource). */
export const awsDnsResourceType = defineResourceType({
  type: 'awsdns',
  description: 'AWS DNS: a Route 53 A record points at the active server address.',
  params: {
    /** Hosted zone id, `Z...` or `/hostedzone/Z...`. Required. */
    hostedZoneId: hostedZoneIdSchema().describe('Route 53 hosted zone id, e.g. Z0123456789ABC.'),
    /** Record name; normalized to a lowercase FQDN with the trailing dot. Required. */
    recordName: recordNameSchema().describe('Record set name, e.g. srv.hz1.local. (lowercase).'),
    /** The A record's value on this server. Required for every server of the group (set per server). */
    ipAddress: ipv4Schema('ipAddress', '10.0.1.10')
      .optional()
      .describe('IPv4 address the record points at on this server (set per server).'),
    /** Record TTL in seconds (0 to 2147483647). @default 300 */
    ttl: countSchema(0, 2_147_483_647).default(DEFAULTS.awsDnsTtl).describe('TTL in seconds. Default 300.'),
    /** Delete the record when the resource stops. @default true */
    deleteOnStop: z.boolean().default(true).describe('Delete the record on deactivation. Default true.'),
  },
  perServerKeys: ['ipAddress'],
  defaultTimeout: DEFAULTS.awsDnsTimeout,
  defaultDependsOnTypes: [],
  compileParams(raw): Record<string, unknown> {
    const p: AwsDnsParams = {
      hostedZoneId: bareHostedZoneId(raw.hostedZoneId),
      recordName: normalizeRecordName(raw.recordName),
      ipAddress: raw.ipAddress ?? null,
      ttl: raw.ttl,
      deleteOnStop: raw.deleteOnStop,
    };
    return { ...p };
  },
  compileOverride(raw): Record<string, unknown> {
    return written(raw, ['ipAddress']);
  },
  check(raw, overrides, report, ctx): void {
    if (raw.recordName !== raw.recordName.toLowerCase()) {
      const lower = normalizeRecordName(raw.recordName);
      ctx.warn(
        ['recordName'],
        `recordName "${raw.recordName}" has uppercase letters; it is used as ${lower}`,
        `write ${lower}: Route 53 keeps names in lowercase, and the seed's troubleshooting notes that an uppercase record name makes the DNS monitor fail`,
      );
    }
    checkOwnValue(
      {
        key: 'ipAddress',
        what: (s) => `the address clients should reach on ${s}`,
        example: '10.0.1.10',
        why: 'the record points at the active server, so it changes on failover only if each server has its own address',
        shared: 'warning',
      },
      raw.ipAddress,
      overrides,
      report,
      ctx,
    );
  },
  autoMonitor(resource, ctx): CompiledMonitor {
    const p: AwsDnsMonitorParams = { resource: resource.name, resolveCheck: true, resolver: null };
    return awsAutoMonitor(resource, 'awsdnsw', { ...p }, ctx);
  },
});

/**
 * Defaults of the AWS resource monitors: EXPRESSCLUSTER's timing, a slow AWS endpoint is only a warning,
 * and on their resource they reactivate it once, then fail over once, like the automatic ones (a declared
 * monitor that only changes the interval keeps that recovery).
 */
const AWS_MONITOR_DEFAULTS = {
  interval: DEFAULTS.awsMonitorInterval,
  timeout: DEFAULTS.awsMonitorTimeout,
  retries: DEFAULTS.awsMonitorRetries,
  noResponse: DEFAULTS.noResponse,
} as const;
const AWS_RESOURCE_MONITOR_DEFAULTS = {
  ...AWS_MONITOR_DEFAULTS,
  recovery: { action: 'custom', maxReactivations: 1 },
} as const;

/** The watched resource exists and is of the right type. */
export function checkWatched(
  resource: string,
  resourceType: string,
  monitorType: string,
  ctx: MonitorCheckContext,
  report: ReportFn,
): void {
  const ofType = [...ctx.resources.values()].filter((r) => r.type === resourceType).map((r) => r.name);
  const r = ctx.resources.get(resource);
  if (r === undefined) {
    if (!ctx.declaredResources.has(resource)) {
      report(
        ['resource'],
        `unknown resource "${resource}"`,
        `${didYouMean(resource, ofType)}name an ${resourceType} resource; ${resourceType} resources: ${listNames(ofType)}`,
      );
    }
    return;
  }
  if (r.type !== resourceType) {
    report(
      ['resource'],
      `resource "${resource}" is of type ${r.type}, not ${resourceType}`,
      `an ${monitorType} monitor watches an ${resourceType} resource; ${resourceType} resources: ${listNames(ofType)}`,
    );
  }
}

/**
 * The hooks every monitor type that watches one resource shares (awsvipw, awseipw, mdw, mdnw): its only
 * param is `resource`, which is also the monitor's implied resource, checked to exist with the right type.
 */
export function watchingHooks(resourceType: string, monitorType: string) {
  return {
    compileParams(raw: { resource: string }): Record<string, unknown> {
      return { resource: raw.resource };
    },
    compileOverride(): Record<string, unknown> {
      return {};
    },
    impliedResource(raw: { resource: string }): string | null {
      return raw.resource;
    },
    check(raw: { resource: string }, ctx: MonitorCheckContext, report: ReportFn): void {
      checkWatched(raw.resource, resourceType, monitorType, ctx, report);
    },
  };
}

const watchedResource = (resourceType: string) =>
  nameSchema('resource name').describe(`The ${resourceType} resource this monitor watches.`);

/** `awsvipw`: the VIP route of every route table still targets the local ENI. */
export const awsVipMonitorType = defineMonitorType({
  type: 'awsvipw',
  description: 'The VIP routes of an awsvip resource target the local ENI.',
  params: {
    /** The `awsvip` resource watched. Required. */
    resource: watchedResource('awsvip'),
  },
  perServerKeys: [],
  defaults: AWS_RESOURCE_MONITOR_DEFAULTS,
  ...watchingHooks('awsvip', 'awsvipw'),
});

/** `awseipw`: the Elastic IP is associated with the local ENI. */
export const awsEipMonitorType = defineMonitorType({
  type: 'awseipw',
  description: 'The Elastic IP of an awseip resource is associated with the local ENI.',
  params: {
    /** The `awseip` resource watched. Required. */
    resource: watchedResource('awseip'),
  },
  perServerKeys: [],
  defaults: AWS_RESOURCE_MONITOR_DEFAULTS,
  ...watchingHooks('awseip', 'awseipw'),
});

/** `awsdnsw`: the record set exists with this server's address, and optionally resolves to it. */
export const awsDnsMonitorType = defineMonitorType({
  type: 'awsdnsw',
  description: 'The Route 53 record of an awsdns resource points at this server (and resolves to it).',
  params: {
    /** The `awsdns` resource watched. Required. */
    resource: watchedResource('awsdns'),
    /** Also resolve the record name and compare the answer with this server's address. @default true */
    resolveCheck: z.boolean().default(true).describe('Also resolve the name and compare. Default true.'),
    /** DNS server asked by the resolve check, `address[:port]`. @default the system resolver */
    resolver: resolverSchema()
      .optional()
      .describe('DNS server for the resolve check, address[:port]. Default: the system resolver.'),
  },
  perServerKeys: ['resolver'],
  defaults: AWS_RESOURCE_MONITOR_DEFAULTS,
  compileParams(raw): Record<string, unknown> {
    const p: AwsDnsMonitorParams = {
      resource: raw.resource,
      resolveCheck: raw.resolveCheck,
      resolver: raw.resolver === undefined ? null : compileResolver(raw.resolver),
    };
    return { ...p };
  },
  compileOverride(raw): Record<string, unknown> {
    return raw.resolver === undefined ? {} : { resolver: compileResolver(raw.resolver) };
  },
  impliedResource(raw): string | null {
    return raw.resource;
  },
  check(raw, ctx, report, overrides): void {
    checkWatched(raw.resource, 'awsdns', 'awsdnsw', ctx, report);
    const perServer = [...overrides.values()].some((o) => o.resolver !== undefined);
    if (!raw.resolveCheck && (raw.resolver !== undefined || perServer)) {
      ctx.warn(
        ['resolver'],
        'resolver is set but resolveCheck is false, so it is never asked',
        'remove resolver, or set resolveCheck: true',
      );
    }
  },
});

/** `awsazw`: the availability zone of this server's instance is available. */
export const awsAzMonitorType = defineMonitorType({
  type: 'awsazw',
  description: 'The availability zone of this server is available (DescribeAvailabilityZones).',
  params: {
    /** This server's availability zone, e.g. `us-east-1a`. Required for every server (set per server). */
    availabilityZone: availabilityZoneSchema()
      .optional()
      .describe('Availability zone of the server instance, e.g. us-east-1a (set per server).'),
  },
  perServerKeys: ['availabilityZone'],
  defaults: {
    ...AWS_MONITOR_DEFAULTS,
    // The seed sets LocalServer; stopping the cluster service moves the groups to a server in a healthy AZ.
    recovery: { target: LOCAL_SERVER, action: 'final-only', finalAction: 'stop-cluster-service' },
  },
  compileParams(raw): Record<string, unknown> {
    const p: AwsAzMonitorParams = { availabilityZone: raw.availabilityZone ?? null };
    return { ...p };
  },
  compileOverride(raw): Record<string, unknown> {
    return written(raw, ['availabilityZone']);
  },
  check(raw, ctx, report, overrides): void {
    for (const server of new Set(ctx.servers)) {
      const own = overrides.get(server)?.availabilityZone;
      const zone = own ?? raw.availabilityZone;
      const path: PathSeg[] = ['servers', server, 'availabilityZone'];
      if (zone === undefined) {
        report(
          path,
          `no availabilityZone for ${server}`,
          `set servers.${server}.availabilityZone to the zone of ${server}'s instance, e.g. us-east-1a; an awsazw monitor runs on every server`,
        );
        continue;
      }
      const region = regionOfZone(zone);
      if (ctx.awsRegion !== null && region !== null && region !== ctx.awsRegion) {
        ctx.warn(
          own === undefined ? ['availabilityZone'] : path,
          `availability zone ${zone} is not in aws.region ${ctx.awsRegion}`,
          `write a zone of ${ctx.awsRegion} (such as ${ctx.awsRegion}a), or correct aws.region; DescribeAvailabilityZones only knows the region's own zones`,
        );
      }
    }
  },
});

/** `awsfencew`: the fencing check (can this server stop every peer's instance); see `fencing:`. */
export const awsFencingMonitorType = defineMonitorType({
  type: 'awsfencew',
  description: 'Fencing check: every peer instance of fencing.servers can be seen (shows normal / error).',
  params: {},
  perServerKeys: [],
  defaults: {
    // A declared one without interval takes fencing.checkInterval (compile-monitors.ts).
    interval: DEFAULTS.fencingCheckInterval,
    timeout: DEFAULTS.fencingMonitorTimeout,
    retries: DEFAULTS.awsMonitorRetries,
    noResponse: DEFAULTS.noResponse,
    // It only reports and alerts: a broken fencing path must not move groups by itself.
    recovery: { target: LOCAL_SERVER, action: 'final-only', finalAction: 'none' },
  },
  compileParams(): Record<string, unknown> {
    return {};
  },
  compileOverride(): Record<string, unknown> {
    return {};
  },
  check(_raw, ctx, report): void {
    if (!ctx.fencingDeclared) {
      report(
        ['type'],
        'fencing is not configured, so there is nothing for an awsfencew monitor to check',
        'add a fencing: section (type: aws and an instance per server; see docs/configuration.md), or remove this monitor',
      );
    }
  },
});
