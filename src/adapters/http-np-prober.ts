/**
 * HTTP method NP resolution (seed 2.4; issue 3 section 3, "NP resolution"): one HEAD request to
 * `http(s)://target:port/path`; only status 200 counts as "this server can communicate". The request uses a
 * fresh connection every time (no keep-alive: a pooled socket would say nothing about the path now) and
 * verifies TLS certificates. It never rejects: every outcome is a result with a short detail such as
 * `HTTP 200 in 12 ms`, `HTTP 503`, `connect ECONNREFUSED 127.0.0.1:9` or `timeout after 10000 ms`.
 */
import { request as httpRequest } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { performance } from 'node:perf_hooks';
import type { NpProbeResult, NpProber } from '../ports/probes.ts';
import type { CompiledHttpNp } from '../shared/config/types.ts';

export interface HttpNpProberOptions {
  /** Trust these CA certificates (PEM) instead of Node's bundled roots, e.g. a test CA. */
  ca?: Buffer;
}

/** `err.message`, or for a happy-eyeballs AggregateError (empty message) the messages of its parts. */
export function errorDetail(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err.message !== '') return err.message;
  const parts =
    err instanceof AggregateError ? err.errors.map((e) => errorDetail(e)).filter((m) => m !== '') : [];
  const code = (err as NodeJS.ErrnoException).code;
  return parts.length > 0 ? parts.join('; ') : (code ?? err.name);
}

export class HttpNpProber implements NpProber {
  readonly #ca: Buffer | undefined;

  constructor(opts: HttpNpProberOptions = {}) {
    this.#ca = opts.ca;
  }

  /** HEAD the target once. `result.target` is the NP resource's name (`httpnp1`). */
  probe(target: CompiledHttpNp): Promise<NpProbeResult> {
    return new Promise<NpProbeResult>((resolve) => {
      const t0 = performance.now();
      const timeoutMs = Math.max(1, target.timeoutMs);
      let settled = false;
      let req: ReturnType<typeof httpRequest> | undefined;
      const finish = (ok: boolean, detail: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(backstop);
        resolve({ target: target.name, ok, detail });
      };
      // AbortSignal.timeout ends the request; the backstop only guards against an abort that never surfaces.
      const backstop = setTimeout(() => {
        req?.destroy();
        finish(false, `timeout after ${timeoutMs} ms`);
      }, timeoutMs + 1000);
      const signal = AbortSignal.timeout(timeoutMs);
      try {
        const options = {
          method: 'HEAD',
          host: target.target,
          port: target.port,
          path: target.path.startsWith('/') ? target.path : `/${target.path}`,
          agent: false as const,
          signal,
          headers: { 'user-agent': 'tandem-np/1', connection: 'close' },
        };
        const onResponse = (res: IncomingMessage): void => {
          const status = res.statusCode ?? 0;
          const ms = Math.round(performance.now() - t0);
          res.resume();
          req?.destroy();
          finish(status === 200, status === 200 ? `HTTP 200 in ${ms} ms` : `HTTP ${status}`);
        };
        req = target.ssl
          ? httpsRequest(
              { ...options, rejectUnauthorized: true, ...(this.#ca ? { ca: this.#ca } : {}) },
              onResponse,
            )
          : httpRequest(options, onResponse);
        req.on('error', (err) => {
          finish(false, signal.aborted ? `timeout after ${timeoutMs} ms` : errorDetail(err));
        });
        req.end();
      } catch (err) {
        finish(false, errorDetail(err));
      }
    });
  }
}
