/**
 * The daemon's mirror disk volumes (issue 5 section 2; implements src/mirror/host.ts): at startup, before
 * the first resource probe, every `md` resource this server holds a copy of (it is one of the two servers
 * of the group: `paramsFor(res, self).peer` is set) is opened with `MirrorVolume.open`, which loads its
 * metadata, listens on this server's `mdc` and dials the peer. The standby's copy must follow the active
 * one whether or not the group runs here, so the copies live as long as the daemon, not as long as the
 * resource: the `md` driver only promotes and demotes them.
 *
 * A copy that fails to open (missing partition, corrupt or foreign metadata, mdc address in use) is
 * logged and kept as `openError`: the daemon runs on, the `md` resource fails to start here with the
 * reason, and `mdw` reports it. The copies are closed when the daemon stops (after the groups are).
 *
 * Besides, the host logs each finished mirror recovery with the bytes it copied, so the log says how much
 * a recovery moved (a dirty-regions recovery copies only what was written while the peer was away).
 */
import { randomBytes } from 'node:crypto';
import { paramsFor } from '../drivers/driver.ts';
import { endpointText } from '../drivers/md/params.ts';
import type { MirrorHost } from '../mirror/host.ts';
import { MetadataError } from '../mirror/metadata.ts';
import { MirrorVolume, type MirrorStatus, type MirrorVolumeOptions } from '../mirror/volume.ts';
import type { Logger } from '../ports/logger.ts';
import type { CompiledConfig, CompiledResource, MdParams } from '../shared/config/types.ts';

export interface MirrorHostOptions {
  config: CompiledConfig;
  /** This server's name. */
  self: string;
  stateDir: string;
  /** The cluster secret: authenticates the mirror connect. */
  secret: Buffer;
  log: Logger;
  /** Injected for tests; default MirrorVolume.open. */
  open?: (o: MirrorVolumeOptions) => Promise<MirrorVolume>;
  /** How often finished recoveries are looked for (ms). @default 1000; 0 = never. */
  watchIntervalMs?: number;
}

export interface OpenError {
  code: string;
  message: string;
  remedy: string;
}

/** The md resources `self` holds a copy of, with this server's and the peer's params. */
export function localCopies(
  config: CompiledConfig,
  self: string,
): { resource: CompiledResource; own: MdParams; peer: MdParams; peerName: string }[] {
  const out: { resource: CompiledResource; own: MdParams; peer: MdParams; peerName: string }[] = [];
  for (const r of config.resources) {
    if (r.type !== 'md') continue;
    const own = paramsFor(r, self) as unknown as MdParams;
    if (typeof own.peer !== 'string') continue;
    out.push({ resource: r, own, peer: paramsFor(r, own.peer) as unknown as MdParams, peerName: own.peer });
  }
  return out;
}

/** The volume options of `resource` on `self` (pure: tests check the mapping). */
export function volumeOptions(
  c: { resource: CompiledResource; own: MdParams; peer: MdParams; peerName: string },
  o: Pick<MirrorHostOptions, 'config' | 'self' | 'secret' | 'log'>,
): MirrorVolumeOptions | OpenError {
  const name = c.resource.name;
  const { own, peer } = c;
  const missing = [
    own.dataPath === null ? `dataPath of ${o.self}` : null,
    own.clusterPath === null ? `clusterPath of ${o.self}` : null,
    own.mdc === null ? `mdc of ${o.self}` : null,
    peer.mdc === null ? `mdc of ${c.peerName}` : null,
  ].filter((x): x is string => x !== null);
  if (own.dataPath === null || own.clusterPath === null || own.mdc === null || peer.mdc === null) {
    return {
      code: 'MD_PARAMS_INCOMPLETE',
      message: `The md resource ${name} has no ${missing.join(', ')}.`,
      remedy: `Set them in the resource (per server under servers:), then run \`tandem config check\`.`,
    };
  }
  return {
    name,
    volumeId: `${o.config.cluster.name}/${name}`,
    dataPath: own.dataPath,
    clusterPath: own.clusterPath,
    ...(own.size !== null ? { size: own.size } : {}),
    regionSize: own.regionSize,
    hotRegions: own.hotRegions,
    hotExtent: own.hotExtent,
    mode: own.mode,
    initialSync: own.initialSync,
    autoRecovery: own.autoRecovery,
    queueSize: own.queueSize,
    sendTimeoutMs: own.sendTimeoutMs,
    connectTimeoutMs: own.connectTimeoutMs,
    ackTimeoutMs: own.ackTimeoutMs,
    self: { name: o.self, mdc: endpointText(own.mdc) },
    peer: { name: c.peerName, mdc: endpointText(peer.mdc) },
    secret: o.secret,
    clusterName: o.config.cluster.name,
    log: o.log, // the engine names the volume in every line
    now: () => performance.now(),
    random: (n) => randomBytes(n),
  };
}

