/**
 * `compileConfig()` (STYLE.md 15; issue section 2): the raw config passes the schema once and comes out
 * as `CompiledConfig`, with every default filled in, durations in milliseconds, paths resolved against
 * the config file's directory, per-server overrides validated, and the cross-field checks done (unknown
 * names, duplicate names, dependency cycles, heartbeat timing and the lease, addresses). All problems
 * are collected; the config is returned only when there is no error (warnings do not stop it).
 *
 * This module does the cluster and server sections and puts the passes together; groups and resources
 * are in compile-groups.ts, monitors in compile-monitors.ts, the `aws:` and `fencing:` sections (issue 4)
 * in compile-aws.ts.
 */
import { formatDuration, MAX_DURATION_MS } from '../duration.ts';
import { ConfigError } from '../errors.ts';
import { formatHostPort, parseHostPort } from './address.ts';
import type { BuildContext } from './build-context.ts';
import { checkDuplicates } from './build-context.ts';
import { compileAws, compileFencing } from './compile-aws.ts';
import { compileGroups } from './compile-groups.ts';
import { compileMonitors } from './compile-monitors.ts';
import { DEFAULTS } from './defaults.ts';
import { CONFIG_DIR_PLACEHOLDER, configHash } from './hash.ts';
import type { Locator } from './issues.ts';
import { finishIssues, formatIssue, IssueList, noLocator } from './issues.ts';
import type { ConfigModel } from './model.ts';
import { buildModel, pruneInvalid } from './model.ts';
import { dirnamePosix, normalizePosix, resolvePosix } from './posix-path.ts';
import { ms } from './primitives.ts';
import type { ParsedCluster } from './schema.ts';
import { ClusterConfigSchema } from './schema.ts';
import type {
  CompiledCluster,
  CompiledConfig,
  CompiledHttpNp,
  CompiledLease,
  CompiledServer,
  ConfigIssue,
} from './types.ts';
import { addZodIssues, zodErrorMap } from './zod-issues.ts';

/** What parsing or compiling a config gives: the config when there is no error, and every issue. */
export interface ConfigResult {
  config: CompiledConfig | null;
  issues: ConfigIssue[];
}

/**
 * The lease timing of docs/architecture.md "Leases" (T = timeout, I = interval):
 * margin = max(I, T/10) (rounded up), isolationStopTimeout = T/5 (rounded down) unless set,
 * lease = T - margin - isolationStopTimeout.
 */
export function computeLease(
  intervalMs: number,
  timeoutMs: number,
  isolationStopTimeoutMs: number | null,
  enforced: boolean,
): CompiledLease {
  const marginMs = Math.max(intervalMs, Math.ceil(timeoutMs / 10));
  const iso = isolationStopTimeoutMs ?? Math.floor(timeoutMs / 5);
  return { enforced, leaseMs: timeoutMs - marginMs - iso, isolationStopTimeoutMs: iso, marginMs };
}

