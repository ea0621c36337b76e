/**
 * The daemon's real action handlers (STYLE.md 4; issue 3 section 3), registered in the executor's table:
 *
 * - `resource`: the type's ResourceDriver (`start`, `stop`, and `monitor` for the startup probe);
 * - `monitor`: the type's MonitorDriver;
 * - `script`: a recovery script by /bin/sh in its directory, with TANDEM_MONITOR, TANDEM_RECOVERY_STEP,
 *   TANDEM_SERVER and TANDEM_CLUSTER; exit 0 = ok;
 * - `os`: the `osActions` command by /bin/sh, detached in its own process group so that it outlives the
 *   daemon it is about to take down; it is never killed at the deadline;
 * - `np-check`: the NpProber; `witness`: the WitnessClient.
 *
 * Drivers get a DriverContext with the handler's signal, so the executor's deadline reaches the processes.
 */
import type { AwsAccess } from '../aws/types.ts';
import type { MirrorHost } from '../mirror/host.ts';
import type { CompiledConfig, CompiledHttpNp } from '../shared/config/types.ts';
import type { MonitorDriver, ResourceDriver, DriverContext } from '../drivers/driver.ts';
import { driverError, messageOf } from '../drivers/messages.ts';
import {
  describeExit,
  isShellSpawnStatus,
  runCommand,
  spawnGroup,
  SpawnFailure,
} from '../drivers/process/run-command.ts';
import { fenceServer } from '../drivers/fencing/fence.ts';
import { runDirOf } from '../drivers/process/run-dir.ts';
import type { NpProber, WitnessClient } from '../ports/probes.ts';
import type { ActionHandlers, HandlerContext } from './executor.ts';
import { DAEMON_MESSAGES } from './messages.ts';

export interface DefaultHandlerDeps {
  server: string;
  config: CompiledConfig;
  stateDir: string;
  resourceDrivers: Map<string, ResourceDriver>;
  monitorDrivers: Map<string, MonitorDriver>;
  npProber: NpProber;
  /** Null when no witness is configured. */
  witness: WitnessClient | null;
  aws: AwsAccess;
  /** This server's mirror disk copies (md resources); null when none (tests). */
  mirror?: MirrorHost | null;
}

function driverCtx(d: DefaultHandlerDeps, ctx: HandlerContext, timeoutMs: number): DriverContext {
  return {
    server: d.server,
    config: d.config,
    signal: ctx.signal,
    log: ctx.log,
    stateDir: d.stateDir,
    aws: d.aws,
    mirror: d.mirror ?? null,
    timeoutMs,
  };
}

export function createDefaultHandlers(d: DefaultHandlerDeps): ActionHandlers {
  return {
    async resource(a, ctx) {
      const res = d.config.resources.find((r) => r.name === a.resource);
      if (!res)
        throw driverError(
          DAEMON_MESSAGES,
          'UNKNOWN_OBJECT',
          a.resource,
          `There is no resource ${a.resource}.`,
        );
      const drv = d.resourceDrivers.get(res.type);
      if (!drv) {
        throw driverError(DAEMON_MESSAGES, 'NO_DRIVER', a.resource, `Type: ${res.type}.`, {
          notInstalled: true,
        });
      }
      const dctx = driverCtx(d, ctx, a.timeoutMs);
      const env = {
        event: a.event,
        failoverFrom: a.failoverFrom,
        ...(a.hard === true ? { hard: true } : {}),
      };
      if (a.verb === 'start') return await drv.start(res, env, dctx);
      if (a.verb === 'stop') return await drv.stop(res, env, dctx);
      return await drv.monitor(res, dctx);
    },

    async monitor(a, ctx) {
      const mon = d.config.monitors.find((m) => m.name === a.monitor);
      if (!mon)
        throw driverError(DAEMON_MESSAGES, 'UNKNOWN_OBJECT', a.monitor, `There is no monitor ${a.monitor}.`);
      const drv = d.monitorDrivers.get(mon.type);
      if (!drv) {
        throw driverError(DAEMON_MESSAGES, 'NO_DRIVER', a.monitor, `Type: ${mon.type}.`, {
          notInstalled: true,
        });
      }
      return await drv.check(mon, driverCtx(d, ctx, a.timeoutMs));
    },

    async script(a, ctx) {
      let r;
      try {
        r = await runCommand({
          command: a.command,
          cwd: a.cwd,
          env: {
            TANDEM_MONITOR: a.monitor,
            TANDEM_RECOVERY_STEP: a.step,
            TANDEM_SERVER: d.server,
            TANDEM_CLUSTER: d.config.cluster.name,
          },
          output: { kind: 'log', log: ctx.log, fields: { command: a.step } },
          runDir: runDirOf(d.stateDir),
          signal: ctx.signal,
        });
      } catch (err) {
        if (err instanceof SpawnFailure) {
          throw driverError(
            DAEMON_MESSAGES,
            'SCRIPT_SPAWN_FAILED',
            a.monitor,
            `${err.message} (${a.step}: ${a.command}).`,
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
          DAEMON_MESSAGES,
          'SCRIPT_FAILED',
          a.monitor,
          `It was stopped (${a.step}: ${a.command}).`,
        );
      }
      if (isShellSpawnStatus(r.status)) {
        throw driverError(
          DAEMON_MESSAGES,
          'SCRIPT_SPAWN_FAILED',
          a.monitor,
          `/bin/sh exited with status ${r.status}: ${a.command}`,
          {
            notInstalled: true,
          },
        );
      }
      if (r.status === 0) return { result: 'ok' };
      const e = messageOf(DAEMON_MESSAGES, 'SCRIPT_FAILED');
      return {
        result: 'failed',
        code: e.code,
        message: `${e.message} It exited with ${describeExit(r)}: ${a.command}`,
      };
    },

    async fence(a, ctx) {
      return await fenceServer(driverCtx(d, ctx, a.timeoutMs), a.server);
    },

    async os(a, ctx) {
      let g;
      try {
        g = await spawnGroup({
          command: a.command,
          cwd: d.config.baseDir,
          env: { TANDEM_OS_ACTION: a.action, TANDEM_SERVER: d.server, TANDEM_CLUSTER: d.config.cluster.name },
          output: { kind: 'log', log: ctx.log, fields: { command: a.action } },
          runDir: null,
        });
      } catch (err) {
        if (err instanceof SpawnFailure) {
          throw driverError(
            DAEMON_MESSAGES,
            'OS_ACTION_SPAWN_FAILED',
            d.server,
            `${err.message} (${a.command}).`,
            {
              cause: err,
              notInstalled: true,
            },
          );
        }
        throw err;
      }
      // Never killed: a shutdown in progress must go on even if the daemon gives up waiting for it.
      g.detach();
      const st = await g.exited;
      if (st.status === 0) return { result: 'ok' };
      const e = messageOf(DAEMON_MESSAGES, 'OS_ACTION_FAILED');
      return {
        result: 'failed',
        code: e.code,
        message: `${e.message} It exited with ${describeExit(st)}: ${a.command}`,
      };
    },

    async 'np-check'(t: CompiledHttpNp) {
      return await d.npProber.probe(t);
    },

    async witness(_a, report) {
      if (!d.witness) return { ok: false, detail: 'no witness is configured', peers: {} };
      if (report === null) return { ok: false, detail: 'no report to post yet', peers: {} };
      return await d.witness.exchange(report);
    },
  };
}
