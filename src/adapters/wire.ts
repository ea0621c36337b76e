/**
 * Heartbeat packet codec (issue 3 section 3, "Heartbeats"; docs/architecture.md). The same bytes travel on
 * every UDP interconnect and through the witness, which stores and relays them without knowing the key.
 *
 * Layout (all of it covered by the MAC):
 *
 * ```
 * offset 0   4 bytes  magic "TND1"
 * offset 4   4 bytes  N = length of the JSON body, unsigned big-endian
 * offset 8   N bytes  UTF-8 JSON of the PeerReport
 * offset 8+N 32 bytes HMAC-SHA256(heartbeatKey(secret), bytes 0 .. 8+N)
 * ```
 *
 * A packet larger than `MAX_PACKET_BYTES` is never produced (encode throws) and never accepted (decode says
 * `malformed`): it would not fit one UDP datagram on every path. Decoding checks the framing first, then the
 * MAC (a wrong secret is `unsigned`), then the JSON shape (including the incarnation format of replay-guard.ts), and last the cluster name (`foreign`): a packet
 * signed with our key but naming another cluster means two clusters share a secret.
 */
import { z } from 'zod';
import type { PeerReport } from '../ports/transport.ts';
import { hmac, safeEqual } from '../shared/crypto.ts';
import { BugError, ConfigError } from '../shared/errors.ts';
import { isIncarnation } from './replay-guard.ts';

export const PACKET_MAGIC = Buffer.from('TND1', 'ascii');
/** Largest packet we send or accept (bytes, MAC included). UDP's hard limit is 65507. */
export const MAX_PACKET_BYTES = 60000;
const HEADER_BYTES = 8;
const MAC_BYTES = 32;

/** Why a packet was dropped; the transport counts each reason separately. */
export type DecodeFailure = 'malformed' | 'unsigned' | 'foreign';
export type DecodeResult = { ok: true; report: PeerReport } | { ok: false; reason: DecodeFailure };

const groupLocalState = z.enum(['offline', 'starting', 'online', 'stopping', 'error']);
const monitorState = z.enum(['normal', 'warning', 'error', 'suspended', 'offline']);
const nonNegInt = z.number().int().nonnegative();

/**
 * Shape check of a decoded report. Loose objects: a newer peer may send fields this version does not know
 * (the report is a contract that grows); they are kept, not stripped.
 */
const peerReportSchema = z.looseObject({
  cluster: z.string().min(1),
  server: z.string().min(1),
  incarnation: z.string().refine(isIncarnation),
  seq: nonNegInt,
  sentAtMs: z.number().finite(),
  configHash: z.string(),
  service: z.enum(['stopped', 'starting', 'running', 'stopping']),
  isolated: z.boolean(),
  echo: z.record(z.string(), z.looseObject({ incarnation: z.string(), sentAtMs: z.number().finite() })),
  groups: z.record(
    z.string(),
    z.looseObject({
      state: groupLocalState,
      claim: z.number().finite().nullable(),
      release: z
        .looseObject({
          id: z.number().finite(),
          kind: z.enum(['move', 'failover', 'failback', 'leave', 'isolation']),
          to: z.string().nullable(),
          rule: z.enum(['stable', 'max-priority']),
          reason: z.string(),
        })
        .optional(),
      hold: z.boolean().optional(),
    }),
  ),
  grants: z.record(z.string(), z.looseObject({ server: z.string(), claim: z.number().finite() })),
  failedGroups: z.array(z.string()),
  monitorErrors: nonNegInt,
  resources: z.record(z.string(), groupLocalState),
  monitors: z.record(z.string(), monitorState),
  resetEpochs: z.record(z.string(), z.number().finite()).optional(),
});

/**
 * Serialize and sign `report` with `key` (= `heartbeatKey(secret)`).
 * @throws ConfigError when the packet would exceed `MAX_PACKET_BYTES` (too many or too long names in the
 *   config to fit a heartbeat); the transport logs it instead of sending.
 * @throws BugError when `report.incarnation` was not made by `newIncarnation` (receivers would drop it).
 */
export function encodeReport(report: PeerReport, key: Buffer): Buffer {
  if (!isIncarnation(report.incarnation)) {
    throw new BugError(
      `PeerReport.incarnation ${JSON.stringify(report.incarnation)} of server ${report.server} is not of the form made by newIncarnation() (src/adapters/replay-guard.ts); peers would drop every report.`,
    );
  }
  const body = Buffer.from(JSON.stringify(report), 'utf8');
  const total = HEADER_BYTES + body.length + MAC_BYTES;
  if (total > MAX_PACKET_BYTES) {
    const message = `The heartbeat report of server ${report.server} is ${total} bytes, more than the ${MAX_PACKET_BYTES} bytes a heartbeat packet may carry.`;
    const remedy = 'Use fewer or shorter-named groups, resources and monitors in the cluster configuration.';
    throw new ConfigError(`${message} (HEARTBEAT_TOO_LARGE) ${remedy}`, [
      { severity: 'error', path: 'groups', line: 0, col: 0, message, remedy },
    ]);
  }
  const packet = Buffer.allocUnsafe(total);
  PACKET_MAGIC.copy(packet, 0);
  packet.writeUInt32BE(body.length, 4);
  body.copy(packet, HEADER_BYTES);
  hmac(key, packet.subarray(0, HEADER_BYTES + body.length)).copy(packet, HEADER_BYTES + body.length);
  return packet;
}

/**
 * Framing only, without the MAC: the JSON body of a well-formed packet, or null. The witness (which has no
 * key) uses it to learn the sender's name; anything it learns this way is untrusted until a server verifies
 * the MAC.
 */
export function unverifiedBody(buf: Buffer): Buffer | null {
  if (buf.length < HEADER_BYTES + MAC_BYTES || buf.length > MAX_PACKET_BYTES) return null;
  if (!buf.subarray(0, 4).equals(PACKET_MAGIC)) return null;
  const n = buf.readUInt32BE(4);
  if (HEADER_BYTES + n + MAC_BYTES !== buf.length) return null;
  return buf.subarray(HEADER_BYTES, HEADER_BYTES + n);
}

/** Verify and parse a packet. Never throws. */
export function decodeReport(buf: Buffer, key: Buffer, clusterName: string): DecodeResult {
  const body = unverifiedBody(buf);
  if (body === null) return { ok: false, reason: 'malformed' };
  const signedEnd = HEADER_BYTES + body.length;
  const expected = hmac(key, buf.subarray(0, signedEnd));
  if (!safeEqual(expected, buf.subarray(signedEnd))) return { ok: false, reason: 'unsigned' };
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  const parsed = peerReportSchema.safeParse(json);
  if (!parsed.success) return { ok: false, reason: 'malformed' };
  if (parsed.data.cluster !== clusterName) return { ok: false, reason: 'foreign' };
  // JSON has no `undefined`, so zod's `optional` (`?: T | undefined`) is exactly PeerReport's `?: T` here.
  return { ok: true, report: parsed.data as PeerReport };
}
