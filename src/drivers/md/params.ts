/**
 * Parameters of the `md` resource and of its `mdw` / `mdnw` monitors as the drivers read them (issue 5
 * sections 1 and 3): the runtime schema applied to the compiled params after the per-server overrides are
 * merged (`paramsFor`), the descriptions `describe()` shows, and where the volume is served over NBD.
 * The config compiler (src/shared/config/resource-types-mirror.ts) has checked everything already; this
 * parse only guards the drivers against a params object built some other way (tests, tools).
 */
import { join } from 'node:path';
import { z } from 'zod';
import type { MdNbdEndpoint, MdParams } from '../../shared/config/types.ts';
import type { NbdListen } from '../../nbd/server.ts';
import type { ParamDescription } from '../driver.ts';
import { driverError } from '../messages.ts';
import { MD_MESSAGES } from './errors.ts';

const hostPort = z.object({ host: z.string().min(1), port: z.number().int().min(0).max(65535) });
const nbd = z.union([z.object({ path: z.string().min(1) }), hostPort]);

/** One server's merged md params; `dataPath`, `clusterPath`, `mdc` and `peer` are set on both servers. */
export const mdParamsSchema = z.object({
  dataPath: z.string().min(1).nullable(),
  clusterPath: z.string().min(1).nullable(),
  mdc: hostPort.nullable(),
  mode: z.enum(['sync', 'async']),
  nbd: nbd.nullable(),
  size: z.number().int().positive().nullable(),
  regionSize: z.number().int().positive(),
  hotRegions: z.number().int().min(0),
  hotExtent: z.number().int().positive(),
  initialSync: z.enum(['full', 'skip']),
  autoRecovery: z.boolean(),
  queueSize: z.number().int().positive(),
  sendTimeoutMs: z.number().int().positive(),
  connectTimeoutMs: z.number().int().positive(),
  ackTimeoutMs: z.number().int().positive(),
  mount: z
    .object({
      device: z.string().regex(/^\/dev\/nbd\d+$/, 'expected an NBD device such as /dev/nbd0'),
      path: z.string().startsWith('/', 'expected an absolute mount point'),
      fsType: z.string().min(1),
      options: z.string().nullable(),
    })
    .nullable(),
  peer: z.string().nullable(),
}) satisfies z.ZodType<MdParams>;

/** Parse one server's merged params; throws MD_INVALID_PARAMS naming every problem. */
export function parseMdParams(params: Record<string, unknown>, resource: string): MdParams {
  const r = mdParamsSchema.safeParse(params);
  if (!r.success) {
    const what = r.error.issues.map((i) => `${i.path.map(String).join('.') || '(params)'}: ${i.message}`);
    throw driverError(MD_MESSAGES, 'MD_INVALID_PARAMS', resource, `${what.join('; ')}.`);
  }
  return r.data;
}

/** Problems of one server's merged params, as text (empty = fine). */
export function mdParamsProblems(params: Record<string, unknown>): string[] {
  const r = mdParamsSchema.safeParse(params);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.map(String).join('.')}: ${i.message}`);
}

/** `host:port`, with brackets around an IPv6 host (what the mirror engine parses). */
export function endpointText(e: { host: string; port: number }): string {
  return `${e.host.includes(':') ? `[${e.host}]` : e.host}:${e.port}`;
}

/** The directory of the default NBD sockets: `<stateDir>/nbd` (created 0700 by the driver). */
export function nbdSocketDir(stateDir: string): string {
  return join(stateDir, 'nbd');
}

/** Where the volume is served on this server: the configured endpoint, else `<stateDir>/nbd/<name>.sock`. */
export function nbdListenFor(nbdParam: MdNbdEndpoint | null, stateDir: string, resource: string): NbdListen {
  if (nbdParam === null) return { path: join(nbdSocketDir(stateDir), `${resource}.sock`) };
  return 'path' in nbdParam ? { path: nbdParam.path } : { host: nbdParam.host, port: nbdParam.port };
}

export const MD_PARAMS: ParamDescription[] = [
  {
    name: 'dataPath',
    type: 'string',
    required: true,
    perServer: true,
    description: 'The data partition (file or block device) holding the copy of this server.',
  },
  {
    name: 'clusterPath',
    type: 'string',
    required: true,
    perServer: true,
    description: 'The cluster partition holding the metadata of the mirror (generations, dirty bitmap).',
  },
  {
    name: 'mdc',
    type: 'string',
    required: true,
    perServer: true,
    description: 'Mirror connect address[:port] this server listens on (TCP, default port 29051).',
  },
  {
    name: 'mode',
    type: 'string',
    required: false,
    default: 'sync',
    perServer: false,
    description: 'sync: writes acknowledged once durable on both copies; async: once durable locally.',
  },
  {
    name: 'nbd',
    type: 'string',
    required: false,
    default: null,
    perServer: true,
    description:
      'Where the active server serves the volume: a unix socket path or address:port. Default <stateDir>/nbd/<resource>.sock.',
  },
  {
    name: 'size',
    type: 'number',
    required: false,
    default: null,
    perServer: false,
    description: 'Volume size in bytes (a multiple of 512). Default: the size of the data partition.',
  },
  {
    name: 'regionSize',
    type: 'number',
    required: false,
    default: 65536,
    perServer: false,
    description: 'Bytes per bit of the dirty bitmap.',
  },
  {
    name: 'hotRegions',
    type: 'number',
    required: false,
    default: 1024,
    perServer: false,
    description: 'Recently written extents kept marked on disk (activity log).',
  },
  {
    name: 'hotExtent',
    type: 'number',
    required: false,
    default: 4194304,
    perServer: false,
    description: 'Bytes one activity-log extent covers (a power of two, at least regionSize).',
  },
  {
    name: 'initialSync',
    type: 'string',
    required: false,
    default: 'full',
    perServer: false,
    description: 'full: two fresh copies are synced in full; skip: they are known to be identical.',
  },
  {
    name: 'autoRecovery',
    type: 'boolean',
    required: false,
    default: true,
    perServer: false,
    description:
      'Resync automatically when the peers connect and one copy is behind; false: wait for `tandem md recover NAME` (the initial full sync still runs).',
  },
  {
    name: 'queueSize',
    type: 'number',
    required: false,
    default: 2048,
    perServer: false,
    description: 'Async mode: writes queued for the peer.',
  },
  {
    name: 'sendTimeout',
    type: 'duration',
    required: false,
    default: '30s',
    perServer: false,
    description: 'Time allowed to send a message to the peer.',
  },
  {
    name: 'connectTimeout',
    type: 'duration',
    required: false,
    default: '10s',
    perServer: false,
    description: 'Time allowed to connect to the peer.',
  },
  {
    name: 'ackTimeout',
    type: 'duration',
    required: false,
    default: '100s',
    perServer: false,
    description: 'Time allowed for the acknowledgement by the peer of a write; past it the peer is lost.',
  },
  {
    name: 'mount',
    type: 'record',
    required: false,
    default: null,
    perServer: true,
    description:
      'Real servers: { device: /dev/nbdN, path, fsType, options }: attach with nbd-client and mount on activation.',
  },
];

/** Params of `mdw` and `mdnw`. */
export const MD_MONITOR_PARAMS: ParamDescription[] = [
  {
    name: 'resource',
    type: 'string',
    required: true,
    perServer: false,
    description: 'The md resource watched.',
  },
];
