/**
 * The `custom` monitor type (issue 3, section 3 "Monitors"): runs `command` by /bin/sh in the config file's
 * directory, in its own process group; exit status 0 = normal (`running`), anything else = error (`failed`,
 * code 1 with the status). A command that cannot be run at all is code 2 and reported as not installed.
 * The monitor timeout is the executor's deadline: when `ctx.signal` aborts, the command's process group is
 * killed (SIGTERM, SIGKILL after 2 s).
 */
import type { MonitorResult } from '../../core/types.ts';
import type { CompiledConfig, CompiledMonitor } from '../../shared/config/types.ts';
import { paramsFor } from '../driver.ts';
import type { DriverContext, DriverResult, MonitorDriver, TypeDescription } from '../driver.ts';
import { driverError, messageOf } from '../messages.ts';
import { describeExit, isShellSpawnStatus, runCommand, SpawnFailure } from '../process/run-command.ts';
import { runDirOf } from '../process/run-dir.ts';
import { CUSTOM_MESSAGES } from './errors.ts';
import { CUSTOM_PARAMS, customParamsProblems, parseCustomParams } from './params.ts';

export class CustomMonitorDriver implements MonitorDriver {
  readonly type = 'custom';

  describe(): TypeDescription {
    return {
      type: 'custom',
      description: 'Runs a check command; exit status 0 = normal.',
      params: CUSTOM_PARAMS,
      minTimeoutMs: 1_000,
      messages: CUSTOM_MESSAGES,
    };
  }

  validate(monitor: CompiledMonitor, config: CompiledConfig): string[] {
    const out = customParamsProblems(monitor.params);
    for (const s of config.servers) {
      if (!monitor.perServer[s.name]) continue;
      for (const p of customParamsProblems(paramsFor(monitor, s.name))) out.push(`servers.${s.name}: ${p}`);
    }
    return out;
  }

  async check(monitor: CompiledMonitor, ctx: DriverContext): Promise<DriverResult<MonitorResult>> {
    const p = parseCustomParams(paramsFor(monitor, ctx.server), monitor.name);
    let r;
    try {
      r = await runCommand({
        command: p.command,
        cwd: p.cwd,
        env: {
          ...p.env,
          TANDEM_MONITOR: monitor.name,
          TANDEM_SERVER: ctx.server,
          TANDEM_CLUSTER: ctx.config.cluster.name,
        },
        output: { kind: 'log', log: ctx.log, fields: { command: 'check' } },
        runDir: runDirOf(ctx.stateDir),
        signal: ctx.signal,
      });
    } catch (err) {
      if (err instanceof SpawnFailure) {
        throw driverError(
          CUSTOM_MESSAGES,
          'CUSTOM_SPAWN_FAILED',
          monitor.name,
          `${err.message} (command: ${p.command}).`,
          {
            cause: err,
            notInstalled: true,
          },
        );
      }
      throw err;
    }
    if (r.kind === 'aborted') {
      throw driverError(
        CUSTOM_MESSAGES,
        'CUSTOM_TIMEOUT',
        monitor.name,
        `The command was ${p.command} (process group ${r.pid}).`,
      );
    }
    if (isShellSpawnStatus(r.status)) {
      const why = r.status === 127 ? 'command not found' : 'not executable';
      throw driverError(
        CUSTOM_MESSAGES,
        'CUSTOM_SPAWN_FAILED',
        monitor.name,
        `/bin/sh exited with status ${r.status} (${why}): ${p.command}`,
        {
          notInstalled: true,
        },
      );
    }
    if (r.status === 0) return { result: 'running' };
    const e = messageOf(CUSTOM_MESSAGES, 'CUSTOM_CHECK_FAILED');
    return {
      result: 'failed',
      code: e.code,
      message: `${e.message} It exited with ${describeExit(r)}: ${p.command}`,
    };
  }
}
