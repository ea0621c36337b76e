/**
 * Client of the witness heartbeat service (issue 3 section 3, "Witness heartbeat"; protocol in
 * witness-protocol.ts). `exchange` posts our signed report and returns every other server's last report
 * with its age on the witness's clock. The witness is not trusted: each relayed packet is verified with
 * the cluster key (wire.ts) and must be signed by the server it is filed under; a packet that fails is
 * returned as `report: null` and counted.
 *
 * Replay through the witness: anyone who has seen a packet can post it again, which would make the
 * witness report a dead server with a fresh age. So the client remembers, per server, the newest
 * (incarnation, seq) it verified and when it was heard (answer time minus age, on our monotonic clock):
 * the same packet coming back is aged from that first sighting whatever age the witness claims, and an
 * older packet is dropped as replayed (its entry reports `report: null` and the age of the newest
 * verified one).
 */
import { request as httpRequest } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../ports/logger.ts';
import type { WitnessAnswer, WitnessClient } from '../ports/probes.ts';
import type { PeerReport } from '../ports/transport.ts';
import type { CompiledWitness } from '../shared/config/types.ts';
import { heartbeatKey } from '../shared/crypto.ts';
import { errorDetail } from './http-np-prober.ts';
import { compareIncarnations } from './replay-guard.ts';
import { LogThrottle } from './throttle.ts';
import { decodeReport, encodeReport } from './wire.ts';
import {
  WITNESS_CLUSTER_HEADER,
  WITNESS_CONTENT_TYPE,
  WITNESS_HEARTBEAT_PATH,
  WITNESS_KEY_ID_HEADER,
  witnessKeyId,
  witnessResponseSchema,
} from './witness-protocol.ts';

/** Largest answer read (16 servers of 60000-byte packets in base64 fit easily). */
const MAX_ANSWER_BYTES = 4 * 1024 * 1024;
/** Most peers taken from one answer. */
const MAX_PEERS = 64;

export interface HttpWitnessClientOptions {
  witness: CompiledWitness;
  clusterName: string;
  /** This server's name (its own entry is never returned). */
  self: string;
  secret: Buffer;
  log: Logger;
  /** Trust these CA certificates (PEM) instead of Node's bundled roots: a witness with a private CA, tests. */
  ca?: Buffer;
  /** Monotonic clock (ms), default performance.now. */
  nowMs?: () => number;
}

export interface WitnessClientStats {
  exchanges: number;
  failures: number;
  droppedUnsigned: number;
  droppedForeign: number;
  droppedMalformed: number;
  droppedReplayed: number;
  /** Validly signed, but filed under another server's name. */
  droppedMismatched: number;
}

interface Seen {
  incarnation: string;
  seq: number;
  /** Local monotonic ms at which the witness received this packet, as first reported to us. */
  heardAtMs: number;
}

type HttpResult = { ok: true; status: number; body: Buffer } | { ok: false; detail: string };

