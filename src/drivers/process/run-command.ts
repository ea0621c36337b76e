/**
 * Running operator commands for drivers and the daemon (issue 3, section 3): exec resource start/stop
 * commands, custom monitor commands, recovery scripts and OS actions all run here as `/bin/sh -c COMMAND`.
 *
 * Every child is the leader of its own process group (spawned detached), so that
 * - killing it on timeout or abort reaches everything it started (SIGTERM to the group, SIGKILL after a
 *   grace period if anything is still alive, or SIGKILL at once for a hard stop), and
 * - a signal aimed at the daemon's own process group does not reach resources, and vice versa.
 * Each group is recorded in `<stateDir>/run/pgids` (see run-dir.ts) so that a test harness or demo that
 * simulates a machine crash can kill resources too.
 *
 * Output goes line by line to the caller's log function, or, for processes that must outlive the daemon
 * (async exec resources), to a file: a pipe would break when the daemon restarts and the process would die
 * of SIGPIPE on its next write.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants, mkdirSync, openSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import type { DriverContext } from '../driver.ts';
import { isGroupAlive, killGroup } from './proc.ts';
import { recordPgid } from './run-dir.ts';

export type LogFn = DriverContext['log'];

/** Grace between SIGTERM and SIGKILL when a command is aborted (issue 3: "SIGKILL after 2 s"). */
export const KILL_GRACE_MS = 2_000;
/** After the shell exits, how long we wait for the rest of its output before reporting. */
const OUTPUT_DRAIN_MS = 100;
const GROUP_POLL_MS = 25;
/** How long we wait for a SIGKILLed group to disappear before giving up on it. */
const KILL_SETTLE_MS = 1_000;
const MAX_LINE = 8_192;

export interface SpawnSpec {
  command: string;
  cwd: string;
  /** Added to the daemon's environment. */
  env: Record<string, string>;
  output: { kind: 'log'; log: LogFn; fields: Record<string, unknown> } | { kind: 'file'; path: string };
  /** Directory whose `pgids` file records the new group; null = do not record. */
  runDir: string | null;
}

export interface ExitStatus {
  /** Exit status, or null when killed by a signal. */
  status: number | null;
  signal: NodeJS.Signals | null;
}

/** Why a command could not be started at all; the drivers map this to their "could not spawn" code. */
export class SpawnFailure extends Error {
  readonly path: string;
  readonly reason: 'not-found' | 'not-executable' | 'cwd-missing' | 'spawn-error';
  constructor(reason: SpawnFailure['reason'], path: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SpawnFailure';
    this.reason = reason;
    this.path = path;
  }
}

/** A running process group. */
export interface SpawnedGroup {
  /** Pid of the shell; also the process group id. */
  readonly pid: number;
  /** Resolves when the shell has exited and its output has been read (bounded wait). */
  readonly exited: Promise<ExitStatus>;
  /** The exit status once known, else null. */
  exitStatus(): ExitStatus | null;
  /**
   * Kill the whole group: SIGTERM, then SIGKILL once `graceMs` passed with anything still alive (0 = SIGKILL
   * at once). Resolves when the group is gone (or SIGKILL was sent) and the shell has exited.
   */
  terminate(graceMs: number): Promise<void>;
  /** Let the daemon exit without waiting for this process (async resources). */
  detach(): void;
}

const SHELL_WORD = /^[A-Za-z0-9_./+\-@%:,]+$/;

/**
 * Check what we can before spawning, for a precise message: the working directory, and the program when the
 * command's first word is a path (`./start.sh`, `/opt/app/bin/ctl`). Throws SpawnFailure.
 */
