/**
 * Names of the authentication material derived from the cluster secret (the derivation itself needs
 * node:crypto and lives in src/adapters/crypto.ts, used by the daemon, and src/client, used by the CLI).
 *
 * - Heartbeats: HMAC-SHA256 over the packet with key HMAC(secret, HEARTBEAT_KEY_LABEL).
 * - API: `Authorization: Bearer <hex HMAC-SHA256(secret, API_KEY_LABEL + clusterName)>`.
 */
export const HEARTBEAT_KEY_LABEL = 'tandem/heartbeat/v1';
export const API_KEY_LABEL = 'tandem/api/v1:';
export const WITNESS_KEY_LABEL = 'tandem/witness/v1:';
/** Header carrying the API credential. */
export const API_AUTH_HEADER = 'authorization';

/**
 * The cluster secret as read from `cluster.secretFile`: the file's bytes without trailing whitespace (CR, LF,
 * space, tab), so that `openssl rand -hex 32 > cluster.secret` or an editor's final newline does not change
 * the keys. The daemon, the witness and the CLI must all derive keys from this value, never from the raw
 * file, or their credentials differ. Returns an empty buffer when the file holds only whitespace (callers
 * refuse that as an unusable secret).
 */
export function secretFromFile(content: Uint8Array): Buffer {
  let end = content.length;
  while (end > 0) {
    const c = content[end - 1];
    if (c !== 0x0a && c !== 0x0d && c !== 0x20 && c !== 0x09) break;
    end--;
  }
  return Buffer.from(content.subarray(0, end));
}
