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
