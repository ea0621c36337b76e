/**
 * The `awsdns` group resource (issue 4 section 2; the seed's AWS DNS resource): while active on a server, the
 * Route 53 A record set `recordName` in `hostedZoneId` holds that server's `ipAddress`.
 *
 * - start: UPSERT of the record set (one value, `ttl`), then GetChange until the change is INSYNC: first 1 s
 *   after the change, then every 1 s, the gaps growing to at most 5 s, all within 90% of the resource timeout
 *   so that code 53 (not INSYNC) is reported before the executor's deadline.
 * - stop: with `deleteOnStop`, DELETE of the record set, but only while it holds this server's address: a
 *   record already repointed by the server that took over is never deleted. Without it the record stays
 *   (the seed: clients then resolve the name sooner after a failover). Idempotent; a hard stop is the same.
 * - monitor (startup probe: "is it active here?"): `running` when the record set holds this server's
 *   address, else `stopped`.
 *
 * AWS failures: answered -> 50 with AWS's code and text; no answer or throttled -> 51 (thrown as a
 * NoResponseError, so the executor reports a timeout rather than a fact); access not set up -> 52.
 */
import type { MonitorResult, StartStopResult } from '../../core/types.ts';
import type { CompiledConfig, CompiledResource } from '../../shared/config/types.ts';
import { paramsFor } from '../driver.ts';
import type {
  DriverContext,
  DriverResult,
  ResourceCallEnv,
  ResourceDriver,
  TypeDescription,
} from '../driver.ts';
import { driverError } from '../messages.ts';
import { awsFailureOf, type CallBudget } from '../aws-common/call.ts';
import { budgetFor, ok, stopBestEffort } from '../aws-common/driver-kit.ts';
import { AWSDNS_MESSAGES } from './errors.ts';
import { AWSDNS_PARAMS, awsDnsParamsProblems, parseAwsDnsParams, type AwsDnsParams } from './params.ts';

export interface AwsDnsDriverOptions {
  /** Wait before the first GetChange poll, and the first gaps between polls (ms). @default 1000 */
  firstPollMs?: number;
  /** Longest gap between two GetChange polls (ms). @default 5000 */
  maxPollMs?: number;
}

/**
 * The error to throw for what an AWS call threw while doing `what` (e.g. `UPSERT of srv.hz1.local. ...`):
 * a ResourceError of the awsdns table, or `err` itself when it is a bug rather than an AWS failure.
 */
export function awsDnsCallError(err: unknown, resource: string, signal: AbortSignal, what: string): unknown {
  const f = awsFailureOf(err, signal);
  if (f === null) return err;
  const detail = `${what}: ${f.text}`;
  if (f.kind === 'failed')
    return driverError(AWSDNS_MESSAGES, 'AWSDNS_AWS_CALL_FAILED', resource, detail, { cause: err });
  if (f.kind === 'access')
    return driverError(AWSDNS_MESSAGES, 'AWSDNS_ACCESS_NOT_SET_UP', resource, detail, { cause: err });
  return driverError(AWSDNS_MESSAGES, 'AWSDNS_TIMEOUT', resource, detail, { cause: err, noResponse: true });
}

/** Servers that may run the resource's group (all servers when the group is unknown). */
function serversOf(resource: CompiledResource, config: CompiledConfig): string[] {
  const g = config.groups.find((x) => x.name === resource.group);
  return g ? g.startupServers : config.servers.map((s) => s.name);
}

export class AwsDnsDriver implements ResourceDriver {
  readonly type = 'awsdns';
  readonly #firstPollMs: number;
  readonly #maxPollMs: number;

  constructor(options: AwsDnsDriverOptions = {}) {
    this.#firstPollMs = options.firstPollMs ?? 1_000;
    this.#maxPollMs = options.maxPollMs ?? 5_000;
  }

  describe(): TypeDescription {
    return {
      type: 'awsdns',
      description:
        'Points a Route 53 A record set at the active server (UPSERT on activation, waiting until INSYNC; optional DELETE on deactivation).',
      params: AWSDNS_PARAMS,
      // One UPSERT plus GetChange polls: Route 53 takes up to about 60 s to be INSYNC.
      minTimeoutMs: 10_000,
      messages: AWSDNS_MESSAGES,
    };
  }

  validate(resource: CompiledResource, config: CompiledConfig): string[] {
    const out: string[] = [];
    for (const server of serversOf(resource, config)) {
      for (const p of awsDnsParamsProblems(paramsFor(resource, server))) out.push(`servers.${server}: ${p}`);
    }
    return out;
  }

