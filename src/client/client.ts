/**
 * Typed client of the control API (issue "Cluster core", section 4), used by the CLI, the WebUI and the
 * API itself when it forwards an operation to the server that must carry it out. One method per route;
 * every failure becomes an `ApiClientError` that carries an `ErrorBody` (code, object, message, remedy):
 * the server's own body for HTTP errors, or one built here when the API cannot be reached, does not answer
 * in time, or answers something that is not the API's JSON.
 *
 * Uses the runtime's native `fetch` (Node 20+); tests may inject another.
 */
import type { ErrorBody } from '../shared/errors.ts';
import { OperationErrorCode, TandemError } from '../shared/errors.ts';
import type { GroupStatus, StatusDoc } from '../shared/status.ts';
import type {
  AlertList,
  ClusterInfo,
  GroupList,
  MirrorList,
  MonitorList,
  OpResult,
  PlanDoc,
  ResourceList,
  ServerList,
} from './types.ts';
import { API_PREFIX, FORWARDED_HEADER } from './types.ts';

/** How a request failed: an HTTP error answer, no connection, no answer in time, or a non-API answer. */
export type ApiFailureKind = 'http' | 'connection' | 'timeout' | 'protocol';

/** Default deadline of GET requests. */
export const DEFAULT_TIMEOUT_MS = 10_000;
/**
 * Default deadline of POST operations: the API waits up to 5 minutes for an operation to be carried out
 * (starting a group runs each resource's start command), plus time for forwarding.
 */
export const DEFAULT_OPERATION_TIMEOUT_MS = 330_000;

/** A failed API call. `body` is always a complete ErrorBody; `status` is null when there was no HTTP answer. */
export class ApiClientError extends TandemError {
  readonly kind: ApiFailureKind;
  readonly status: number | null;
  readonly body: ErrorBody;
  constructor(
    args: { kind: ApiFailureKind; status: number | null; body: ErrorBody },
    options?: { cause?: unknown },
  ) {
    super(args.body.error.message, options);
    this.kind = args.kind;
    this.status = args.status;
    this.body = args.body;
  }
  get code(): string {
    return this.body.error.code;
  }
  get object(): string {
    return this.body.error.object;
  }
  get remedy(): string {
    return this.body.error.remedy;
  }
}

export interface TandemClientOptions {
  /** e.g. `http://127.0.0.1:29003` (no trailing `/api/v1`). */
  baseUrl: string;
  /** API credential derived from the cluster secret (`apiToken` in src/shared/crypto.ts). */
  token: string;
  /** Deadline of GET requests in ms (default 10 s). */
  timeoutMs?: number;
  /** Deadline of POST operations in ms (default 330 s). */
  operationTimeoutMs?: number;
  /** Replacement for the global fetch (tests). */
  fetch?: typeof fetch;
}

export interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | number | undefined>;
  /** Extra headers, e.g. the forwarded marker. */
  headers?: Record<string, string>;
  timeoutMs?: number;
}

/** Is `value` an ErrorBody (as the API sends it)? */
export function isErrorBody(value: unknown): value is ErrorBody {
  if (typeof value !== 'object' || value === null) return false;
  const e = (value as { error?: unknown }).error;
  if (typeof e !== 'object' || e === null) return false;
  const r = e as Record<string, unknown>;
  return (
    typeof r['code'] === 'string' &&
    typeof r['object'] === 'string' &&
    typeof r['message'] === 'string' &&
    typeof r['remedy'] === 'string'
  );
}

/** The most specific system error code of a failed fetch (`ECONNREFUSED`, `EHOSTUNREACH`, ...). */
function connectionDetail(err: unknown): string {
  let cur: unknown = err;
  for (let depth = 0; depth < 5 && typeof cur === 'object' && cur !== null; depth++) {
    const c = cur as { code?: unknown; errors?: unknown; cause?: unknown; message?: unknown };
    if (typeof c.code === 'string' && !c.code.startsWith('UND_ERR_') && c.code !== 'ERR_INVALID_URL')
      return c.code;
    if (Array.isArray(c.errors) && c.errors.length > 0) {
      cur = c.errors[0];
      continue;
    }
    if (c.cause === undefined) return typeof c.message === 'string' ? c.message : 'unknown error';
    cur = c.cause;
  }
  return err instanceof Error ? err.message : String(err);
}

