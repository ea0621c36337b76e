/**
 * compileConfig semantics: per-server overrides, the automatic pid monitor and its replacement, start
 * order and cycles, the lease numbers, recovery normalization, the split-brain warnings, and compiling
 * a plain object (no positions).
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { ConfigError } from '../errors.ts';
import { compileConfig, computeLease, requireConfig } from './index.ts';
import type { ClusterConfig } from './index.ts';
import { BASE_YAML, edit, errorsOf, parse, warningsOf } from './testkit.ts';

/** What drivers see on a server (src/drivers/driver.ts paramsFor): common params, then that server's overrides. */
const paramsFor = (
  o: { params: Record<string, unknown>; perServer: Record<string, Record<string, unknown>> },
  server: string,
) => ({
  ...o.params,
  ...(o.perServer[server] ?? {}),
});

const ASYNC_EXEC1 = ['        start: ./start.sh', '        start: ./start.sh\n        async: true'] as [
  string,
  string,
];

describe('per-server overrides', () => {
  it('resource overrides are stored per server and merge over the common params', () => {
    const c = parse(
      edit([
        '        start: ./start.sh',
        '        start: ./start.sh\n        stop: ./stop.sh\n        env: { A: "1", B: "2" }\n        servers: { node-2: { start: ./start-b.sh, env: { B: "20" } } }',
      ]),
    ).config;
    assert.ok(c);
    const r = c.resources[0];
    assert.ok(r);
    assert.deepEqual(r.perServer, { 'node-2': { start: './start-b.sh', env: { A: '1', B: '20' } } });
    assert.deepEqual(paramsFor(r, 'node-1'), {
      start: './start.sh',
      stop: './stop.sh',
      async: false,
      cwd: '/etc/tandem',
      env: { A: '1', B: '2' },
    });
    assert.deepEqual(paramsFor(r, 'node-2'), {
      start: './start-b.sh',
      stop: './stop.sh',
      async: false,
      cwd: '/etc/tandem',
      env: { A: '1', B: '20' },
    });
  });

  it('monitor overrides resolve a per-server cwd against the config directory', () => {
    const c = parse(
      edit([
        'monitors: []',
        'monitors:\n  - name: m1\n    type: custom\n    command: ./check.sh\n    cwd: checks\n    recovery: { target: g1 }\n    servers: { node-2: { command: ./check-b.sh, cwd: /opt/b } , node-1: { cwd: ../x } }',
      ]),
    ).config;
    const m = c?.monitors[0];
    assert.ok(m);
    assert.deepEqual(m.params, { command: './check.sh', cwd: '/etc/tandem/checks' });
    assert.deepEqual(m.perServer, {
      'node-2': { command: './check-b.sh', cwd: '/opt/b' },
      'node-1': { cwd: '/etc/x' },
    });
  });

  it('an override for a server outside startupServers is a warning', () => {
    const r = parse(
      edit(
        ['  - name: g1\n', '  - name: g1\n    startupServers: [node-1]\n'],
        ['        start: ./start.sh', '        start: ./start.sh\n        servers: { node-2: { start: x } }'],
      ),
    );
    assert.ok(r.config);
    assert.deepEqual(
      warningsOf(r).map((w) => w.path),
      ['groups[0].resources[0].servers.node-2'],
    );
  });
});

