/**
 * The `md` resource type (issue 5 section 1; the seed's mirror disk resource): this server's copy of the
 * volume (opened by the daemon at startup, src/daemon/mirror-host.ts) is activated and served over NBD.
 *
 * start:
 * 1. `volume.promote({ force: false })`: the engine refuses a copy that is not the latest, a split brain
 *    or a peer that is active; each refusal becomes a code of this type's table with the engine's reason
 *    and remedy. A copy that was opened without its peer (its freshness is unknown) or is still blank
 *    (`initialSync: full`, never connected) cannot be known to be the latest on its own: the start then
 *    waits a little for the mirror connect (bounded by `connectTimeout` and half the call's budget), so the
 *    first activation after the two daemons start does not fail on a race with the peer's daemon;
 * 2. serve it with the NBD server on the configured endpoint, by default the unix socket
 *    `<stateDir>/nbd/<name>.sock` (directory 0700). The export is looked up per client connection and is
 *    refused as soon as the copy is no longer primary;
 * 3. with `mount`: `nbd-client` attaches the export to `/dev/nbdN`, then `mount`.
 * A failure after step 1 undoes the earlier steps, so a failed start leaves the copy deactivated.
 *
 * stop (idempotent) undoes them in reverse order: unmount (refused while busy, naming the processes from
 * `fuser -vm`), `nbd-client -d`, close the NBD server (in-flight requests are answered first), demote. A
 * hard stop (isolation deadline) demotes first, so every request still in flight fails at once, unmounts
 * lazily and does not wait for the NBD connections.
 *
 * monitor (the startup probe, "is it active HERE?"): `running` while this driver serves the copy and the
 * copy is primary; else `stopped` (a restarted daemon reopens every copy as secondary and serves nothing).
 */
import { chmod, mkdir } from 'node:fs/promises';
import type { MonitorResult, StartStopResult } from '../../core/types.ts';
import type { MirrorHost } from '../../mirror/host.ts';
import { JUST_CREATED } from '../../mirror/core/generations.ts';
import { MirrorRefusedError, type MirrorVolume } from '../../mirror/volume.ts';
import { createNbdServer, type NbdListen, type NbdServer } from '../../nbd/server.ts';
import type { BlockBackend } from '../../nbd/types.ts';
import type { CompiledConfig, CompiledResource, MdParams } from '../../shared/config/types.ts';
import type { ResourceError } from '../../shared/errors.ts';
import { paramsFor } from '../driver.ts';
import type {
  DriverContext,
  DriverResult,
  ResourceCallEnv,
  ResourceDriver,
  TypeDescription,
} from '../driver.ts';
import { driverError } from '../messages.ts';
import {
  commandLine,
  fuserSummary,
  isBusy,
  isNotMounted,
  mountArgs,
  nbdClientAttachArgs,
  systemMd,
  type MdSystem,
  type RunResult,
} from './attach.ts';
import { clearRefusal, recordRefusal } from './activation.ts';
import { MD_MESSAGES, type MdMessageId } from './errors.ts';
import { MD_PARAMS, mdParamsProblems, nbdListenFor, nbdSocketDir, parseMdParams } from './params.ts';

const ok = <R extends StartStopResult | MonitorResult>(result: R): DriverResult<R> => ({ result });
const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The engine's refusal codes, as codes of the md table. */
const REFUSAL_IDS: Readonly<Record<string, MdMessageId>> = {
  MD_NOT_UP_TO_DATE: 'MD_COPY_NOT_LATEST',
  MD_PEER_UNKNOWN: 'MD_COPY_NOT_LATEST',
  MD_PEER_NEWER: 'MD_COPY_NOT_LATEST',
  MD_RESYNC_TARGET: 'MD_COPY_NOT_LATEST',
  MD_SPLIT_BRAIN: 'MD_SPLIT_BRAIN',
  MD_TWO_PRIMARIES: 'MD_PEER_ACTIVE',
  MD_DISK_FAILED: 'MD_DISK_FAILED',
};

