/**
 * The `awsazw` monitor (issue 4 section 3; the seed's AWS AZ monitor resource): asks EC2
 * (DescribeAvailabilityZones) for the state of `availabilityZone`, normally the zone of this server's
 * instance, and runs with recovery target LocalServer as the seed sets it up.
 *
 * - `available` -> normal; `impaired` or `information` -> warning 101; `unavailable` -> error 1 (recovery
 *   moves the groups to a server in another zone).
 * - The zone unknown to AWS, or AWS answering with an error (or access not set up): error 5, or warning 105
 *   when `noResponse` is `warn`; with `none` it is logged and the check counts as normal. The seed's
 *   "Action when AWS CLI command failed to receive response" covers failed calls as well as missing answers,
 *   so that a broken credential or endpoint does not move groups around unless the operator asked for it.
 * - No answer (or throttled / 5xx beyond the retries): a NoResponseError 6, or 106 under `warn`; the core
 *   applies `noResponse` to it (none ignores it).
 */
import type { MonitorResult } from '../../core/types.ts';
import type { CompiledConfig, CompiledMonitor } from '../../shared/config/types.ts';
import { paramsFor } from '../driver.ts';
import type { DriverContext, DriverResult, MonitorDriver, TypeDescription } from '../driver.ts';
import { driverError, messageOf } from '../messages.ts';
import { awsFailureOf } from '../aws-common/call.ts';
import { budgetFor, checkResult } from '../aws-common/driver-kit.ts';
import { AWSAZW_MESSAGES, type AwsAzMessageId } from './errors.ts';
import { AWSAZW_PARAMS, awsAzParamsProblems, parseAwsAzParams } from './params.ts';

const result = (result: 'failed' | 'degraded', id: AwsAzMessageId, detail: string) =>
  checkResult(AWSAZW_MESSAGES, id, detail, result);

export class AwsAzMonitorDriver implements MonitorDriver {
  readonly type = 'awsazw';

  describe(): TypeDescription {
    return {
      type: 'awsazw',
      description:
        'Watches the state of an availability zone (DescribeAvailabilityZones): impaired is a warning, unavailable an error.',
      params: AWSAZW_PARAMS,
      minTimeoutMs: 5_000,
      messages: AWSAZW_MESSAGES,
    };
  }

  validate(monitor: CompiledMonitor, config: CompiledConfig): string[] {
    const out: string[] = [];
    for (const s of config.servers) {
      for (const p of awsAzParamsProblems(paramsFor(monitor, s.name))) out.push(`servers.${s.name}: ${p}`);
    }
    return out;
  }

  async check(monitor: CompiledMonitor, ctx: DriverContext): Promise<DriverResult<MonitorResult>> {
    const az = parseAwsAzParams(paramsFor(monitor, ctx.server), monitor.name).availabilityZone;
    const mode = monitor.recovery.noResponse;
    const budget = budgetFor(ctx, monitor);
    let zone: { name: string; state: string } | null;
    try {
      zone = await ctx.aws.ec2.availabilityZone(az, budget.callOptions());
    } catch (err) {
      const f = awsFailureOf(err, ctx.signal);
      if (f === null) throw err;
      const detail = `DescribeAvailabilityZones for ${az}: ${f.text}`;
      if (f.kind === 'no-answer') {
        const id = mode === 'warn' ? 'AWSAZW_TIMEOUT_WARNING' : 'AWSAZW_TIMEOUT';
        throw driverError(AWSAZW_MESSAGES, id, monitor.name, detail, { cause: err, noResponse: true });
      }
      return this.#checkFailed(monitor.name, mode, detail, ctx);
    }
    if (zone === null)
      return this.#checkFailed(monitor.name, mode, `Invalid availability zone: [${az}].`, ctx);
    switch (zone.state) {
      case 'available':
        return { result: 'running' };
      case 'unavailable':
        // An error in every noResponse mode: AWS answered, and what it said is the failure this monitor is for.
        return result('failed', 'AWSAZW_CHECK_FAILED', `${az}: state unavailable.`);
      default:
        // impaired, information, or a state AWS adds later: worth a look, not a reason to move groups.
        return result('degraded', 'AWSAZW_ZONE_DEGRADED', `${az}: state ${zone.state}.`);
    }
  }

  /** A failed call or an unknown zone: error 5, warning 105 (warn), or logged and normal (none). */
  #checkFailed(
    monitor: string,
    mode: CompiledMonitor['recovery']['noResponse'],
    detail: string,
    ctx: DriverContext,
  ): DriverResult<MonitorResult> {
    if (mode === 'none') {
      const e = messageOf(AWSAZW_MESSAGES, 'AWSAZW_CHECK_FAILED');
      ctx.log('warn', `${e.message} ${detail} Ignored (noResponse: none).`, { monitor, code: e.code });
      return { result: 'running' };
    }
    return mode === 'warn'
      ? result('degraded', 'AWSAZW_CHECK_FAILED_WARNING', detail)
      : result('failed', 'AWSAZW_CHECK_FAILED', detail);
  }
}
