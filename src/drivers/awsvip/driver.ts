/**
 * The `awsvip` resource type (issue 4 section 2; the seed's AWS Virtual IP resource): clients reach the VIP
 * through a route for `ip/32` in the VPC's route tables, and the active server is whichever ENI those routes
 * target.
 *
 * start:
 * 1. read the VPC's CIDR blocks, the route tables holding `ip/32` and (when the interface must be found)
 *    the ENI, in parallel; a VIP inside a CIDR block is refused (53), a VPC without the route is 54;
 * 2. when `assignAddress`, put `ip/32` on the local interface (before the routes move, so the first packet
 *    routed here finds the address);
 * 3. point every route table not already targeting the local ENI at it, all in parallel (the failover time
 *    does not grow with the number of route tables);
 * 4. read the routes back: every table must target the local ENI (55 names those that do not).
 *
 * stop leaves the routes alone (the next active server repoints them; pointing them nowhere would only
 * blackhole the VIP sooner) and removes the address when `assignAddress`; absent is fine.
 *
 * monitor (the startup probe, "is it active HERE?"): `running` when every VIP route targets the local ENI
 * and, with `assignAddress`, the address is on the interface; else `stopped`.
 *
 * Every call spends at most 90% of the resource timeout on AWS (../aws-common/call.ts), so a missing answer is
 * reported as code 9 with what did not answer, before the executor's deadline.
 */
import type { AwsAccess, NetworkInterfaceInfo } from '../../aws/types.ts';
import { AwsCallError } from '../../aws/errors.ts';
import type { MonitorResult, StartStopResult } from '../../core/types.ts';
import type { CompiledConfig, CompiledRecovery, CompiledResource } from '../../shared/config/types.ts';
import { paramsFor } from '../driver.ts';
import type {
  DriverContext,
  DriverResult,
  ResourceCallEnv,
  ResourceDriver,
  TypeDescription,
} from '../driver.ts';
import { driverError, type DriverMessage } from '../messages.ts';
import {
  allOrFirstError,
  awsCall,
  awsFailure,
  type AwsFailureSpec,
  type CallBudget,
} from '../aws-common/call.ts';
import { budgetFor, ok } from '../aws-common/driver-kit.ts';
import { AWSVIP_MESSAGES } from './errors.ts';
import { perServerProblems } from './validate.ts';
import {
  interfaceWithAny,
  interfacesHolding,
  IpCommandError,
  isAddressAbsentError,
  systemNet,
  type LocalNet,
} from './netif.ts';
import {
  AWSVIP_PARAMS,
  awsVipParamsProblems,
  cidrContains,
  parseAwsVipParams,
  type AwsVipParams,
} from './params.ts';

type Route = { routeTableId: string; target: string | null };

export interface AwsVipDriverOptions {
  /** The local network (interfaces and the ip command); default the real one. */
  net?: LocalNet;
}

/** `ip/32`, the destination of the VIP route. */
export function vipDestination(p: AwsVipParams): string {
  return `${p.ip}/32`;
}

/** The AWS failure mapping of an awsvip resource or monitor (remedies name the resource's settings). */
export function vipFailureSpec<T extends readonly DriverMessage[]>(
  table: T,
  ids: AwsFailureSpec<T>['ids'],
  object: string,
  resource: string,
  server: string,
  p: AwsVipParams,
  noResponse: CompiledRecovery['noResponse'] | null,
): AwsFailureSpec<T> {
  return {
    table,
    ids,
    object,
    noResponse,
    remedies: {
      InvalidVpcID: `Specify a correct VPC ID: vpcId of ${resource} on ${server} is ${p.vpcId}.`,
      InvalidNetworkInterfaceID: `Specify a correct ENI ID: eniId of ${resource} on ${server} is ${p.eniId}.`,
      InvalidRouteTableID: `A route table of ${p.vpcId} was deleted meanwhile; start ${resource} again.`,
      InvalidRoute: `The route for ${vipDestination(p)} was deleted meanwhile; add it back and start ${resource} again.`,
      permission: `Grant this server's IAM role or user ec2:DescribeVpcs, ec2:DescribeRouteTables, ec2:DescribeNetworkInterfaces, and ec2:ReplaceRoute on every route table of ${p.vpcId} holding the route for ${vipDestination(p)}.`,
    },
  };
}

/** `rtb-1 -> eni-2, rtb-2 -> (no target)`. */
export function describeRoutes(routes: readonly Route[]): string {
  return routes.map((r) => `${r.routeTableId} -> ${r.target ?? '(no target)'}`).join(', ');
}

/** Whether the VIP is held here: every VIP route targets the local ENI (and there is at least one). */
export function routesAreLocal(routes: readonly Route[], eniId: string): boolean {
  return routes.length > 0 && routes.every((r) => r.target === eniId);
}

export class AwsVipDriver implements ResourceDriver {
  readonly type = 'awsvip';
  readonly #net: LocalNet;

  constructor(opts: AwsVipDriverOptions = {}) {
    this.#net = opts.net ?? systemNet();
  }

