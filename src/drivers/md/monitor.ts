/**
 * The monitors of an `md` volume (issue 5 section 3), both run on both servers (`timing: always`):
 *
 * `mdw` (mirror disk monitor), the local copy:
 * - error: the copy could not be opened (1), its data or cluster partition is gone or unreadable, or the
 *   engine saw an I/O error on its data partition (the copy is Failed) (2), an activation here was
 *   refused and the reason still holds (4); on the server where the copy is NOT active also a split brain
 *   (3) and a link the copies may not mirror over (5). On the active copy those two are warnings (103,
 *   105, the seed's "100 + code as a warning"): mdw's recovery fails the group over, and moving it off the
 *   copy that serves the application onto the other half of a split brain would only stop the service
 *   (that activation is refused). A failed disk is an error on the active copy too: its writes fail, and
 *   the failover is what puts the service on the peer's copy (up to date in sync mode);
 * - warning: a mirror recovery runs (7: progress and ETA), the copy is active without its peer (8: what
 *   the peer lacks grows), a mirror recovery waits for `tandem md recover` (9: `autoRecovery: false`),
 *   or the peer's disk failed (10: this copy goes on alone);
 * - normal otherwise, and on a server that holds no copy (it is not one of the group's two servers).
 *
 * `mdnw` (mirror connect monitor): normal while connected (in sync, resyncing, or waiting for the
 * operator's recover: the path works, mdw warns); error while disconnected (1, naming the peer's mdc
 * address and for how long) or while the link is up but the copies are not mirrored (2: split brain,
 * broken mirror, mismatched copies, a failed disk). Its recovery is an alert only.
 */
import { access, constants } from 'node:fs/promises';
import type { MonitorResult } from '../../core/types.ts';
import type { MirrorStatus, MirrorVolume } from '../../mirror/volume.ts';
import type { CompiledConfig, CompiledMonitor, CompiledResource } from '../../shared/config/types.ts';
import { paramsFor } from '../driver.ts';
import type { DriverContext, DriverResult, MonitorDriver, TypeDescription } from '../driver.ts';
import { driverError, messageOf, type DriverMessage } from '../messages.ts';
import { activeRefusal } from './activation.ts';
import { MDNW_MESSAGES, MDW_MESSAGES } from './errors.ts';
import { endpointText, MD_MONITOR_PARAMS, mdParamsProblems, parseMdParams } from './params.ts';

const normal: DriverResult<MonitorResult> = { result: 'running' };

function result<T extends readonly DriverMessage[]>(
  table: T,
  id: T[number]['id'],
  detail: string,
  level: 'failed' | 'degraded' = 'failed',
): DriverResult<MonitorResult> {
  const e = messageOf(table, id);
  return { result: level, code: e.code, message: `${e.message} ${detail}` };
}

/** `12.5 MiB`. */
export function bytesText(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} bytes` : `${v.toFixed(1)} ${units[u]}`;
}

/** `1 h 02 min`, `3 min 05 s`, `12 s`. */
export function durationText(sec: number): string {
  const s = Math.max(0, Math.round(sec));
  if (s >= 3600)
    return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
  if (s >= 60) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${s} s`;
}

/** `Resync from-peer (dirty regions): 42% (12.0 MiB of 28.5 MiB) at 95.1 MiB/s, about 1 s left.` */
export function resyncText(s: MirrorStatus): string {
  const c = s.connection;
  const how =
    c.kind === 'Resyncing'
      ? `${c.direction === 'to-peer' ? 'to the peer' : 'from the peer'}${c.full ? ', full' : ', dirty regions'}`
      : '';
  const r = s.resync;
  if (r === null) return `Copying ${how}.`;
  const pct = r.totalBytes > 0 ? Math.floor((100 * r.doneBytes) / r.totalBytes) : 0;
  const eta = r.etaSec === null ? 'time left unknown' : `about ${durationText(r.etaSec)} left`;
  return `Copying ${how}: ${pct}% (${bytesText(r.doneBytes)} of ${bytesText(r.totalBytes)}) at ${bytesText(r.rateBytesPerSec)}/s, ${eta}.`;
}

interface Watched {
  resource: CompiledResource;
  /** The other server of the pair, or null when this server holds no copy. */
  peer: string | null;
}

/** The md resource a monitor watches, or its INVALID_PARAMS error. */
function watched<T extends readonly DriverMessage[]>(
  monitor: CompiledMonitor,
  ctx: DriverContext,
  table: T,
  invalidId: T[number]['id'],
): Watched {
  const name = monitor.params['resource'];
  const res = typeof name === 'string' ? ctx.config.resources.find((r) => r.name === name) : undefined;
  if (res === undefined || res.type !== 'md') {
    throw driverError(
      table,
      invalidId,
      monitor.name,
      res !== undefined
        ? `${res.name} is of type ${res.type}, not md.`
        : `There is no md resource named ${String(name)}.`,
    );
  }
  const peer = paramsFor(res, ctx.server)['peer'];
  return { resource: res, peer: typeof peer === 'string' ? peer : null };
}

