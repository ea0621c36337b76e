/**
 * The mirror disk types of the config (issue 5 sections 1 and 3): the `md` resource (a data partition
 * replicated between the two servers of its group over the mirror connect, served on the active server
 * over NBD) and its automatic monitors `mdw` (the volume's state on this server) and `mdnw` (the mirror
 * connect). The compiled `params` keys are the contract the driver and the engine read (types.ts:
 * MdParams, MdMonitorParams).
 *
 * As in the seed's md dialog, the partitions and the MDC address are chosen per server ("Set Up
 * Individually"), so `dataPath`, `clusterPath` and `mdc` are optional in the schema and the checks
 * require each of the group's two servers to end up with them.
 */
import { z } from 'zod';
import { DEFAULTS } from './defaults.ts';
import type { PathSeg } from './issues.ts';
import { listNames, renderPath } from './issues.ts';
import {
  endpointKey,
  hostPortOf,
  isLoopbackHost,
  mdAutoMonitorName,
  mountSchema,
  nbdSchema,
  parseNbd,
  sizeBytes,
  sizeSchema,
  UNIX_SOCKET_PATH_MAX,
} from './mirror-primitives.ts';
import { resolvePosix } from './posix-path.ts';
import { countSchema, durationSchema, endpointSchema, issueText, ms, nameSchema } from './primitives.ts';
import { watchingHooks } from './resource-types-aws.ts';
import type {
  AbsoluteReportFn,
  DeclaredResource,
  MonitorTypeSpec,
  ReportFn,
  ResourceCheckContext,
  TypeCompileContext,
} from './type-spec.ts';
import { defineMonitorType, defineResourceType } from './type-spec.ts';
import type {
  CompiledMonitor,
  CompiledResource,
  MdMonitorParams,
  MdMount,
  MdNbdEndpoint,
  MdParams,
} from './types.ts';

const pathSchema = (what: string, example: string) =>
  z
    .string({
      error: issueText(
        `${what} must be a string (a path)`,
        `write the path of a file or block device, e.g. ${example}`,
      ),
    })
    .min(1, {
      error: issueText(`${what} is empty`, `write the path of a file or block device, e.g. ${example}`),
    });

const SECTOR = 512;
const REGION_MIN = 4 * 1024;
const REGION_MAX = 64 * 1024 * 1024;

const sizeKey = sizeSchema(
  'write a number of bytes or a whole number with a binary unit K, M, G or T (e.g. 10G = 10 x 1024^3 bytes; 10GiB is the same), a multiple of 512 bytes, or remove size to use the whole data partition',
  (bytes, written) => (bytes % SECTOR === 0 ? null : `${written} is not a multiple of 512 bytes`),
);
const regionSizeKey = sizeSchema(
  'write a power of two from 4K to 64M, e.g. 64K (the default)',
  (bytes, written) =>
    (bytes & (bytes - 1)) !== 0 || bytes < REGION_MIN || bytes > REGION_MAX
      ? `${written} is not a power of two from 4K to 64M`
      : null,
);

const HOT_EXTENT_MAX = 1024 * 1024 * 1024;
const hotExtentKey = sizeSchema(
  'write a power of two from 4K to 1G that is at least regionSize, e.g. 4M (the default)',
  (bytes, written) =>
    (bytes & (bytes - 1)) !== 0 || bytes < REGION_MIN || bytes > HOT_EXTENT_MAX
      ? `${written} is not a power of two from 4K to 1G`
      : null,
);

/** The raw keys, as the schema passes them. */
interface MdRaw {
  dataPath?: string | undefined;
  clusterPath?: string | undefined;
  mdc?: string | undefined;
  nbd?: string | null | undefined;
  mount?: { device: string; path: string; fsType: string; options: string | null } | null | undefined;
}

function compileNbd(text: string | null | undefined, baseDir: string): MdNbdEndpoint | null {
  if (text === null || text === undefined) return null;
  const r = parseNbd(text);
  if (!r.ok) return null; // refused by the schema
  return r.value.kind === 'path'
    ? { path: resolvePosix(baseDir, r.value.path) }
    : { host: r.value.host, port: r.value.port };
}