describe('automatic pid monitor', () => {
  it('is added for an async exec resource', () => {
    const c = parse(edit(ASYNC_EXEC1)).config;
    assert.deepEqual(c?.monitors, [
      {
        name: 'pidw-exec1',
        type: 'pid',
        intervalMs: 5000,
        timeoutMs: 10000,
        retries: 0,
        startWaitMs: 0,
        activeResource: 'exec1',
        recovery: {
          targetKind: 'resource',
          target: 'exec1',
          action: 'custom',
          maxReactivations: 1,
          maxFailovers: 1,
          failoverTarget: 'stable',
          finalAction: 'none',
          scripts: {
            beforeReactivation: null,
            beforeFailover: null,
            beforeFinalAction: null,
            timeoutMs: 30000,
            cwd: '/etc/tandem',
          },
          noResponse: 'recover',
        },
        params: { resource: 'exec1' },
        perServer: {},
        auto: true,
      },
    ]);
  });

  it('is not added with autoMonitor: false, nor for a non-async exec', () => {
    assert.deepEqual(
      parse(
        edit([
          '        start: ./start.sh',
          '        start: ./start.sh\n        async: true\n        autoMonitor: false',
        ]),
      ).config?.monitors,
      [],
    );
    assert.deepEqual(parse(BASE_YAML).config?.monitors, []);
  });

  it('is replaced by a declared pid monitor of the same resource (target implied)', () => {
    const c = parse(
      edit(ASYNC_EXEC1, [
        'monitors: []',
        'monitors:\n  - { name: mypid, type: pid, resource: exec1, interval: 2s, recovery: { action: restart } }',
      ]),
    ).config;
    assert.ok(c);
    assert.deepEqual(
      c.monitors.map((m) => m.name),
      ['mypid'],
    );
    const m = c.monitors[0];
    assert.equal(m?.activeResource, 'exec1');
    assert.equal(m?.intervalMs, 2000);
    assert.equal(m?.timeoutMs, 10000);
    assert.deepEqual(
      [m?.recovery.targetKind, m?.recovery.target, m?.recovery.maxReactivations, m?.recovery.maxFailovers],
      ['resource', 'exec1', 3, 0],
    );
  });

  it('is replaced by any monitor whose target is the resource, which may reuse its name', () => {
    const c = parse(
      edit(ASYNC_EXEC1, [
        'monitors: []',
        'monitors:\n  - { name: pidw-exec1, type: custom, command: ./alive.sh, target: exec1 }',
      ]),
    ).config;
    assert.ok(c);
    assert.deepEqual(
      c.monitors.map((m) => [m.name, m.type, m.auto, m.recovery.targetKind, m.recovery.target]),
      [['pidw-exec1', 'custom', false, 'resource', 'exec1']],
    );
  });

  it('a pid monitor with timing always is a warning; active on another resource is an error', () => {
    const w = parse(
      edit(ASYNC_EXEC1, [
        'monitors: []',
        'monitors:\n  - { name: p, type: pid, resource: exec1, timing: always }',
      ]),
    );
    assert.ok(w.config);
    assert.deepEqual(
      warningsOf(w).map((i) => i.path),
      ['monitors[0].timing'],
    );
    const e = parse(
      edit(
        [
          '        start: ./start.sh\n',
          '        start: ./start.sh\n        async: true\n      - { name: exec2, type: exec, start: x }\n',
        ],
        ['monitors: []', 'monitors:\n  - { name: p, type: pid, resource: exec1, timing: { active: exec2 } }'],
      ),
    );
    assert.deepEqual(
      errorsOf(e).map((i) => i.path),
      ['monitors[0].timing.active'],
    );
  });
});

describe('dependencies', () => {
  it('orders resources dependencies first, list order otherwise', () => {
    const c = parse(
      edit([
        '        start: ./start.sh\n',
        '        start: ./start.sh\n        dependsOn: [exec3]\n      - { name: exec2, type: exec, start: x }\n      - { name: exec3, type: exec, start: x, dependsOn: [exec2] }\n',
      ]),
    ).config;
    assert.deepEqual(c?.groups[0]?.resources, ['exec2', 'exec3', 'exec1']);
    assert.deepEqual(
      c?.resources.map((r) => [r.name, r.dependsOn]),
      [
        ['exec1', ['exec3']],
        ['exec2', []],
        ['exec3', ['exec2']],
      ],
    );
  });

  it('reports each cycle once, naming it from its first resource', () => {
    const r = parse(
      edit([
        '        start: ./start.sh\n',
        '        start: ./start.sh\n      - { name: a, type: exec, start: x, dependsOn: [b] }\n      - { name: b, type: exec, start: x, dependsOn: [a] }\n      - { name: c, type: exec, start: x, dependsOn: [d] }\n      - { name: d, type: exec, start: x, dependsOn: [c, a] }\n',
      ]),
    );
    assert.deepEqual(
      errorsOf(r).map((e) => [e.path, e.message]),
      [
        ['groups[0].resources[1].dependsOn', 'dependency cycle: a -> b -> a'],
        ['groups[0].resources[3].dependsOn', 'dependency cycle: c -> d -> c'],
      ],
    );
  });
});

