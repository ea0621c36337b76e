/**
 * What every check of `tandem doctor` gets: the compiled config, the AWS access, the probe every call goes
 * through (memoized by the keys below, so checks that need the same object share one call), the scope
 * (`--server`), what the access checks found out (gates that skip the rest when EC2 or Route 53 cannot be
 * used) and what the instance metadata says about this machine.
 */
import type { AwsAccess, AwsResolution } from '../aws/types.ts';
import { paramsFor } from '../drivers/driver.ts';
import type { CompiledConfig, CompiledMonitor, CompiledResource } from '../shared/config/types.ts';
import type { Probe } from './probe.ts';

/** This machine as IMDS describes it (all null when IMDS did not answer). */
export interface LocalMachine {
  instanceId: string | null;
  availabilityZone: string | null;
  vpcId: string | null;
  /** The config's server this machine is: `--server`, else the one whose fencing instance it is. */
  server: string | null;
}

export interface DoctorContext {
  config: CompiledConfig;
  aws: AwsAccess;
  probe: Probe;
  /** `--server NAME`, or null for every server. */
  server: string | null;
  resolution: AwsResolution;
  /** Why EC2 checks are skipped (no access, no answer, credentials refused), or null when they run. */
  ec2Blocked: string | null;
  /** The same for Route 53. */
  route53Blocked: string | null;
  local: LocalMachine;
}

/** The servers a resource is checked for: its group's startup servers, or only `--server`. */
export function resourceServers(
  ctx: Pick<DoctorContext, 'config' | 'server'>,
  r: CompiledResource,
): string[] {
  const group = ctx.config.groups.find((g) => g.name === r.group);
  const all = group?.startupServers ?? ctx.config.servers.map((s) => s.name);
  return ctx.server === null ? all : all.filter((s) => s === ctx.server);
}

/** The servers a monitor runs on: those of its target resource's group, else every server; or `--server`. */
export function monitorServers(ctx: Pick<DoctorContext, 'config' | 'server'>, m: CompiledMonitor): string[] {
  const target =
    m.activeResource === null ? undefined : ctx.config.resources.find((r) => r.name === m.activeResource);
  const all =
    target === undefined
      ? ctx.config.servers.map((s) => s.name)
      : resourceServers({ ...ctx, server: null }, target);
  return ctx.server === null ? all : all.filter((s) => s === ctx.server);
}

/** `resource awsvip1 (node-1, node-2)`. */
export function objectName(kind: 'resource' | 'monitor', name: string, servers: readonly string[]): string {
  return servers.length === 0 ? `${kind} ${name}` : `${kind} ${name} (${servers.join(', ')})`;
}

/** `values` grouped by `key`, groups in first-seen order. */
export function groupBy<T>(values: readonly T[], key: (v: T) => string): Array<[string, T[]]> {
  const out = new Map<string, T[]>();
  for (const v of values) {
    const k = key(v);
    const list = out.get(k);
    if (list === undefined) out.set(k, [v]);
    else list.push(v);
  }
  return [...out.entries()];
}

/** A string parameter of a resource or monitor on `server`, or null. */
export function stringParam(
  obj: { params: Record<string, unknown>; perServer: Record<string, Record<string, unknown>> },
  server: string,
  key: string,
): string | null {
  const v = paramsFor(obj, server)[key];
  return typeof v === 'string' && v !== '' ? v : null;
}

// ---- memoized AWS calls (keys shared between checks) ----------------------------------------------------

export const calls = {
  vpcCidrs: (ctx: DoctorContext, vpcId: string) =>
    ctx.probe.call(`vpc:${vpcId}`, 'ec2', 'DescribeVpcs', (o) => ctx.aws.ec2.vpcCidrs(vpcId, o)),
  vpcDnsSupport: (ctx: DoctorContext, vpcId: string) =>
    ctx.probe.call(`vpc-dns:${vpcId}`, 'ec2', 'DescribeVpcAttribute', (o) =>
      ctx.aws.ec2.vpcDnsSupport(vpcId, o),
    ),
  routesFor: (ctx: DoctorContext, vpcId: string, cidr: string) =>
    ctx.probe.call(`routes:${vpcId}:${cidr}`, 'ec2', 'DescribeRouteTables', (o) =>
      ctx.aws.ec2.routesFor(vpcId, cidr, o),
    ),
  networkInterface: (ctx: DoctorContext, eniId: string) =>
    ctx.probe.call(`eni:${eniId}`, 'ec2', 'DescribeNetworkInterfaces', (o) =>
      ctx.aws.ec2.networkInterface(eniId, o),
    ),
  address: (ctx: DoctorContext, allocationId: string) =>
    ctx.probe.call(`eip:${allocationId}`, 'ec2', 'DescribeAddresses', (o) =>
      ctx.aws.ec2.address(allocationId, o),
    ),
  availabilityZone: (ctx: DoctorContext, zone: string) =>
    ctx.probe.call(`az:${zone}`, 'ec2', 'DescribeAvailabilityZones', (o) =>
      ctx.aws.ec2.availabilityZone(zone, o),
    ),
  instanceState: (ctx: DoctorContext, instanceId: string) =>
    ctx.probe.call(`instance:${instanceId}`, 'ec2', 'DescribeInstances', (o) =>
      ctx.aws.ec2.instanceState(instanceId, o),
    ),
  dryRun: (
    ctx: DoctorContext,
    operation: Parameters<DoctorContext['aws']['ec2']['dryRun']>[0],
    params: Record<string, string>,
  ) =>
    ctx.probe.call(`dryrun:${operation}:${JSON.stringify(params)}`, 'ec2', `${operation} (DryRun)`, (o) =>
      ctx.aws.ec2.dryRun(operation, params, o),
    ),
  hostedZone: (ctx: DoctorContext, zoneId: string) =>
    ctx.probe.call(`zone:${zoneId}`, 'route53', 'GetHostedZone', (o) =>
      ctx.aws.route53.hostedZone(zoneId, o),
    ),
  recordA: (ctx: DoctorContext, zoneId: string, name: string) =>
    ctx.probe.call(`record:${zoneId}:${name}`, 'route53', 'ListResourceRecordSets', (o) =>
      ctx.aws.route53.recordA(zoneId, name, o),
    ),
  imds: (ctx: DoctorContext, path: string) =>
    ctx.probe.call(`imds:${path}`, 'imds', path, (o) => ctx.aws.imds.get(path, o)),
};
