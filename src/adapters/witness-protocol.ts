/**
 * The witness heartbeat protocol (issue 3 section 3, "Witness heartbeat"), shared by the witness service
 * (src/witness/server.ts) and its client (witness-client.ts).
 *
 * `POST /v1/heartbeat`, body = one heartbeat packet exactly as wire.ts produces it
 * (`content-type: application/octet-stream`), headers:
 * - `x-tandem-cluster`: the cluster name (must equal the packet's `cluster`);
 * - `x-tandem-key-id`: first 16 hex digits of sha256(witnessKey(secret, cluster)).
 *
 * The witness holds no secret. It keeps, per (cluster, key id, server), the last packet and when it
 * arrived on the witness's own monotonic clock, and answers
 * `200 { now: <witness wall ms>, peers: { <server>: { ageMs, packet: <base64> } } }` with every *other*
 * server of the same (cluster, key id). Two clusters with the same name but different secrets have
 * different key ids and never see each other. The key id is not a credential: anyone who has seen it can
 * post, so the relayed packets are verified by the servers (wire.ts), never trusted because the witness
 * sent them.
 *
 * `GET /v1/health` answers 200 `{ ok: true }`. Errors are `ErrorBody` JSON (src/shared/errors.ts).
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { witnessKey } from '../shared/crypto.ts';

export const WITNESS_HEARTBEAT_PATH = '/v1/heartbeat';
export const WITNESS_HEALTH_PATH = '/v1/health';
export const WITNESS_CLUSTER_HEADER = 'x-tandem-cluster';
export const WITNESS_KEY_ID_HEADER = 'x-tandem-key-id';
export const WITNESS_CONTENT_TYPE = 'application/octet-stream';
/** Request body limit (bytes). */
export const WITNESS_BODY_LIMIT = 64 * 1024;

/** A key id is 16 lowercase hex digits. */
export const KEY_ID_RE = /^[0-9a-f]{16}$/;
/** Cluster and server names the witness accepts (printable ASCII without spaces, 1 to 128 characters). */
export const NAME_RE = /^[\x21-\x7e]{1,128}$/;

/** First 16 hex digits of sha256(witnessKey(secret, clusterName)): tells clusters of the same name apart. */
export function witnessKeyId(secret: Buffer | string, clusterName: string): string {
  return createHash('sha256').update(witnessKey(secret, clusterName)).digest('hex').slice(0, 16);
}

export const witnessResponseSchema = z.object({
  now: z.number().finite(),
  peers: z.record(z.string(), z.object({ ageMs: z.number().finite().nonnegative(), packet: z.string() })),
});
export type WitnessResponse = z.infer<typeof witnessResponseSchema>;