/** Smallest heartbeat timeout whose lease is at least 2 x interval (lease is non-decreasing in T). */
function minimumTimeout(intervalMs: number, isolationStopTimeoutMs: number | null): number | null {
  const ok = (t: number): boolean =>
    computeLease(intervalMs, t, isolationStopTimeoutMs, true).leaseMs >= 2 * intervalMs;
  let lo = intervalMs + 1;
  let hi = MAX_DURATION_MS;
  if (!ok(hi)) return null;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (ok(mid)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function compileHeartbeat(ctx: BuildContext, c: ParsedCluster, enforced: boolean) {
  const intervalMs = ms(c.heartbeat.interval);
  const timeoutMs = ms(c.heartbeat.timeout);
  const isoSet = c.networkPartition.isolationStopTimeout;
  const iso = isoSet === undefined ? null : ms(isoSet);
  const lease = computeLease(intervalMs, timeoutMs, iso, enforced);
  const hb = ['cluster', 'heartbeat'];
  const guessed =
    ctx.issues.isPruned(hb) || ctx.issues.isPruned(['cluster', 'networkPartition', 'isolationStopTimeout']);
  if (guessed) {
    // A timing key was rejected by the schema; its default would make these checks misleading.
  } else if (timeoutMs <= intervalMs) {
    ctx.issues.error(
      [...hb, 'timeout'],
      `heartbeat timeout ${formatDuration(timeoutMs)} is not greater than the interval ${formatDuration(intervalMs)}`,
      'set timeout well above interval (the defaults are interval 1s, timeout 10s); a peer is lost only after timeout without heartbeats',
    );
  } else if (lease.leaseMs < 2 * intervalMs) {
    const min = minimumTimeout(intervalMs, iso);
    const raise =
      min === null ? 'raise heartbeat.timeout' : `raise heartbeat.timeout to at least ${formatDuration(min)}`;
    ctx.issues.error(
      [...hb, 'timeout'],
      `lease too short: timeout ${timeoutMs} ms - margin ${lease.marginMs} ms - isolationStopTimeout ${lease.isolationStopTimeoutMs} ms = ${lease.leaseMs} ms, less than 2 x interval (${2 * intervalMs} ms)`,
      `${raise}, or lower heartbeat.interval${iso === null ? '' : ' or networkPartition.isolationStopTimeout'} (see docs/architecture.md "Leases")`,
    );
  }
  return { intervalMs, timeoutMs, lease };
}

function compileNp(ctx: BuildContext, c: ParsedCluster): CompiledHttpNp[] {
  const base = ['cluster', 'networkPartition', 'http'];
  const out: CompiledHttpNp[] = [];
  const entries = c.networkPartition.http.map((np, i) => ({
    name: np.name ?? `httpnp${i + 1}`,
    path: [...base, i],
  }));
  checkDuplicates(
    ctx,
    entries,
    'NP target',
    'NP target names are unique (a default name is httpnp<N>, by position)',
  );
  c.networkPartition.http.forEach((np, i) => {
    out.push({
      name: entries[i]?.name ?? `httpnp${i + 1}`,
      target: np.target,
      port: np.port ?? (np.ssl ? DEFAULTS.npHttpsPort : DEFAULTS.npHttpPort),
      ssl: np.ssl,
      path: np.path,
      intervalMs: ms(np.interval),
      timeoutMs: ms(np.timeout),
    });
  });
  return out;
}

function compileCluster(ctx: BuildContext, c: ParsedCluster): CompiledCluster {
  const http = compileNp(ctx, c);
  const w = c.witness;
  const { intervalMs, timeoutMs, lease } = compileHeartbeat(ctx, c, http.length > 0 || w !== undefined);
  let witness: CompiledCluster['witness'] = null;
  if (w !== undefined) {
    const wpath = ['cluster', 'witness'];
    witness = {
      target: w.target,
      port: w.port,
      ssl: w.ssl,
      intervalMs: w.interval === undefined ? intervalMs : ms(w.interval),
      timeoutMs: w.timeout === undefined ? timeoutMs : ms(w.timeout),
    };
    if (witness.timeoutMs <= witness.intervalMs && !ctx.issues.isPruned(['cluster', 'heartbeat'])) {
      ctx.issues.error(
        [...wpath, 'timeout'],
        `witness timeout ${formatDuration(witness.timeoutMs)} is not greater than its interval ${formatDuration(witness.intervalMs)}`,
        'set witness.timeout well above witness.interval (they default to the heartbeat timeout and interval)',
      );
    }
  }
  return {
    name: c.name,
    secretFile: resolvePosix(ctx.baseDir, c.secretFile),
    heartbeat: { intervalMs, timeoutMs },
    syncWaitMs: ms(c.syncWait),
    networkPartition: { actionOnIsolation: c.networkPartition.actionOnIsolation, http },
    witness,
    osActions: { shutdown: c.osActions.shutdown, reboot: c.osActions.reboot },
    lease,
    alertLogSize: c.alertLogSize,
  };
}

const SHARED_REMEDY =
  'each server needs its own address:port (on one machine, use other loopback addresses such as 127.0.0.2, or other ports)';

function compileServers(ctx: BuildContext): CompiledServer[] {
  checkDuplicates(
    ctx,
    ctx.model.declared.servers.map((s) => ({ name: s.name, path: ['servers', s.index] })),
    'server',
    'server names are unique',
  );
  const out: CompiledServer[] = [];
  const interconnectOwner = new Map<string, string>();
  const apiOwner = new Map<string, string>();
  let reference: { name: string; count: number } | null = null;
  for (const { index, value: s } of ctx.model.servers) {
    const path = ['servers', index];
    let valid = true;
    const interconnects: CompiledServer['interconnects'] = [];
    s.interconnects.forEach((text, j) => {
      const r = parseHostPort(text, DEFAULTS.interconnectPort);
      const ipath = [...path, 'interconnects', j];
      if (!r.ok) {
        valid = false; // reported by the schema
        return;
      }
      const key = formatHostPort(r.address, r.port);
      const owner = interconnectOwner.get(key);
      if (owner !== undefined) {
        ctx.issues.error(ipath, `interconnect ${key} is also used by ${owner}`, SHARED_REMEDY);
        valid = false;
      } else {
        interconnectOwner.set(key, `${s.name} (lan${j + 1})`);
      }
      interconnects.push({ name: `lan${j + 1}`, address: r.address, port: r.port });
    });
    if (reference === null) {
      reference = { name: s.name, count: s.interconnects.length };
    } else if (s.interconnects.length !== reference.count) {
      ctx.issues.error(
        [...path, 'interconnects'],
        `${s.name} has ${s.interconnects.length} interconnect(s) but ${reference.name} has ${reference.count}`,
        'every server lists the same number of interconnects in the same order (interconnect N of each server forms heartbeat path lanN)',
      );
      valid = false;
    }

    const first = interconnects[0];
    const apiText = s.api ?? (first === undefined ? null : formatHostPort(first.address, DEFAULTS.apiPort));
    if (apiText === null) continue;
    const api = parseHostPort(apiText, DEFAULTS.apiPort);
    if (!api.ok) continue; // reported by the schema
    const apiKey = formatHostPort(api.address, api.port);
    const apiPrev = apiOwner.get(apiKey);
    if (apiPrev !== undefined) {
      ctx.issues.error([...path, 'api'], `API address ${apiKey} is also used by ${apiPrev}`, SHARED_REMEDY);
      continue;
    }
    apiOwner.set(apiKey, s.name);
    if (valid)
      out.push({
        name: s.name,
        priority: index,
        interconnects,
        api: { address: api.address, port: api.port },
      });
  }
  return out;
}

/**
 * The split-brain warnings of issue section 3 (witness, NP). With `fencing:` written, a two-server
 * cluster needs no witness to stay safe: the survivor stops its peer's instance before taking over, and
 * the fencing delays decide who goes first when both lose each other (issue 4 section 4).
 */
function partitionWarnings(ctx: BuildContext, cluster: CompiledCluster): void {
  const n = new Set(ctx.serverNames).size;
  if (cluster.witness !== null || n < 2) return;
  if (n === 2 && !ctx.model.declared.fencing) {
    ctx.issues.warn(
      ['cluster', 'witness'],
      'two-server cluster without a witness: when only the interconnect is cut, both servers still reach the HTTP NP targets, ' +
        'so neither can tell the cut from a crashed peer and both may activate the same group',
      'add cluster.witness: { target: <host> } and run `tandem witness` on a third machine, or configure fencing: ' +
        "(the survivor stops the other server's EC2 instance before taking over; see docs/configuration.md)",
    );
  }
  if (cluster.networkPartition.http.length === 0) {
    ctx.issues.warn(
      ['cluster', 'networkPartition', 'http'],
      'no NP target and no witness: heartbeat loss is treated as peer down, and a server cannot notice that it is the isolated one, so it keeps its groups running',
      'add a witness (best), or at least an HTTP NP target under cluster.networkPartition.http',
    );
  }
}

type Body = Omit<CompiledConfig, 'hash' | 'sourceFile' | 'baseDir'>;

/** All passes for one base directory. Null when the cluster section is unusable. */
function buildBody(
  model: ConfigModel,
  rawMonitors: readonly unknown[],
  baseDir: string,
  issues: IssueList,
): Body | null {
  const ctx: BuildContext = {
    issues,
    baseDir,
    model,
    serverNames: model.declared.servers.map((s) => s.name),
  };
  const cluster = model.cluster === null ? null : compileCluster(ctx, model.cluster);
  const servers = compileServers(ctx);
  const aws = compileAws(ctx);
  const fencing = compileFencing(ctx);
  const groups = compileGroups(ctx);
  const monitors = compileMonitors(ctx, rawMonitors, groups, { fencing, awsRegion: aws.region });
  if (cluster === null) return null;
  partitionWarnings(ctx, cluster);
  return {
    cluster,
    servers,
    groups: groups.groups,
    resources: groups.resources,
    monitors,
    aws,
    fencing,
  };
}

/** `compileConfig` with positions (parse.ts passes a YAML locator). */
export function compileConfigWithLocator(raw: unknown, filePath: string, locate: Locator): ConfigResult {
  const issues = new IssueList();
  const full = ClusterConfigSchema.safeParse(raw, { error: zodErrorMap, reportInput: true });
  let model: ConfigModel;
  if (full.success) {
    model = buildModel(raw, raw, full.data);
  } else {
    addZodIssues(full.error.issues, issues);
    const { value, pruned } = pruneInvalid(raw, full.error.issues);
    issues.quietUnder(pruned);
    const again = ClusterConfigSchema.safeParse(value);
    model = buildModel(raw, value, again.success ? again.data : null);
  }
  const root = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
  const rawMonitors = Array.isArray(root['monitors']) ? (root['monitors'] as unknown[]) : [];
  const sourceFile = normalizePosix(filePath);
  const baseDir = dirnamePosix(sourceFile);
  const body = buildBody(model, rawMonitors, baseDir, issues);
  const done = finishIssues(issues.items, locate);
  if (body === null || issues.errorCount > 0) return { config: null, issues: done };
  // The hash is taken over the config compiled for a placeholder directory (see hash.ts).
  const shadow = buildBody(model, rawMonitors, CONFIG_DIR_PLACEHOLDER, new IssueList());
  const hash = configHash(shadow ?? body);
  return { config: { sourceFile, baseDir, ...body, hash }, issues: done };
}

/**
 * Validates and compiles an already-parsed config value (e.g. from JSON or a test). `filePath` is the
 * absolute path the config stands for: relative paths in it resolve against its directory. Issues carry
 * no position (line and col 0); use `parseConfigText` for YAML text.
 */
export function compileConfig(raw: unknown, filePath: string): ConfigResult {
  return compileConfigWithLocator(raw, filePath, noLocator);
}

/**
 * The config of a result, or a `ConfigError` whose message lists every error as `formatIssue` renders it
 * (and whose `issues` carry them all), for callers that prefer an exception to a branch.
 */
export function requireConfig(result: ConfigResult, file: string): CompiledConfig {
  if (result.config !== null) return result.config;
  const errors = result.issues.filter((i) => i.severity === 'error');
  const lines = errors.map((i) => formatIssue(i, file)).join('\n');
  throw new ConfigError(
    `${file}: ${errors.length} configuration error(s); fix them and try again:\n${lines}`,
    result.issues,
  );
}
