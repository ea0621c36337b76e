/**
 * Pieces the AWS resource and monitor drivers (awsvip, awseip, awsdns, awsazw, awsfencew) share beyond
 * calling AWS (./call.ts): result helpers, the best-effort stop of the resources whose next active server
 * takes the AWS object over anyway (awseip, awsdns), and the lookup of the resource an auto-added monitor
 * watches (awsvipw, awseipw).
 */
import type { z } from 'zod';
import type { MonitorResult, StartStopResult } from '../../core/types.ts';
import type { CompiledMonitor, CompiledResource } from '../../shared/config/types.ts';
import { ResourceError } from '../../shared/errors.ts';
import { paramsFor } from '../driver.ts';
import type { DriverContext, DriverResult, ResourceCallEnv } from '../driver.ts';
import { driverError, messageOf, type DriverMessage } from '../messages.ts';
import { CallBudget } from './call.ts';

/** A plain result without code or message. */
export const ok = <R extends StartStopResult | MonitorResult>(result: R): DriverResult<R> => ({ result });

/** A monitor result carrying entry `id` of `table`, with `detail` appended to its message. */
export function checkResult<T extends readonly DriverMessage[]>(
  table: T,
  id: T[number]['id'],
  detail: string,
  result: 'failed' | 'degraded' = 'failed',
): DriverResult<MonitorResult> {
  const e = messageOf(table, id);
  return { result, code: e.code, message: `${e.message} ${detail}` };
}

/** The budget of one call of a resource or monitor: the executor's timeout for it, else the object's own. */
export function budgetFor(ctx: DriverContext, object: { timeoutMs: number }): CallBudget {
  return new CallBudget(ctx.timeoutMs ?? object.timeoutMs, ctx.signal);
}

/** How a best-effort stop words what it leaves behind, for the warn log lines. */
export interface LeftBehind {
  /** What a hard stop leaves, e.g. `the record set is left as it is`. */
  kept: string;
  /** What the stop could not do, e.g. `delete the record set`. */
  action: string;
  /** Who repairs it, e.g. `the next active server overwrites it`. */
  repair: string;
}

/**
 * Run `stop` as a best-effort stop: a hard stop (isolation: AWS is likely unreachable) skips it, and a
 * ResourceError it throws is logged and swallowed. Meant for resources whose next active server takes the
 * AWS object over whatever this one left (an Elastic IP re-associated, a record set overwritten): failing
 * the stop would only trigger the deactivation final action for nothing. Bugs (other errors) still throw.
 */
export async function stopBestEffort(
  env: ResourceCallEnv,
  ctx: DriverContext,
  left: LeftBehind,
  stop: () => Promise<DriverResult<StartStopResult>>,
): Promise<DriverResult<StartStopResult>> {
  if (env.hard === true) {
    ctx.log('warn', `hard stop: ${left.kept}; ${left.repair}`);
    return ok('ok');
  }
  try {
    return await stop();
  } catch (err) {
    if (!(err instanceof ResourceError)) throw err;
    ctx.log('warn', `could not ${left.action} (${err.message}); ${left.repair}`, { code: err.code });
    return ok('ok');
  }
}

/**
 * The resource an auto-added monitor watches (`resource` of its params) and that resource's params on
 * this server, or the monitor's invalid-params error (`invalidId`) naming what is wrong.
 */
export function watchedResource<T extends readonly DriverMessage[], P>(
  monitor: CompiledMonitor,
  ctx: DriverContext,
  w: {
    /** The resource name from the monitor's params. */
    name: string;
    type: string;
    schema: z.ZodType<P>;
    table: T;
    invalidId: T[number]['id'];
  },
): { p: P; resource: CompiledResource } {
  const res = ctx.config.resources.find((r) => r.name === w.name);
  if (!res || res.type !== w.type) {
    throw driverError(
      w.table,
      w.invalidId,
      monitor.name,
      res ? `${w.name} is of type ${res.type}, not ${w.type}.` : `There is no resource named ${w.name}.`,
    );
  }
  const r = w.schema.safeParse(paramsFor(res, ctx.server));
  if (!r.success) {
    const what = r.error.issues.map((i) => `${i.path.map(String).join('.')}: ${i.message}`).join('; ');
    throw driverError(
      w.table,
      w.invalidId,
      monitor.name,
      `The params of ${w.name} on ${ctx.server} are invalid: ${what}.`,
    );
  }
  return { p: r.data, resource: res };
}