/** Poll interval while a blank copy waits for the mirror connect before its first activation. */
const LINK_POLL_MS = 50;

export interface MdDriverOptions {
  /** The programs of `mount` (nbd-client, mount, umount, fuser); default the real ones. */
  system?: MdSystem;
}

/** What this driver serves for one resource. */
interface Served {
  readonly volume: MirrorVolume;
  readonly nbd: NbdServer;
  /** The device nbd-client attached, when `mount` is configured and the attach succeeded. */
  attached: string | null;
  mounted: boolean;
}

export class MdDriver implements ResourceDriver {
  readonly type = 'md';
  readonly #system: MdSystem;
  /** One entry per resource this daemon serves (one driver instance per daemon). */
  readonly #served = new Map<string, Served>();
  /** Start and stop of one resource never overlap (a hard stop does not wait). */
  readonly #chains = new Map<string, Promise<unknown>>();

  constructor(opts: MdDriverOptions = {}) {
    this.#system = opts.system ?? systemMd();
  }

  describe(): TypeDescription {
    return {
      type: 'md',
      description:
        "Mirror disk: activates this server's copy of a volume replicated to the peer over the mirror connect, serves it over NBD and optionally attaches and mounts it.",
      params: MD_PARAMS,
      minTimeoutMs: 10_000,
      messages: MD_MESSAGES,
    };
  }

  validate(resource: CompiledResource, config: CompiledConfig): string[] {
    const out: string[] = [];
    for (const s of config.servers) {
      const merged = paramsFor(resource, s.name);
      if (typeof merged['peer'] !== 'string') continue;
      for (const p of mdParamsProblems(merged)) out.push(`servers.${s.name}: ${p}`);
    }
    return out;
  }

  start(
    resource: CompiledResource,
    _env: ResourceCallEnv,
    ctx: DriverContext,
  ): Promise<DriverResult<StartStopResult>> {
    return this.#serialized(resource.name, () => this.#start(resource, ctx));
  }

  stop(
    resource: CompiledResource,
    env: ResourceCallEnv,
    ctx: DriverContext,
  ): Promise<DriverResult<StartStopResult>> {
    if (env.hard === true) return this.#stopHard(resource, ctx);
    return this.#serialized(resource.name, () => this.#stop(resource, ctx));
  }

  monitor(resource: CompiledResource, ctx: DriverContext): Promise<DriverResult<MonitorResult>> {
    const s = this.#served.get(resource.name);
    const v = ctx.mirror?.volume(resource.name) ?? null;
    const serving = s !== undefined && v !== null && s.volume === v && v.status().role === 'primary';
    return Promise.resolve(ok(serving ? 'running' : 'stopped'));
  }

  // ---- start ---------------------------------------------------------------------------------------------

  async #start(resource: CompiledResource, ctx: DriverContext): Promise<DriverResult<StartStopResult>> {
    const name = resource.name;
    const p = this.#params(resource, ctx);
    const volume = localVolume(ctx.mirror ?? null, name, ctx.server);
    const current = this.#served.get(name);
    if (current !== undefined && current.volume === volume && volume.status().role === 'primary') {
      ctx.log('info', `${name} is already active and served on ${current.nbd.address}`);
      return ok('ok');
    }
    if (current !== undefined) await this.#teardown(name, current, p, ctx, false);