export class HttpWitnessClient implements WitnessClient {
  readonly #witness: CompiledWitness;
  readonly #cluster: string;
  readonly #self: string;
  readonly #key: Buffer;
  readonly #keyId: string;
  readonly #log: Logger;
  readonly #ca: Buffer | undefined;
  readonly #nowMs: () => number;
  readonly #throttle = new LogThrottle();
  readonly #seen = new Map<string, Seen>();
  readonly #stats: WitnessClientStats = {
    exchanges: 0,
    failures: 0,
    droppedUnsigned: 0,
    droppedForeign: 0,
    droppedMalformed: 0,
    droppedReplayed: 0,
    droppedMismatched: 0,
  };

  constructor(opts: HttpWitnessClientOptions) {
    this.#witness = opts.witness;
    this.#cluster = opts.clusterName;
    this.#self = opts.self;
    this.#key = heartbeatKey(opts.secret);
    this.#keyId = witnessKeyId(opts.secret, opts.clusterName);
    this.#log = opts.log.child({ component: 'witness' });
    this.#ca = opts.ca;
    this.#nowMs = opts.nowMs ?? ((): number => performance.now());
  }

  /** Request timeout: half the witness timeout, at least 200 ms. */
  get requestTimeoutMs(): number {
    return Math.max(200, Math.floor(this.#witness.timeoutMs / 2));
  }

  stats(): WitnessClientStats {
    return { ...this.#stats };
  }

  async exchange(report: PeerReport): Promise<WitnessAnswer> {
    this.#stats.exchanges += 1;
    let packet: Buffer;
    try {
      packet = encodeReport(report, this.#key);
    } catch (err) {
      return this.#failed(errorDetail(err));
    }
    const t0 = this.#nowMs();
    const res = await this.#post(packet);
    if (!res.ok) return this.#failed(res.detail);
    const ms = Math.round(this.#nowMs() - t0);
    if (res.status !== 200) {
      let why = '';
      try {
        const body = JSON.parse(res.body.toString('utf8')) as {
          error?: { code?: unknown; message?: unknown };
        };
        if (typeof body.error?.code === 'string') why = ` ${body.error.code}: ${String(body.error.message)}`;
      } catch {
        // not our error format: the status says enough
      }
      return this.#failed(`HTTP ${res.status}${why}`.slice(0, 300));
    }
    let parsed;
    try {
      parsed = witnessResponseSchema.safeParse(JSON.parse(res.body.toString('utf8')));
    } catch {
      parsed = null;
    }
    if (parsed === null || !parsed.success)
      return this.#failed('the witness answer is not valid JSON of the protocol');
    const answeredAt = this.#nowMs();
    const peers: WitnessAnswer['peers'] = {};
    let n = 0;
    for (const [server, entry] of Object.entries(parsed.data.peers)) {
      if (server === this.#self || ++n > MAX_PEERS) continue;
      peers[server] = this.#verify(server, entry.ageMs, entry.packet, answeredAt);
    }
    return { ok: true, detail: `HTTP 200 in ${ms} ms, ${Object.keys(peers).length} peers`, peers };
  }

  #verify(
    server: string,
    ageMs: number,
    packetB64: string,
    answeredAt: number,
  ): { ageMs: number; report: PeerReport | null } {
    const decoded = decodeReport(Buffer.from(packetB64, 'base64'), this.#key, this.#cluster);
    let reason: string | null = null;
    if (!decoded.ok) {
      reason = decoded.reason;
      if (decoded.reason === 'unsigned') this.#stats.droppedUnsigned += 1;
      else if (decoded.reason === 'foreign') this.#stats.droppedForeign += 1;
      else this.#stats.droppedMalformed += 1;
    } else if (decoded.report.server !== server) {
      reason = 'mismatched';
      this.#stats.droppedMismatched += 1;
    }
    if (reason !== null || !decoded.ok) {
      this.#dropped(server, reason ?? 'malformed');
      return { ageMs, report: null };
    }
    const report = decoded.report;
    const prev = this.#seen.get(server);
    const heardAtMs = answeredAt - ageMs;
    const newer =
      prev === undefined ||
      compareIncarnations(report.incarnation, prev.incarnation) > 0 ||
      (report.incarnation === prev.incarnation && report.seq > prev.seq);
    if (newer) {
      this.#seen.set(server, { incarnation: report.incarnation, seq: report.seq, heardAtMs });
      if (this.#seen.size > MAX_PEERS) this.#seen.delete(this.#seen.keys().next().value!);
      return { ageMs, report };
    }
    const agedFromFirst = Math.max(ageMs, Math.round(answeredAt - prev.heardAtMs));
    if (report.incarnation === prev.incarnation && report.seq === prev.seq)
      return { ageMs: agedFromFirst, report };
    this.#stats.droppedReplayed += 1;
    this.#dropped(server, 'replayed');
    return { ageMs: agedFromFirst, report: null };
  }

  #failed(detail: string): WitnessAnswer {
    this.#stats.failures += 1;
    const t = this.#throttle.take('fail');
    if (t.log) this.#log.debug({ detail, suppressed: t.suppressed }, 'witness exchange failed');
    return { ok: false, detail, peers: {} };
  }

  #dropped(peer: string, reason: string): void {
    const t = this.#throttle.take(`drop:${peer}:${reason}`);
    if (t.log)
      this.#log.warn({ peer, reason, suppressed: t.suppressed }, 'witness relayed a bad packet; dropped');
  }

  #post(packet: Buffer): Promise<HttpResult> {
    const timeoutMs = this.requestTimeoutMs;
    return new Promise<HttpResult>((resolve) => {
      let settled = false;
      let req: ReturnType<typeof httpRequest> | undefined;
      const finish = (r: HttpResult): void => {
        if (settled) return;
        settled = true;
        clearTimeout(backstop);
        resolve(r);
      };
      const backstop = setTimeout(() => {
        req?.destroy();
        finish({ ok: false, detail: `timeout after ${timeoutMs} ms` });
      }, timeoutMs + 1000);
      const signal = AbortSignal.timeout(timeoutMs);
      const onError = (err: unknown): void =>
        finish({ ok: false, detail: signal.aborted ? `timeout after ${timeoutMs} ms` : errorDetail(err) });
      try {
        const options = {
          method: 'POST',
          host: this.#witness.target,
          port: this.#witness.port,
          path: WITNESS_HEARTBEAT_PATH,
          agent: false as const,
          signal,
          headers: {
            'content-type': WITNESS_CONTENT_TYPE,
            'content-length': packet.length,
            [WITNESS_CLUSTER_HEADER]: this.#cluster,
            [WITNESS_KEY_ID_HEADER]: this.#keyId,
            'user-agent': 'tandem-witness-client/1',
          },
        };
        const onResponse = (res: IncomingMessage): void => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_ANSWER_BYTES) {
              req?.destroy();
              finish({ ok: false, detail: `answer larger than ${MAX_ANSWER_BYTES} bytes` });
              return;
            }
            chunks.push(chunk);
          });
          res.on('end', () =>
            finish({ ok: true, status: res.statusCode ?? 0, body: Buffer.concat(chunks, size) }),
          );
          res.on('error', onError);
          res.on('aborted', () => onError(new Error('answer aborted')));
        };
        req = this.#witness.ssl
          ? httpsRequest(
              { ...options, rejectUnauthorized: true, ...(this.#ca ? { ca: this.#ca } : {}) },
              onResponse,
            )
          : httpRequest(options, onResponse);
        req.on('error', onError);
        req.end(packet);
      } catch (err) {
        onError(err);
      }
    });
  }
}