describe('lease (docs/architecture.md "Leases")', () => {
  const table: { hb: string; expect: ReturnType<typeof computeLease> }[] = [
    {
      hb: '{ interval: 1s, timeout: 10s }',
      expect: { enforced: true, leaseMs: 7000, isolationStopTimeoutMs: 2000, marginMs: 1000 },
    },
    {
      hb: '{ interval: 200ms, timeout: 1s }',
      expect: { enforced: true, leaseMs: 600, isolationStopTimeoutMs: 200, marginMs: 200 },
    },
    {
      hb: '{ interval: 1s, timeout: 30s }',
      expect: { enforced: true, leaseMs: 21000, isolationStopTimeoutMs: 6000, marginMs: 3000 },
    },
  ];
  for (const t of table) {
    it(`heartbeat ${t.hb}`, () => {
      const c = parse(edit(['  name: c1\n', `  name: c1\n  heartbeat: ${t.hb}\n`])).config;
      assert.deepEqual(c?.cluster.lease, t.expect);
    });
  }
  it('an explicit isolationStopTimeout is used; not enforced without NP and witness', () => {
    const yaml = edit(
      ['  name: c1\n', '  name: c1\n  networkPartition: { isolationStopTimeout: 1s }\n'],
      ['  witness: { target: 127.0.0.9 }\n', ''],
    );
    const c = parse(yaml).config;
    assert.deepEqual(c?.cluster.lease, {
      enforced: false,
      leaseMs: 8000,
      isolationStopTimeoutMs: 1000,
      marginMs: 1000,
    });
  });
  it('computeLease is the formula', () => {
    assert.deepEqual(computeLease(1000, 10000, null, true), {
      enforced: true,
      leaseMs: 7000,
      isolationStopTimeoutMs: 2000,
      marginMs: 1000,
    });
    assert.deepEqual(computeLease(200, 1000, null, false), {
      enforced: false,
      leaseMs: 600,
      isolationStopTimeoutMs: 200,
      marginMs: 200,
    });
  });
});

describe('recovery normalization', () => {
  const rec = (r: string) =>
    parse(edit(['monitors: []', `monitors:\n  - { name: m1, type: custom, command: x, recovery: ${r} }`]))
      .config?.monitors[0]?.recovery;
  const table: [string, Partial<Record<string, unknown>>][] = [
    ['{ target: g1, action: restart }', { action: 'restart', maxReactivations: 3, maxFailovers: 0 }],
    ['{ target: g1, action: restart, maxReactivations: 5 }', { maxReactivations: 5, maxFailovers: 0 }],
    [
      '{ target: g1, action: failover, maxReactivations: 4, maxFailovers: 2 }',
      { maxReactivations: 0, maxFailovers: 2 },
    ],
    [
      '{ target: g1, action: final-only, finalAction: reboot }',
      { maxReactivations: 0, maxFailovers: 0, finalAction: 'reboot' },
    ],
    ['{ target: g1, action: custom, maxReactivations: 2 }', { maxReactivations: 2, maxFailovers: 1 }],
    [
      '{ target: exec1, action: custom }',
      { targetKind: 'resource', target: 'exec1', maxReactivations: 0, maxFailovers: 1 },
    ],
    [
      '{ target: LocalServer, action: final-only, finalAction: reboot }',
      { targetKind: 'local-server', target: 'LocalServer', maxReactivations: 0, maxFailovers: 0 },
    ],
    [
      '{ target: g1, action: script, scripts: { beforeFinalAction: ./notify.sh } }',
      { maxReactivations: 0, maxFailovers: 0, finalAction: 'none' },
    ],
  ];
  for (const [yaml, expected] of table) {
    it(yaml, () => {
      const r = rec(yaml);
      assert.ok(r, 'compiles');
      for (const [k, v] of Object.entries(expected))
        assert.deepEqual((r as unknown as Record<string, unknown>)[k], v, k);
    });
  }
  it('timing.active derives the recovery target: the group of that resource', () => {
    assert.equal(rec('{ action: failover }'), undefined, 'without target or timing the target is required');
    const c = parse(
      edit([
        'monitors: []',
        'monitors:\n  - { name: m1, type: custom, command: x, timing: { active: exec1 } }',
      ]),
    ).config;
    assert.deepEqual(
      [c?.monitors[0]?.recovery.targetKind, c?.monitors[0]?.recovery.target, c?.monitors[0]?.activeResource],
      ['group', 'g1', 'exec1'],
    );
  });
  it('LocalServer with a ladder action warns and keeps only the final action', () => {
    const r = parse(
      edit([
        'monitors: []',
        'monitors:\n  - { name: m1, type: custom, command: x, recovery: { target: LocalServer, action: custom, finalAction: reboot } }',
      ]),
    );
    assert.deepEqual(
      warningsOf(r).map((w) => w.path),
      ['monitors[0].recovery.action'],
    );
    assert.deepEqual(
      [r.config?.monitors[0]?.recovery.maxReactivations, r.config?.monitors[0]?.recovery.maxFailovers],
      [0, 0],
    );
  });
});