    const backend = await this.#promote(name, volume, p, ctx);
    const listen = nbdListenFor(p.nbd, ctx.stateDir, name);
    let nbd: NbdServer;
    try {
      if (p.nbd === null) await privateDir(nbdSocketDir(ctx.stateDir));
      nbd = await createNbdServer({
        exportName: name,
        // Looked up per client: a copy demoted behind our back (it never is, but) refuses new clients.
        backend: () => (volume.status().role === 'primary' ? backend : null),
        listen,
        log: (level, msg, fields) => {
          if (level !== 'debug') ctx.log(level, msg, fields);
        },
      });
    } catch (err) {
      await volume.demote().catch(() => undefined);
      throw driverError(MD_MESSAGES, 'MD_NBD_FAILED', name, errorText(err, listenText(listen)), {
        cause: err,
      });
    }
    const served: Served = { volume, nbd, attached: null, mounted: false };
    this.#served.set(name, served);
    ctx.log('info', `${name} is active on ${ctx.server} and served over NBD on ${nbd.address}`, {
      nbd: nbd.address,
      mode: p.mode,
    });
    if (p.mount !== null) {
      try {
        await this.#attachAndMount(name, served, listen, p.mount, ctx);
      } catch (err) {
        await this.#teardown(name, served, p, ctx, false).catch((e: unknown) =>
          ctx.log('error', `undoing the failed start of ${name} failed too: ${errorText(e, '')}`),
        );
        throw err;
      }
    }
    return ok('ok');
  }

  /**
   * Promote; refusals become codes. A copy whose freshness is unknown (opened without its peer) or that is
   * still blank waits for the mirror connect first, at most `connectTimeout` and half the call's budget:
   * both peers' daemons usually start together, and activating before they compared generations would
   * either be refused or risk activating a stale copy.
   */
  async #promote(name: string, v: MirrorVolume, p: MdParams, ctx: DriverContext): Promise<BlockBackend> {
    const budgetMs = ctx.timeoutMs ?? 60_000;
    const waitMs = Math.min(p.connectTimeoutMs, Math.floor(budgetMs / 2));
    const waitUntil = Date.now() + waitMs;
    // The engine waits for the peer of a Consistent copy; a blank one (initialSync: full) waits here, by
    // looking rather than by promoting (each refused promote is logged).
    const blank = (): boolean => {
      const s = v.status();
      return s.connection.kind === 'Disconnected' && s.generations.current === JUST_CREATED;
    };
    while (blank() && Date.now() < waitUntil && !ctx.signal.aborted) await delay(LINK_POLL_MS);
    try {
      // `tandem md force NAME` on this server allows one forced activation (the operator's decision).
      const force = ctx.mirror?.takeForce(name) ?? false;
      if (force) ctx.log('warn', `activating ${name} by force (tandem md force): the copy may lack writes`);
      const b = await v.promote({ force, waitForPeerMs: force ? 0 : Math.max(0, waitUntil - Date.now()) });
      clearRefusal(v);
      return b;
    } catch (err) {
      if (!(err instanceof MirrorRefusedError)) throw err;
      recordRefusal(v, { code: err.code, message: err.message, remedy: err.remedy });
      const id = REFUSAL_IDS[err.code] ?? 'MD_ACTIVATION_REFUSED';
      const peer = p.peer ?? 'the peer';
      throw driverError(
        MD_MESSAGES,
        id,
        name,
        `${err.message} on ${ctx.server} [${err.code}]; peer ${peer}: ${describePeer(v)}. Remedy: ${err.remedy}`,
        { cause: err },
      );
    }
  }

  async #attachAndMount(
    name: string,
    served: Served,
    listen: NbdListen,
    m: NonNullable<MdParams['mount']>,
    ctx: DriverContext,
  ): Promise<void> {
    const attach = nbdClientAttachArgs(listen, m.device, name);
    await this.#must(name, 'MD_NBD_CLIENT_FAILED', 'nbd-client', attach, ctx);
    served.attached = m.device;
    const margs = mountArgs(m);
    await this.#must(name, 'MD_MOUNT_FAILED', 'mount', margs, ctx);
    served.mounted = true;
    ctx.log('info', `${m.device} is mounted on ${m.path} (${m.fsType})`);
  }

  // ---- stop ----------------------------------------------------------------------------------------------

  async #stop(resource: CompiledResource, ctx: DriverContext): Promise<DriverResult<StartStopResult>> {
    const name = resource.name;
    const p = this.#params(resource, ctx);
    const served = this.#served.get(name);
    if (served !== undefined) {
      await this.#teardown(name, served, p, ctx, false);
      ctx.log('info', `${name} is deactivated on ${ctx.server}`);
      return ok('ok');
    }
    // Nothing served by this daemon: a mount left by a previous daemon goes, and the copy is demoted.
    if (p.mount !== null && (await this.#system.isMounted(p.mount.path))) {
      await this.#unmount(name, p.mount.path, ctx, false);
      await this.#detach(name, p.mount.device, ctx, false);
    }
    const v = ctx.mirror?.volume(name) ?? null;
    if (v !== null && v.status().role === 'primary') await demote(name, v);
    return ok('ok');
  }

  async #stopHard(resource: CompiledResource, ctx: DriverContext): Promise<DriverResult<StartStopResult>> {
    const name = resource.name;
    const served = this.#served.get(name);
    const v = served?.volume ?? ctx.mirror?.volume(name) ?? null;
    // Demote first: every request still in flight fails at once and nothing more is written here.
    if (v !== null && v.status().role === 'primary') {
      await v
        .demote()
        .catch((err: unknown) =>
          ctx.log('error', `hard stop: demoting ${name} failed: ${errorText(err, '')}`),
        );
    }
    const mount = safeMount(resource, ctx.server);
    if (mount !== null && (served?.mounted ?? (await this.#system.isMounted(mount.path)))) {
      await this.#unmount(name, mount.path, ctx, true).catch((err: unknown) =>
        ctx.log('warn', `hard stop: ${errorText(err, '')}`),
      );
      await this.#detach(name, mount.device, ctx, true).catch((err: unknown) =>
        ctx.log('warn', `hard stop: ${errorText(err, '')}`),
      );
    }
    if (served !== undefined) {
      this.#served.delete(name);
      // Not awaited: a client that does not read its replies must not hold the hard stop.
      void served.nbd.close().catch(() => undefined);
    }
    ctx.log('warn', `hard stop: ${name} is deactivated on ${ctx.server}`);
    return ok('ok');
  }

  /** Undo a start in reverse order; the entry is dropped once the NBD server is closed. */
  async #teardown(name: string, s: Served, p: MdParams, ctx: DriverContext, lazy: boolean): Promise<void> {
    const mount = p.mount;
    if (s.mounted && mount !== null) {
      await this.#unmount(name, mount.path, ctx, lazy);
      s.mounted = false;
    }
    if (s.attached !== null) {
      await this.#detach(name, s.attached, ctx, false);
      s.attached = null;
    }
    await s.nbd.close();
    this.#served.delete(name);
    if (s.volume.status().role === 'primary') await demote(name, s.volume);
  }

  async #unmount(name: string, path: string, ctx: DriverContext, lazy: boolean): Promise<void> {
    const args = lazy ? ['-l', path] : [path];
    const r = await this.#run('umount', args, ctx);
    if (r.kind === 'ok' || isNotMounted(r)) return;
    if (r.kind === 'missing') throw this.#missing(name, 'umount', r.detail);
    if (isBusy(r)) {
      const who = await this.#run('fuser', ['-vm', path], ctx);
      throw driverError(
        MD_MESSAGES,
        'MD_UNMOUNT_BUSY',
        name,
        `${path} is in use by: ${fuserSummary(who)}. Stop them (or the application resource that runs them), then stop ${name} again.`,
      );
    }
    throw driverError(MD_MESSAGES, 'MD_UNMOUNT_FAILED', name, runFailure('umount', args, r));
  }

  async #detach(name: string, device: string, ctx: DriverContext, quiet: boolean): Promise<void> {
    const r = await this.#run('nbd-client', ['-d', device], ctx);
    if (r.kind === 'ok') return;
    if (r.kind === 'missing') throw this.#missing(name, 'nbd-client', r.detail);
    if (quiet) return;
    throw driverError(MD_MESSAGES, 'MD_NBD_CLIENT_FAILED', name, runFailure('nbd-client', ['-d', device], r));
  }

  async #must(
    name: string,
    id: MdMessageId,
    program: string,
    args: string[],
    ctx: DriverContext,
  ): Promise<void> {
    const r = await this.#run(program, args, ctx);
    if (r.kind === 'ok') return;
    if (r.kind === 'missing') throw this.#missing(name, program, r.detail);
    throw driverError(MD_MESSAGES, id, name, runFailure(program, args, r));
  }

  #run(program: string, args: readonly string[], ctx: DriverContext): Promise<RunResult> {
    return this.#system.run(program, args, { signal: ctx.signal, timeoutMs: ctx.timeoutMs ?? 60_000 });
  }

  #missing(name: string, program: string, detail: string): ResourceError {
    return driverError(MD_MESSAGES, 'MD_COMMAND_MISSING', name, `${program} cannot be run (${detail}).`, {
      notInstalled: true,
    });
  }

  #params(resource: CompiledResource, ctx: DriverContext): MdParams {
    const p = parseMdParams(paramsFor(resource, ctx.server), resource.name);
    if (p.peer === null) {
      throw driverError(
        MD_MESSAGES,
        'MD_INVALID_PARAMS',
        resource.name,
        `${ctx.server} holds no copy of ${resource.name}: the volume runs only on the two servers of group ${resource.group}.`,
      );
    }
    return p;
  }

  #serialized<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#chains.get(name) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const settled = next.then(
      () => undefined,
      () => undefined,
    );
    this.#chains.set(name, settled);
    void settled.then(() => {
      if (this.#chains.get(name) === settled) this.#chains.delete(name);
    });
    return next;
  }
}