function compileMount(m: MdRaw['mount']): MdMount | null {
  if (m === null || m === undefined) return null;
  return { device: m.device, path: m.path, fsType: m.fsType, options: m.options };
}

/** The keys of an override that are written, compiled (paths resolved, endpoints split). */
function compileServerKeys(raw: MdRaw, baseDir: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (raw.dataPath !== undefined) out['dataPath'] = resolvePosix(baseDir, raw.dataPath);
  if (raw.clusterPath !== undefined) out['clusterPath'] = resolvePosix(baseDir, raw.clusterPath);
  if (raw.mdc !== undefined) out['mdc'] = hostPortOf(raw.mdc, DEFAULTS.mdcPort);
  if (raw.nbd !== undefined) out['nbd'] = compileNbd(raw.nbd, baseDir);
  if (raw.mount !== undefined) out['mount'] = compileMount(raw.mount);
  return out;
}

/** One server's value of a per-server key, and the path it is written at (its override, else the common key). */
function own<K extends keyof MdRaw>(
  key: K,
  server: string,
  raw: MdRaw,
  overrides: ReadonlyMap<string, MdRaw>,
): { value: MdRaw[K] | undefined; path: PathSeg[] } {
  const o = overrides.get(server)?.[key];
  return o !== undefined ? { value: o, path: ['servers', server, key] } : { value: raw[key], path: [key] };
}

const REQUIRED = {
  dataPath: (s: string) =>
    `the path of ${s}'s data partition, e.g. /dev/xvdf2 (a file or block device; relative paths are relative to the config file)`,
  clusterPath: (s: string) =>
    `the path of ${s}'s cluster partition, e.g. /dev/xvdf1: it holds the mirror's metadata (generations, dirty bitmap), on a partition of its own`,
  mdc: (s: string) =>
    `an address of ${s} that the other server reaches, usually its interconnect address, e.g. 10.0.0.2 or 10.0.0.2:${DEFAULTS.mdcPort}`,
} as const;

/** The checks of one md resource (the schema has checked each key on its own). */
function checkMd(
  raw: MdRaw,
  overrides: ReadonlyMap<string, MdRaw>,
  report: ReportFn,
  ctx: ResourceCheckContext,
): void {
  const { servers } = ctx;
  if (servers.length !== 2 && ctx.serversComplete) {
    const pair = servers.length > 2 ? `, e.g. startupServers: [${servers.slice(0, 2).join(', ')}]` : '';
    report(
      ['type'],
      `md resource ${ctx.name} mirrors between exactly two servers (one copy each), but group ${ctx.group} can run on ${servers.length === 0 ? 'no server' : `${servers.length}: ${listNames(servers)}`}`,
      servers.length > 2
        ? `set startupServers of group ${ctx.group} to the two servers that hold the copies${pair}`
        : `add a second server to the cluster and to startupServers of group ${ctx.group}`,
    );
  }
  const reported = new Set<string>();
  const once = (path: PathSeg[], say: ReportFn, message: string, remedy: string): void => {
    const k = renderPath(path);
    if (reported.has(k)) return;
    reported.add(k);
    say(path, message, remedy);
  };
  const mdcOwner = new Map<string, string>();
  for (const server of servers) {
    for (const key of ['dataPath', 'clusterPath', 'mdc'] as const) {
      if (own(key, server, raw, overrides).value !== undefined) continue;
      const where = key === 'mdc' ? `servers.${server}.mdc` : `${key} (common) or servers.${server}.${key}`;
      report(
        ['servers', server, key],
        `no ${key} for ${server}, which holds a copy of ${ctx.name}`,
        `set ${where} to ${REQUIRED[key](server)}`,
      );
    }
    const data = own('dataPath', server, raw, overrides);
    const meta = own('clusterPath', server, raw, overrides);
    if (data.value !== undefined && meta.value !== undefined) {
      const d = resolvePosix(ctx.baseDir, data.value);
      if (d === resolvePosix(ctx.baseDir, meta.value)) {
        once(
          meta.path,
          report,
          `dataPath and clusterPath of ${server} are both ${d}`,
          `the cluster partition holds the metadata and must be separate from the data partition: point clusterPath at another partition (or file), e.g. a small first partition of the same disk`,
        );
      }
    }
    const mdc = own('mdc', server, raw, overrides);
    if (mdc.value !== undefined) {
      const key = endpointKey(hostPortOf(mdc.value, DEFAULTS.mdcPort));
      const first = mdcOwner.get(key);
      if (first === undefined) mdcOwner.set(key, server);
      else
        once(
          mdc.path,
          report,
          `mdc ${key} is set for both ${first} and ${server}`,
          `each server listens for the mirror connection on its own address: set servers.${first}.mdc and servers.${server}.mdc to each server's own address (usually its interconnect address)`,
        );
    }
    checkNbd(own('nbd', server, raw, overrides), report, ctx, once);
  }
}

