/**
 * The one place where failures become HTTP answers (STYLE.md 12, 22). Every error answer of the API is an
 * `ErrorBody` `{ error: { code, object, message, remedy } }` whose `code` is an `OperationErrorCode`:
 *
 * | code                                   | HTTP |
 * | -------------------------------------- | ---- |
 * | INVALID_REQUEST                        | 400  |
 * | UNAUTHORIZED                           | 401  |
 * | NOT_FOUND                              | 404  |
 * | PEER_UNREACHABLE, SERVER_UNAVAILABLE   | 503  |
 * | TIMEOUT                                | 504  |
 * | any other refusal or failure           | 409  |
 * | a bug in the API or daemon             | 500 (OPERATION_FAILED) |
 *
 * `object` names the kind and the name (`group failover1`, `server node-2`, `api`) so that the CLI can
 * print `tandem: group failover1: refused (SERVER_NOT_ELIGIBLE): ...; remedy`.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { OperatorOp, OperatorReply } from '../core/types.ts';
import type { Logger } from '../ports/logger.ts';
import type { CompiledConfig } from '../shared/config/types.ts';
import type { ErrorBody } from '../shared/errors.ts';
import { OperationError, OperationErrorCode, TandemError } from '../shared/errors.ts';

/** A failure that the API answers with `status` and `body`. Thrown by routes; rendered by the error handler. */
export class ApiError extends TandemError {
  readonly status: number;
  readonly body: ErrorBody;
  constructor(status: number, body: ErrorBody, options?: { cause?: unknown }) {
    super(body.error.message, options);
    this.status = status;
    this.body = body;
  }
}

/** HTTP status for an error code (see the table above). */
export function statusForCode(code: string): number {
  switch (code) {
    case OperationErrorCode.invalidRequest:
      return 400;
    case OperationErrorCode.unauthorized:
      return 401;
    case OperationErrorCode.notFound:
      return 404;
    case OperationErrorCode.peerUnreachable:
    case OperationErrorCode.serverUnavailable:
      return 503;
    case OperationErrorCode.timeout:
      return 504;
    default:
      return 409;
  }
}

/** An ApiError whose status follows from its code. */
export function apiError(
  code: string,
  object: string,
  message: string,
  remedy: string,
  cause?: unknown,
): ApiError {
  return new ApiError(
    statusForCode(code),
    { error: { code, object, message, remedy } },
    cause === undefined ? undefined : { cause },
  );
}

/** 401 for a request without the cluster credential. */
export function unauthorized(reason: string): ApiError {
  return apiError(
    OperationErrorCode.unauthorized,
    'api',
    `${reason}: every request must carry Authorization: Bearer <token> derived from the cluster secret`,
    "use the credential derived from the cluster secret, e.g. run the CLI with --config pointing at the cluster's config file (its cluster.secretFile must be readable)",
  );
}

export type ObjectKind = 'group' | 'resource' | 'monitor' | 'server';

/** 404 for an unknown object name, listing the valid names. */
export function notFound(kind: ObjectKind, name: string, valid: readonly string[]): ApiError {
  const plural = `${kind}s`;
  return apiError(
    OperationErrorCode.notFound,
    `${kind} ${name}`,
    valid.length === 0
      ? `no ${kind} named ${name}: the cluster has no ${plural}`
      : `no ${kind} named ${name}; valid ${plural}: ${valid.join(', ')}`,
    `use one of the ${plural} of the cluster configuration (tandem status lists them)`,
  );
}

/** The kind and name an operation is about (`group failover1`), used when a reply names no object. */
export function objectOfOp(op: OperatorOp): string {
  switch (op.op) {
    case 'cluster-start':
    case 'cluster-stop':
      return 'cluster';
    case 'confirm-down':
      return `server ${op.server}`;
    case 'group-start':
    case 'group-stop':
    case 'group-move':
    case 'group-reset':
      return `group ${op.group}`;
    case 'resource-start':
    case 'resource-stop':
      return `resource ${op.resource}`;
    case 'monitor-suspend':
    case 'monitor-resume':
      return op.monitor === undefined ? 'monitors' : `monitor ${op.monitor}`;
  }
}

