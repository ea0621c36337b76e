/**
 * parseConfigText: the issue's example compiles with its defaults (and matches the docs); many errors
 * are reported at once; YAML syntax errors; formatIssue. The per-class error table is in
 * parse-errors.test.ts.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { formatIssue, parseConfigText } from './index.ts';
import { at, BASE_YAML, edit, errorsOf, parse, TEST_FILE, warningsOf } from './testkit.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const examplePath = join(root, 'test', 'fixtures', 'cluster-example.yaml');

describe('the issue example', () => {
  const r = parseConfigText(readFileSync(examplePath, 'utf8'), examplePath);
  const c = r.config;

  it('compiles without errors; the only warning is the missing witness', () => {
    assert.deepEqual(errorsOf(r), []);
    assert.ok(c);
    const w = warningsOf(r);
    assert.equal(w.length, 1);
    assert.equal(w[0]?.path, 'cluster.witness');
    assert.match(w[0]?.message ?? '', /two-server cluster without a witness/);
  });

  it('fills cluster values and resolves paths against the file directory', () => {
    assert.ok(c);
    assert.equal(c.sourceFile, examplePath);
    assert.equal(c.baseDir, dirname(examplePath));
    assert.equal(c.cluster.secretFile, join(dirname(examplePath), 'cluster.secret'));
    assert.deepEqual(c.cluster.heartbeat, { intervalMs: 1000, timeoutMs: 10000 });
    assert.equal(c.cluster.syncWaitMs, 300_000);
    assert.deepEqual(c.cluster.networkPartition.http, [
      {
        name: 'httpnp1',
        target: 'aws.amazon.com',
        port: 443,
        ssl: true,
        path: '/',
        intervalMs: 5000,
        timeoutMs: 10000,
      },
    ]);
    assert.deepEqual(c.cluster.lease, {
      enforced: true,
      leaseMs: 7000,
      isolationStopTimeoutMs: 2000,
      marginMs: 1000,
    });
    assert.equal(c.cluster.alertLogSize, 10000);
    assert.match(c.hash, /^[0-9a-f]{64}$/);
  });

  it('compiles servers, group, resource and monitor', () => {
    assert.ok(c);
    assert.deepEqual(c.servers, [
      {
        name: 'node-1',
        priority: 0,
        interconnects: [{ name: 'lan1', address: '127.0.0.1', port: 29002 }],
        api: { address: '127.0.0.1', port: 29003 },
      },
      {
        name: 'node-2',
        priority: 1,
        interconnects: [{ name: 'lan1', address: '127.0.0.2', port: 29002 }],
        api: { address: '127.0.0.2', port: 29003 },
      },
    ]);
    assert.deepEqual(c.groups, [
      {
        name: 'failover1',
        startupServers: ['node-1', 'node-2'],
        autoStart: true,
        failover: { auto: true, target: 'stable' },
        failback: 'manual',
        resources: ['exec1'],
      },
    ]);
    const exec1 = c.resources[0];
    assert.deepEqual(exec1?.params, {
      start: './start.sh',
      stop: './stop.sh',
      async: false,
      cwd: dirname(examplePath),
      env: {},
    });
    assert.deepEqual(exec1?.perServer, { 'node-2': { start: './start-b.sh' } });
    assert.equal(c.monitors.length, 1);
    assert.deepEqual(c.monitors[0]?.recovery, {
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
        timeoutMs: 30000,
        cwd: dirname(examplePath),
      },
      noResponse: 'warn',
    });
  });
});

describe('docs/configuration.md', () => {
  it('shows the same example as test/fixtures/cluster-example.yaml', () => {
    const doc = readFileSync(join(root, 'docs', 'configuration.md'), 'utf8');
    const block = /## Example[\s\S]*?```yaml\n([\s\S]*?)```/.exec(doc)?.[1];
    assert.ok(block, 'the Example section has a yaml block');
    const fromDoc = parseConfigText(block, examplePath).config;
    const fromFixture = parseConfigText(readFileSync(examplePath, 'utf8'), examplePath).config;
    assert.ok(fromDoc && fromFixture);
    assert.equal(fromDoc.hash, fromFixture.hash);
  });
});

describe('defaults of a minimal config', () => {
  const r = parse(BASE_YAML);
  const c = r.config;
  it('compiles without issues', () => {
    assert.deepEqual(r.issues, []);
    assert.ok(c);
  });
  it('fills every default', () => {
    assert.ok(c);
    assert.deepEqual(c.cluster.heartbeat, { intervalMs: 1000, timeoutMs: 10000 });
    assert.equal(c.cluster.syncWaitMs, 300_000);
    assert.equal(c.cluster.networkPartition.actionOnIsolation, 'shutdown');
    assert.deepEqual(c.cluster.networkPartition.http, []);
    assert.deepEqual(c.cluster.osActions, { shutdown: 'systemctl poweroff', reboot: 'systemctl reboot' });
    assert.deepEqual(c.cluster.witness, {
      target: '127.0.0.9',
      port: 29010,
      ssl: false,
      intervalMs: 1000,
      timeoutMs: 10000,
    });
    assert.equal(c.cluster.alertLogSize, 10000);
    assert.deepEqual(c.servers[1]?.api, { address: '127.0.0.2', port: 29003 });
    const g = c.groups[0];
    assert.deepEqual(g, {
      name: 'g1',
      startupServers: ['node-1', 'node-2'],
      autoStart: true,
      failover: { auto: true, target: 'stable' },
      failback: 'manual',
      resources: ['exec1'],
    });
    const e = c.resources[0];
    assert.equal(e?.timeoutMs, 60_000);
    assert.deepEqual(e?.activation, { retries: 0, failoverThreshold: 1, finalAction: 'none' });
    assert.deepEqual(e?.deactivation, { retries: 0, finalAction: 'shutdown' });
    assert.deepEqual(e?.params, {
      start: './start.sh',
      stop: null,
      async: false,
      cwd: '/etc/tandem',
      env: {},
    });
    assert.deepEqual(c.monitors, []);
  });
  it('monitor defaults: 60s / 120s / retry 1 / startWait 0s; recovery failover x1, then none', () => {
    const m = parse(
      edit([
        'monitors: []',
        'monitors:\n  - { name: m1, type: custom, command: ./c.sh, recovery: { target: g1 } }',
      ]),
    ).config?.monitors[0];
    assert.ok(m);
    assert.deepEqual(
      { i: m.intervalMs, t: m.timeoutMs, r: m.retries, s: m.startWaitMs, a: m.activeResource },
      { i: 60_000, t: 120_000, r: 1, s: 0, a: null },
    );
    assert.deepEqual(
      { ...m.recovery, scripts: undefined },
      {
        targetKind: 'group',
        target: 'g1',
        action: 'failover',
        maxReactivations: 0,
        maxFailovers: 1,
        failoverTarget: 'stable',
        finalAction: 'none',
        noResponse: 'recover',
        scripts: undefined,
      },
    );
    assert.equal(m.recovery.scripts.timeoutMs, 30_000);
    assert.deepEqual(m.params, { command: './c.sh', cwd: '/etc/tandem' });
  });
  it('NP defaults: port 80 without ssl, 443 with; path /; 5s / 10s; names by position', () => {
    const c2 = parse(
      edit([
        '  witness: { target: 127.0.0.9 }\n',
        '  witness: { target: 127.0.0.9 }\n  networkPartition:\n    http:\n      - { target: np.example.com }\n      - { target: 10.0.0.1, ssl: true }\n',
      ]),
    ).config;
    assert.deepEqual(c2?.cluster.networkPartition.http, [
      {
        name: 'httpnp1',
        target: 'np.example.com',
        port: 80,
        ssl: false,
        path: '/',
        intervalMs: 5000,
        timeoutMs: 10000,
      },
      {
        name: 'httpnp2',
        target: '10.0.0.1',
        port: 443,
        ssl: true,
        path: '/',
        intervalMs: 5000,
        timeoutMs: 10000,
      },
    ]);
  });
});

describe('reporting', () => {
  it('reports many problems at once, in file order', () => {
    const yaml = edit(
      ['  name: c1\n', '  name: c1\n  syncWait: 10\n'],
      ['  - name: node-2', '  - name: node-1'],
      ['        start: ./start.sh', '        start: ./start.sh\n        dependsOn: [nope]\n        bogus: 1'],
      ['monitors: []', 'monitors:\n  - { name: m1, type: custom, command: x, recovery: { target: g9 } }'],
    );
    const errs = errorsOf(parse(yaml));
    assert.deepEqual(
      errs.map((e) => e.path),
      [
        'cluster.syncWait',
        'servers[1].name',
        'groups[0].resources[0].dependsOn[0]',
        'groups[0].resources[0].bogus',
        'monitors[0].recovery.target',
      ],
    );
    const lines = errs.map((e) => e.line);
    assert.deepEqual(
      lines,
      [...lines].sort((a, b) => a - b),
    );
  });

  it('a broken resource still counts as declared: references to it are not "unknown"', () => {
    const yaml = edit([
      '        start: ./start.sh\n',
      '        start: ./start.sh\n        dependsOn: [exec2]\n      - { name: exec2, type: exec, start: 5 }\n',
    ]);
    const errs = errorsOf(parse(yaml));
    assert.deepEqual(
      errs.map((e) => e.path),
      ['groups[0].resources[1].start'],
    );
  });

  it('YAML syntax errors carry their position and stop further checks', () => {
    const yaml = 'cluster:\n  name: c1\n   secretFile: x\nservers: [\n';
    const r = parse(yaml);
    assert.equal(r.config, null);
    assert.ok(r.issues.length >= 1);
    const first = r.issues[0];
    assert.ok(first);
    assert.equal(first.path, '');
    assert.match(first.message, /^YAML syntax error: /);
    assert.ok(first.line >= 2);
  });

  it('duplicate keys are YAML errors', () => {
    const r = parse(edit(['  name: c1\n', '  name: c1\n  name: c2\n']));
    assert.equal(r.config, null);
    assert.match(r.issues[0]?.message ?? '', /unique/);
    assert.deepEqual(
      { line: r.issues[0]?.line, col: r.issues[0]?.col },
      at(edit(['  name: c1\n', '  name: c1\n  name: c2\n']), 'name', 1),
    );
  });

  it('an empty file is one error', () => {
    const r = parse('# nothing here\n');
    assert.equal(r.config, null);
    assert.equal(r.issues.length, 1);
    assert.match(r.issues[0]?.message ?? '', /empty/);
  });

  it('a non-map document is one error at the root', () => {
    const r = parse('- a\n- b\n');
    assert.equal(r.config, null);
    assert.match(r.issues[0]?.message ?? '', /expected a map/);
  });

  it('formatIssue renders FILE:LINE:COL: path: message; remedy, and marks warnings', () => {
    const r = parse(edit(['  name: c1\n', '  name: c1\n  syncWait: 10\n']));
    const e = errorsOf(r)[0];
    assert.ok(e);
    assert.equal(
      formatIssue(e, 'cluster.yaml'),
      'cluster.yaml:3:13: cluster.syncWait: 10 is not a duration; write a number followed by a unit: ms, s, m or h (for example 500ms, 3s, 5m, 1h or 1m30s); plain numbers are not accepted',
    );
    const w = {
      severity: 'warning' as const,
      path: 'cluster.witness',
      line: 1,
      col: 1,
      message: 'm',
      remedy: 'r',
    };
    assert.equal(formatIssue(w, 'f.yaml'), 'f.yaml:1:1: warning: cluster.witness: m; r');
    assert.equal(formatIssue({ ...w, line: 0, col: 0 }, 'f.yaml'), 'f.yaml: warning: cluster.witness: m; r');
  });

  it('relative file paths stay relative (the caller resolves them)', () => {
    const c = parseConfigText(BASE_YAML, 'conf/cluster.yaml').config;
    assert.equal(c?.baseDir, 'conf');
    assert.equal(c?.cluster.secretFile, 'conf/cluster.secret');
  });

  it('TEST_FILE places the base config in /etc/tandem', () => {
    assert.equal(parse(BASE_YAML).config?.cluster.secretFile, '/etc/tandem/cluster.secret');
    assert.equal(TEST_FILE, '/etc/tandem/cluster.yaml');
  });
});
