/**
 * Keys derived from the cluster secret. HMAC is deterministic, so this is the one place `shared/` may use
 * node:crypto (lint allows exactly this file). The secret never leaves this module in any other form.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { API_KEY_LABEL, HEARTBEAT_KEY_LABEL, WITNESS_KEY_LABEL } from './credential.ts';

function derive(secret: Buffer | string, label: string): Buffer {
  return createHmac('sha256', secret).update(label).digest();
}

/** Key for heartbeat packet HMACs. */
export function heartbeatKey(secret: Buffer | string): Buffer {
  return derive(secret, HEARTBEAT_KEY_LABEL);
}

/** Key that tells one cluster's reports apart from another's at the witness. */
export function witnessKey(secret: Buffer | string, clusterName: string): Buffer {
  return derive(secret, WITNESS_KEY_LABEL + clusterName);
}

/** Bearer token every API request carries (`Authorization: Bearer <token>`). */
export function apiToken(secret: Buffer | string, clusterName: string): string {
  return derive(secret, API_KEY_LABEL + clusterName).toString('hex');
}

/** HMAC-SHA256 of `data` under `key`. */
export function hmac(key: Buffer, data: Buffer | string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

/** Constant-time comparison of two MACs or tokens. */
export function safeEqual(a: Buffer | string, b: Buffer | string): boolean {
  const x = typeof a === 'string' ? Buffer.from(a) : a;
  const y = typeof b === 'string' ? Buffer.from(b) : b;
  return x.length === y.length && timingSafeEqual(x, y);
}

/** SHA-256 of `text` (UTF-8) as lowercase hex; used for the compiled config hash. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
