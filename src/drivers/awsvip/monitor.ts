/**
 * The `awsvipw` monitor type (issue 4 section 3; the seed's AWS Virtual IP monitor, added automatically for
 * every awsvip resource and run while it is active): every route table of the VPC holding the VIP route
 * still targets this server's ENI, else error 56 naming each table and where it points now; with
 * `assignAddress`, the address is still on the interface, else 57. Its recovery restarts the awsvip
 * resource, whose start repoints the routes and puts the address back.
 *
 * AWS answered with an error or access is not set up: failure (50 / 51). No answer, or throttled /
 * unavailable after the access layer's retries: a NoResponseError (9, or 109 with `noResponse: warn`), so
 * the core applies `noResponse` and AWS trouble alone never fails the group over unless it says `recover`.
 */
import type { MonitorResult } from '../../core/types.ts';
import type { CompiledConfig, CompiledMonitor } from '../../shared/config/types.ts';
import { paramsFor } from '../driver.ts';
import type { DriverContext, DriverResult, MonitorDriver, TypeDescription } from '../driver.ts';
import { awsCall } from '../aws-common/call.ts';
import { budgetFor, checkResult, watchedResource } from '../aws-common/driver-kit.ts';
import { describeRoutes, validateAwsVip, vipDestination, vipFailureSpec } from './driver.ts';
import { AWSVIPW_MESSAGES, type AwsVipwMessageId } from './errors.ts';
import { interfacesHolding, systemNet, type LocalNet } from './netif.ts';
import {
  AWSVIPW_PARAMS,
  awsVipParamsSchema,
  awsVipwParamsProblems,
  parseAwsVipwParams,
  type AwsVipParams,
} from './params.ts';

export interface AwsVipMonitorDriverOptions {
  /** The local network (for the address check); default the real one. */
  net?: LocalNet;
}

const failed = (id: AwsVipwMessageId, detail: string) => checkResult(AWSVIPW_MESSAGES, id, detail);

export class AwsVipMonitorDriver implements MonitorDriver {
  readonly type = 'awsvipw';
  readonly #net: LocalNet;

  constructor(opts: AwsVipMonitorDriverOptions = {}) {
    this.#net = opts.net ?? systemNet();
  }

  describe(): TypeDescription {
    return {
      type: 'awsvipw',
      description:
        "Checks that the VIP route of an awsvip resource still targets this server's ENI in every route table, and that the address is still on the interface.",
      params: AWSVIPW_PARAMS,
      minTimeoutMs: 5_000,
      messages: AWSVIPW_MESSAGES,
    };
  }

  validate(monitor: CompiledMonitor, config: CompiledConfig): string[] {
    const problems = awsVipwParamsProblems(monitor.params);
    if (problems.length > 0) return problems;
    const name = String(monitor.params.resource);
    const res = config.resources.find((r) => r.name === name);
    if (!res) return [`resource: there is no resource named ${name}`];
    if (res.type !== 'awsvip')
      return [`resource: ${name} is of type ${res.type}; an awsvipw monitor watches an awsvip resource`];
    return validateAwsVip(res, config).map((x) => `resource ${name}: ${x}`);
  }

  async check(monitor: CompiledMonitor, ctx: DriverContext): Promise<DriverResult<MonitorResult>> {
    const { p, resource } = this.#target(monitor, ctx);
    const budget = budgetFor(ctx, monitor);
    const spec = vipFailureSpec(
      AWSVIPW_MESSAGES,
      {
        failed: 'AWSVIPW_AWS_FAILED',
        access: 'AWSVIPW_ACCESS_NOT_SET_UP',
        timeout: 'AWSVIPW_TIMEOUT',
        timeoutWarning: 'AWSVIPW_TIMEOUT_WARNING',
      },
      monitor.name,
      resource,
      ctx.server,
      p,
      monitor.recovery.noResponse,
    );
    const dest = vipDestination(p);
    const routes = await awsCall(spec, budget, 'ec2', 'DescribeRouteTables', p.vpcId, (o) =>
      ctx.aws.ec2.routesFor(p.vpcId, dest, o),
    );
    if (routes.length === 0) {
      return failed(
        'AWSVIPW_ROUTE_CHANGED',
        `No route table of ${p.vpcId} has a route for ${dest} any more (${resource} on ${ctx.server} expects ${p.eniId}); add the route back, the restart of ${resource} then points it here.`,
      );
    }
    const wrong = routes.filter((r) => r.target !== p.eniId);
    if (wrong.length > 0) {
      return failed(
        'AWSVIPW_ROUTE_CHANGED',
        `The route for ${dest} no longer targets ${p.eniId} (${resource} on ${ctx.server}): ${describeRoutes(wrong)}.`,
      );
    }
    if (p.assignAddress && interfacesHolding(this.#net, p.ip, p.interface).length === 0) {
      const where = p.interface ?? `any network interface of ${ctx.server}`;
      return failed('AWSVIPW_ADDRESS_MISSING', `${dest} of ${resource} is not on ${where}.`);
    }
    return { result: 'running' };
  }

  /** The watched awsvip resource and its params on this server. */
  #target(monitor: CompiledMonitor, ctx: DriverContext): { p: AwsVipParams; resource: string } {
    const { p, resource } = watchedResource(monitor, ctx, {
      name: parseAwsVipwParams(paramsFor(monitor, ctx.server), monitor.name).resource,
      type: 'awsvip',
      schema: awsVipParamsSchema,
      table: AWSVIPW_MESSAGES,
      invalidId: 'AWSVIPW_INVALID_PARAMS',
    });
    return { p, resource: resource.name };
  }
}