  describe(): TypeDescription {
    return {
      type: 'awsvip',
      description:
        "AWS Virtual IP: points the route for ip/32 in every route table of the VPC holding it at this server's ENI, and puts the address on the local interface.",
      params: AWSVIP_PARAMS,
      minTimeoutMs: 5_000,
      messages: AWSVIP_MESSAGES,
    };
  }

  validate(resource: CompiledResource, config: CompiledConfig): string[] {
    return validateAwsVip(resource, config);
  }

  async start(
    resource: CompiledResource,
    _env: ResourceCallEnv,
    ctx: DriverContext,
  ): Promise<DriverResult<StartStopResult>> {
    const name = resource.name;
    const p = parseAwsVipParams(paramsFor(resource, ctx.server), name);
    const budget = budgetFor(ctx, resource);
    const spec = this.#spec(name, ctx.server, p);
    const ec2 = ctx.aws.ec2;
    const dest = vipDestination(p);
    const findInterface = p.assignAddress && p.interface === null;

    const [cidrs, routes, eni] = await allOrFirstError([
      awsCall(spec, budget, 'ec2', 'DescribeVpcs', p.vpcId, (o) => ec2.vpcCidrs(p.vpcId, o)),
      awsCall(spec, budget, 'ec2', 'DescribeRouteTables', p.vpcId, (o) => ec2.routesFor(p.vpcId, dest, o)),
      findInterface
        ? awsCall(spec, budget, 'ec2', 'DescribeNetworkInterfaces', p.eniId, (o) =>
            ec2.networkInterface(p.eniId, o),
          )
        : Promise.resolve(null),
    ]);

    const inside = cidrs.find((c) => cidrContains(c, p.ip));
    if (inside !== undefined) {
      throw driverError(
        AWSVIP_MESSAGES,
        'AWSVIP_VIP_IN_VPC',
        name,
        `The VIP address ${p.ip} belongs to the VPC ${p.vpcId} (CIDR ${inside}); choose an address outside every CIDR block of the VPC (${cidrs.join(', ')}).`,
      );
    }
    if (routes.length === 0) {
      throw driverError(
        AWSVIP_MESSAGES,
        'AWSVIP_NO_ROUTE',
        name,
        `No route table of ${p.vpcId} has a route for ${dest}: add a route for ${dest} (target: a server's ENI, e.g. ${p.eniId}) to every route table whose clients must reach the VIP.`,
      );
    }

    if (p.assignAddress) {
      const iface = this.#interfaceFor(name, p, eni);
      await this.#ip(name, ['address', 'replace', dest, 'dev', iface], budget, ctx.signal);
      ctx.log('info', `${dest} is on ${iface}`, { interface: iface, ip: p.ip });
    }

    const todo = routes.filter((r) => r.target !== p.eniId);
    if (todo.length === 0) {
      ctx.log('info', `every route for ${dest} already targets ${p.eniId}: ${describeRoutes(routes)}`);
      return ok('ok');
    }
    await this.#replaceAll(spec, budget, ctx.aws, todo, dest, p.eniId);

    const after = await awsCall(spec, budget, 'ec2', 'DescribeRouteTables', p.vpcId, (o) =>
      ec2.routesFor(p.vpcId, dest, o),
    );
    const wrong = routes
      .map((r) => after.find((a) => a.routeTableId === r.routeTableId) ?? { ...r, target: null, gone: true })
      .filter((r) => r.target !== p.eniId);
    if (wrong.length > 0) {
      const what = wrong
        .map((r) =>
          'gone' in r
            ? `${r.routeTableId} has no route for ${dest} any more`
            : `${r.routeTableId} routes it to ${r.target ?? '(no target)'}`,
        )
        .join('; ');
      throw driverError(
        AWSVIP_MESSAGES,
        'AWSVIP_ROUTE_NOT_UPDATED',
        name,
        `Read back after pointing ${dest} at ${p.eniId}: ${what}. Check whether another cluster or tool manages the same VIP route.`,
      );
    }
    ctx.log(
      'info',
      `routes for ${dest} now target ${p.eniId} in ${todo.map((r) => r.routeTableId).join(', ')} (were ${describeRoutes(todo)})`,
      { routeTables: todo.map((r) => r.routeTableId), eniId: p.eniId },
    );
    return ok('ok');
  }

