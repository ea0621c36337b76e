/**
 * The witness heartbeat service (issue 3 section 3, "Witness heartbeat"; docs/architecture.md "Witness"):
 * a small HTTP(S) server on a third machine that stores each server's last signed heartbeat and tells the
 * other servers of the same cluster how long ago it arrived, on the witness's own monotonic clock, so
 * server clocks need not agree. The protocol is described in src/adapters/witness-protocol.ts.
 *
 * The witness knows no secret and verifies no MAC: it checks only the packet framing and that the packet
 * names the cluster of the request, and it relays the bytes unchanged for the servers to verify. It is
 * bounded (at most `maxClusters` clusters of `maxServersPerCluster` servers, 64 KiB bodies, entries older
 * than `retentionMs` evicted) and it never logs packets.
 */
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import {
  KEY_ID_RE,
  NAME_RE,
  WITNESS_BODY_LIMIT,
  WITNESS_CLUSTER_HEADER,
  WITNESS_CONTENT_TYPE,
  WITNESS_HEALTH_PATH,
  WITNESS_HEARTBEAT_PATH,
  WITNESS_KEY_ID_HEADER,
} from '../adapters/witness-protocol.ts';
import type { WitnessResponse } from '../adapters/witness-protocol.ts';
import { unverifiedBody } from '../adapters/wire.ts';
import type { Logger } from '../ports/logger.ts';
import type { ErrorBody } from '../shared/errors.ts';

export interface WitnessLimits {
  /** Distinct (cluster name, key id) pairs kept. @default 64 */
  maxClusters: number;
  /** Servers kept per cluster. @default 16 */
  maxServersPerCluster: number;
  /** Request body limit in bytes. @default 65536 */
  maxBodyBytes: number;
  /** An entry not refreshed for this long is evicted (ms). @default 3600000 (1 hour) */
  retentionMs: number;
}

export const DEFAULT_WITNESS_LIMITS: WitnessLimits = {
  maxClusters: 64,
  maxServersPerCluster: 16,
  maxBodyBytes: WITNESS_BODY_LIMIT,
  retentionMs: 60 * 60 * 1000,
};

interface Entry {
  packet: Buffer;
  /** Witness monotonic ms. */
  arrivedAtMs: number;
}

interface Tenant {
  cluster: string;
  keyId: string;
  servers: Map<string, Entry>;
}

export type StoreResult =
  | { ok: true; peers: Record<string, { ageMs: number; packet: Buffer }> }
  | { ok: false; status: number; body: ErrorBody };

/** The witness's memory: last packet per (cluster, key id, server). No I/O; time is passed in. */
export class WitnessStore {
  readonly #limits: WitnessLimits;
  readonly #tenants = new Map<string, Tenant>();
  readonly #log: Logger | undefined;

  constructor(limits: WitnessLimits, log?: Logger) {
    this.#limits = limits;
    this.#log = log;
  }

  /** Record `packet` of `server` and return what the witness knows of the other servers. */
  post(cluster: string, keyId: string, server: string, packet: Buffer, nowMs: number): StoreResult {
    this.evict(nowMs);
    const id = `${keyId}/${cluster}`;
    let tenant = this.#tenants.get(id);
    if (tenant === undefined) {
      if (this.#tenants.size >= this.#limits.maxClusters) {
        return full(cluster, `The witness already serves ${this.#limits.maxClusters} clusters.`);
      }
      tenant = { cluster, keyId, servers: new Map() };
      this.#tenants.set(id, tenant);
      this.#log?.info({ cluster, keyId }, 'witness: new cluster');
    }
    if (!tenant.servers.has(server)) {
      if (tenant.servers.size >= this.#limits.maxServersPerCluster) {
        return full(
          cluster,
          `Cluster ${cluster} already has ${this.#limits.maxServersPerCluster} servers here.`,
        );
      }
      this.#log?.info({ cluster, keyId, peer: server }, 'witness: new server');
    }
    tenant.servers.set(server, { packet: Buffer.from(packet), arrivedAtMs: nowMs });
    const peers: Record<string, { ageMs: number; packet: Buffer }> = {};
    for (const [name, e] of tenant.servers) {
      if (name !== server)
        peers[name] = { ageMs: Math.max(0, Math.round(nowMs - e.arrivedAtMs)), packet: e.packet };
    }
    return { ok: true, peers };
  }