function validateWatched(monitor: CompiledMonitor, config: CompiledConfig, type: string): string[] {
  const name = monitor.params['resource'];
  if (typeof name !== 'string') return ['resource: expected the name of an md resource'];
  const res = config.resources.find((r) => r.name === name);
  if (!res) return [`resource: there is no resource named ${name}`];
  if (res.type !== 'md')
    return [`resource: ${name} is of type ${res.type}; an ${type} monitor watches an md resource`];
  const out: string[] = [];
  for (const s of config.servers) {
    const merged = paramsFor(res, s.name);
    if (typeof merged['peer'] !== 'string') continue;
    for (const p of mdParamsProblems(merged)) out.push(`resource ${name}: servers.${s.name}: ${p}`);
  }
  return out;
}

export class MdwMonitorDriver implements MonitorDriver {
  readonly type = 'mdw';

  describe(): TypeDescription {
    return {
      type: 'mdw',
      description:
        'Mirror disk monitor: the state of the local copy of an md volume (failed disk, refused activation, split brain; warning while a mirror recovery runs or the peer is away).',
      params: MD_MONITOR_PARAMS,
      minTimeoutMs: 1_000,
      messages: MDW_MESSAGES,
    };
  }

  validate(monitor: CompiledMonitor, config: CompiledConfig): string[] {
    return validateWatched(monitor, config, 'mdw');
  }

  async check(monitor: CompiledMonitor, ctx: DriverContext): Promise<DriverResult<MonitorResult>> {
    const w = watched(monitor, ctx, MDW_MESSAGES, 'MDW_INVALID_PARAMS');
    if (w.peer === null) return normal; // no copy here: nothing to watch
    const name = w.resource.name;
    const v = ctx.mirror?.volume(name) ?? null;
    if (v === null) {
      const e = ctx.mirror?.openError(name) ?? null;
      return result(
        MDW_MESSAGES,
        'MDW_NOT_OPEN',
        e !== null
          ? `${name} on ${ctx.server}: ${e.message} [${e.code}] Remedy: ${e.remedy}`
          : `${name} on ${ctx.server}: no mirror disk engine runs in this process.`,
      );
    }
    const disk = await diskProblem(w.resource, ctx.server);
    if (disk !== null) return result(MDW_MESSAGES, 'MDW_DISK_FAILED', `${name} on ${ctx.server}: ${disk}.`);
    const s = v.status();
    if (s.diskFailure !== null) {
      const f = s.diskFailure;
      return result(MDW_MESSAGES, 'MDW_DISK_FAILED', `${f.message} [${f.code}] Remedy: ${f.remedy}`);
    }
    const active = s.role === 'primary';
    const c = s.connection;
    if (c.kind === 'SplitBrain' || s.local === 'SplitBrain') {
      const why = c.kind === 'SplitBrain' ? ` (${c.why})` : '';
      return active
        ? result(
            MDW_MESSAGES,
            'MDW_SPLIT_BRAIN_ACTIVE',
            `${name}: the copy on ${ctx.server} is active and keeps serving; the copy on ${w.peer} was written too${why}.`,
            'degraded',
          )
        : result(
            MDW_MESSAGES,
            'MDW_SPLIT_BRAIN',
            `${name}: the copies on ${ctx.server} and ${w.peer} were both written while disconnected${why}.`,
          );
    }
    const refused = activeRefusal(v);
    if (refused !== null) {
      return result(
        MDW_MESSAGES,
        'MDW_ACTIVATION_REFUSED',
        `${name} on ${ctx.server}: ${refused.message} [${refused.code}] Remedy: ${refused.remedy}`,
      );
    }
    if (c.kind === 'Refused' && c.code === 'MD_PEER_DISK_FAILED') {
      return result(
        MDW_MESSAGES,
        'MDW_PEER_DISK_FAILED',
        `${name}: the disk of the copy on ${w.peer} failed; the copy on ${ctx.server} is ${s.local}${active ? ' and goes on alone' : ''}. Once ${w.peer}'s data partition is replaced or repaired, run \`tandem md recover ${name}\`.`,
        'degraded',
      );
    }
    if (c.kind === 'Refused') {
      const detail = `${name}: the link to ${w.peer} is up but refused: ${c.why} [${c.code}].`;
      return active
        ? result(
            MDW_MESSAGES,
            'MDW_MIRROR_REFUSED_ACTIVE',
            `${detail} The active copy keeps serving alone.`,
            'degraded',
          )
        : result(MDW_MESSAGES, 'MDW_MIRROR_REFUSED', detail);
    }
    if (c.kind === 'Resyncing') {
      return result(MDW_MESSAGES, 'MDW_RESYNCING', `${name} on ${ctx.server}: ${resyncText(s)}`, 'degraded');
    }
    if (c.kind === 'RecoveryPending') {
      const way =
        c.direction === 'to-peer' ? `from ${ctx.server} to ${w.peer}` : `from ${w.peer} to ${ctx.server}`;
      return result(
        MDW_MESSAGES,
        'MDW_RECOVERY_PENDING',
        `${name}: mirror recovery pending ${way} (${c.full ? 'full' : bytesText(s.dirtyBytes) + ' dirty here'}; ${c.why}); autoRecovery is off: run \`tandem md recover ${name}\`.`,
        'degraded',
      );
    }
    if (active && c.kind === 'Disconnected') {
      return result(
        MDW_MESSAGES,
        'MDW_PEER_AWAY',
        `${name} is active on ${ctx.server} while ${w.peer} is not connected; ${bytesText(s.dirtyBytes)} to copy to it when it returns.`,
        'degraded',
      );
    }
    return normal;
  }
}