function checkNbd(
  at: { value: string | null | undefined; path: PathSeg[] },
  report: ReportFn,
  ctx: ResourceCheckContext,
  once: (path: PathSeg[], say: ReportFn, message: string, remedy: string) => void,
): void {
  if (at.value === null || at.value === undefined) return;
  const r = parseNbd(at.value);
  if (!r.ok) return; // refused by the schema
  if (r.value.kind === 'path') {
    const p = resolvePosix(ctx.baseDir, r.value.path);
    const bytes = new TextEncoder().encode(p).length;
    if (bytes > UNIX_SOCKET_PATH_MAX)
      once(
        at.path,
        report,
        `the NBD socket path ${p} is ${bytes} bytes long; a unix socket path holds at most ${UNIX_SOCKET_PATH_MAX}`,
        'choose a shorter path, e.g. /run/tandem/md1.sock, or remove nbd to use the default socket under the state directory',
      );
  } else if (!isLoopbackHost(r.value.host)) {
    once(
      at.path,
      ctx.warn,
      `nbd ${endpointKey(r.value)} is reachable from other machines, and NBD has no authentication: whoever connects can read and write the volume`,
      'serve the volume on a unix socket (the default) or 127.0.0.1:PORT, unless clients on other machines must reach it; then allow only them (security group, firewall)',
    );
  }
}

/** The endpoints and paths one server's md volumes must not share, with the key that sets each. */
function usesOf(p: MdParams): { what: string; key: PathSeg[]; value: string; kind: string }[] {
  const out: { what: string; key: PathSeg[]; value: string; kind: string }[] = [];
  if (p.dataPath !== null)
    out.push({ what: 'dataPath', key: ['dataPath'], value: p.dataPath, kind: 'partition' });
  if (p.clusterPath !== null)
    out.push({ what: 'clusterPath', key: ['clusterPath'], value: p.clusterPath, kind: 'partition' });
  if (p.mdc !== null) out.push({ what: 'mdc', key: ['mdc'], value: endpointKey(p.mdc), kind: 'mdc' });
  if (p.nbd !== null) {
    const value = 'path' in p.nbd ? p.nbd.path : endpointKey(p.nbd);
    out.push({ what: 'nbd', key: ['nbd'], value, kind: 'nbd' });
  }
  if (p.mount !== null) {
    out.push({ what: 'mount.device', key: ['mount', 'device'], value: p.mount.device, kind: 'device' });
    out.push({ what: 'mount.path', key: ['mount', 'path'], value: p.mount.path, kind: 'mountpoint' });
  }
  return out;
}

const SHARED_REMEDY: Readonly<Record<string, string>> = {
  partition:
    'each mirror disk needs its own data and cluster partitions on every server (two volumes on one partition overwrite each other)',
  mdc: `each mirror disk listens on its own MDC port: give it another one, e.g. address:${DEFAULTS.mdcPort + 1}`,
  nbd: 'each mirror disk is served on its own NBD endpoint: choose another socket path or port, or remove nbd to use the default socket',
  device: 'each mirror disk needs its own NBD device: use another /dev/nbdN',
  mountpoint: 'each mirror disk needs its own mount point',
};