  /** Drop entries older than the retention and clusters left empty. */
  evict(nowMs: number): void {
    for (const [id, tenant] of this.#tenants) {
      for (const [name, e] of tenant.servers) {
        if (nowMs - e.arrivedAtMs > this.#limits.retentionMs) {
          tenant.servers.delete(name);
          this.#log?.info(
            { cluster: tenant.cluster, keyId: tenant.keyId, peer: name },
            'witness: server evicted',
          );
        }
      }
      if (tenant.servers.size === 0) this.#tenants.delete(id);
    }
  }

  /** Counts, for health and tests. */
  size(): { clusters: number; servers: number } {
    let servers = 0;
    for (const t of this.#tenants.values()) servers += t.servers.size;
    return { clusters: this.#tenants.size, servers };
  }
}

function full(cluster: string, message: string): StoreResult {
  return {
    ok: false,
    status: 503,
    body: {
      error: {
        code: 'WITNESS_FULL',
        object: cluster,
        message,
        remedy: 'Run another witness for more clusters, or wait an hour for idle entries to be evicted.',
      },
    },
  };
}

export interface WitnessServerOptions {
  host: string;
  /** 0 picks a free port (see `address.port`). */
  port: number;
  /** Serve HTTPS with this certificate and key (PEM). */
  tls?: { cert: Buffer | string; key: Buffer | string };
  log?: Logger;
  limits?: Partial<WitnessLimits>;
  /** Monotonic clock (ms) for arrival times; default performance.now. */
  nowMs?: () => number;
  /** Wall clock (ms) reported as `now`; default Date.now. */
  wallMs?: () => number;
}

export interface WitnessServer {
  address: { host: string; port: number; url: string };
  store: WitnessStore;
  /** Stop listening, drop open connections, resolve when closed. Idempotent. */
  close(): Promise<void>;
}

function sendJson(res: ServerResponse, status: number, body: unknown, closeAfter = false): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...(closeAfter ? { connection: 'close' } : {}),
  });
  res.end(text);
}

function errorBody(code: string, object: string, message: string, remedy: string): ErrorBody {
  return { error: { code, object, message, remedy } };
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? undefined : v;
}

