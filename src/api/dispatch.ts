/**
 * "An operation asked of any server is carried out wherever it must run" (issue section 4). For every POST
 * the API asks the daemon which server must carry the operation out (`DaemonControl.routeFor`); when that
 * is another server and the request was not itself forwarded, it is forwarded once, with the same
 * credential and the `x-tandem-forwarded: 1` marker, to that server's API (`servers[].api`); otherwise the
 * local daemon carries it out. A forwarded request is never forwarded again, so a disagreement between
 * two servers about the route ends at the second server instead of looping.
 *
 * `cluster start|stop` with `all: true` is sent to every server of the config at once (each part as a
 * forwarded request, the answering server's own part locally).
 */
import type { FastifyRequest } from 'fastify';
import { ApiClientError, TandemClient } from '../client/client.ts';
import type { OpResult, ServerOpResult } from '../client/types.ts';
import { API_PREFIX, FORWARDED_HEADER } from '../client/types.ts';
import type { OperatorOp } from '../core/types.ts';
import type { DaemonControl } from '../daemon/control.ts';
import type { Logger } from '../ports/logger.ts';
import { OperationError, OperationErrorCode } from '../shared/errors.ts';
import type { ObjectKind } from './errors.ts';
import { ApiError, apiError, errorFromReply, notFound } from './errors.ts';

/** Where to reach a server's API: `servers[].api` by default; tests may override. */
export type PeerAddress = (server: string) => { address: string; port: number };

export interface DispatchOptions {
  control: DaemonControl;
  token: string;
  log: Logger;
  peers?: PeerAddress | undefined;
  /** How long the local daemon may take to carry an operation out. */
  operationTimeoutMs: number;
}

function urlFor(address: string, port: number): string {
  return address.includes(':') ? `http://[${address}]:${port}` : `http://${address}:${port}`;
}

export class Dispatcher {
  readonly #o: DispatchOptions;
  constructor(opts: DispatchOptions) {
    this.#o = opts;
  }

  /** Throw 404 NOT_FOUND unless the config has an object of `kind` named `name`. */
  requireName(kind: ObjectKind, name: string): void {
    const c = this.#o.control.config;
    const names =
      kind === 'group'
        ? c.groups.map((g) => g.name)
        : kind === 'resource'
          ? c.resources.map((r) => r.name)
          : kind === 'monitor'
            ? c.monitors.map((m) => m.name)
            : c.servers.map((s) => s.name);
    if (!names.includes(name)) throw notFound(kind, name, names);
  }

  /** Carry `op` out here, or forward it to the server that must carry it out. */
  async run(op: OperatorOp, req: FastifyRequest): Promise<OpResult> {
    const { control } = this.#o;
    const forwarded = isForwarded(req);
    const target = control.routeFor(op);
    if (target !== control.server && !forwarded) {
      this.#o.log.info(
        { op: op.op, server: target },
        'forwarding operation to the server that must carry it out',
      );
      return this.#forward(target, pathOf(req), req.body ?? {});
    }
    return this.#local(op, forwarded);
  }

  /** `cluster start|stop --all`: every server at once; fails (first failure's code) when any part failed. */
  async runOnEveryServer(op: OperatorOp, req: FastifyRequest): Promise<OpResult> {
    const { control } = this.#o;
    const path = pathOf(req);
    const parts = await Promise.all(
      control.config.servers.map(async (s): Promise<{ result: ServerOpResult; error: ApiError | null }> => {
        try {
          const r =
            s.name === control.server ? await this.#local(op, false) : await this.#forward(s.name, path, {});
          return { result: { server: s.name, ok: true, message: r.message }, error: null };
        } catch (err) {
          const e = toApiError(err);
          return {
            result: { server: s.name, ok: false, code: e.body.error.code, message: e.body.error.message },
            error: e,
          };
        }
      }),
    );
    const results = parts.map((p) => p.result);
    const failed = parts.filter((p) => p.error !== null);
    const verb = op.op === 'cluster-start' ? 'cluster start' : 'cluster stop';
    const first = failed[0]?.error;
    if (first === undefined || first === null) {
      return { ok: true, message: `${verb}: done on ${results.map((r) => r.server).join(', ')}`, results };
    }
    const done = results.filter((r) => r.ok).map((r) => r.server);
    const summary =
      `${verb} failed on ${failed.map((p) => p.result.server).join(', ')}: ` +
      failed.map((p) => `${p.result.server}: ${p.result.message}`).join('; ') +
      (done.length > 0 ? ` (done on ${done.join(', ')})` : '');
    throw new ApiError(first.status, { error: { ...first.body.error, message: summary } });
  }

  async #local(op: OperatorOp, forwarded: boolean): Promise<OpResult> {
    const { control } = this.#o;
    const reply = await control.operate(op, { timeoutMs: this.#o.operationTimeoutMs, forwarded });
    if (!reply.ok) throw errorFromReply(reply, op, control.config);
    return { ok: true, message: reply.message, server: control.server };
  }

  async #forward(server: string, path: string, body: unknown): Promise<OpResult> {
    const { control } = this.#o;
    const known = control.config.servers.find((s) => s.name === server);
    if (known === undefined) {
      throw apiError(
        OperationErrorCode.serverUnavailable,
        `server ${server}`,
        `the daemon routed the operation to server ${server}, which is not in the cluster configuration`,
        'this is a bug in Tandem: report it with the output of tandem status and tandem plan',
      );
    }
    const at = this.#o.peers?.(server) ?? known.api;
    const client = new TandemClient({
      baseUrl: urlFor(at.address, at.port),
      token: this.#o.token,
      // The peer waits up to operationTimeoutMs for its daemon; leave it time to answer after that.
      operationTimeoutMs: this.#o.operationTimeoutMs + 5_000,
    });
    try {
      return await client.forward(path, body);
    } catch (err) {
      if (!(err instanceof ApiClientError)) throw err;
      if (err.kind === 'http' && err.status !== null)
        throw new ApiError(err.status, err.body, { cause: err });
      if (err.kind === 'timeout') {
        throw apiError(
          OperationErrorCode.timeout,
          `server ${server}`,
          `server ${server} did not answer the forwarded request within ${this.#o.operationTimeoutMs + 5_000} ms`,
          `the operation may still be in progress on ${server}: check with tandem status, and see the daemon log of ${server}`,
          err,
        );
      }
      throw apiError(
        OperationErrorCode.peerUnreachable,
        `server ${server}`,
        `the operation must run on server ${server}, but its API cannot be reached: ${err.message}`,
        `start the daemon on ${server} (tandem daemon --config FILE --server ${server}) and check that TCP port ${at.port} ` +
          `is open between the servers; or ask ${server} directly with --host ${server}`,
        err,
      );
    }
  }
}

function isForwarded(req: FastifyRequest): boolean {
  return req.headers[FORWARDED_HEADER] === '1';
}

/** Request path relative to `/api/v1`, as received (names stay percent-encoded). */
function pathOf(req: FastifyRequest): string {
  const url = req.url;
  return url.startsWith(API_PREFIX) ? url.slice(API_PREFIX.length) : url;
}

function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof OperationError) return apiError(err.code, err.object, err.message, err.remedy, err);
  return apiError(
    OperationErrorCode.operationFailed,
    'cluster',
    err instanceof Error ? err.message : String(err),
    'see the daemon log of this server',
    err,
  );
}
