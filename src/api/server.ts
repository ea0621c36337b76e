/**
 * The control API (issue "Cluster core", section 4): Fastify on the server's `api` address (TCP 29003 by
 * default), every route under `/api/v1` with request and response schemas (src/api/schemas.ts), every
 * request authenticated with the cluster credential (`Authorization: Bearer <apiToken(secret, cluster)>`,
 * compared in constant time), every error an ErrorBody (src/api/errors.ts). Operations are carried out
 * wherever they must run (src/api/dispatch.ts).
 *
 * The API is thin: it reads the daemon through `DaemonControl` and never knows placement rules. Tests drive
 * it with `app.inject()` and a fake DaemonControl; the daemon's composition root listens on the socket.
 */
import Fastify from 'fastify';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { API_PREFIX } from '../client/types.ts';
import type { DaemonControl } from '../daemon/control.ts';
import type { Logger } from '../ports/logger.ts';
import { API_AUTH_HEADER } from '../shared/credential.ts';
import { safeEqual } from '../shared/crypto.ts';
import { BugError } from '../shared/errors.ts';
import type { PeerAddress } from './dispatch.ts';
import { Dispatcher } from './dispatch.ts';
import { installErrorHandling, unauthorized } from './errors.ts';
import { registerAlertRoutes } from './routes/alerts.ts';
import { registerClusterRoutes } from './routes/cluster.ts';
import type { RouteContext } from './routes/context.ts';
import { registerGroupRoutes } from './routes/groups.ts';
import { registerMonitorRoutes } from './routes/monitors.ts';
import { registerMirrorRoutes } from './routes/mirrors.ts';
import { registerPlanRoutes } from './routes/plan.ts';
import { registerResourceRoutes } from './routes/resources.ts';
import { registerServerRoutes } from './routes/servers.ts';

/** How long an operation may take on the server that carries it out before the API answers TIMEOUT. */
export const DEFAULT_OPERATION_TIMEOUT_MS = 300_000;

export interface ApiServerOptions {
  control: DaemonControl;
  /** The credential every request must present (`apiToken(secret, clusterName)`). */
  token: string;
  log: Logger;
  /** Where another server's API is reached when forwarding (default: its `api` in the config). */
  peers?: PeerAddress;
  /** Deadline passed to `DaemonControl.operate` (default 5 minutes). */
  operationTimeoutMs?: number;
}

export interface ApiServer {
  app: FastifyInstance;
  /** Listen on `host:port` (port 0 picks a free one; see `address()`). */
  listen(host: string, port: number): Promise<void>;
  /** The bound address after `listen`. */
  address(): { address: string; port: number };
  /** Stop listening and close open connections. */
  close(): Promise<void>;
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;

export async function createApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  if (opts.token.length === 0) {
    throw new BugError('createApiServer: empty API token; derive it from the cluster secret with apiToken()');
  }
  const { control, log, token } = opts;
  const app = Fastify({
    logger: false,
    bodyLimit: 64 * 1024,
    // Unknown body keys are a 400, not silently dropped; query strings are still coerced to numbers.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false } },
  });
  installErrorHandling(app, log);

  app.addHook('onRequest', (req: FastifyRequest, _reply, done) => {
    const header = req.headers[API_AUTH_HEADER];
    const presented = typeof header === 'string' ? BEARER.exec(header)?.[1] : undefined;
    if (presented === undefined || !safeEqual(presented, token)) {
      log.warn(
        {
          remote: req.ip,
          method: req.method,
          url: req.url.split('?')[0] ?? req.url,
          hadCredential: header !== undefined,
        },
        'API request refused: no valid cluster credential',
      );
      done(unauthorized(presented === undefined ? 'missing credential' : 'wrong credential'));
      return;
    }
    done();
  });
  app.addHook('onResponse', (req, reply, done) => {
    log.debug(
      { method: req.method, url: req.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) },
      'API request',
    );
    done();
  });

  const ctx: RouteContext = {
    control,
    log,
    dispatch: new Dispatcher({
      control,
      token,
      log,
      peers: opts.peers,
      operationTimeoutMs: opts.operationTimeoutMs ?? DEFAULT_OPERATION_TIMEOUT_MS,
    }),
  };
  await app.register(
    (api, _o, done) => {
      registerClusterRoutes(api, ctx);
      registerServerRoutes(api, ctx);
      registerGroupRoutes(api, ctx);
      registerResourceRoutes(api, ctx);
      registerMonitorRoutes(api, ctx);
      registerAlertRoutes(api, ctx);
      registerPlanRoutes(api, ctx);
      registerMirrorRoutes(api, ctx);
      done();
    },
    { prefix: API_PREFIX },
  );
  await app.ready();

  return {
    app,
    async listen(host: string, port: number): Promise<void> {
      await app.listen({ host, port });
      log.info({ address: host, port: addressOf(app).port }, 'control API listening');
    },
    address: () => addressOf(app),
    close: () => app.close(),
  };
}

function addressOf(app: FastifyInstance): { address: string; port: number } {
  const a = app.server.address();
  if (a === null || typeof a === 'string') throw new BugError('control API is not listening on a TCP port');
  return { address: a.address, port: a.port };
}
