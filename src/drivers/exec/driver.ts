/**
 * The `exec` group resource (issue 3, section 3 "Exec resource"): start and stop commands run by /bin/sh in
 * the config file's directory, each in its own process group, with TANDEM_EVENT, TANDEM_GROUP,
 * TANDEM_RESOURCE, TANDEM_SERVER, TANDEM_FAILOVER_FROM (when known) and the resource's `env`.
 *
 * Two flavours:
 * - plain: the start command's exit status is the result; `<resource>.active` records success and is what
 *   `monitor` (and the startup probe) reports. A stop runs the stop command when the resource was started or a
 *   start was attempted (`.starting` left over), so a half-done start gets cleaned up.
 * - `async: true`: the started process IS the resource. Start succeeds when it is still alive 100 ms after
 *   launch; its pid, group and start time go to `<resource>.pid`; stop runs the stop command (if any), then
 *   SIGTERMs the group, waits until the resource timeout is nearly used up, and SIGKILLs what is left.
 *
 * A hard stop (isolation deadline passed) kills without grace: SIGKILL to the async group, to the group of the
 * last start command (its background children) and to any command of this resource still running; the stop
 * command is not run. Stop is idempotent: a stopped resource stops successfully without running anything.
 * Whatever the executor's deadline: when `ctx.signal` aborts, the running command's group is killed
 * (SIGTERM, SIGKILL after 2 s) and the call throws EXEC_TIMEOUT.
 */
import { processStartTime, isGroupAlive, killGroup, bootId } from '../process/proc.ts';
import {
  describeExit,
  isShellSpawnStatus,
  KILL_GRACE_MS,
  runCommand,
  spawnGroup,
  SpawnFailure,
  type SpawnedGroup,
} from '../process/run-command.ts';
import { removeFile, runDirOf, writeFileAtomic } from '../process/run-dir.ts';
import { paramsFor } from '../driver.ts';
import type {
  DriverContext,
  DriverResult,
  ResourceCallEnv,
  ResourceDriver,
  TypeDescription,
} from '../driver.ts';
import type { MonitorResult, StartStopResult } from '../../core/types.ts';
import type { CompiledConfig, CompiledResource, ExecParams } from '../../shared/config/types.ts';
import type { ResourceError } from '../../shared/errors.ts';
import { driverError, messageOf } from '../messages.ts';
import { EXEC_MESSAGES } from './errors.ts';
import { EXEC_PARAMS, execParamsProblems, parseExecParams } from './params.ts';
import {
  activeFile,
  isRecordAlive,
  outputFile,
  pidFile,
  readAsyncRecord,
  readMarker,
  sameBoot,
  startingFile,
  type AsyncRecord,
  type MarkerRecord,
} from './state.ts';

/** An async resource must still be running this long after launch for its start to count. */
export const ASYNC_SETTLE_MS = 100;
/** Part of the timeout kept back for SIGKILL when stopping an async resource. */
const ASYNC_KILL_RESERVE_MS = 1_000;
const POLL_MS = 25;

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function commandEnv(resource: CompiledResource, env: ResourceCallEnv, ctx: DriverContext, p: ExecParams) {
  const out: Record<string, string> = {
    ...p.env,
    TANDEM_EVENT: env.event,
    TANDEM_GROUP: resource.group,
    TANDEM_RESOURCE: resource.name,
    TANDEM_SERVER: ctx.server,
    TANDEM_CLUSTER: ctx.config.cluster.name,
    TANDEM_FAILOVER_FROM: env.failoverFrom ?? '',
  };
  if (env.failoverFrom === null) delete out.TANDEM_FAILOVER_FROM;
  return out;
}

function ok<R extends StartStopResult | MonitorResult>(result: R): DriverResult<R> {
  return { result };
}

