/**
 * Helpers for the core's unit tests: a small compiled config, a node state for a given server, and peer
 * reports. Pure (it only compiles YAML through the shared config layer).
 */
import { parseConfigText } from '../shared/config/index.ts';
import type { CompiledConfig } from '../shared/config/types.ts';
import { createNodeState, type NodeState } from './model.ts';
import type { PeerReport } from './types.ts';

export interface TestConfigOptions {
  servers?: number;
  np?: boolean;
  witness?: boolean;
  groupsYaml?: string;
  monitorsYaml?: string;
  isolation?: string;
}

/** Two servers (node-1, node-2), heartbeat 1 s / 10 s, failover1 = exec1 <- exec2, optional NP / witness. */
export function testConfig(o: TestConfigOptions = {}): CompiledConfig {
  const n = o.servers ?? 2;
  const servers = Array.from(
    { length: n },
    (_, i) => `  - { name: node-${i + 1}, interconnects: ["127.0.1.${i + 1}", "127.0.2.${i + 1}"] }`,
  );
  const yaml = `
cluster:
  name: c1
  secretFile: ./s
  heartbeat: { interval: 1s, timeout: 10s }
  syncWait: 30s
  networkPartition:
    actionOnIsolation: ${o.isolation ?? 'shutdown'}
    http: ${o.np === false ? '[]' : '[{ name: np1, target: np.example, interval: 5s, timeout: 3s }]'}
${o.witness ? '  witness: { target: 127.0.9.9, interval: 1s, timeout: 10s }' : ''}
servers:
${servers.join('\n')}
groups:
${
  o.groupsYaml ??
  `  - name: failover1
    resources:
      - { name: exec1, type: exec, start: ./a.sh, stop: ./b.sh }
      - { name: exec2, type: exec, start: ./c.sh, stop: ./d.sh, dependsOn: [exec1] }`
}
${o.monitorsYaml ? `monitors:\n${o.monitorsYaml}` : ''}
`;
  const { config, issues } = parseConfigText(yaml, '/etc/tandem/cluster.yaml');
  const errors = issues.filter((i) => i.severity === 'error');
  if (!config || errors.length > 0) throw new Error(errors.map((e) => `${e.path}: ${e.message}`).join('\n'));
  return config;
}

/** State of `self` at `now`, cluster service running, every probe done. */
export function testState(config: CompiledConfig, self = 'node-1', now = 0): NodeState {
  const s = createNodeState({ config, self, incarnation: `${self}#1`, nowMs: now, persisted: null });
  s.service = 'running';
  s.serviceStartMs = now;
  return s;
}

/** A report of `server` with everything offline, as its first heartbeat would say. */
export function testReport(
  config: CompiledConfig,
  server: string,
  over: Partial<PeerReport> = {},
): PeerReport {
  const groups: PeerReport['groups'] = {};
  for (const g of config.groups) groups[g.name] = { state: 'offline', claim: null };
  return {
    cluster: config.cluster.name,
    server,
    incarnation: `${server}#1`,
    seq: 1,
    sentAtMs: 0,
    configHash: config.hash,
    service: 'running',
    isolated: false,
    echo: {},
    groups,
    grants: {},
    failedGroups: [],
    monitorErrors: 0,
    resources: {},
    monitors: {},
    ...over,
  };
}
