/**
 * Each class of config error is reported with the right path, line:col (checked against the text, not
 * the YAML parser) and message, and says how to fix it. Table-driven: each case edits the minimal valid
 * config of testkit.ts.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { formatIssue } from './index.ts';
import { at, edit, errorsOf, parse } from './testkit.ts';

interface ErrorCase {
  name: string;
  yaml: string;
  path: string;
  /** Text whose first character the issue must point at, or [text, occurrence]. */
  where: string | [string, number];
  message: RegExp;
  remedy?: RegExp;
}

const G1_EXEC1 = '      - name: exec1\n        type: exec\n        start: ./start.sh\n';
const cases: ErrorCase[] = [
  {
    name: 'unknown key',
    yaml: edit(['  name: c1\n', '  name: c1\n  colour: blue\n']),
    path: 'cluster.colour',
    where: 'colour',
    message: /unknown key "colour"/,
    remedy: /keys allowed here: name, secretFile/,
  },
  {
    name: 'misspelt key gets a suggestion',
    yaml: edit(['        start: ./start.sh', '        strat: ./start.sh']),
    path: 'groups[0].resources[0].strat',
    where: 'strat',
    message: /unknown key "strat"/,
    remedy: /did you mean "start"/,
  },
  {
    name: 'missing required key points at the parent',
    yaml: edit(['  secretFile: ./cluster.secret\n', '']),
    path: 'cluster.secretFile',
    where: 'cluster:',
    message: /required key "secretFile" is missing/,
    remedy: /head -c 32 \/dev\/urandom/,
  },
  {
    name: 'wrong type',
    yaml: edit(['  name: c1\n', '  name: c1\n  alertLogSize: many\n']),
    path: 'cluster.alertLogSize',
    where: 'many',
    message: /expected a number, got "many"/,
  },
  {
    name: 'boolean written as yes',
    yaml: edit(['        start: ./start.sh', '        start: ./start.sh\n        async: yes']),
    path: 'groups[0].resources[0].async',
    where: 'yes',
    message: /expected true or false/,
    remedy: /YAML 1\.2/,
  },
  {
    name: 'duration without unit',
    yaml: edit(['  name: c1\n', '  name: c1\n  syncWait: 300\n']),
    path: 'cluster.syncWait',
    where: '300',
    message: /300 is not a duration/,
    remedy: /500ms, 3s, 5m, 1h/,
  },
  {
    name: 'bad duration text',
    yaml: edit(['  name: c1\n', '  name: c1\n  syncWait: 5 min\n']),
    path: 'cluster.syncWait',
    where: '5 min',
    message: /"5 min" is not a duration/,
  },
  {
    name: 'zero duration where positive is needed',
    yaml: edit(['  name: c1\n', '  name: c1\n  heartbeat: { interval: 0s }\n']),
    path: 'cluster.heartbeat.interval',
    where: '0s',
    message: /is zero/,
  },
  {
    name: 'enum value',
    yaml: edit([
      'monitors: []',
      'monitors:\n  - { name: m1, type: custom, command: ./c, recovery: { target: g1, failoverTarget: fastest } }',
    ]),
    path: 'monitors[0].recovery.failoverTarget',
    where: 'fastest',
    message: /"fastest" is not allowed/,
    remedy: /stable, max-priority/,
  },
  {
    name: 'final action value',
    yaml: edit([
      '        start: ./start.sh',
      '        start: ./start.sh\n        activation: { finalAction: explode }',
    ]),
    path: 'groups[0].resources[0].activation.finalAction',
    where: 'explode',
    message: /"explode" is not allowed/,
    remedy: /none, stop-group, stop-cluster-service, shutdown, reboot/,
  },
  {
    name: 'unknown resource type',
    yaml: edit(['        type: exec', '        type: volume']),
    path: 'groups[0].resources[0].type',
    where: 'volume',
    message: /unknown type "volume"/,
    remedy: /known types: exec, awsvip, awseip, awsdns, md$/,
  },
  {
    name: 'unknown monitor type',
    yaml: edit(['monitors: []', 'monitors:\n  - { name: m1, type: ping }']),
    path: 'monitors[0].type',
    where: 'ping',
    message: /unknown type "ping"/,
    remedy: /custom, pid/,
  },
  {
    name: 'duplicate server name',
    yaml: edit(['  - name: node-2', '  - name: node-1']),
    path: 'servers[1].name',
    where: ['node-1', 1],
    message: /duplicate server name "node-1"/,
  },
  {
    name: 'duplicate resource name across groups',
    yaml: edit(['monitors: []', `  - name: g2\n    resources:\n${G1_EXEC1}monitors: []`]),
    path: 'groups[1].resources[0].name',
    where: ['exec1', 1],
    message: /duplicate resource name "exec1" \(first declared at groups\[0\]\.resources\[0\]\)/,
    remedy: /across groups/,
  },
  {
    name: 'duplicate group name',
    yaml: edit([
      'monitors: []',
      '  - name: g1\n    resources:\n      - { name: exec2, type: exec, start: x }\nmonitors: []',
    ]),
    path: 'groups[1].name',
    where: ['g1', 1],
    message: /duplicate group name "g1"/,
  },
  {
    name: 'duplicate monitor name',
    yaml: edit([
      'monitors: []',
      'monitors:\n  - { name: m1, type: custom, command: x, recovery: { target: g1 } }\n  - { name: m1, type: custom, command: y, recovery: { target: g1 } }',
    ]),
    path: 'monitors[1].name',
    where: ['m1', 1],
    message: /duplicate monitor name "m1"/,
  },
  {
    name: 'monitor named like an automatic monitor',
    yaml: edit(
      ['        start: ./start.sh', '        start: ./start.sh\n        async: true'],
      [
        'monitors: []',
        'monitors:\n  - { name: pidw-exec1, type: custom, command: x, recovery: { target: g1 } }',
      ],
    ),
    path: 'monitors[0].name',
    where: 'pidw-exec1',
    message: /automatic monitor of exec1/,
    remedy: /target: exec1/,
  },
  {
    name: 'unknown server in startupServers',
    yaml: edit(['  - name: g1\n', '  - name: g1\n    startupServers: [node-1, node-3]\n']),
    path: 'groups[0].startupServers[1]',
    where: 'node-3',
    message: /unknown server "node-3"/,
    remedy: /node-1, node-2/,
  },
  {
    name: 'unknown server in a per-server map',
    yaml: edit([
      '        start: ./start.sh',
      '        start: ./start.sh\n        servers: { node-9: { start: ./b.sh } }',
    ]),
    path: 'groups[0].resources[0].servers.node-9',
    where: 'node-9',
    message: /unknown server "node-9"/,
  },
  {
    name: 'per-server key that is not overridable',
    yaml: edit([
      '        start: ./start.sh',
      '        start: ./start.sh\n        servers: { node-2: { timeout: 5s } }',
    ]),
    path: 'groups[0].resources[0].servers.node-2.timeout',
    where: 'timeout',
    message: /cannot be set per server for type exec/,
    remedy: /start, stop, env/,
  },
  {
    name: 'unknown resource in dependsOn',
    yaml: edit(['        start: ./start.sh', '        start: ./start.sh\n        dependsOn: [exec9]']),
    path: 'groups[0].resources[0].dependsOn[0]',
    where: 'exec9',
    message: /unknown resource "exec9"/,
  },
  {
    name: 'dependsOn across groups',
    yaml: edit(
      ['        start: ./start.sh', '        start: ./start.sh\n        dependsOn: [other1]'],
      [
        'monitors: []',
        '  - name: g2\n    resources:\n      - { name: other1, type: exec, start: x }\nmonitors: []',
      ],
    ),
    path: 'groups[0].resources[0].dependsOn[0]',
    where: 'other1',
    message: /"other1" belongs to group g2, not g1/,
  },
  {
    name: 'dependency cycle',
    yaml: edit([
      '        start: ./start.sh\n',
      '        start: ./start.sh\n        dependsOn: [exec2]\n      - { name: exec2, type: exec, start: x, dependsOn: [exec3] }\n      - { name: exec3, type: exec, start: x, dependsOn: [exec1] }\n',
    ]),
    path: 'groups[0].resources[0].dependsOn',
    where: 'dependsOn',
    message: /^dependency cycle: exec1 -> exec2 -> exec3 -> exec1$/,
  },
  {
    name: 'self dependency',
    yaml: edit(['        start: ./start.sh', '        start: ./start.sh\n        dependsOn: [exec1]']),
    path: 'groups[0].resources[0].dependsOn[0]',
    where: ['exec1', 1],
    message: /dependency cycle: exec1 -> exec1/,
  },
  {
    name: 'group without resources',
    yaml: edit([G1_EXEC1, ''], ['    resources:\n', '    resources: []\n']),
    path: 'groups[0].resources',
    where: 'resources',
    message: /at least 1 entry/,
  },
  {
    name: 'heartbeat timeout not greater than interval',
    yaml: edit(['  name: c1\n', '  name: c1\n  heartbeat: { interval: 2s, timeout: 2s }\n']),
    path: 'cluster.heartbeat.timeout',
    where: ['2s', 1],
    message: /heartbeat timeout 2s is not greater than the interval 2s/,
  },
  {
    name: 'lease too short',
    yaml: edit(['  name: c1\n', '  name: c1\n  heartbeat: { interval: 1s, timeout: 3s }\n']),
    path: 'cluster.heartbeat.timeout',
    where: '3s',
    message:
      /lease too short: timeout 3000 ms - margin 1000 ms - isolationStopTimeout 600 ms = 1400 ms, less than 2 x interval \(2000 ms\)/,
    remedy: /at least 3s749ms/,
  },
  {
    name: 'different interconnect counts',
    yaml: edit(['["127.0.0.2:29102"]', '["127.0.0.2:29102", "10.0.0.2"]']),
    path: 'servers[1].interconnects',
    where: ['interconnects', 1],
    message: /node-2 has 2 interconnect\(s\) but node-1 has 1/,
  },
  {
    name: 'invalid interconnect address',
    yaml: edit(['"127.0.0.2:29102"', '"127.0.0.300"']),
    path: 'servers[1].interconnects[0]',
    where: '"127.0.0.300"',
    message: /not a valid IPv4 address, IPv6 address or host name/,
  },
  {
    name: 'invalid port',
    yaml: edit(['"127.0.0.2:29102"', '"127.0.0.2:70000"']),
    path: 'servers[1].interconnects[0]',
    where: '"127.0.0.2:70000"',
    message: /"70000" is not a port number/,
  },
  {
    name: 'unspecified address',
    yaml: edit(['"127.0.0.2:29102"', '"0.0.0.0"']),
    path: 'servers[1].interconnects[0]',
    where: '"0.0.0.0"',
    message: /not an address other servers can reach/,
  },
  {
    name: 'shared interconnect address',
    yaml: edit(['"127.0.0.2:29102"', '"127.0.0.1:29102"']),
    path: 'servers[1].interconnects[0]',
    where: ['"127.0.0.1:29102"', 1],
    message: /interconnect 127\.0\.0\.1:29102 is also used by node-1 \(lan1\)/,
  },
  {
    name: 'shared API address',
    yaml: edit(['["127.0.0.2:29102"]', '["127.0.0.2:29102"]\n    api: 127.0.0.1:29003']),
    path: 'servers[1].api',
    where: '127.0.0.1:29003',
    message: /API address 127\.0\.0\.1:29003 is also used by node-1/,
  },
  {
    name: 'duplicate NP target names',
    yaml: edit([
      '  witness: { target: 127.0.0.9 }\n',
      '  witness: { target: 127.0.0.9 }\n  networkPartition:\n    http:\n      - { name: np, target: a.example }\n      - { name: np, target: b.example }\n',
    ]),
    path: 'cluster.networkPartition.http[1].name',
    where: 'np, target: b',
    message: /duplicate NP target name "np"/,
  },
  {
    name: 'NP target with a scheme',
    yaml: edit([
      '  witness: { target: 127.0.0.9 }\n',
      '  witness: { target: 127.0.0.9 }\n  networkPartition: { http: [ { target: "https://aws.amazon.com" } ] }\n',
    ]),
    path: 'cluster.networkPartition.http[0].target',
    where: '"https',
    message: /is not a valid IPv4 address, IPv6 address or host name/,
    remedy: /no scheme/,
  },
  {
    name: 'pid monitor on a non-async exec resource',
    yaml: edit(['monitors: []', 'monitors:\n  - { name: p1, type: pid, resource: exec1 }']),
    path: 'monitors[0].resource',
    where: ['exec1', 1],
    message: /does not have async: true/,
  },
  {
    name: 'timing.active names an unknown resource',
    yaml: edit([
      'monitors: []',
      'monitors:\n  - { name: m1, type: custom, command: x, timing: { active: exec7 } }',
    ]),
    path: 'monitors[0].timing.active',
    where: 'exec7',
    message: /unknown resource "exec7"/,
  },
  {
    name: 'monitor target names an unknown resource',
    yaml: edit(['monitors: []', 'monitors:\n  - { name: m1, type: custom, command: x, target: exec7 }']),
    path: 'monitors[0].target',
    where: 'exec7',
    message: /unknown resource "exec7"/,
  },
  {
    name: 'unknown recovery target',
    yaml: edit([
      'monitors: []',
      'monitors:\n  - { name: m1, type: custom, command: x, recovery: { target: g9 } }',
    ]),
    path: 'monitors[0].recovery.target',
    where: 'g9',
    message: /unknown recovery target "g9"/,
    remedy: /g1.*exec1.*LocalServer/,
  },
  {
    name: 'recovery target required',
    yaml: edit([
      'monitors: []',
      'monitors:\n  - name: m1\n    type: custom\n    command: x\n    recovery: { action: restart }',
    ]),
    path: 'monitors[0].recovery.target',
    where: 'recovery',
    message: /recovery\.target is required/,
    remedy: /LocalServer/,
  },
  {
    name: 'script action without script',
    yaml: edit([
      'monitors: []',
      'monitors:\n  - { name: m1, type: custom, command: x, recovery: { target: g1, action: script } }',
    ]),
    path: 'monitors[0].recovery.scripts.beforeFinalAction',
    where: 'recovery',
    message: /action script runs only scripts\.beforeFinalAction/,
  },
  {
    name: 'reserved environment variable',
    yaml: edit(['        start: ./start.sh', '        start: ./start.sh\n        env: { TANDEM_GROUP: x }']),
    path: 'groups[0].resources[0].env.TANDEM_GROUP',
    where: 'TANDEM_GROUP',
    message: /reserved/,
  },
  {
    name: 'invalid name',
    yaml: edit(['  - name: g1', '  - name: "my group"']),
    path: 'groups[0].name',
    where: '"my group"',
    message: /"my group" is not a valid group name/,
  },
  {
    name: 'resource named like a group',
    yaml: edit(['      - name: exec1\n', '      - name: g1\n']),
    path: 'groups[0].resources[0].name',
    where: ['g1', 1],
    message: /resource name "g1" is also a group name/,
  },
  {
    name: 'witness timeout not above its interval',
    yaml: edit(['  witness: { target: 127.0.0.9 }', '  witness: { target: 127.0.0.9, interval: 10s }']),
    path: 'cluster.witness.timeout',
    where: 'witness',
    message: /witness timeout 10s is not greater than its interval 10s/,
  },
];

describe('each error class: path, line:col, message', () => {
  for (const c of cases) {
    it(c.name, () => {
      const r = parse(c.yaml);
      assert.equal(r.config, null, 'a config with errors is not returned');
      const errs = errorsOf(r);
      const hit = errs.find((e) => e.path === c.path && c.message.test(e.message));
      assert.ok(
        hit,
        `no error at ${c.path} matching ${String(c.message)}; got:\n${r.issues.map((i) => formatIssue(i, 'f')).join('\n')}`,
      );
      const [marker, nth] = typeof c.where === 'string' ? [c.where, 0] : c.where;
      assert.deepEqual({ line: hit.line, col: hit.col }, at(c.yaml, marker, nth));
      if (c.remedy) assert.match(hit.remedy, c.remedy);
      assert.ok(hit.remedy.length > 0, 'every issue says how to fix it');
    });
  }
});