/** No two md volumes share a partition, an MDC or NBD endpoint, an NBD device or a mount point on a server. */
function checkMdAcross(resources: readonly DeclaredResource[], report: AbsoluteReportFn): void {
  const servers = new Set(resources.flatMap((d) => Object.keys(d.resource.perServer)));
  const reported = new Set<string>();
  for (const server of servers) {
    const seen = new Map<string, { resource: string; what: string }>();
    for (const { resource, path } of resources) {
      const overrides = resource.perServer[server];
      // A server outside the pair holds no copy (peer is set for both servers of a valid pair only).
      if (typeof overrides?.['peer'] !== 'string') continue;
      for (const use of usesOf(paramsOf(resource, server))) {
        const key = `${use.kind}\u0000${use.value}`;
        const first = seen.get(key);
        if (first === undefined) {
          seen.set(key, { resource: resource.name, what: use.what });
          continue;
        }
        if (first.resource === resource.name) continue; // dataPath = clusterPath: reported by checkMd
        const top = use.key[0] ?? use.what;
        const at = [...path, ...(top in overrides ? ['servers', server] : []), ...use.key];
        const k = renderPath(at);
        if (reported.has(k)) continue;
        reported.add(k);
        report(
          at,
          `${use.what} ${use.value} of ${resource.name} on ${server} is already the ${first.what} of ${first.resource}`,
          SHARED_REMEDY[use.kind] ?? 'choose another value',
        );
      }
    }
  }
}

function paramsOf(resource: CompiledResource, server: string): MdParams {
  return { ...resource.params, ...(resource.perServer[server] ?? {}) } as unknown as MdParams;
}

/**
 * `md`: a mirror disk. The data partition of the two servers of the group is kept identical over the
 * mirror connect; the active server serves the volume over NBD (and optionally attaches and mounts it).
 */
