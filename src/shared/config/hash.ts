/**
 * The compiled config's identity (issue section 3: servers refuse to cluster with a server whose config
 * differs). `configHash` is the SHA-256 (hex) of a canonical JSON rendering (object keys sorted, arrays
 * in order, no whitespace) of the compiled config without `sourceFile`, `baseDir` and `hash` itself.
 *
 * `compileConfig` hashes the config as compiled for the placeholder directory `CONFIG_DIR_PLACEHOLDER`,
 * so paths derived from the file's location (a command's working directory, a secretFile written
 * relative to the config) do not make two servers disagree when they keep the same file in different
 * directories. Paths written as absolute stay as written.
 */
import { sha256Hex } from '../crypto.ts';
import type { CompiledConfig } from './types.ts';

/** Stands for the config file's directory in the hashed rendering. */
export const CONFIG_DIR_PLACEHOLDER = '${configDir}';

function canonical(value: unknown): string {
  if (
    value === null ||
    typeof value === 'number' ||
    typeof value === 'boolean' ||
    typeof value === 'string'
  ) {
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => canonical(v === undefined ? null : v)).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return 'null';
}

/** JSON with sorted keys and no whitespace: equal data gives equal text whatever the key order. */
export function canonicalJson(value: unknown): string {
  return canonical(value);
}

/** The hash of a compiled config, ignoring `sourceFile`, `baseDir` and `hash` (which may be absent). */
export function configHash(
  config: Omit<CompiledConfig, 'hash' | 'sourceFile' | 'baseDir'> &
    Partial<Pick<CompiledConfig, 'hash' | 'sourceFile' | 'baseDir'>>,
): string {
  const { sourceFile: _sourceFile, baseDir: _baseDir, hash: _hash, ...rest } = config;
  return sha256Hex(canonical(rest));
}