/** The open local copy of `name`, or MD_NOT_OPEN with the reason it could not be opened. */
function localVolume(host: MirrorHost | null, name: string, server: string): MirrorVolume {
  const v = host?.volume(name) ?? null;
  if (v !== null) return v;
  const e = host?.openError(name) ?? null;
  const why =
    e !== null
      ? `${e.message} [${e.code}] Remedy: ${e.remedy}`
      : host === null
        ? 'No mirror disk engine runs in this process (md resources are started by the daemon).'
        : `The daemon opened no copy of ${name} on ${server}.`;
  throw driverError(MD_MESSAGES, 'MD_NOT_OPEN', name, why);
}

async function demote(name: string, v: MirrorVolume): Promise<void> {
  try {
    await v.demote();
  } catch (err) {
    throw driverError(MD_MESSAGES, 'MD_DEACTIVATE_FAILED', name, errorText(err, ''), { cause: err });
  }
}

/** The mount settings of `resource` on `server`, or null (also when the params do not parse). */
function safeMount(resource: CompiledResource, server: string): MdParams['mount'] {
  const m = paramsFor(resource, server)['mount'];
  if (m === null || typeof m !== 'object') return null;
  const o = m as Record<string, unknown>;
  return typeof o['device'] === 'string' && typeof o['path'] === 'string'
    ? {
        device: o['device'],
        path: o['path'],
        fsType: String(o['fsType']),
        options: typeof o['options'] === 'string' ? o['options'] : null,
      }
    : null;
}

/** What the local copy knows of the peer, for refusal messages. */
function describePeer(v: MirrorVolume): string {
  const s = v.status();
  const link = s.connection.kind === 'Disconnected' ? 'not connected' : `connection ${s.connection.kind}`;
  const why = s.lastDecision !== null ? `; last decision: ${s.lastDecision}` : '';
  return `its copy is ${s.peer}, ${link}; the local copy is ${s.local}${why}`;
}

function listenText(l: NbdListen): string {
  return 'path' in l ? l.path : `${l.host}:${l.port}`;
}

function errorText(err: unknown, where: string): string {
  const msg = err instanceof Error ? err.message : String(err);
  return where.length > 0 && !msg.includes(where) ? `${where}: ${msg}` : msg;
}

function runFailure(program: string, args: readonly string[], r: RunResult): string {
  const stderr = r.kind === 'failed' ? r.stderr.trim() : '';
  const detail = r.kind === 'failed' ? r.detail : r.kind === 'missing' ? r.detail : '';
  return `${commandLine(program, args)} ${detail}${stderr ? `: ${stderr}` : ''}.`;
}

/** `<stateDir>/nbd`: created 0700, so only the daemon's user reaches the sockets in it. */
async function privateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
}