export function precheckCommand(command: string, cwd: string): void {
  try {
    if (!statSync(cwd).isDirectory()) throw new Error('not a directory');
  } catch (err) {
    throw new SpawnFailure(
      'cwd-missing',
      cwd,
      `working directory ${cwd} does not exist or is not a directory`,
      {
        cause: err,
      },
    );
  }
  const first = command.trim().split(/\s+/)[0] ?? '';
  if (!first.includes('/') || !SHELL_WORD.test(first)) return;
  const path = isAbsolute(first) ? first : resolve(cwd, first);
  let isFile: boolean;
  try {
    isFile = statSync(path).isFile();
  } catch (err) {
    throw new SpawnFailure('not-found', path, `${path} does not exist`, { cause: err });
  }
  if (!isFile) throw new SpawnFailure('not-executable', path, `${path} is not a regular file`);
  try {
    accessSync(path, constants.X_OK);
  } catch (err) {
    throw new SpawnFailure('not-executable', path, `${path} is not executable`, { cause: err });
  }
}

function pipeLines(stream: Readable | null, log: LogFn, fields: Record<string, unknown>, name: string): void {
  if (!stream) return;
  let buf = '';
  const emit = (line: string): void => {
    const text = line.length > MAX_LINE ? `${line.slice(0, MAX_LINE)}...` : line;
    log(name === 'stderr' ? 'warn' : 'info', text, { ...fields, stream: name });
  };
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      emit(buf.slice(0, nl).replace(/\r$/, ''));
      buf = buf.slice(nl + 1);
    }
    if (buf.length > MAX_LINE) {
      emit(buf);
      buf = '';
    }
  });
  stream.on('end', () => {
    if (buf.length > 0) emit(buf);
    buf = '';
  });
  stream.on('error', () => undefined);
}

/** Child pipes are net.Sockets at run time, which can be unref'd; the declared type is a plain Readable. */
function unrefStream(s: object | null): void {
  const u = (s as { unref?: unknown } | null)?.unref;
  if (typeof u === 'function') (u as () => void).call(s);
}

/** Spawn `/bin/sh -c command` as the leader of a new process group. Rejects with SpawnFailure. */
export async function spawnGroup(spec: SpawnSpec): Promise<SpawnedGroup> {
  precheckCommand(spec.command, spec.cwd);
  let fd: number | null = null;
  if (spec.output.kind === 'file') {
    mkdirSync(spec.output.path.slice(0, spec.output.path.lastIndexOf('/')) || '.', { recursive: true });
    fd = openSync(spec.output.path, 'a', 0o644);
  }
  let child: ChildProcess;
  try {
    child = spawn('/bin/sh', ['-c', spec.command], {
      cwd: spec.cwd,
      env: { ...inheritedEnv(), ...spec.env },
      detached: true,
      stdio: fd === null ? ['ignore', 'pipe', 'pipe'] : ['ignore', fd, fd],
    });
  } catch (err) {
    if (fd !== null) closeSync(fd);
    throw new SpawnFailure('spawn-error', '/bin/sh', `could not start /bin/sh: ${(err as Error).message}`, {
      cause: err,
    });
  }
  try {
    await new Promise<void>((res, rej) => {
      child.once('spawn', res);
      child.once('error', rej);
    });
  } catch (err) {
    throw new SpawnFailure('spawn-error', '/bin/sh', `could not start /bin/sh: ${(err as Error).message}`, {
      cause: err,
    });
  } finally {
    if (fd !== null) closeSync(fd);
  }
  // ChildProcess emits 'error' later too (e.g. a failed kill); without a listener that would crash the daemon.
  child.on('error', () => undefined);
  const pid = child.pid;
  if (pid === undefined) throw new SpawnFailure('spawn-error', '/bin/sh', 'could not start /bin/sh: no pid');
  if (spec.runDir !== null) {
    try {
      recordPgid(spec.runDir, pid);
    } catch {
      // Recording is for crash simulation only; a failure must not fail the resource.
    }
  }
  if (spec.output.kind === 'log') {
    pipeLines(child.stdout, spec.output.log, spec.output.fields, 'stdout');
    pipeLines(child.stderr, spec.output.log, spec.output.fields, 'stderr');
  }
  let status: ExitStatus | null = null;
  const exited = new Promise<ExitStatus>((res) => {
    let drain: NodeJS.Timeout | null = null;
    const finish = (): void => {
      if (drain) clearTimeout(drain);
      drain = null;
      // Background processes of the group may still hold the pipes: keep logging what they write, but
      // do not let the pipes keep the daemon alive.
      unrefStream(child.stdout);
      unrefStream(child.stderr);
      res(status!);
    };
    child.once('exit', (code, sig) => {
      status = { status: code, signal: sig };
      if (spec.output.kind !== 'log') return finish();
      drain = setTimeout(finish, OUTPUT_DRAIN_MS);
    });
    child.once('close', () => {
      if (status !== null) finish();
    });
  });
  let terminating: Promise<void> | null = null;
  const poll = (): Promise<void> => new Promise((r) => setTimeout(r, GROUP_POLL_MS));
  const terminate = (graceMs: number): Promise<void> => {
    // A hard kill arriving while a graceful one waits out its grace period takes effect at once.
    if (graceMs <= 0) killGroup(pid, 'SIGKILL');
    terminating ??= (async () => {
      if (graceMs > 0 && killGroup(pid, 'SIGTERM')) {
        const until = Date.now() + graceMs;
        while (isGroupAlive(pid) && Date.now() < until) await poll();
        if (isGroupAlive(pid)) killGroup(pid, 'SIGKILL');
      }
      // SIGKILL is delivered asynchronously: wait (bounded) until nothing of the group runs any more.
      const until = Date.now() + KILL_SETTLE_MS;
      while (isGroupAlive(pid) && Date.now() < until) await poll();
      await exited;
    })();
    return terminating;
  };
  return {
    pid,
    exited,
    exitStatus: () => status,
    terminate,
    detach: () => {
      child.unref();
      unrefStream(child.stdout);
      unrefStream(child.stderr);
    },
  };
}