export class TandemClient {
  readonly baseUrl: string;
  readonly #token: string;
  readonly #timeoutMs: number;
  readonly #operationTimeoutMs: number;
  readonly #fetch: typeof fetch;

  constructor(opts: TandemClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.#token = opts.token;
    this.#timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#operationTimeoutMs = opts.operationTimeoutMs ?? DEFAULT_OPERATION_TIMEOUT_MS;
    this.#fetch = opts.fetch ?? fetch;
  }

  // ---- reads ----

  /** `GET /status`: everything in one document. */
  status(): Promise<StatusDoc> {
    return this.request('GET', '/status');
  }
  cluster(): Promise<ClusterInfo> {
    return this.request('GET', '/cluster');
  }
  servers(): Promise<ServerList> {
    return this.request('GET', '/servers');
  }
  groups(): Promise<GroupList> {
    return this.request('GET', '/groups');
  }
  group(name: string): Promise<GroupStatus> {
    return this.request('GET', `/groups/${encodeURIComponent(name)}`);
  }
  resources(): Promise<ResourceList> {
    return this.request('GET', '/resources');
  }
  monitors(): Promise<MonitorList> {
    return this.request('GET', '/monitors');
  }
  /** Alert log entries with `seq > after`, newest last, at most `limit` (the server's default: 100). */
  alerts(opts: { after?: number; limit?: number } = {}): Promise<AlertList> {
    return this.request('GET', '/alerts', { query: { after: opts.after, limit: opts.limit } });
  }
  plan(): Promise<PlanDoc> {
    return this.request('GET', '/plan');
  }

  // ---- operations ----