/**
 * `object` as the daemon's reply gives it, qualified with its kind when it is a bare name: the op's own
 * object first (a group and a resource may share a name), then groups, resources, monitors and servers.
 */
export function qualifyObject(object: string | undefined, op: OperatorOp, config: CompiledConfig): string {
  if (object === undefined || object === '') return objectOfOp(op);
  if (object.includes(' ') || object === 'cluster' || object === 'api' || object === 'monitors')
    return object;
  const own = objectOfOp(op);
  if (own.endsWith(` ${object}`)) return own;
  if (config.groups.some((g) => g.name === object)) return `group ${object}`;
  if (config.resources.some((r) => r.name === object)) return `resource ${object}`;
  if (config.monitors.some((m) => m.name === object)) return `monitor ${object}`;
  if (config.servers.some((s) => s.name === object)) return `server ${object}`;
  return object;
}

/** ApiError for a refused or failed operator reply. */
export function errorFromReply(reply: OperatorReply, op: OperatorOp, config: CompiledConfig): ApiError {
  const code = reply.code ?? OperationErrorCode.operationFailed;
  return apiError(
    code,
    qualifyObject(reply.object, op, config),
    reply.message,
    reply.remedy ?? 'see tandem alerts and the daemon log of that server for the cause',
  );
}

function isFastifyError(err: unknown): err is FastifyError {
  return err instanceof Error && ('statusCode' in err || 'validation' in err || 'code' in err);
}

/**
 * Make every error answer an ErrorBody: thrown ApiErrors and OperationErrors, schema validation errors
 * (400), body parser errors, unknown routes (404), and anything unexpected (500, logged).
 */
export function installErrorHandling(app: FastifyInstance, log: Logger): void {
  app.setErrorHandler((err: unknown, req: FastifyRequest, reply: FastifyReply) => {
    const where = `api ${req.method} ${req.routeOptions.url ?? req.url.split('?')[0] ?? req.url}`;
    let e: ApiError;
    if (err instanceof ApiError) {
      e = err;
    } else if (err instanceof OperationError) {
      e = apiError(err.code, err.object, err.message, err.remedy, err);
    } else if (isFastifyError(err) && err.validation !== undefined) {
      e = apiError(
        OperationErrorCode.invalidRequest,
        where,
        `invalid request: ${err.message}`,
        'send the fields this route documents (see the command reference in README.md), or use the tandem CLI',
        err,
      );
    } else if (
      isFastifyError(err) &&
      typeof err.statusCode === 'number' &&
      err.statusCode >= 400 &&
      err.statusCode < 500
    ) {
      e = new ApiError(
        err.statusCode,
        {
          error: {
            code: OperationErrorCode.invalidRequest,
            object: where,
            message: `invalid request: ${err.message}`,
            remedy: 'send a JSON object body with Content-Type: application/json, or use the tandem CLI',
          },
        },
        { cause: err },
      );
    } else {
      log.error(
        { method: req.method, url: req.url, err: err instanceof Error ? err.message : String(err) },
        'internal error while answering an API request',
      );
      e = new ApiError(
        500,
        {
          error: {
            code: OperationErrorCode.operationFailed,
            object: where,
            message: `internal error: ${err instanceof Error ? err.message : String(err)}`,
            remedy: 'this is a bug in Tandem: see the daemon log of this server and report it',
          },
        },
        { cause: err },
      );
    }
    if (e.status === 401) void reply.header('www-authenticate', 'Bearer realm="tandem"');
    return reply.code(e.status).send(e.body);
  });

  app.setNotFoundHandler((req: FastifyRequest, reply: FastifyReply) => {
    const path = req.url.split('?')[0] ?? req.url;
    return reply.code(404).send({
      error: {
        code: OperationErrorCode.notFound,
        object: `api ${req.method} ${path}`,
        message: `no API route ${req.method} ${path}`,
        remedy: 'use a route under /api/v1 (see the command reference in README.md), or use the tandem CLI',
      },
    } satisfies ErrorBody);
  });
}