export type CommandOutcome =
  | { kind: 'exited'; pid: number; status: number | null; signal: NodeJS.Signals | null }
  /** `signal` was aborted; the group was killed. */
  | { kind: 'aborted'; pid: number };

/**
 * Run a command to completion. When `signal` aborts, kill its group (grace from `graceMs()` at that moment, so
 * a hard stop arriving meanwhile can shorten it) and resolve `aborted` once it is gone. Rejects with
 * SpawnFailure when it cannot start. `onSpawn` sees the group id (for hard-stop bookkeeping).
 */
export async function runCommand(
  spec: SpawnSpec & { signal: AbortSignal; graceMs?: () => number; onSpawn?: (g: SpawnedGroup) => void },
): Promise<CommandOutcome> {
  if (spec.signal.aborted) throw spec.signal.reason;
  const g = await spawnGroup(spec);
  spec.onSpawn?.(g);
  const onAbort = (): void => void g.terminate(spec.graceMs ? spec.graceMs() : KILL_GRACE_MS);
  if (spec.signal.aborted) onAbort();
  else spec.signal.addEventListener('abort', onAbort, { once: true });
  try {
    const st = await g.exited;
    if (spec.signal.aborted) {
      await g.terminate(spec.graceMs ? spec.graceMs() : KILL_GRACE_MS);
      return { kind: 'aborted', pid: g.pid };
    }
    return { kind: 'exited', pid: g.pid, status: st.status, signal: st.signal };
  } finally {
    spec.signal.removeEventListener('abort', onAbort);
  }
}

/** `status 3`, `signal SIGTERM`. */
export function describeExit(st: { status: number | null; signal: NodeJS.Signals | null }): string {
  return st.status !== null ? `status ${st.status}` : `signal ${st.signal ?? 'unknown'}`;
}

/** Shell exit statuses that mean the program could not be run (126 not executable, 127 not found). */
export function isShellSpawnStatus(status: number | null): boolean {
  return status === 126 || status === 127;
}

/**
 * The daemon's environment minus its own `TANDEM_*` variables: a script must only ever see the `TANDEM_*`
 * values of its own call (a stale `TANDEM_FAILOVER_FROM` or the daemon's `TANDEM_CONFIG` would mislead it).
 */
function inheritedEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('TANDEM_')) env[k] = v;
  return env;
}
