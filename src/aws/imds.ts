/**
 * An IMDSv2 client (issue 4 section 1): a session token from `PUT /latest/api/token` (TTL 6 h, cached until
 * shortly before it expires), then GETs below `/latest/` carrying it; a 401 (token expired or revoked)
 * fetches a new token once. Plain `node:http` straight to the endpoint with a one-off agent, so the
 * instance metadata never goes through the AWS API proxy nor a patched global agent.
 *
 * Failures are `AwsCallError`s of service `imds`: `no-answer` when the endpoint is unreachable or slow
 * (each call has its own short timeout, 2 s, capped by the caller's deadline), `answered` for an HTTP
 * error status (404 for a path that does not exist, 403 when the token is refused), `access` when
 * AWS_EC2_METADATA_DISABLED turns it off.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { AwsCallError } from './errors.ts';
import { endpointProblem } from './resolve.ts';

/** The token's lifetime asked of IMDS (s), the most it grants. */
export const IMDS_TOKEN_TTL_SEC = 21600;
/** A cached token is replaced this long before it expires (ms). */
const TOKEN_MARGIN_MS = 5 * 60_000;
/** Default timeout of one IMDS call, token included (ms). */
export const IMDS_TIMEOUT_MS = 2000;
/** Larger answers are refused: IMDS documents are small. */
const MAX_BODY_BYTES = 1 << 20;

export interface ImdsClientOptions {
  /** e.g. `http://169.254.169.254` (no trailing slash). */
  endpoint: string;
  disabled: boolean;
  now: () => number;
  /** @default 2000 */
  timeoutMs?: number;
}

interface HttpAnswer {
  status: number;
  body: string;
}

/** `err.message`, or for a happy-eyeballs AggregateError (empty message) the messages of its parts. */
function errorDetail(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err.message !== '') return err.message;
  if (err instanceof AggregateError) return err.errors.map(errorDetail).join('; ');
  return (err as NodeJS.ErrnoException).code ?? err.name;
}

export class ImdsClient {
  readonly endpoint: string;
  readonly #disabled: boolean;
  readonly #now: () => number;
  readonly #timeoutMs: number;
  readonly #endpointProblem: string | null;
  #token: { value: string; renewAtMs: number } | null = null;

  constructor(opts: ImdsClientOptions) {
    this.endpoint = opts.endpoint;
    this.#disabled = opts.disabled;
    this.#now = opts.now;
    this.#timeoutMs = opts.timeoutMs ?? IMDS_TIMEOUT_MS;
    this.#endpointProblem = endpointProblem(opts.endpoint);
  }

  /**
   * GET `/latest/<path>` with a token. `timeoutMs` (the caller's remaining deadline) caps the IMDS
   * timeout; `signal` cancels.
   */
  async get(path: string, o: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<string> {
    const op = path.replace(/^\/+/, '');
    if (this.#disabled) {
      throw new AwsCallError({
        kind: 'access',
        service: 'imds',
        operation: op,
        awsMessage:
          'the instance metadata is turned off (AWS_EC2_METADATA_DISABLED); unset it to let Tandem read it',
      });
    }
    if (this.#endpointProblem !== null) {
      throw new AwsCallError({
        kind: 'access',
        service: 'imds',
        operation: op,
        awsMessage: `the instance metadata endpoint ${this.endpoint} cannot be used: ${this.#endpointProblem}; fix AWS_EC2_METADATA_SERVICE_ENDPOINT`,
      });
    }
    const timeoutMs = Math.max(1, Math.min(this.#timeoutMs, o.timeoutMs ?? this.#timeoutMs));
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = o.signal === undefined ? deadline : AbortSignal.any([o.signal, deadline]);
    const fail = (err: unknown): never => {
      if (err instanceof AwsCallError) throw err;
      const cancelled = o.signal?.aborted === true && !deadline.aborted;
      throw new AwsCallError(
        {
          kind: 'no-answer',
          service: 'imds',
          operation: op,
          awsMessage: deadline.aborted
            ? `no answer from the instance metadata at ${this.endpoint} within ${timeoutMs} ms`
            : cancelled
              ? `cancelled before the instance metadata at ${this.endpoint} answered`
              : `no answer from the instance metadata at ${this.endpoint}: ${errorDetail(err)}`,
        },
        { cause: err },
      );
    };
    try {
      let answer = await this.#getWithToken(op, await this.#tokenFor(op, signal, false), signal);
      if (answer.status === 401) {
        // The token expired or was revoked (e.g. IMDS restarted): one fresh token, one more try.
        answer = await this.#getWithToken(op, await this.#tokenFor(op, signal, true), signal);
      }
      if (answer.status === 200) return answer.body;
      throw this.#answered(op, `GET /latest/${op}`, answer);
    } catch (err) {
      return fail(err);
    }
  }

  /** Forget the cached token (tests, and nothing to release otherwise: no pooled sockets). */
  close(): void {
    this.#token = null;
  }

  async #tokenFor(op: string, signal: AbortSignal, fresh: boolean): Promise<string> {
    const cached = this.#token;
    if (!fresh && cached !== null && this.#now() < cached.renewAtMs) return cached.value;
    this.#token = null;
    const startedAt = this.#now();
    const answer = await this.#http(
      'PUT',
      '/latest/api/token',
      { 'x-aws-ec2-metadata-token-ttl-seconds': String(IMDS_TOKEN_TTL_SEC) },
      signal,
    );
    if (answer.status !== 200 || answer.body.trim() === '') {
      throw this.#answered(op, 'PUT /latest/api/token', answer);
    }
    const value = answer.body.trim();
    this.#token = { value, renewAtMs: startedAt + IMDS_TOKEN_TTL_SEC * 1000 - TOKEN_MARGIN_MS };
    return value;
  }

  #getWithToken(op: string, token: string, signal: AbortSignal): Promise<HttpAnswer> {
    return this.#http('GET', `/latest/${op}`, { 'x-aws-ec2-metadata-token': token }, signal);
  }

  #answered(op: string, what: string, answer: HttpAnswer): AwsCallError {
    const text = answer.body.trim().slice(0, 200);
    return new AwsCallError({
      kind: 'answered',
      service: 'imds',
      operation: op,
      httpStatus: answer.status,
      awsMessage: `the instance metadata at ${this.endpoint} answered ${what} with HTTP ${answer.status}${text === '' ? '' : ` (${text})`}`,
    });
  }

  #http(
    method: 'GET' | 'PUT',
    path: string,
    headers: Record<string, string>,
    signal: AbortSignal,
  ): Promise<HttpAnswer> {
    return new Promise<HttpAnswer>((resolve, reject) => {
      const url = new URL(path, `${this.endpoint}/`);
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      // agent: false = a fresh connection with no pool and no proxy.
      const req = send(url, { method, headers, agent: false, signal }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_BODY_BYTES) {
            req.destroy(new Error(`the answer is larger than ${MAX_BODY_BYTES} bytes`));
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  }
}