export const mdResourceType = defineResourceType({
  type: 'md',
  description:
    'Mirror disk: a data partition replicated between the two servers of the group, served over NBD.',
  params: {
    /** The data partition (file or block device), relative to the config file. Required for both servers. */
    dataPath: pathSchema('dataPath', '/dev/xvdf2')
      .optional()
      .describe('Data partition (file or block device); common or per server. Required for both servers.'),
    /** The cluster partition holding the metadata. Required for both servers. */
    clusterPath: pathSchema('clusterPath', '/dev/xvdf1')
      .optional()
      .describe('Cluster partition holding the metadata; common or per server. Required for both servers.'),
    /** Mirror connect `address[:port]` (TCP, default port 29051). Required per server, different on each. */
    mdc: endpointSchema(DEFAULTS.mdcPort)
      .optional()
      .describe('Mirror connect address[:port] of this server (TCP, default port 29051); set per server.'),
    /** sync | async. @default sync */
    mode: z
      .enum(['sync', 'async'])
      .default(DEFAULTS.mdMode)
      .describe('sync: writes acknowledged once on both copies; async: once local. Default sync.'),
    /** Unix socket path or `address:port` the active server serves the volume on. @default null: `<stateDir>/nbd/<resource>.sock` */
    nbd: nbdSchema()
      .nullable()
      .optional()
      .describe('NBD endpoint: socket path or address:port. Default <stateDir>/nbd/<resource>.sock.'),
    /** Volume size (bytes, or `512M` / `10G`, a multiple of 512). @default the data partition's size */
    size: sizeKey
      .optional()
      .describe('Volume size: bytes or 512M, 10G (binary units). Default: the data partition.'),
    /** Bytes per bit of the dirty bitmap: a power of two from 4K to 64M. @default 64K */
    regionSize: regionSizeKey
      .default(DEFAULTS.mdRegionSize)
      .describe('Dirty bitmap granularity. Default 64K.'),
    /** Extents (of hotExtent bytes) kept marked after their writes are acknowledged (the activity log). @default 1024 */
    hotRegions: z
      .number()
      .int()
      .min(0)
      .max(1_048_576)
      .default(1024)
      .describe('Recently written extents kept marked on disk (activity log); 0 = none. Default 1024.'),
    /** Bytes one activity-log entry covers: a power of two, at least regionSize. @default 4M (or regionSize if larger) */
    hotExtent: hotExtentKey
      .optional()
      .describe(
        'Activity log extent: a power of two from 4K to 1G, at least regionSize. Default 4M, or regionSize when that is larger.',
      ),
    /** full | skip: how two fresh copies are first synced. @default full */
    initialSync: z
      .enum(['full', 'skip'])
      .default(DEFAULTS.mdInitialSync)
      .describe('First sync of two fresh copies: full copy, or skip (they are known equal). Default full.'),
    /**
     * Resync automatically when the peers connect and one copy is behind; false waits for
     * `tandem md recover NAME` (the initial full sync of a fresh pair still runs). @default true
     */
    autoRecovery: z
      .boolean()
      .default(DEFAULTS.mdAutoRecovery)
      .describe(
        'Resync automatically when the peers connect and one copy is behind; false waits for `tandem md recover NAME` (the initial full sync still runs). Default true.',
      ),
    /** Async mode: writes queued for the peer (requests). @default 2048 */
    queueSize: countSchema(1, 1_000_000)
      .optional()
      .describe('Async mode: writes queued for the peer. Default 2048.'),
    /** Time allowed to send one message to the peer (duration). @default 30s */
    sendTimeout: durationSchema().default(DEFAULTS.mdSendTimeout).describe('Send timeout. Default 30s.'),
    /** Time allowed to connect to the peer (duration). @default 10s */
    connectTimeout: durationSchema()
      .default(DEFAULTS.mdConnectTimeout)
      .describe('Connect timeout. Default 10s.'),
    /** Time allowed for the peer's acknowledgement of a write (duration). @default 100s */
    ackTimeout: durationSchema().default(DEFAULTS.mdAckTimeout).describe('Ack timeout. Default 100s.'),
    /** Attach and mount the volume on activation (real servers). @default none */
    mount: mountSchema()
      .nullable()
      .optional()
      .describe(
        'Attach with nbd-client and mount on activation: { device, path, fsType, options }. Default none.',
      ),
  },
  perServerKeys: ['dataPath', 'clusterPath', 'mdc', 'nbd', 'mount'],
  defaultTimeout: DEFAULTS.mdTimeout,
  defaultDependsOnTypes: [],
  compileParams(raw, ctx): Record<string, unknown> {
    const p: MdParams = {
      dataPath: raw.dataPath === undefined ? null : resolvePosix(ctx.baseDir, raw.dataPath),
      clusterPath: raw.clusterPath === undefined ? null : resolvePosix(ctx.baseDir, raw.clusterPath),
      mdc: raw.mdc === undefined ? null : hostPortOf(raw.mdc, DEFAULTS.mdcPort),
      mode: raw.mode,
      nbd: compileNbd(raw.nbd, ctx.baseDir),
      size: raw.size === undefined ? null : sizeBytes(raw.size),
      regionSize: sizeBytes(raw.regionSize),
      hotRegions: raw.hotRegions,
      hotExtent: Math.max(sizeBytes(raw.hotExtent ?? DEFAULTS.mdHotExtent), sizeBytes(raw.regionSize)),
      initialSync: raw.initialSync,
      autoRecovery: raw.autoRecovery,
      queueSize: raw.queueSize ?? DEFAULTS.mdQueueSize,
      sendTimeoutMs: ms(raw.sendTimeout),
      connectTimeoutMs: ms(raw.connectTimeout),
      ackTimeoutMs: ms(raw.ackTimeout),
      mount: compileMount(raw.mount),
      peer: null,
    };
    return { ...p };
  },
  compileOverride(raw, _common, ctx): Record<string, unknown> {
    return compileServerKeys(raw, ctx.baseDir);
  },
  serverParams(server, servers): Record<string, unknown> {
    if (servers.length !== 2) return {};
    const peer = servers.find((s) => s !== server);
    return peer === undefined ? {} : { peer };
  },
  check(raw, overrides, report, ctx): void {
    checkMd(raw, overrides, report, ctx);
    if (raw.hotExtent !== undefined && sizeBytes(raw.hotExtent) < sizeBytes(raw.regionSize)) {
      report(
        ['hotExtent'],
        `hotExtent ${raw.hotExtent} is smaller than regionSize ${raw.regionSize}: an activity-log extent holds whole regions`,
        `set hotExtent to ${raw.regionSize} or more (default 4M), or remove it`,
      );
    }
    if (raw.queueSize !== undefined && raw.mode === 'sync') {
      ctx.warn(
        ['queueSize'],
        'queueSize is set but mode is sync, so no write is ever queued',
        'remove queueSize, or set mode: async',
      );
    }
  },
  checkAcross: checkMdAcross,
  autoMonitor(resource, ctx): CompiledMonitor[] {
    return [mdAutoMonitor(resource, mdMonitorType, ctx), mdAutoMonitor(resource, mdConnectMonitorType, ctx)];
  },
});