export class ExecDriver implements ResourceDriver {
  readonly type = 'exec';
  /** Commands of each resource still running in this daemon (for hard stop and stop-during-start). */
  readonly #running = new Map<string, Set<SpawnedGroup>>();
  /** Groups killed because a stop of their resource superseded them (so the start reports why). */
  readonly #superseded = new WeakSet<SpawnedGroup>();
  /** Async processes started by this driver instance and still running. */
  readonly #started = new Set<number>();
  /** Those of them being stopped (their exit is expected, not news). */
  readonly #stopping = new Set<number>();

  describe(): TypeDescription {
    return {
      type: 'exec',
      description:
        'Runs a start and a stop command (shell), or keeps a started process as the resource (async). Monitor it with a custom monitor, or with a pid monitor when async.',
      params: EXEC_PARAMS,
      minTimeoutMs: 1_000,
      messages: EXEC_MESSAGES,
    };
  }

  validate(resource: CompiledResource, config: CompiledConfig): string[] {
    const out = execParamsProblems(resource.params);
    for (const s of config.servers) {
      if (!resource.perServer[s.name]) continue;
      for (const p of execParamsProblems(paramsFor(resource, s.name))) out.push(`servers.${s.name}: ${p}`);
    }
    return out;
  }

  async start(
    resource: CompiledResource,
    env: ResourceCallEnv,
    ctx: DriverContext,
  ): Promise<DriverResult<StartStopResult>> {
    const p = parseExecParams(paramsFor(resource, ctx.server), resource.name);
    return p.async
      ? await this.#startAsync(resource, env, ctx, p)
      : await this.#startPlain(resource, env, ctx, p);
  }

  async stop(
    resource: CompiledResource,
    env: ResourceCallEnv,
    ctx: DriverContext,
  ): Promise<DriverResult<StartStopResult>> {
    const p = parseExecParams(paramsFor(resource, ctx.server), resource.name);
    if (env.hard === true) return this.#stopHard(resource, ctx);
    // A stop supersedes a start still running in this daemon.
    await Promise.all(
      [...(this.#running.get(resource.name) ?? [])].map((g) => {
        this.#superseded.add(g);
        return g.terminate(KILL_GRACE_MS);
      }),
    );
    return p.async
      ? await this.#stopAsync(resource, env, ctx, p)
      : await this.#stopPlain(resource, env, ctx, p);
  }

  monitor(resource: CompiledResource, ctx: DriverContext): Promise<DriverResult<MonitorResult>> {
    const p = parseExecParams(paramsFor(resource, ctx.server), resource.name);
    if (p.async) {
      const rec = readAsyncRecord(ctx.stateDir, resource.name);
      return Promise.resolve(ok(rec !== null && isRecordAlive(rec) ? 'running' : 'stopped'));
    }
    const m = readMarker(activeFile(ctx.stateDir, resource.name));
    return Promise.resolve(ok(m !== null && sameBoot(m.bootId) ? 'running' : 'stopped'));
  }

  // ---- plain -----------------------------------------------------------------------------------------