/** Why a copy could not be opened, with the remedy (the engine's MetadataError carries its own). */
export function openErrorOf(err: unknown, name: string, self: string, o: MirrorVolumeOptions): OpenError {
  if (err instanceof MetadataError) return { code: err.code, message: err.message, remedy: err.remedy };
  const e = err as NodeJS.ErrnoException;
  const sys = typeof e.code === 'string' ? e.code : null;
  const what = `${(err as Error).message ?? String(err)}`;
  if (sys === 'EADDRINUSE' || sys === 'EADDRNOTAVAIL') {
    return {
      code: 'MD_MDC_LISTEN_FAILED',
      message: `Cannot listen for the mirror connect of ${name} on ${o.self.mdc} (${sys}).`,
      remedy:
        sys === 'EADDRINUSE'
          ? `Stop the process using ${o.self.mdc}, or give ${name} another mdc port on ${self}.`
          : `Set mdc of ${name} on ${self} to an address of this server.`,
    };
  }
  if (sys === 'ENOENT' || sys === 'EACCES' || sys === 'EPERM' || sys === 'EISDIR') {
    return {
      code: 'MD_DATA_OPEN_FAILED',
      message: `Cannot open the data partition ${o.dataPath} of ${name} (${sys}).`,
      remedy:
        sys === 'ENOENT'
          ? `Create the partition (or file), or fix dataPath of ${name} for ${self}.`
          : `Run the daemon as a user that can read and write ${o.dataPath}.`,
    };
  }
  return {
    code: 'MD_OPEN_FAILED',
    message: `Cannot open the copy of ${name}: ${what}.`,
    remedy: `Check dataPath, clusterPath and mdc of ${name} for ${self}, and the daemon log.`,
  };
}

export async function createMirrorHost(o: MirrorHostOptions): Promise<MirrorHost> {
  const open = o.open ?? ((x: MirrorVolumeOptions) => MirrorVolume.open(x));
  const volumes = new Map<string, MirrorVolume>();
  const errors = new Map<string, OpenError>();
  const order: string[] = [];
  await Promise.all(
    localCopies(o.config, o.self).map(async (c) => {
      const name = c.resource.name;
      order.push(name);
      const opts = volumeOptions(c, o);
      if (!('volumeId' in opts)) {
        errors.set(name, opts);
        o.log.error({ volume: name, code: opts.code, remedy: opts.remedy }, opts.message);
        return;
      }
      try {
        const v = await open(opts);
        volumes.set(name, v);
        o.log.info(
          { volume: name, mdc: opts.self.mdc, peer: opts.peer.name, peerMdc: opts.peer.mdc, size: v.size },
          `mirror disk ${name} opened: ${v.status().local}, listening on ${opts.self.mdc}`,
        );
      } catch (err) {
        const e = openErrorOf(err, name, o.self, opts);
        errors.set(name, e);
        o.log.error({ volume: name, code: e.code, remedy: e.remedy, err }, e.message);
      }
    }),
  );
  const inConfigOrder = o.config.resources.map((r) => r.name).filter((n) => order.includes(n));

  // Finished recoveries: logged with the bytes copied (the engine counts bytes sent as the source). A
  // recovery may start and end between two looks: the counter moving is what tells.
  const logged = new Map<string, number>();
  const watch = (): void => {
    for (const [name, v] of volumes) {
      const s = v.status();
      if (s.connection.kind === 'Resyncing') continue;
      const sent = s.resyncBytesSent - (logged.get(name) ?? 0);
      if (sent <= 0) continue;
      logged.set(name, s.resyncBytesSent);
      o.log.info(
        { volume: name, resyncBytes: sent, connection: s.connection.kind, dirtyBytes: s.dirtyBytes },
        `mirror recovery of ${name} from this server over (${s.connection.kind}): ${sent} bytes copied`,
      );
    }
  };
  const every = o.watchIntervalMs ?? 1_000;
  const timer = every > 0 && volumes.size > 0 ? setInterval(watch, every) : null;
  timer?.unref();

  let closed: Promise<void> | null = null;
  const forced = new Map<string, number>();
  return {
    volume: (name) => volumes.get(name) ?? null,
    allowForce(name, forMs) {
      forced.set(name, Date.now() + forMs);
      o.log.warn({ volume: name, forMs }, `the next activation of ${name} on ${o.self} is forced (operator)`);
    },
    takeForce(name) {
      const until = forced.get(name);
      forced.delete(name);
      return until !== undefined && Date.now() <= until;
    },
    openError: (name) => errors.get(name) ?? null,
    statuses: (): MirrorStatus[] =>
      inConfigOrder.flatMap((n) => {
        const v = volumes.get(n);
        return v !== undefined ? [v.status()] : [];
      }),
    close() {
      closed ??= (async () => {
        if (timer !== null) clearInterval(timer);
        watch();
        await Promise.all(
          [...volumes.entries()].map(([name, v]) =>
            v.close().catch((err: unknown) => o.log.error({ volume: name, err }, `closing ${name} failed`)),
          ),
        );
      })();
      return closed;
    },
  };
}