  /** Join the cluster: the answering server, or every server with `all`. */
  clusterStart(opts: { all?: boolean } = {}): Promise<OpResult> {
    return this.#op('/cluster/start', opts.all === true ? { all: true } : {});
  }
  /** Leave the cluster (groups are deactivated or fail over; the daemon keeps answering). */
  clusterStop(opts: { all?: boolean } = {}): Promise<OpResult> {
    return this.#op('/cluster/stop', opts.all === true ? { all: true } : {});
  }
  groupStart(name: string, opts: { server?: string } = {}): Promise<OpResult> {
    return this.#op(
      `/groups/${encodeURIComponent(name)}/start`,
      opts.server === undefined ? {} : { server: opts.server },
    );
  }
  groupStop(name: string): Promise<OpResult> {
    return this.#op(`/groups/${encodeURIComponent(name)}/stop`, {});
  }
  groupMove(name: string, opts: { to?: string } = {}): Promise<OpResult> {
    return this.#op(`/groups/${encodeURIComponent(name)}/move`, opts.to === undefined ? {} : { to: opts.to });
  }
  /** Clear the group's failover marks and recovery counters. */
  groupReset(name: string): Promise<OpResult> {
    return this.#op(`/groups/${encodeURIComponent(name)}/reset`, {});
  }
  /** The answering server's mirror disk copies. */
  mdStatus(): Promise<MirrorList> {
    return this.request('GET', '/md');
  }
  /** Break the mirroring of md resource `name` on the answering server (its copy goes on alone). */
  mdBreak(name: string): Promise<OpResult> {
    return this.#op(`/md/${encodeURIComponent(name)}/break`, {});
  }
  /** Allow the next activation of `name` on the answering server even when its copy may not be the latest. */
  mdForce(name: string): Promise<OpResult> {
    return this.#op(`/md/${encodeURIComponent(name)}/force`, {});
  }
  /**
   * Start the mirror recovery of `name` (a pending recovery, a break, a rebuilt disk, a split brain): the
   * copy on `source` wins and the other is resynced from it; without `source`, the copy the generations
   * say is newer (refused with MD_RECOVER_NEEDS_SOURCE for a split brain or unrelated copies).
   */
  mdRecover(name: string, source?: string): Promise<OpResult> {
    return this.#op(`/md/${encodeURIComponent(name)}/recover`, source === undefined ? {} : { source });
  }
  /** Confirm that a lost server's instance is stopped (after a failed forced stop). */
  serverConfirmDown(name: string): Promise<OpResult> {
    return this.#op(`/servers/${encodeURIComponent(name)}/confirm-down`, {});
  }
  resourceStart(name: string): Promise<OpResult> {
    return this.#op(`/resources/${encodeURIComponent(name)}/start`, {});
  }
  resourceStop(name: string): Promise<OpResult> {
    return this.#op(`/resources/${encodeURIComponent(name)}/stop`, {});
  }
  /** Suspend one monitor, or all when `monitor` is absent. */
  monitorSuspend(monitor?: string): Promise<OpResult> {
    return this.#op('/monitors/suspend', monitor === undefined ? {} : { monitor });
  }
  monitorResume(monitor?: string): Promise<OpResult> {
    return this.#op('/monitors/resume', monitor === undefined ? {} : { monitor });
  }

  /**
   * Send an operation that another server's API received, marked as forwarded so that this server carries
   * it out itself. `path` is relative to `/api/v1`.
   */
  forward(path: string, body: unknown): Promise<OpResult> {
    return this.request('POST', path, {
      body: body ?? {},
      headers: { [FORWARDED_HEADER]: '1' },
      timeoutMs: this.#operationTimeoutMs,
    });
  }

  #op(path: string, body: Record<string, unknown>): Promise<OpResult> {
    return this.request('POST', path, { body, timeoutMs: this.#operationTimeoutMs });
  }

  /** One API call; `path` is relative to `/api/v1`. Resolves with the parsed 2xx body. */
  async request<T>(method: 'GET' | 'POST', path: string, opts: RequestOptions = {}): Promise<T> {
    const url = new URL(this.baseUrl + API_PREFIX + path);
    for (const [k, v] of Object.entries(opts.query ?? {}))
      if (v !== undefined) url.searchParams.set(k, String(v));
    const where = `the Tandem API at ${this.baseUrl}`;
    const timeoutMs = opts.timeoutMs ?? this.#timeoutMs;
    const headers: Record<string, string> = { authorization: `Bearer ${this.#token}`, ...opts.headers };
    let init: RequestInit = { method, headers, signal: AbortSignal.timeout(timeoutMs) };
    if (method === 'POST') {
      headers['content-type'] = 'application/json';
      init = { ...init, body: JSON.stringify(opts.body ?? {}) };
    }
    let res: Response;
    let text: string;
    try {
      res = await this.#fetch(url, init);
      text = await res.text();
    } catch (err) {
      throw this.#transportError(err, where, timeoutMs);
    }
    let parsed: unknown;
    try {
      parsed = text === '' ? null : JSON.parse(text);
    } catch (err) {
      throw new ApiClientError(
        {
          kind: 'protocol',
          status: res.status,
          body: errorBody(
            OperationErrorCode.operationFailed,
            `api ${this.baseUrl}`,
            `${where} answered HTTP ${res.status} with a body that is not JSON`,
            'check that --host points at a Tandem API (default port 29003), not another service',
          ),
        },
        { cause: err },
      );
    }
    if (res.ok) return parsed as T;
    if (isErrorBody(parsed)) throw new ApiClientError({ kind: 'http', status: res.status, body: parsed });
    throw new ApiClientError({
      kind: 'protocol',
      status: res.status,
      body: errorBody(
        OperationErrorCode.operationFailed,
        `api ${this.baseUrl}`,
        `${where} answered HTTP ${res.status} without an error body`,
        'check that --host points at a Tandem API (default port 29003), not another service',
      ),
    });
  }

  #transportError(err: unknown, where: string, timeoutMs: number): ApiClientError {
    const name = err instanceof Error ? err.name : '';
    if (name === 'TimeoutError' || name === 'AbortError') {
      return new ApiClientError(
        {
          kind: 'timeout',
          status: null,
          body: errorBody(
            OperationErrorCode.timeout,
            `api ${this.baseUrl}`,
            `${where} did not answer within ${timeoutMs} ms`,
            'the operation may still be in progress: check with tandem status, and look at the daemon log of that server',
          ),
        },
        { cause: err },
      );
    }
    return new ApiClientError(
      {
        kind: 'connection',
        status: null,
        body: errorBody(
          OperationErrorCode.peerUnreachable,
          `api ${this.baseUrl}`,
          `cannot reach ${where}: ${connectionDetail(err)}`,
          'is the daemon running on that server? start it with tandem daemon --config FILE --server NAME, ' +
            'or ask another server with --host HOST[:PORT]',
        ),
      },
      { cause: err },
    );
  }
}

/** Build an ErrorBody. */
export function errorBody(code: string, object: string, message: string, remedy: string): ErrorBody {
  return { error: { code, object, message, remedy } };
}
