/**
 * The `awsdnsw` monitor (issue 4 section 3; the seed's AWS DNS monitor resource), added automatically for
 * every awsdns resource and run while that resource is active here. Each check:
 *
 * 1. reads the A record set of the awsdns resource: absent -> 52; without this server's address -> 53;
 * 2. with `resolveCheck`, resolves the name through `resolver` (else the system resolver) with one try
 *    bounded by the rest of the budget: any failure (NXDOMAIN, SERVFAIL, timeout, refused) -> 54 naming the
 *    resolver and its error code; an answer without this server's address -> 55.
 *
 * When the AWS call gets no answer (or stays throttled), the check throws a NoResponseError and the monitor's
 * `noResponse` decides: `warn` reports warning 151, `recover` error 51, `none` nothing. AWS answering with an
 * error is 50, access not set up 56 (52 is taken by "record set missing" in the seed's numbering).
 *
 * Right after activation Route 53 may not have propagated the change to every resolver yet, and a resolver
 * that saw NXDOMAIN caches it; `startWait` (applied by the core) is the cure, and the remedies of 54/55 say so.
 */
import { lookup } from 'node:dns/promises';
import { Resolver } from 'node:dns/promises';
import type { MonitorResult } from '../../core/types.ts';
import type { CompiledConfig, CompiledMonitor, CompiledResource } from '../../shared/config/types.ts';
import { paramsFor } from '../driver.ts';
import type { DriverContext, DriverResult, MonitorDriver, TypeDescription } from '../driver.ts';
import { driverError } from '../messages.ts';
import { awsFailureOf, type CallBudget } from '../aws-common/call.ts';
import { budgetFor, checkResult } from '../aws-common/driver-kit.ts';
import { AWSDNSW_MESSAGES, type AwsDnsMonitorMessageId } from './errors.ts';
import {
  AWSDNSW_PARAMS,
  awsDnsMonitorParamsProblems,
  awsDnsParamsProblems,
  parseAwsDnsMonitorParams,
  parseAwsDnsParams,
  parseResolver,
  resolverServer,
  type AwsDnsParams,
} from './params.ts';

/** The resolver gets at least this long, even when the AWS call used up most of the budget. */
const MIN_RESOLVE_MS = 200;

const failed = (id: AwsDnsMonitorMessageId, detail: string) => checkResult(AWSDNSW_MESSAGES, id, detail);

/** `resolver 10.0.0.2:53` or `system resolver (127.0.0.53:53)`, for messages. */
function resolverLabel(configured: string | null, servers: string[]): string {
  const list = servers.join(', ') || 'none configured';
  return configured === null ? `the system resolver (${list})` : `resolver ${configured} (${list})`;
}

export class AwsDnsMonitorDriver implements MonitorDriver {
  readonly type = 'awsdnsw';

  describe(): TypeDescription {
    return {
      type: 'awsdnsw',
      description:
        'Checks that the record set of an awsdns resource exists with the address of this server and, optionally, that the name resolves to it.',
      params: AWSDNSW_PARAMS,
      minTimeoutMs: 5_000,
      messages: AWSDNSW_MESSAGES,
    };
  }

  validate(monitor: CompiledMonitor, config: CompiledConfig): string[] {
    const out = awsDnsMonitorParamsProblems(monitor.params);
    for (const s of config.servers) {
      if (!monitor.perServer[s.name]) continue;
      for (const p of awsDnsMonitorParamsProblems(paramsFor(monitor, s.name)))
        out.push(`servers.${s.name}: ${p}`);
    }
    const name = monitor.params.resource;
    if (typeof name !== 'string') return out;
    const res = config.resources.find((r) => r.name === name);
    if (!res) out.push(`resource: there is no resource named ${name}`);
    else if (res.type !== 'awsdns')
      out.push(`resource: ${name} is of type ${res.type}; an awsdnsw monitor watches an awsdns resource`);
    return out;
  }

