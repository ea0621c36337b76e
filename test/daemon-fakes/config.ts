/**
 * A hand-built `CompiledConfig` for driver, executor and loop tests, so they do not depend on the config
 * parser. Defaults follow the defaults; pass overrides for what a test cares about.
 */
import type {
  CompiledConfig,
  CompiledMonitor,
  CompiledResource,
  CompiledServer,
} from '../../src/shared/config/types.ts';

export function execResource(
  name: string,
  params: Record<string, unknown>,
  over: Partial<CompiledResource> = {},
): CompiledResource {
  return {
    name,
    type: 'exec',
    group: 'failover1',
    dependsOn: [],
    timeoutMs: 10_000,
    activation: { retries: 0, failoverThreshold: 1, finalAction: 'none' },
    deactivation: { retries: 0, finalAction: 'shutdown' },
    params: { stop: null, async: false, env: {}, ...params },
    perServer: {},
    ...over,
  };
}

export function monitor(
  name: string,
  type: string,
  params: Record<string, unknown>,
  over: Partial<CompiledMonitor> = {},
): CompiledMonitor {
  return {
    name,
    type,
    intervalMs: 60_000,
    timeoutMs: 120_000,
    retries: 1,
    startWaitMs: 0,
    activeResource: null,
    recovery: {
      targetKind: 'group',
      target: 'failover1',
      action: 'failover',
      maxReactivations: 0,
      maxFailovers: 1,
      failoverTarget: 'stable',
      finalAction: 'none',
      scripts: {
        beforeReactivation: null,
        beforeFailover: null,
        beforeFinalAction: null,
        timeoutMs: 30_000,
        cwd: '/',
      },
      noResponse: 'warn',
    },
    params,
    perServer: {},
    auto: false,
    ...over,
  };
}

export function makeConfig(opts: {
  baseDir: string;
  servers?: string[];
  resources?: CompiledResource[];
  monitors?: CompiledMonitor[];
  np?: CompiledConfig['cluster']['networkPartition']['http'];
  witness?: CompiledConfig['cluster']['witness'];
}): CompiledConfig {
  const names = opts.servers ?? ['node-1'];
  const servers: CompiledServer[] = names.map((name, i) => ({
    name,
    priority: i,
    interconnects: [{ name: 'lan1', address: `127.0.0.${i + 1}`, port: 29002 }],
    api: { address: `127.0.0.${i + 1}`, port: 29003 },
  }));
  const resources = opts.resources ?? [];
  const groups = [...new Set(resources.map((r) => r.group))].map((g) => ({
    name: g,
    startupServers: names,
    autoStart: true,
    failover: { auto: true, target: 'stable' as const },
    failback: 'manual' as const,
    resources: resources.filter((r) => r.group === g).map((r) => r.name),
  }));
  return {
    sourceFile: `${opts.baseDir}/cluster.yaml`,
    baseDir: opts.baseDir,
    cluster: {
      name: 'cluster1',
      secretFile: `${opts.baseDir}/cluster.secret`,
      heartbeat: { intervalMs: 1_000, timeoutMs: 10_000 },
      syncWaitMs: 300_000,
      networkPartition: { actionOnIsolation: 'shutdown', http: opts.np ?? [] },
      witness: opts.witness ?? null,
      osActions: { shutdown: 'echo shutdown >> os.log', reboot: 'echo reboot >> os.log' },
      lease: { enforced: false, leaseMs: 7_000, isolationStopTimeoutMs: 2_000, marginMs: 1_000 },
      alertLogSize: 10_000,
    },
    servers,
    groups,
    resources,
    monitors: opts.monitors ?? [],
    aws: { region: null, profile: null, proxy: null, callTimeoutMs: 100_000, environment: {} },
    fencing: null,
    hash: 'test-hash',
  };
}