/** Whether the data and cluster partitions can still be read and written (null = fine). */
async function diskProblem(res: CompiledResource, server: string): Promise<string | null> {
  let p;
  try {
    p = parseMdParams(paramsFor(res, server), res.name);
  } catch {
    return null; // reported by validate / the resource itself
  }
  for (const [what, path] of [
    ['data partition', p.dataPath],
    ['cluster partition', p.clusterPath],
  ] as const) {
    if (path === null) continue;
    try {
      await access(path, constants.R_OK | constants.W_OK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      return `the ${what} ${path} cannot be used (${code})`;
    }
  }
  return null;
}

export interface MdnwMonitorOptions {
  /** Wall-clock ms, to say for how long the link has been down. Default Date.now. */
  now?: () => number;
}

export class MdnwMonitorDriver implements MonitorDriver {
  readonly type = 'mdnw';
  readonly #now: () => number;
  /** When each volume was first seen disconnected by this monitor (cleared once connected). */
  readonly #downSince = new WeakMap<MirrorVolume, number>();

  constructor(opts: MdnwMonitorOptions = {}) {
    this.#now = opts.now ?? Date.now;
  }

  describe(): TypeDescription {
    return {
      type: 'mdnw',
      description:
        'Mirror connect monitor: the MDC link of an md volume to its peer (error while disconnected or refused; alerts only).',
      params: MD_MONITOR_PARAMS,
      minTimeoutMs: 1_000,
      messages: MDNW_MESSAGES,
    };
  }

  validate(monitor: CompiledMonitor, config: CompiledConfig): string[] {
    return validateWatched(monitor, config, 'mdnw');
  }

  check(monitor: CompiledMonitor, ctx: DriverContext): Promise<DriverResult<MonitorResult>> {
    const w = watched(monitor, ctx, MDNW_MESSAGES, 'MDNW_INVALID_PARAMS');
    if (w.peer === null) return Promise.resolve(normal);
    const name = w.resource.name;
    const v = ctx.mirror?.volume(name) ?? null;
    if (v === null) {
      const e = ctx.mirror?.openError(name) ?? null;
      return Promise.resolve(
        result(
          MDNW_MESSAGES,
          'MDNW_NOT_OPEN',
          `${name} on ${ctx.server}${e !== null ? `: ${e.message} [${e.code}]` : ': no mirror disk engine runs in this process.'}`,
        ),
      );
    }
    const c = v.status().connection;
    if (c.kind === 'Connected' || c.kind === 'Resyncing' || c.kind === 'RecoveryPending') {
      this.#downSince.delete(v);
      return Promise.resolve(normal);
    }
    if (c.kind === 'Disconnected') {
      const now = this.#now();
      const since = this.#downSince.get(v) ?? now;
      this.#downSince.set(v, since);
      const mdc = paramsFor(w.resource, w.peer)['mdc'];
      const addr =
        mdc !== null && typeof mdc === 'object' && 'host' in mdc && 'port' in mdc
          ? endpointText(mdc as { host: string; port: number })
          : 'its mdc address';
      const how = now > since ? ` for at least ${durationText((now - since) / 1000)}` : '';
      return Promise.resolve(
        result(
          MDNW_MESSAGES,
          'MDNW_DISCONNECTED',
          `${name}: ${ctx.server} is not connected to ${w.peer} (mdc ${addr})${how}.`,
        ),
      );
    }
    this.#downSince.delete(v);
    const why = c.kind === 'SplitBrain' ? `split brain: ${c.why} [MD_SPLIT_BRAIN]` : `${c.why} [${c.code}]`;
    return Promise.resolve(
      result(MDNW_MESSAGES, 'MDNW_REFUSED', `${name}: connected to ${w.peer}, not mirroring: ${why}.`),
    );
  }
}