describe('split-brain warnings', () => {
  const noWitness = ['  witness: { target: 127.0.0.9 }\n', ''] as [string, string];
  it('two servers, NP target, no witness: one warning about interconnect-only cuts', () => {
    const r = parse(
      edit(noWitness, [
        '  name: c1\n',
        '  name: c1\n  networkPartition: { http: [ { target: np.example } ] }\n',
      ]),
    );
    assert.ok(r.config);
    assert.deepEqual(
      warningsOf(r).map((w) => w.path),
      ['cluster.witness'],
    );
    assert.match(warningsOf(r)[0]?.message ?? '', /both may activate the same group/);
    assert.match(warningsOf(r)[0]?.remedy ?? '', /witness/);
  });
  it('two servers, no NP, no witness: also says heartbeat loss is treated as peer down', () => {
    const r = parse(edit(noWitness));
    assert.ok(r.config);
    assert.deepEqual(
      warningsOf(r).map((w) => w.path),
      ['cluster.witness', 'cluster.networkPartition.http'],
    );
    assert.match(warningsOf(r)[1]?.message ?? '', /heartbeat loss is treated as peer down/);
  });
  it('one server: no warnings', () => {
    const r = parse(edit(noWitness, ['  - name: node-2\n    interconnects: ["127.0.0.2:29102"]\n', '']));
    assert.deepEqual(r.issues, []);
  });
});

describe('compileConfig on a plain object', () => {
  // Typed as the raw config type inferred from the schema: per-type resource keys are checked too.
  const raw: ClusterConfig = {
    cluster: { name: 'c1', secretFile: '/etc/tandem/secret', witness: { target: 'w.example' } },
    servers: [
      { name: 'a', interconnects: ['10.0.0.1', '[fd00::1]:29100'] },
      { name: 'b', interconnects: ['10.0.0.2', 'fd00::2'] },
    ],
    groups: [{ name: 'g', resources: [{ name: 'r', type: 'exec', start: 'true' }] }],
  };
  it("the raw type knows each resource type's keys", () => {
    const resource = { name: 'r', type: 'exec', strat: 'x' } as const;
    // @ts-expect-error -- `strat` is not a key of exec resources (and `start` is missing)
    const typo: ClusterConfig['groups'] = [{ name: 'g', resources: [resource] }];
    assert.equal(compileConfig({ ...raw, groups: typo }, '/x/c.yaml').config, null);
  });

  it('compiles, IPv6 interconnects included', () => {
    const r = compileConfig(raw, '/srv/x/cluster.yaml');
    assert.deepEqual(r.issues, []);
    assert.deepEqual(r.config?.servers[0]?.interconnects, [
      { name: 'lan1', address: '10.0.0.1', port: 29002 },
      { name: 'lan2', address: 'fd00::1', port: 29100 },
    ]);
    assert.deepEqual(r.config?.servers[1]?.interconnects[1], {
      name: 'lan2',
      address: 'fd00::2',
      port: 29002,
    });
    assert.equal(r.config?.cluster.secretFile, '/etc/tandem/secret');
  });
  it('requireConfig returns the config or throws a ConfigError listing every error', () => {
    assert.equal(requireConfig(compileConfig(raw, '/srv/x/c.yaml'), 'c.yaml').cluster.name, 'c1');
    const bad = compileConfig({ ...raw, extra: 1, more: 2 }, '/srv/x/c.yaml');
    assert.throws(
      () => requireConfig(bad, 'c.yaml'),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.equal(e.name, 'ConfigError');
        assert.equal(e.issues.length, 2);
        assert.match(
          e.message,
          /2 configuration error\(s\)[\s\S]*c\.yaml: extra: unknown key "extra"[\s\S]*c\.yaml: more:/,
        );
        return true;
      },
    );
  });

  it('reports issues without positions', () => {
    const r = compileConfig({ ...raw, extra: 1 }, '/srv/x/cluster.yaml');
    assert.equal(r.config, null);
    assert.deepEqual(
      r.issues.map((i) => [i.path, i.line, i.col]),
      [['extra', 0, 0]],
    );
  });
});
