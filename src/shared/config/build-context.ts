/**
 * State shared by the compiler's passes (compile.ts, compile-groups.ts, compile-monitors.ts): the issue
 * list, the config directory, the salvaged model and the declared names, plus the checks several passes
 * need (per-server override keys, duplicate names).
 */
import type { IssueList, PathSeg } from './issues.ts';
import { didYouMean, listNames, renderPath } from './issues.ts';
import type { ConfigModel } from './model.ts';

export interface BuildContext {
  issues: IssueList;
  /** Directory of the config file; relative paths resolve against it. */
  baseDir: string;
  model: ConfigModel;
  /** Declared server names in priority order (valid entries or not). */
  serverNames: readonly string[];
}

/**
 * Checks the keys of a `servers: { <server>: {...} }` override map: each must be a declared server.
 * `eligible` (a group's startup servers) turns an override for a server that never runs the object into
 * a warning. Returns the names that are fine.
 */
export function checkOverrideServers(
  ctx: BuildContext,
  overrides: Record<string, unknown> | undefined,
  path: readonly PathSeg[],
  eligible: readonly string[] | null,
): string[] {
  const ok: string[] = [];
  for (const server of Object.keys(overrides ?? {})) {
    if (!ctx.serverNames.includes(server)) {
      ctx.issues.error(
        [...path, server],
        `unknown server "${server}"`,
        `${didYouMean(server, ctx.serverNames)}per-server settings are keyed by server name; servers: ${listNames(ctx.serverNames)}`,
        'key',
      );
      continue;
    }
    if (eligible !== null && !eligible.includes(server)) {
      ctx.issues.warn(
        [...path, server],
        `server "${server}" is not among the group's startupServers, so this override is never used`,
        `add ${server} to startupServers or remove the override`,
        'key',
      );
    }
    ok.push(server);
  }
  return ok;
}

/** A declared name and the path of the entry that declares it. */
export interface NamedEntry {
  name: string;
  path: readonly PathSeg[];
}

/**
 * Reports every name declared more than once, at the later entry's `name`. `what` is e.g. "server";
 * `scope` says where names must be unique.
 */
export function checkDuplicates(
  ctx: BuildContext,
  entries: readonly NamedEntry[],
  what: string,
  scope: string,
): void {
  const first = new Map<string, readonly PathSeg[]>();
  for (const { name, path } of entries) {
    const prev = first.get(name);
    if (prev === undefined) {
      first.set(name, path);
      continue;
    }
    ctx.issues.error(
      [...path, 'name'],
      `duplicate ${what} name "${name}" (first declared at ${renderPath(prev)})`,
      `give each ${what} a unique name; ${scope}`,
    );
  }
}