  async #startPlain(
    resource: CompiledResource,
    env: ResourceCallEnv,
    ctx: DriverContext,
    p: ExecParams,
  ): Promise<DriverResult<StartStopResult>> {
    const name = resource.name;
    this.#writeMarker(name, startingFile(ctx.stateDir, name), {
      bootId: bootId(),
      at: Date.now(),
      pgid: null,
    });
    const r = await this.#run(resource, 'start', p.start, env, ctx, p);
    if (r.kind === 'aborted') throw this.#timeout(name, 'start', p.start, r.pid);
    if (isShellSpawnStatus(r.status)) throw this.#shellSpawn(name, p.start, r.status);
    if (r.status !== 0) {
      const e = messageOf(EXEC_MESSAGES, 'EXEC_START_FAILED');
      const how = r.superseded ? `It was killed by a stop of ${name}` : `It exited with ${describeExit(r)}`;
      return { result: 'failed', code: e.code, message: `${e.message} ${how}: ${p.start}` };
    }
    this.#writeMarker(name, activeFile(ctx.stateDir, name), {
      bootId: bootId(),
      at: Date.now(),
      pgid: r.pid,
    });
    removeFile(startingFile(ctx.stateDir, name));
    return ok('ok');
  }

  async #stopPlain(
    resource: CompiledResource,
    env: ResourceCallEnv,
    ctx: DriverContext,
    p: ExecParams,
  ): Promise<DriverResult<StartStopResult>> {
    const name = resource.name;
    const active = readMarker(activeFile(ctx.stateDir, name));
    const starting = readMarker(startingFile(ctx.stateDir, name));
    const wasStarted = [active, starting].some((m) => m !== null && sameBoot(m.bootId));
    if (!wasStarted) {
      // Never started during this boot (or already stopped): nothing to do. Stale markers go.
      this.#clearMarkers(ctx, name);
      return ok('ok');
    }
    if (p.stop !== null) {
      const r = await this.#run(resource, 'stop', p.stop, env, ctx, p);
      if (r.kind === 'aborted') throw this.#timeout(name, 'stop', p.stop, r.pid);
      if (isShellSpawnStatus(r.status)) throw this.#shellSpawn(name, p.stop, r.status);
      if (r.status !== 0) {
        const e = messageOf(EXEC_MESSAGES, 'EXEC_STOP_FAILED');
        return {
          result: 'failed',
          code: e.code,
          message: `${e.message} It exited with ${describeExit(r)}: ${p.stop}`,
        };
      }
    }
    this.#clearMarkers(ctx, name);
    return ok('ok');
  }

  // ---- async -----------------------------------------------------------------------------------------

  async #startAsync(
    resource: CompiledResource,
    env: ResourceCallEnv,
    ctx: DriverContext,
    p: ExecParams,
  ): Promise<DriverResult<StartStopResult>> {
    const name = resource.name;
    const prev = readAsyncRecord(ctx.stateDir, name);
    if (prev !== null && isRecordAlive(prev)) {
      ctx.log('info', `process ${prev.pid} of ${name} is already running; not starting another`, {
        pid: prev.pid,
      });
      return ok('ok');
    }
    removeFile(pidFile(ctx.stateDir, name));
    const out = outputFile(ctx.stateDir, name);
    const g = await this.#spawn(name, p.start, {
      command: p.start,
      cwd: p.cwd,
      env: commandEnv(resource, env, ctx, p),
      output: { kind: 'file', path: out },
      runDir: runDirOf(ctx.stateDir),
    });
    const rec: AsyncRecord = {
      pid: g.pid,
      pgid: g.pid,
      startTime: processStartTime(g.pid),
      bootId: bootId(),
      command: p.start,
      startedAt: Date.now(),
    };
    try {
      writeFileAtomic(pidFile(ctx.stateDir, name), JSON.stringify(rec) + '\n');
    } catch (err) {
      await g.terminate(0);
      throw driverError(
        EXEC_MESSAGES,
        'EXEC_STATE_WRITE_FAILED',
        name,
        `Could not write ${pidFile(ctx.stateDir, name)}.`,
        {
          cause: err,
        },
      );
    }
    ctx.log('info', `started process ${g.pid} of ${name}; its output goes to ${out}`, { pid: g.pid });
    const settled = await this.#settle(g, ctx.signal);
    if (settled === 'aborted') {
      await g.terminate(KILL_GRACE_MS);
      removeFile(pidFile(ctx.stateDir, name));
      throw this.#timeout(name, 'start', p.start, g.pid);
    }
    if (settled === 'exited') {
      removeFile(pidFile(ctx.stateDir, name));
      const st = g.exitStatus();
      const e = messageOf(EXEC_MESSAGES, 'EXEC_ASYNC_EXITED');
      if (st && isShellSpawnStatus(st.status)) throw this.#shellSpawn(name, p.start, st.status);
      return {
        result: 'failed',
        code: e.code,
        message: `${e.message} It exited with ${st ? describeExit(st) : 'an unknown status'} within ${ASYNC_SETTLE_MS} ms: ${p.start} (output in ${out})`,
      };
    }
    g.detach();
    this.#started.add(g.pid);
    void g.exited.then((st) => {
      // Only news while this daemon runs; after a restart the pid monitor finds out through /proc.
      this.#started.delete(g.pid);
      const expected = this.#stopping.delete(g.pid);
      const how = expected ? 'ended after a stop' : 'exited';
      ctx.log(expected ? 'info' : 'warn', `process ${g.pid} of ${name} ${how} with ${describeExit(st)}`, {
        pid: g.pid,
      });
    });
    return ok('ok');
  }

  /** Wait ASYNC_SETTLE_MS: did the process survive, exit, or were we aborted? */
  async #settle(g: SpawnedGroup, signal: AbortSignal): Promise<'alive' | 'exited' | 'aborted'> {
    if (signal.aborted) return 'aborted';
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    try {
      return await Promise.race([
        g.exited.then(() => 'exited' as const),
        new Promise<'alive'>((r) => (timer = setTimeout(() => r('alive'), ASYNC_SETTLE_MS))),
        new Promise<'aborted'>((r) => {
          onAbort = () => r('aborted');
          signal.addEventListener('abort', onAbort, { once: true });
        }),
      ]);
    } finally {
      clearTimeout(timer);
      if (onAbort) signal.removeEventListener('abort', onAbort);
    }
  }

  async #stopAsync(
    resource: CompiledResource,
    env: ResourceCallEnv,
    ctx: DriverContext,
    p: ExecParams,
  ): Promise<DriverResult<StartStopResult>> {
    const name = resource.name;
    const began = Date.now();
    const rec = readAsyncRecord(ctx.stateDir, name);
    if (rec === null || !sameBoot(rec.bootId)) {
      removeFile(pidFile(ctx.stateDir, name));
      return ok('ok');
    }
    if (p.stop !== null) {
      const r = await this.#run(resource, 'stop', p.stop, env, ctx, p);
      if (r.kind === 'aborted') {
        killGroup(rec.pgid, 'SIGKILL');
        throw this.#timeout(name, 'stop', p.stop, r.pid);
      }
      if (r.status !== 0) {
        // The process is terminated below either way; what counts is whether it is gone.
        ctx.log(
          'warn',
          `stop command of ${name} exited with ${describeExit(r)}; terminating the process anyway`,
          {
            command: 'stop',
          },
        );
      }
    }
    // The leader may be gone while members of its group live on; Linux never reuses a pid that is still a
    // live group's id, so a live group with this id in this boot is ours.
    if (isGroupAlive(rec.pgid)) {
      if (this.#started.has(rec.pid)) this.#stopping.add(rec.pid);
      killGroup(rec.pgid, 'SIGTERM');
      const killAt = began + Math.max(0, resource.timeoutMs - ASYNC_KILL_RESERVE_MS);
      while (isGroupAlive(rec.pgid) && Date.now() < killAt && !ctx.signal.aborted) await delay(POLL_MS);
      if (isGroupAlive(rec.pgid)) {
        ctx.log('warn', `process group ${rec.pgid} of ${name} did not stop on SIGTERM; sending SIGKILL`, {
          pgid: rec.pgid,
        });
        killGroup(rec.pgid, 'SIGKILL');
        const until = Date.now() + ASYNC_KILL_RESERVE_MS;
        while (isGroupAlive(rec.pgid) && Date.now() < until) await delay(POLL_MS);
      }
      if (isGroupAlive(rec.pgid)) {
        throw driverError(
          EXEC_MESSAGES,
          'EXEC_ASYNC_STOP_FAILED',
          name,
          `Process group ${rec.pgid} survived SIGKILL.`,
        );
      }
    }
    removeFile(pidFile(ctx.stateDir, name));
    return ok('ok');
  }

  // ---- hard stop -------------------------------------------------------------------------------------

  async #stopHard(resource: CompiledResource, ctx: DriverContext): Promise<DriverResult<StartStopResult>> {
    const name = resource.name;
    const groups = new Set<number>();
    for (const g of this.#running.get(name) ?? []) {
      this.#superseded.add(g);
      groups.add(g.pid);
    }
    const rec = readAsyncRecord(ctx.stateDir, name);
    if (rec !== null && sameBoot(rec.bootId)) {
      groups.add(rec.pgid);
      if (this.#started.has(rec.pid)) this.#stopping.add(rec.pid);
    }
    const marker: MarkerRecord | null = readMarker(activeFile(ctx.stateDir, name));
    if (marker?.pgid != null && sameBoot(marker.bootId)) groups.add(marker.pgid);
    for (const pgid of groups) if (isGroupAlive(pgid)) killGroup(pgid, 'SIGKILL');
    ctx.log('warn', `hard stop of ${name}: killed process groups ${[...groups].join(', ') || '(none)'}`, {
      hard: true,
    });
    await Promise.all([...(this.#running.get(name) ?? [])].map((g) => g.terminate(0)));
    removeFile(pidFile(ctx.stateDir, name));
    this.#clearMarkers(ctx, name);
    return ok('ok');
  }

  // ---- helpers ---------------------------------------------------------------------------------------

  async #spawn(name: string, command: string, spec: Parameters<typeof spawnGroup>[0]): Promise<SpawnedGroup> {
    try {
      return await spawnGroup(spec);
    } catch (err) {
      throw spawnError(err, name, command);
    }
  }

  async #run(
    resource: CompiledResource,
    which: 'start' | 'stop',
    command: string,
    env: ResourceCallEnv,
    ctx: DriverContext,
    p: ExecParams,
  ) {
    const name = resource.name;
    const set = this.#running.get(name) ?? new Set<SpawnedGroup>();
    this.#running.set(name, set);
    let mine: SpawnedGroup | null = null;
    try {
      const r = await runCommand({
        command,
        cwd: p.cwd,
        env: commandEnv(resource, env, ctx, p),
        output: { kind: 'log', log: ctx.log, fields: { command: which } },
        runDir: runDirOf(ctx.stateDir),
        signal: ctx.signal,
        onSpawn: (g) => {
          mine = g;
          set.add(g);
        },
      });
      return { ...r, superseded: mine !== null && this.#superseded.has(mine) };
    } catch (err) {
      throw spawnError(err, name, command);
    } finally {
      if (mine) set.delete(mine);
      if (set.size === 0) this.#running.delete(name);
    }
  }

  #timeout(name: string, which: 'start' | 'stop', command: string, pgid: number): ResourceError {
    return driverError(
      EXEC_MESSAGES,
      'EXEC_TIMEOUT',
      name,
      `The ${which} command was ${command} (process group ${pgid}).`,
    );
  }

  #shellSpawn(name: string, command: string, status: number | null): ResourceError {
    const why = status === 127 ? 'command not found' : 'not executable';
    return driverError(
      EXEC_MESSAGES,
      'EXEC_SPAWN_FAILED',
      name,
      `/bin/sh exited with status ${status} (${why}): ${command}`,
      {
        notInstalled: true,
      },
    );
  }

  #writeMarker(name: string, file: string, m: MarkerRecord): void {
    try {
      writeFileAtomic(file, JSON.stringify(m) + '\n');
    } catch (err) {
      throw driverError(EXEC_MESSAGES, 'EXEC_STATE_WRITE_FAILED', name, `Could not write ${file}.`, {
        cause: err,
      });
    }
  }

  #clearMarkers(ctx: DriverContext, name: string): void {
    removeFile(activeFile(ctx.stateDir, name));
    removeFile(startingFile(ctx.stateDir, name));
  }
}

function capital(s: string): string {
  return s.length > 0 ? s[0]!.toUpperCase() + s.slice(1) : s;
}

/** A command that could not be spawned means "not installed" (EXEC_SPAWN_FAILED); anything else passes through. */
function spawnError(err: unknown, name: string, command: string): unknown {
  if (!(err instanceof SpawnFailure)) return err;
  return driverError(
    EXEC_MESSAGES,
    'EXEC_SPAWN_FAILED',
    name,
    `${capital(err.message)} (command: ${command}).`,
    {
      cause: err,
      notInstalled: true,
    },
  );
}