/** Start the witness service; resolves once it listens. */
export async function createWitnessServer(opts: WitnessServerOptions): Promise<WitnessServer> {
  const limits: WitnessLimits = { ...DEFAULT_WITNESS_LIMITS, ...opts.limits };
  const log = opts.log;
  const nowMs = opts.nowMs ?? ((): number => performance.now());
  const wallMs = opts.wallMs ?? ((): number => Date.now());
  const store = new WitnessStore(limits, log);

  const handleHeartbeat = (req: IncomingMessage, res: ServerResponse, body: Buffer): void => {
    const cluster = headerValue(req, WITNESS_CLUSTER_HEADER);
    const keyId = headerValue(req, WITNESS_KEY_ID_HEADER);
    if (cluster === undefined || !NAME_RE.test(cluster) || keyId === undefined || !KEY_ID_RE.test(keyId)) {
      sendJson(
        res,
        400,
        errorBody(
          'INVALID_REQUEST',
          'heartbeat',
          `Headers ${WITNESS_CLUSTER_HEADER} (cluster name) and ${WITNESS_KEY_ID_HEADER} (16 hex digits) are required.`,
          'Use a Tandem daemon of a matching version as the witness client.',
        ),
      );
      return;
    }
    const json = unverifiedBody(body);
    let sender: unknown;
    let named: unknown;
    try {
      const parsed: unknown = json === null ? null : JSON.parse(json.toString('utf8'));
      if (parsed !== null && typeof parsed === 'object') {
        sender = (parsed as Record<string, unknown>).server;
        named = (parsed as Record<string, unknown>).cluster;
      }
    } catch {
      // handled below as a malformed packet
    }
    if (typeof sender !== 'string' || !NAME_RE.test(sender) || named !== cluster) {
      sendJson(
        res,
        400,
        errorBody(
          'MALFORMED_PACKET',
          cluster,
          'The body is not a heartbeat packet of this cluster.',
          'Send the packet produced by the heartbeat codec, with the cluster name it carries in the header.',
        ),
      );
      return;
    }
    const result = store.post(cluster, keyId, sender, body, nowMs());
    if (!result.ok) {
      log?.warn({ cluster, keyId, peer: sender, code: result.body.error.code }, result.body.error.message);
      sendJson(res, result.status, result.body);
      return;
    }
    const answer: WitnessResponse = { now: wallMs(), peers: {} };
    for (const [name, p] of Object.entries(result.peers)) {
      answer.peers[name] = { ageMs: p.ageMs, packet: p.packet.toString('base64') };
    }
    sendJson(res, 200, answer);
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const path = new URL(req.url ?? '/', 'http://witness').pathname;
    if (path === WITNESS_HEALTH_PATH) {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        sendJson(
          res,
          405,
          errorBody('METHOD_NOT_ALLOWED', path, `${req.method} is not allowed.`, 'Use GET.'),
        );
        return;
      }
      sendJson(res, 200, { ok: true, ...store.size() });
      return;
    }
    if (path !== WITNESS_HEARTBEAT_PATH) {
      sendJson(
        res,
        404,
        errorBody('NOT_FOUND', path, 'No such route.', `Use POST ${WITNESS_HEARTBEAT_PATH}.`),
      );
      return;
    }
    if (req.method !== 'POST') {
      sendJson(res, 405, errorBody('METHOD_NOT_ALLOWED', path, `${req.method} is not allowed.`, 'Use POST.'));
      return;
    }
    const type = headerValue(req, 'content-type') ?? '';
    if (type.split(';')[0]!.trim().toLowerCase() !== WITNESS_CONTENT_TYPE) {
      sendJson(
        res,
        415,
        errorBody(
          'UNSUPPORTED_MEDIA_TYPE',
          path,
          `Expected ${WITNESS_CONTENT_TYPE}.`,
          'Send the raw packet.',
        ),
      );
      return;
    }
    const tooLarge = (): void => {
      sendJson(
        res,
        413,
        errorBody(
          'BODY_TOO_LARGE',
          path,
          `The body exceeds ${limits.maxBodyBytes} bytes.`,
          'Send one heartbeat packet.',
        ),
        true,
      );
      res.once('finish', () => req.destroy());
    };
    const declared = Number(headerValue(req, 'content-length') ?? '0');
    if (declared > limits.maxBodyBytes) {
      tooLarge();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let aborted = false;
    req.on('data', (chunk: Buffer) => {
      if (aborted) return;
      size += chunk.length;
      if (size > limits.maxBodyBytes) {
        aborted = true;
        tooLarge();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!aborted) handleHeartbeat(req, res, Buffer.concat(chunks, size));
    });
    req.on('error', () => {
      aborted = true;
    });
  };

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    try {
      onRequest(req, res);
    } catch (err) {
      log?.error({ err }, 'witness request failed');
      if (!res.headersSent)
        sendJson(res, 500, errorBody('INTERNAL', 'witness', 'Internal error.', 'See the witness log.'));
      else res.destroy();
    }
  };

  const serverOptions = { requestTimeout: 10_000, headersTimeout: 5_000, keepAliveTimeout: 5_000 };
  const server: Server =
    opts.tls === undefined
      ? createHttpServer(serverOptions, handler)
      : createHttpsServer({ ...serverOptions, cert: opts.tls.cert, key: opts.tls.key }, handler);
  server.maxConnections = 1024;
  server.on('clientError', (_err, socket) => {
    socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen({ host: opts.host, port: opts.port }, () => {
      server.removeListener('error', onError);
      resolve();
    });
  });
  server.on('error', (err) => log?.error({ err }, 'witness server error'));
  const info = server.address() as AddressInfo;
  const host = info.family === 'IPv6' ? `[${info.address}]` : info.address;
  const address = {
    host: info.address,
    port: info.port,
    url: `${opts.tls ? 'https' : 'http'}://${host}:${info.port}`,
  };

  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return closing;
  };
  return { address, store, close };
}
