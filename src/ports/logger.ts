/**
 * Logger port: the subset of pino the daemon uses, so tests can inject a recording logger. Structured:
 * `log.info({ group: 'failover1', server: 'node-2' }, 'group online')`. Secrets are never passed in.
 */
export interface Logger {
  debug(obj: Record<string, unknown>, msg: string): void;
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
  error(obj: Record<string, unknown>, msg: string): void;
  child(bindings: Record<string, unknown>): Logger;
}
