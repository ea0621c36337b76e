/**
 * The `pid` monitor type (issue 3, section 3 "Monitors"): watches the process an `exec` resource with
 * `async: true` started, through the record the exec driver keeps in `<stateDir>/run/<resource>.pid`. The
 * process counts as alive only while its boot id and start time still match, so a recycled pid is not
 * mistaken for it. Normal = `running`; gone = `failed` (code 1); no record = `failed` (code 2).
 */
import type { MonitorResult } from '../../core/types.ts';
import type { CompiledConfig, CompiledMonitor } from '../../shared/config/types.ts';
import { paramsFor } from '../driver.ts';
import type { DriverContext, DriverResult, MonitorDriver, TypeDescription } from '../driver.ts';
import { messageOf } from '../messages.ts';
import { isRecordAlive, readAsyncRecord } from '../exec/state.ts';
import { PID_MESSAGES } from './errors.ts';
import { parsePidParams, PID_PARAMS, pidParamsSchema } from './params.ts';

export class PidMonitorDriver implements MonitorDriver {
  readonly type = 'pid';

  describe(): TypeDescription {
    return {
      type: 'pid',
      description: 'Watches the process of an exec resource started with async: true.',
      params: PID_PARAMS,
      minTimeoutMs: 100,
      messages: PID_MESSAGES,
    };
  }

  validate(monitor: CompiledMonitor, config: CompiledConfig): string[] {
    const r = pidParamsSchema.safeParse(monitor.params);
    if (!r.success)
      return r.error.issues.map((i) => `${i.path.map(String).join('.') || '(params)'}: ${i.message}`);
    const name = r.data.resource;
    const res = config.resources.find((x) => x.name === name);
    if (!res) return [`resource: there is no resource named ${name}`];
    if (res.type !== 'exec')
      return [`resource: ${name} is of type ${res.type}; a pid monitor watches an exec resource`];
    const out: string[] = [];
    for (const s of config.servers) {
      if (paramsFor(res, s.name).async !== true) {
        out.push(`resource: ${name} is not async on ${s.name}; set async: true on it to watch its process`);
      }
    }
    return out;
  }

  check(monitor: CompiledMonitor, ctx: DriverContext): Promise<DriverResult<MonitorResult>> {
    const p = parsePidParams(paramsFor(monitor, ctx.server), monitor.name);
    const rec = readAsyncRecord(ctx.stateDir, p.resource);
    if (rec === null) {
      const e = messageOf(PID_MESSAGES, 'PID_NOT_RECORDED');
      return Promise.resolve({
        result: 'failed',
        code: e.code,
        message: `${e.message} (resource ${p.resource})`,
      });
    }
    if (isRecordAlive(rec)) return Promise.resolve({ result: 'running' });
    const e = messageOf(PID_MESSAGES, 'PID_PROCESS_GONE');
    return Promise.resolve({
      result: 'failed',
      code: e.code,
      message: `${e.message} Process ${rec.pid} of ${p.resource} is gone.`,
    });
  }
}
