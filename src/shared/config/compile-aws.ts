/**
 * Compiler pass for the `aws:` and `fencing:` sections (issue 4 sections 1 and 4): `CompiledAws` with
 * the call timeout in milliseconds, and `CompiledFencing` after the cross-checks the schema cannot make:
 * every server has exactly one instance, no instance belongs to two servers, and no two servers wait
 * the same delay before fencing (they could stop each other at the same moment). Also builds the
 * automatic fencing check monitor `fencew`.
 */
import { formatDuration } from '../duration.ts';
import type { BuildContext } from './build-context.ts';
import { checkOverrideServers } from './build-context.ts';
import { DEFAULTS, FENCING_MONITOR, LOCAL_SERVER } from './defaults.ts';
import type { PathSeg } from './issues.ts';
import { ms } from './primitives.ts';
import type { CompiledAws, CompiledFencing, CompiledMonitor } from './types.ts';

/** The `aws:` section; defaults when it is absent (or broken: its errors are reported already). */
export function compileAws(ctx: BuildContext): CompiledAws {
  const a = ctx.model.aws;
  return {
    region: a?.region ?? null,
    profile: a?.profile ?? null,
    proxy: a?.proxy ?? null,
    callTimeoutMs: ms(a?.callTimeout ?? DEFAULTS.awsCallTimeout),
    environment: { ...(a?.environment ?? {}) },
  };
}

const FENCING_SERVERS: PathSeg[] = ['fencing', 'servers'];

/** The `fencing:` section, or null when it is not written (or cannot be salvaged). */
export function compileFencing(ctx: BuildContext): CompiledFencing | null {
  const f = ctx.model.fencing;
  if (f === null) return null;
  const known = checkOverrideServers(ctx, f.servers, FENCING_SERVERS, null);
  const servers: CompiledFencing['servers'] = {};
  for (const name of known) {
    const entry = f.servers[name];
    if (entry !== undefined) servers[name] = { instanceId: entry.instanceId, delayMs: ms(entry.delay) };
  }

  for (const name of new Set(ctx.serverNames)) {
    if (f.servers[name] !== undefined) continue;
    ctx.issues.error(
      [...FENCING_SERVERS, name],
      `server ${name} has no entry, so it cannot be fenced`,
      `add ${name}: { instanceId: i-..., delay: ... } under fencing.servers; without its instance the other servers could not stop ${name} before taking over its groups`,
    );
  }

  const instanceOwner = new Map<string, string>();
  const delayOwner = new Map<number, string>();
  for (const [name, { instanceId, delayMs }] of Object.entries(servers)) {
    const path = [...FENCING_SERVERS, name];
    const sameInstance = instanceOwner.get(instanceId);
    if (sameInstance === undefined) {
      instanceOwner.set(instanceId, name);
    } else {
      ctx.issues.error(
        [...path, 'instanceId'],
        `instanceId ${instanceId} is set for both ${sameInstance} and ${name}`,
        `each server is its own EC2 instance: set ${name}'s own instance id (fencing one server must never stop another)`,
      );
    }
    const sameDelay = delayOwner.get(delayMs);
    if (sameDelay === undefined) {
      delayOwner.set(delayMs, name);
    } else {
      ctx.issues.error(
        [...path, 'delay'],
        `${sameDelay} and ${name} have the same fencing delay (${formatDuration(delayMs)})`,
        'two servers with the same delay may fence each other at the same moment; give the server that should survive a partition the smaller delay (e.g. 0s on the master server, 5s on the next)',
      );
    }
  }

  return {
    type: f.type,
    action: f.action,
    timeoutMs: ms(f.timeout),
    checkIntervalMs: ms(f.checkInterval),
    servers,
  };
}

/**
 * The automatic fencing check monitor (`fencew`, type awsfencew): always on, every
 * `fencing.checkInterval`; it only shows normal / warning / error and raises alerts (recovery target
 * LocalServer, final action none), and a slow AWS endpoint is a warning.
 */
export function fencingMonitor(fencing: CompiledFencing, baseDir: string): CompiledMonitor {
  return {
    name: FENCING_MONITOR,
    type: 'awsfencew',
    intervalMs: fencing.checkIntervalMs,
    timeoutMs: ms(DEFAULTS.fencingMonitorTimeout),
    retries: DEFAULTS.awsMonitorRetries,
    startWaitMs: ms(DEFAULTS.monitorStartWait),
    activeResource: null,
    recovery: {
      targetKind: 'local-server',
      target: LOCAL_SERVER,
      action: 'final-only',
      maxReactivations: 0,
      maxFailovers: 0,
      failoverTarget: DEFAULTS.failoverTarget,
      finalAction: 'none',
      scripts: {
        beforeReactivation: null,
        beforeFailover: null,
        beforeFinalAction: null,
        timeoutMs: ms(DEFAULTS.recoveryScriptTimeout),
        cwd: baseDir,
      },
      noResponse: DEFAULTS.noResponse,
    },
    params: {},
    perServer: {},
    auto: true,
  };
}