  async start(
    resource: CompiledResource,
    _env: ResourceCallEnv,
    ctx: DriverContext,
  ): Promise<DriverResult<StartStopResult>> {
    const name = resource.name;
    const p = parseAwsDnsParams(paramsFor(resource, ctx.server), name);
    const budget = budgetFor(ctx, resource);
    const what = `UPSERT of ${p.recordName} A ${p.ipAddress} in hosted zone ${p.hostedZoneId}`;
    let changeId: string;
    try {
      changeId = await ctx.aws.route53.upsertA(
        p.hostedZoneId,
        p.recordName,
        p.ipAddress,
        p.ttl,
        budget.callOptions(),
      );
    } catch (err) {
      throw awsDnsCallError(err, name, ctx.signal, what);
    }
    const fields = { zone: p.hostedZoneId, record: p.recordName, ip: p.ipAddress, change: changeId };
    ctx.log(
      'info',
      `record set ${p.recordName} set to ${p.ipAddress}; waiting until the change is INSYNC`,
      fields,
    );
    const since = Date.now();
    let status = 'PENDING';
    const notInsync = (): Error =>
      driverError(
        AWSDNS_MESSAGES,
        'AWSDNS_NOT_INSYNC',
        name,
        `Change ${changeId} (${what}) was still ${status} after ${Date.now() - since} ms.`,
      );
    for (let n = 0; ; n++) {
      const gap = Math.min(this.#maxPollMs, this.#firstPollMs * Math.max(1, n));
      if (!(await budget.sleep(gap))) throw notInsync();
      try {
        status = await ctx.aws.route53.changeStatus(changeId, budget.callOptions());
      } catch (err) {
        // A poll cut off by the end of the budget: the change was made and is still not known INSYNC
        // (code 53), not an unanswered call (51). A cancelled start is the caller's business.
        if (budget.expired && !ctx.signal.aborted) throw notInsync();
        throw awsDnsCallError(err, name, ctx.signal, `GetChange ${changeId} (${what})`);
      }
      if (status === 'INSYNC') {
        ctx.log('info', `record set ${p.recordName} is INSYNC after ${Date.now() - since} ms`, fields);
        return ok('ok');
      }
    }
  }

  /**
   * Best effort: the next active server overwrites the record (UPSERT), so a DELETE that fails, or is
   * skipped on a hard stop (isolation: Route 53 is likely unreachable), only leaves the old address in the
   * record until then. Failing the stop would only trigger the deactivation final action for nothing.
   */
  async stop(
    resource: CompiledResource,
    env: ResourceCallEnv,
    ctx: DriverContext,
  ): Promise<DriverResult<StartStopResult>> {
    const left = {
      kept: 'the record set is left as it is',
      action: 'delete the record set',
      repair: 'the next active server overwrites it',
    };
    return await stopBestEffort(env, ctx, left, () => this.#stop(resource, ctx));
  }

  async #stop(resource: CompiledResource, ctx: DriverContext): Promise<DriverResult<StartStopResult>> {
    const name = resource.name;
    const p = parseAwsDnsParams(paramsFor(resource, ctx.server), name);
    const fields = { zone: p.hostedZoneId, record: p.recordName, ip: p.ipAddress };
    if (!p.deleteOnStop) {
      ctx.log('info', `record set ${p.recordName} left in place (deleteOnStop: false)`, fields);
      return ok('ok');
    }
    const budget = budgetFor(ctx, resource);
    const current = await this.#read(p, name, ctx, budget);
    if (current === null) return ok('ok');
    if (!current.includes(p.ipAddress)) {
      ctx.log(
        'info',
        `record set ${p.recordName} holds ${current.join(', ')}, not ${p.ipAddress} of ${ctx.server}: left alone`,
        fields,
      );
      return ok('ok');
    }
    const what = `DELETE of ${p.recordName} in hosted zone ${p.hostedZoneId}`;
    try {
      await ctx.aws.route53.deleteA(p.hostedZoneId, p.recordName, budget.callOptions(), p.ipAddress);
    } catch (err) {
      // Route 53 refuses a DELETE whose values no longer match: another server repointed the record between
      // our read and the delete. That is a stopped resource, not a failure.
      const f = awsFailureOf(err, ctx.signal);
      if (f?.kind === 'failed') {
        const again = await this.#read(p, name, ctx, budget);
        if (again === null || !again.includes(p.ipAddress)) return ok('ok');
      }
      throw awsDnsCallError(err, name, ctx.signal, what);
    }
    ctx.log('info', `record set ${p.recordName} deleted`, fields);
    return ok('ok');
  }

  async monitor(resource: CompiledResource, ctx: DriverContext): Promise<DriverResult<MonitorResult>> {
    const p = parseAwsDnsParams(paramsFor(resource, ctx.server), resource.name);
    const budget = budgetFor(ctx, resource);
    const current = await this.#read(p, resource.name, ctx, budget);
    return ok(current !== null && current.includes(p.ipAddress) ? 'running' : 'stopped');
  }

  /** The record set's values, or null when it does not exist. */
  async #read(
    p: AwsDnsParams,
    name: string,
    ctx: DriverContext,
    budget: CallBudget,
  ): Promise<string[] | null> {
    try {
      const r = await ctx.aws.route53.recordA(p.hostedZoneId, p.recordName, budget.callOptions());
      return r === null ? null : r.values;
    } catch (err) {
      throw awsDnsCallError(
        err,
        name,
        ctx.signal,
        `reading ${p.recordName} in hosted zone ${p.hostedZoneId}`,
      );
    }
  }
}
