/**
 * The `awseipw` monitor type (issue 4 section 3; the seed's AWS Elastic IP monitor, added automatically for
 * every awseip resource and run while it is active): the Elastic IP is still associated with this server's
 * ENI, else error 52 naming where it is now. Its recovery restarts the awseip resource, whose start
 * associates it again.
 *
 * AWS answered with an error or access is not set up: failure (50 / 51). No answer, or throttled /
 * unavailable after the access layer's retries: a NoResponseError (53, or 153 with `noResponse: warn`), so
 * the core applies `noResponse`.
 */
import type { MonitorResult } from '../../core/types.ts';
import type { CompiledConfig, CompiledMonitor } from '../../shared/config/types.ts';
import { paramsFor } from '../driver.ts';
import type { DriverContext, DriverResult, MonitorDriver, TypeDescription } from '../driver.ts';
import { awsCall } from '../aws-common/call.ts';
import { budgetFor, checkResult, watchedResource } from '../aws-common/driver-kit.ts';
import { describeAssociation, eipFailureSpec, validateAwsEip } from './driver.ts';
import { AWSEIPW_MESSAGES } from './errors.ts';
import {
  AWSEIPW_PARAMS,
  awsEipParamsSchema,
  awsEipwParamsProblems,
  parseAwsEipwParams,
  type AwsEipParams,
} from './params.ts';

export class AwsEipMonitorDriver implements MonitorDriver {
  readonly type = 'awseipw';

  describe(): TypeDescription {
    return {
      type: 'awseipw',
      description:
        "Checks that the Elastic IP of an awseip resource is still associated with this server's ENI.",
      params: AWSEIPW_PARAMS,
      minTimeoutMs: 5_000,
      messages: AWSEIPW_MESSAGES,
    };
  }

  validate(monitor: CompiledMonitor, config: CompiledConfig): string[] {
    const problems = awsEipwParamsProblems(monitor.params);
    if (problems.length > 0) return problems;
    const name = String(monitor.params.resource);
    const res = config.resources.find((r) => r.name === name);
    if (!res) return [`resource: there is no resource named ${name}`];
    if (res.type !== 'awseip')
      return [`resource: ${name} is of type ${res.type}; an awseipw monitor watches an awseip resource`];
    return validateAwsEip(res, config).map((x) => `resource ${name}: ${x}`);
  }

  async check(monitor: CompiledMonitor, ctx: DriverContext): Promise<DriverResult<MonitorResult>> {
    const { p, resource } = this.#target(monitor, ctx);
    const budget = budgetFor(ctx, monitor);
    const spec = eipFailureSpec(
      AWSEIPW_MESSAGES,
      {
        failed: 'AWSEIPW_AWS_FAILED',
        access: 'AWSEIPW_ACCESS_NOT_SET_UP',
        timeout: 'AWSEIPW_TIMEOUT',
        timeoutWarning: 'AWSEIPW_TIMEOUT_WARNING',
      },
      monitor.name,
      resource,
      ctx.server,
      p,
      monitor.recovery.noResponse,
    );
    const a = await awsCall(spec, budget, 'ec2', 'DescribeAddresses', p.allocationId, (o) =>
      ctx.aws.ec2.address(p.allocationId, o),
    );
    if (a.eniId === p.eniId) return { result: 'running' };
    return checkResult(
      AWSEIPW_MESSAGES,
      'AWSEIPW_NOT_ASSOCIATED',
      `${p.allocationId} (${a.publicIp}) of ${resource} is associated with ${describeAssociation(a)}, not with ${p.eniId} of ${ctx.server}.`,
    );
  }

  /** The watched awseip resource and its params on this server. */
  #target(monitor: CompiledMonitor, ctx: DriverContext): { p: AwsEipParams; resource: string } {
    const { p, resource } = watchedResource(monitor, ctx, {
      name: parseAwsEipwParams(paramsFor(monitor, ctx.server), monitor.name).resource,
      type: 'awseip',
      schema: awsEipParamsSchema,
      table: AWSEIPW_MESSAGES,
      invalidId: 'AWSEIPW_INVALID_PARAMS',
    });
    return { p, resource: resource.name };
  }
}