  async stop(
    resource: CompiledResource,
    _env: ResourceCallEnv,
    ctx: DriverContext,
  ): Promise<DriverResult<StartStopResult>> {
    const name = resource.name;
    const p = parseAwsVipParams(paramsFor(resource, ctx.server), name);
    if (!p.assignAddress) return ok('ok');
    const budget = budgetFor(ctx, resource);
    const dest = vipDestination(p);
    const targets = new Set(interfacesHolding(this.#net, p.ip, p.interface));
    // A configured interface that is down is not listed: remove the address from it all the same.
    if (p.interface !== null && this.#net.interfaceExists(p.interface)) targets.add(p.interface);
    for (const iface of targets) {
      const r = await this.#ip(name, ['address', 'del', dest, 'dev', iface], budget, ctx.signal);
      // Absent already: the goal is reached (stop is idempotent).
      if (r === 'done') ctx.log('info', `${dest} removed from ${iface}`, { interface: iface, ip: p.ip });
    }
    return ok('ok');
  }

  async monitor(resource: CompiledResource, ctx: DriverContext): Promise<DriverResult<MonitorResult>> {
    const p = parseAwsVipParams(paramsFor(resource, ctx.server), resource.name);
    const budget = budgetFor(ctx, resource);
    const spec = this.#spec(resource.name, ctx.server, p);
    const routes = await awsCall(spec, budget, 'ec2', 'DescribeRouteTables', p.vpcId, (o) =>
      ctx.aws.ec2.routesFor(p.vpcId, vipDestination(p), o),
    );
    if (!routesAreLocal(routes, p.eniId)) return ok('stopped');
    if (p.assignAddress && interfacesHolding(this.#net, p.ip, p.interface).length === 0) return ok('stopped');
    return ok('running');
  }

  // ---- helpers ---------------------------------------------------------------------------------------

  #spec(name: string, server: string, p: AwsVipParams): AwsFailureSpec<typeof AWSVIP_MESSAGES> {
    return vipFailureSpec(
      AWSVIP_MESSAGES,
      { failed: 'AWSVIP_AWS_FAILED', access: 'AWSVIP_ACCESS_NOT_SET_UP', timeout: 'AWSVIP_TIMEOUT' },
      name,
      name,
      server,
      p,
      null,
    );
  }

  /** The interface that gets the VIP: `interface`, else the one holding one of the ENI's private IPs. */
  #interfaceFor(name: string, p: AwsVipParams, eni: NetworkInterfaceInfo | null): string {
    if (p.interface !== null) {
      if (this.#net.interfaceExists(p.interface)) return p.interface;
      throw driverError(
        AWSVIP_MESSAGES,
        'AWSVIP_NO_INTERFACE',
        name,
        `There is no network interface ${p.interface} on this server: set \`interface:\` to an existing interface (see \`ip -4 address\`) or \`assignAddress: false\`.`,
      );
    }
    const ips = eni?.privateIps ?? [];
    const found = interfaceWithAny(this.#net, ips);
    if (found !== null) return found;
    throw driverError(
      AWSVIP_MESSAGES,
      'AWSVIP_NO_INTERFACE',
      name,
      `No local interface holds the private IP ${ips.join(', ') || '(none)'} of ${p.eniId}: set \`interface:\` or \`assignAddress: false\`.`,
    );
  }

  /**
   * Run `ip ARGS` within the budget; failures become 58/59 (59 is "not installed"), except the answer of
   * `ip address del` for an address or interface that is not there: `absent`.
   */
  async #ip(
    name: string,
    args: string[],
    budget: CallBudget,
    signal: AbortSignal,
  ): Promise<'done' | 'absent'> {
    try {
      await this.#net.ip(args, { signal, timeoutMs: budget.remainingMs() });
      return 'done';
    } catch (err) {
      if (!(err instanceof IpCommandError)) throw err;
      if (args[1] === 'del' && isAddressAbsentError(err)) return 'absent';
      if (err.kind === 'not-installed') {
        throw driverError(
          AWSVIP_MESSAGES,
          'AWSVIP_IP_NOT_INSTALLED',
          name,
          `${err.command}: ${err.message}.`,
          {
            cause: err,
            notInstalled: true,
          },
        );
      }
      throw driverError(
        AWSVIP_MESSAGES,
        'AWSVIP_IP_COMMAND_FAILED',
        name,
        `${err.command}: ${err.message}.`,
        {
          cause: err,
        },
      );
    }
  }

  /**
   * ReplaceRoute on every table of `todo` at once. All calls settle before a failure is reported, and the
   * report names every table that failed (with the first failure's AWS error).
   */
  async #replaceAll(
    spec: AwsFailureSpec<typeof AWSVIP_MESSAGES>,
    budget: CallBudget,
    aws: AwsAccess,
    todo: readonly Route[],
    dest: string,
    eniId: string,
  ): Promise<void> {
    const results = await Promise.allSettled(
      todo.map(async (r) => {
        const o = budget.options('ec2', 'ReplaceRoute');
        await aws.ec2.replaceRoute(r.routeTableId, dest, eniId, o);
      }),
    );
    const failed = todo.filter((_r, i) => results[i]?.status === 'rejected');
    const first = results.find((r) => r.status === 'rejected');
    if (first === undefined) return;
    const err: unknown = first.reason;
    if (!(err instanceof AwsCallError)) throw err;
    const updated = todo.length - failed.length;
    const about = `${failed.map((r) => r.routeTableId).join(', ')}${updated > 0 ? `; ${updated} of ${todo.length} updated` : ''}`;
    throw awsFailure(spec, err, about);
  }
}

/** Checks of `validate()` shared with the monitor: params per server, distinct ENIs. */
export function validateAwsVip(resource: CompiledResource, config: CompiledConfig): string[] {
  return perServerProblems(resource, config, awsVipParamsProblems, 'the VIP route');
}