  async check(monitor: CompiledMonitor, ctx: DriverContext): Promise<DriverResult<MonitorResult>> {
    const mp = parseAwsDnsMonitorParams(paramsFor(monitor, ctx.server), monitor.name);
    const res = ctx.config.resources.find((r) => r.name === mp.resource && r.type === 'awsdns');
    if (!res) {
      throw driverError(
        AWSDNSW_MESSAGES,
        'AWSDNSW_INVALID_PARAMS',
        monitor.name,
        `There is no awsdns resource named ${mp.resource}.`,
      );
    }
    const p = this.#resourceParams(res, ctx.server, monitor.name);
    const budget = budgetFor(ctx, monitor);

    let values: string[] | null;
    try {
      const r = await ctx.aws.route53.recordA(p.hostedZoneId, p.recordName, budget.callOptions());
      values = r === null ? null : r.values;
    } catch (err) {
      const f = awsFailureOf(err, ctx.signal);
      if (f === null) throw err;
      const detail = `Reading ${p.recordName} in hosted zone ${p.hostedZoneId}: ${f.text}`;
      if (f.kind === 'failed')
        throw driverError(AWSDNSW_MESSAGES, 'AWSDNSW_AWS_CALL_FAILED', monitor.name, detail, { cause: err });
      if (f.kind === 'access')
        throw driverError(AWSDNSW_MESSAGES, 'AWSDNSW_ACCESS_NOT_SET_UP', monitor.name, detail, {
          cause: err,
        });
      const id = monitor.recovery.noResponse === 'warn' ? 'AWSDNSW_TIMEOUT_WARNING' : 'AWSDNSW_TIMEOUT';
      throw driverError(AWSDNSW_MESSAGES, id, monitor.name, detail, { cause: err, noResponse: true });
    }
    if (values === null) {
      return failed(
        'AWSDNSW_RECORD_MISSING',
        `The resource record set ${p.recordName} does not exist in hosted zone ${p.hostedZoneId}.`,
      );
    }
    if (!values.includes(p.ipAddress)) {
      return failed(
        'AWSDNSW_RECORD_OTHER_IP',
        `The record set ${p.recordName} in hosted zone ${p.hostedZoneId} holds ${values.join(', ') || 'no address'}, expected ${p.ipAddress} of ${ctx.server}.`,
      );
    }
    if (!mp.resolveCheck) return { result: 'running' };
    return await this.#resolveCheck(p, mp.resolver, budget, ctx);
  }

  /** Resolve the name once (one try, the rest of the budget) and compare with this server's address. */
  async #resolveCheck(
    p: AwsDnsParams,
    configured: string | null,
    budget: CallBudget,
    ctx: DriverContext,
  ): Promise<DriverResult<MonitorResult>> {
    const timeout = Math.max(MIN_RESOLVE_MS, budget.remainingMs());
    const resolver = new Resolver({ timeout, tries: 1 });
    const onAbort = (): void => resolver.cancel();
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    try {
      if (configured !== null) {
        const r = parseResolver(configured);
        if (r === null) {
          return failed('AWSDNSW_RESOLVE_FAILED', `The resolver ${configured} is not a host or address.`);
        }
        let address = r.host;
        if (!r.ip) {
          try {
            address = (await lookup(r.host)).address;
          } catch (err) {
            const code = (err as NodeJS.ErrnoException).code ?? String(err);
            return failed(
              'AWSDNSW_RESOLVE_FAILED',
              `The resolver host ${r.host} could not be looked up (${code}), so ${p.recordName} was not resolved.`,
            );
          }
        }
        resolver.setServers([resolverServer(address, r.port)]);
      }
      const via = resolverLabel(configured, resolver.getServers());
      let addresses: string[];
      try {
        // The name with its trailing dot: an absolute query, no search-list suffixes.
        addresses = await resolver.resolve4(p.recordName);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? 'ERROR';
        const why = ctx.signal.aborted ? 'cancelled at the deadline' : (err as Error).message;
        return failed('AWSDNSW_RESOLVE_FAILED', `${p.recordName} via ${via}: ${code} (${why}).`);
      }
      if (!addresses.includes(p.ipAddress)) {
        return failed(
          'AWSDNSW_RESOLVED_OTHER_IP',
          `${p.recordName} via ${via} resolves to ${addresses.join(', ')}, expected ${p.ipAddress} of ${ctx.server}.`,
        );
      }
      return { result: 'running' };
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
    }
  }

  /** The awsdns resource's params on this server, or the awsdnsw invalid-params error naming them. */
  #resourceParams(res: CompiledResource, server: string, monitor: string): AwsDnsParams {
    const raw = paramsFor(res, server);
    const problems = awsDnsParamsProblems(raw);
    if (problems.length > 0) {
      throw driverError(
        AWSDNSW_MESSAGES,
        'AWSDNSW_INVALID_PARAMS',
        monitor,
        `The awsdns resource ${res.name} has invalid parameters: ${problems.join('; ')}.`,
      );
    }
    return parseAwsDnsParams(raw, res.name);
  }
}
