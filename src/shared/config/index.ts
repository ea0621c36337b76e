/**
 * The configuration layer (issue section 2): YAML text -> validated, fully-defaulted `CompiledConfig`,
 * with every problem as `FILE:LINE:COL: path: what is wrong; how to fix it`. Pure: reading the file and
 * the secret is the caller's job (the daemon, the CLI). See docs/configuration.md for every key.
 *
 * Typical use:
 * ```ts
 * const { config, issues } = parseConfigText(text, '/etc/tandem/cluster.yaml');
 * for (const i of issues) console.error(formatIssue(i, file));
 * if (config === null) process.exit(2);
 * ```
 */
export type * from './types.ts';
export { IsolationAction, FinalAction } from './types.ts';
export { parseConfigText } from './parse.ts';
export { compileConfig, computeLease, requireConfig } from './compile.ts';
export type { ConfigResult } from './compile.ts';
export { formatIssue, hasErrors, renderPath } from './issues.ts';
export { configJsonSchema } from './json-schema.ts';
export { canonicalJson, configHash, CONFIG_DIR_PLACEHOLDER } from './hash.ts';
export {
  ClusterConfigSchema,
  ClusterSectionSchema,
  GroupSchema,
  HttpNpSchema,
  MonitorSchema,
  RecoverySchema,
  ResourceSchema,
  ServerSchema,
  TimingSchema,
  WitnessSchema,
} from './schema.ts';
export type { ClusterConfig, ParsedConfig } from './schema.ts';
export {
  findMonitorType,
  findResourceType,
  MONITOR_TYPE_NAMES,
  MONITOR_TYPES,
  RESOURCE_TYPE_NAMES,
  RESOURCE_TYPES,
} from './resource-types.ts';
export type { MonitorTypeSpec, ResourceTypeSpec } from './resource-types.ts';
export { DEFAULTS, LOCAL_SERVER } from './defaults.ts';
export { parseHostPort, formatHostPort } from './address.ts';
export { maskUrlPassword } from './aws-primitives.ts';