const watched = () => nameSchema('resource name').describe('The md resource this monitor watches.');

/**
 * `mdw`: the state of an md volume on this server, on both servers (timing always). Error: the local
 * copy's disk failed, or an activation was refused (a copy that is not the latest); warning: mirror
 * recovery in progress. An error fails the group over when this server runs it (recovery of a group
 * that is not active here is skipped), as EXPRESSCLUSTER's mirror disk monitor does.
 */
export const mdMonitorType = defineMonitorType({
  type: 'mdw',
  description:
    'Mirror disk monitor: the state of an md volume on this server (failed disk, refused activation).',
  params: {
    /** The `md` resource watched. Required. */
    resource: watched(),
  },
  perServerKeys: [],
  impliedTiming: 'always',
  defaults: {
    interval: DEFAULTS.mdMonitorInterval,
    timeout: DEFAULTS.mdMonitorTimeout,
    retries: DEFAULTS.mdwRetries,
    // A local state read that hangs means the engine is stuck: that is a failure.
    noResponse: 'recover',
    recovery: { action: 'failover', finalAction: 'none' },
  },
  ...watchingHooks('md', 'mdw'),
});

/**
 * `mdnw`: the mirror connect of an md volume (timing always). An error means the copies are not being
 * kept in step (the active server goes on alone, marking what the peer lacks): an alert for the
 * operator, never a failover (final-only with final action none), since moving the group would not
 * bring the peer back and would serve from the copy that is now behind.
 */
export const mdConnectMonitorType = defineMonitorType({
  type: 'mdnw',
  description: 'Mirror connect monitor: the MDC path of an md volume to its peer (alerts only).',
  params: {
    /** The `md` resource whose mirror connect is watched. Required. */
    resource: watched(),
  },
  perServerKeys: [],
  impliedTiming: 'always',
  defaults: {
    interval: DEFAULTS.mdMonitorInterval,
    timeout: DEFAULTS.mdMonitorTimeout,
    retries: DEFAULTS.mdnwRetries,
    noResponse: 'warn',
    recovery: { action: 'final-only', finalAction: 'none' },
  },
  ...watchingHooks('md', 'mdnw'),
});

/**
 * The automatic `mdw` / `mdnw` of an md resource: the type's defaults, timing always, recovery on the
 * resource. Built from the type spec so a declared monitor that only names the resource compiles to the
 * same monitor (a test checks it).
 */
function mdAutoMonitor(
  resource: CompiledResource,
  spec: MonitorTypeSpec<'mdw' | 'mdnw'>,
  ctx: TypeCompileContext,
): CompiledMonitor {
  const d = spec.defaults;
  const action = d.recovery?.action ?? DEFAULTS.recoveryAction;
  const p: MdMonitorParams = { resource: resource.name };
  return {
    name: mdAutoMonitorName(resource.name, spec.type),
    type: spec.type,
    intervalMs: ms(d.interval),
    timeoutMs: ms(d.timeout),
    retries: d.retries,
    startWaitMs: ms(DEFAULTS.monitorStartWait),
    activeResource: null,
    recovery: {
      targetKind: 'resource',
      target: resource.name,
      action,
      maxReactivations: 0,
      maxFailovers: action === 'failover' || action === 'custom' ? DEFAULTS.maxFailovers : 0,
      failoverTarget: DEFAULTS.failoverTarget,
      finalAction: d.recovery?.finalAction ?? DEFAULTS.recoveryFinalAction,
      scripts: {
        beforeReactivation: null,
        beforeFailover: null,
        beforeFinalAction: null,
        timeoutMs: ms(DEFAULTS.recoveryScriptTimeout),
        cwd: ctx.baseDir,
      },
      noResponse: d.noResponse,
    },
    params: { ...p },
    perServer: {},
    auto: true,
  };
}
