/**
 * The AWS parts of the config (issue 4 sections 1-4): the `aws:` and `fencing:` sections, the awsvip,
 * awseip and awsdns resources, their automatic monitors and the awsvipw / awseipw / awsdnsw / awsazw /
 * awsfencew monitor types. The docs' AWS example compiles to the expected objects; warnings carry their
 * path, line:col and remedy (the errors are in aws-errors.test.ts).
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { CompiledMonitor, CompiledRecovery } from './index.ts';
import { formatIssue } from './index.ts';
import { at, AWS_YAML, edit, editAws, errorsOf, parse, warningsOf } from './testkit.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** The servers' view of a resource's params (src/drivers/driver.ts paramsFor). */
const paramsFor = (
  o: { params: Record<string, unknown>; perServer: Record<string, Record<string, unknown>> },
  server: string,
) => ({ ...o.params, ...(o.perServer[server] ?? {}) });

const FENCING_BLOCK = AWS_YAML.slice(AWS_YAML.indexOf('fencing:\n'), AWS_YAML.indexOf('groups:\n'));
const NO_FENCING: [string, string] = [FENCING_BLOCK, ''];
const DECLARED_MONITORS = AWS_YAML.slice(AWS_YAML.indexOf('monitors:\n'));

const scripts = (cwd: string): CompiledRecovery['scripts'] => ({
  beforeReactivation: null,
  beforeFailover: null,
  beforeFinalAction: null,
  timeoutMs: 30_000,
  cwd,
});

/** The recovery of the automatic awsvipw/awseipw/awsdnsw of `resource`. */
const resourceRecovery = (resource: string): CompiledRecovery => ({
  targetKind: 'resource',
  target: resource,
  action: 'custom',
  maxReactivations: 1,
  maxFailovers: 1,
  failoverTarget: 'stable',
  finalAction: 'none',
  scripts: scripts('/etc/tandem'),
  noResponse: 'warn',
});

const localRecovery = (finalAction: CompiledRecovery['finalAction']): CompiledRecovery => ({
  targetKind: 'local-server',
  target: 'LocalServer',
  action: 'final-only',
  maxReactivations: 0,
  maxFailovers: 0,
  failoverTarget: 'stable',
  finalAction,
  scripts: scripts('/etc/tandem'),
  noResponse: 'warn',
});

const awsMonitor = (
  name: string,
  type: string,
  resource: string,
  params: Record<string, unknown>,
): CompiledMonitor => ({
  name,
  type,
  intervalMs: 100_000,
  timeoutMs: 100_000,
  retries: 1,
  startWaitMs: 0,
  activeResource: resource,
  recovery: resourceRecovery(resource),
  params,
  perServer: {},
  auto: true,
});

describe('the AWS example (docs/configuration.md)', () => {
  const r = parse(AWS_YAML);
  const c = r.config;

  it('is the block the docs show', () => {
    const doc = readFileSync(join(root, 'docs', 'configuration.md'), 'utf8');
    const from = doc.indexOf('## Example: VIP, EIP and DNS on AWS');
    assert.ok(from > 0, 'the docs have the section');
    assert.ok(doc.indexOf('```yaml\n' + AWS_YAML + '```', from) > 0, 'same text as testkit AWS_YAML');
  });

  it('compiles without errors or warnings', () => {
    assert.deepEqual(r.issues, []);
    assert.ok(c);
  });

  it('aws: and fencing:', () => {
    assert.deepEqual(c?.aws, {
      region: 'us-east-1',
      profile: 'ha',
      proxy: 'http://proxy.example:3128',
      callTimeoutMs: 100_000,
      environment: { AWS_STS_REGIONAL_ENDPOINTS: 'regional' },
    });
    assert.deepEqual(c?.fencing, {
      type: 'aws',
      action: 'stop',
      timeoutMs: 180_000,
      checkIntervalMs: 60_000,
      servers: {
        'node-1': { instanceId: 'i-0000000000000001', delayMs: 0 },
        'node-2': { instanceId: 'i-0000000000000002', delayMs: 5000 },
      },
    });
  });

  it('the resources: params, per-server values, timeouts, default dependencies', () => {
    const common = {
      group: 'failover1',
      dependsOn: [],
      activation: { retries: 0, failoverThreshold: 1, finalAction: 'none' },
      deactivation: { retries: 0, finalAction: 'shutdown' },
    };
    assert.deepEqual(c?.resources.slice(0, 3), [
      {
        ...common,
        name: 'awsvip1',
        type: 'awsvip',
        timeoutMs: 120_000,
        params: { ip: '10.1.0.20', vpcId: 'vpc-0a1b2c3d', eniId: null, interface: null, assignAddress: true },
        perServer: {
          'node-1': { eniId: 'eni-0000000000000001', interface: 'eth0' },
          'node-2': { eniId: 'eni-0000000000000002', interface: 'eth0' },
        },
      },
      {
        ...common,
        name: 'awseip1',
        type: 'awseip',
        timeoutMs: 120_000,
        params: { allocationId: 'eipalloc-0000000000000001', eniId: null },
        perServer: {
          'node-1': { eniId: 'eni-0000000000000001' },
          'node-2': { eniId: 'eni-0000000000000002' },
        },
      },
      {
        ...common,
        name: 'awsdns1',
        type: 'awsdns',
        timeoutMs: 300_000,
        params: {
          hostedZoneId: 'Z0123456789ABC',
          recordName: 'srv.hz1.local.',
          ipAddress: null,
          ttl: 300,
          deleteOnStop: true,
        },
        perServer: { 'node-1': { ipAddress: '10.0.1.10' }, 'node-2': { ipAddress: '10.0.2.10' } },
      },
    ]);
    assert.deepEqual(c?.resources[3]?.dependsOn, ['awsvip1', 'awseip1', 'awsdns1']);
    assert.deepEqual(c?.groups[0]?.resources, ['awsvip1', 'awseip1', 'awsdns1', 'app1']);
    const vip = c?.resources[0];
    assert.ok(vip);
    assert.deepEqual(paramsFor(vip, 'node-2'), {
      ip: '10.1.0.20',
      vpcId: 'vpc-0a1b2c3d',
      eniId: 'eni-0000000000000002',
      interface: 'eth0',
      assignAddress: true,
    });
  });

  it('the monitors: declared ones, the automatic ones left, and the fencing check', () => {
    assert.deepEqual(c?.monitors, [
      {
        ...awsMonitor('awsdnsw1', 'awsdnsw', 'awsdns1', {
          resource: 'awsdns1',
          resolveCheck: true,
          resolver: '10.0.0.2:53',
        }),
        auto: false,
      },
      {
        name: 'awsazw1',
        type: 'awsazw',
        intervalMs: 100_000,
        timeoutMs: 100_000,
        retries: 1,
        startWaitMs: 0,
        activeResource: null,
        recovery: localRecovery('stop-cluster-service'),
        params: { availabilityZone: null },
        perServer: {
          'node-1': { availabilityZone: 'us-east-1a' },
          'node-2': { availabilityZone: 'us-east-1b' },
        },
        auto: false,
      },
      awsMonitor('awsvipw1', 'awsvipw', 'awsvip1', { resource: 'awsvip1' }),
      awsMonitor('awseipw1', 'awseipw', 'awseip1', { resource: 'awseip1' }),
      {
        name: 'fencew',
        type: 'awsfencew',
        intervalMs: 60_000,
        timeoutMs: 100_000,
        retries: 1,
        startWaitMs: 0,
        activeResource: null,
        recovery: localRecovery('none'),
        params: {},
        perServer: {},
        auto: true,
      },
    ]);
  });
});

describe('aws: section', () => {
  it('defaults without the section: everything from the SDK sources, 100 s calls', () => {
    const c = parse(edit()).config;
    assert.deepEqual(c?.aws, {
      region: null,
      profile: null,
      proxy: null,
      callTimeoutMs: 100_000,
      environment: {},
    });
    assert.equal(c?.fencing, null);
  });
  it('null region, profile and proxy mean "not set"; https proxies with a user are taken as written', () => {
    const c = parse(
      edit([
        'monitors: []',
        'monitors: []\naws: { region: null, profile: null, proxy: "https://u:p%40ss@p.example:8443" }',
      ]),
    ).config;
    assert.deepEqual(
      [c?.aws.region, c?.aws.profile, c?.aws.proxy],
      [null, null, 'https://u:p%40ss@p.example:8443'],
    );
  });
  it('a refused proxy URL never shows its password', () => {
    const r = parse(
      editAws(['proxy: http://proxy.example:3128', 'proxy: socks5://admin:hunter2@p.example:1080']),
    );
    const e = errorsOf(r).find((i) => i.path === 'aws.proxy');
    assert.ok(e);
    assert.match(e.message, /"socks5:\/\/admin:\*\*\*@p\.example:1080" is a socks5 URL/);
    assert.ok(!formatIssue(e, 'f').includes('hunter2'));
  });
});

describe('record names and hosted zone ids', () => {
  const table: [string, string, boolean][] = [
    ['srv.hz1.local.', 'srv.hz1.local.', false],
    ['srv.hz1.local', 'srv.hz1.local.', false],
    ['SRV.hz1.local', 'srv.hz1.local.', true],
    ['Www.Example.COM.', 'www.example.com.', true],
    ['_svc.example.com', '_svc.example.com.', false],
  ];
  for (const [written, compiled, warned] of table) {
    it(`${written} -> ${compiled}${warned ? ' with a warning' : ''}`, () => {
      const yaml = editAws(['recordName: srv.hz1.local.', `recordName: ${written}`]);
      const r = parse(yaml);
      assert.equal(r.config?.resources[2]?.params['recordName'], compiled);
      const w = warningsOf(r);
      assert.deepEqual(
        w.map((i) => i.path),
        warned ? ['groups[0].resources[2].recordName'] : [],
      );
      if (warned) {
        assert.match(
          w[0]?.message ?? '',
          new RegExp(`has uppercase letters; it is used as ${compiled.replace(/\./g, '\\.')}`),
        );
        assert.match(w[0]?.remedy ?? '', /lowercase/);
        assert.deepEqual({ line: w[0]?.line, col: w[0]?.col }, at(yaml, written));
      }
    });
  }
  it('a wildcard record name is taken', () => {
    const c = parse(editAws(['recordName: srv.hz1.local.', 'recordName: "*.hz1.local"'])).config;
    assert.equal(c?.resources[2]?.params['recordName'], '*.hz1.local.');
  });
  it('/hostedzone/Z... compiles to the bare id', () => {
    const c = parse(
      editAws(['hostedZoneId: Z0123456789ABC', 'hostedZoneId: /hostedzone/Z0123456789ABC']),
    ).config;
    assert.equal(c?.resources[2]?.params['hostedZoneId'], 'Z0123456789ABC');
  });
  it('one ipAddress shared by two servers is a warning (the record would not change on failover)', () => {
    const r = parse(
      editAws(['          node-2: { ipAddress: 10.0.2.10 }', '          node-2: { ipAddress: 10.0.1.10 }']),
    );
    assert.ok(r.config);
    assert.deepEqual(
      warningsOf(r).map((w) => [w.path, w.message]),
      [
        [
          'groups[0].resources[2].servers.node-2.ipAddress',
          'ipAddress 10.0.1.10 is set for both node-1 and node-2',
        ],
      ],
    );
  });
});

describe('automatic monitors', () => {
  const autoNames = (yaml: string): string[] =>
    (parse(yaml).config?.monitors ?? []).filter((m) => m.auto).map((m) => m.name);

  it('awsvip1 -> awsvipw1, vip -> awsvipw-vip, awsdns -> awsdnsw (the seed: insert w after the type)', () => {
    const yaml = editAws(
      ['      - name: awsvip1\n', '      - name: vip\n'],
      ['      - name: awsdns1\n', '      - name: awsdns\n'],
      ['    resource: awsdns1\n', '    resource: awsdns\n'],
      NO_FENCING,
    );
    assert.deepEqual(autoNames(yaml), ['awsvipw-vip', 'awseipw1']);
    const all = editAws(
      ['      - name: awsdns1\n', '      - name: awsdns\n'],
      [DECLARED_MONITORS, 'monitors: []\n'],
      NO_FENCING,
    );
    assert.deepEqual(autoNames(all), ['awsvipw1', 'awseipw1', 'awsdnsw']);
    const dns = parse(all).config?.monitors[2];
    assert.deepEqual(
      dns,
      awsMonitor('awsdnsw', 'awsdnsw', 'awsdns', { resource: 'awsdns', resolveCheck: true, resolver: null }),
    );
  });

  it('a declared awsvipw of awsvip1 replaces awsvipw1 and, besides interval, compiles the same', () => {
    const yaml = editAws([
      'monitors:\n',
      'monitors:\n  - { name: vipcheck, type: awsvipw, resource: awsvip1, interval: 30s }\n',
    ]);
    const c = parse(yaml).config;
    assert.ok(c);
    assert.deepEqual(
      c.monitors.map((m) => m.name),
      ['vipcheck', 'awsdnsw1', 'awsazw1', 'awseipw1', 'fencew'],
    );
    assert.deepEqual(c.monitors[0], {
      ...awsMonitor('vipcheck', 'awsvipw', 'awsvip1', { resource: 'awsvip1' }),
      intervalMs: 30_000,
      auto: false,
    });
  });

  it('a declared one with its own recovery keeps it; any monitor with target: <resource> replaces', () => {
    const c = parse(
      editAws([
        'monitors:\n',
        'monitors:\n  - { name: awsvipw1, type: awsvipw, resource: awsvip1, recovery: { action: failover, maxFailovers: 2 } }\n  - { name: eipcheck, type: custom, command: ./eip.sh, target: awseip1 }\n',
      ]),
    ).config;
    assert.ok(c);
    assert.deepEqual(
      c.monitors.map((m) => [m.name, m.type, m.auto]),
      [
        ['awsvipw1', 'awsvipw', false],
        ['eipcheck', 'custom', false],
        ['awsdnsw1', 'awsdnsw', false],
        ['awsazw1', 'awsazw', false],
        ['fencew', 'awsfencew', true],
      ],
    );
    const rec = c.monitors[0]?.recovery;
    assert.deepEqual([rec?.action, rec?.maxReactivations, rec?.maxFailovers], ['failover', 0, 2]);
  });

  it('autoMonitor: false removes it', () => {
    const yaml = editAws(['        ip: 10.1.0.20 ', '        autoMonitor: false\n        ip: 10.1.0.20 ']);
    assert.deepEqual(autoNames(yaml), ['awseipw1', 'fencew']);
  });

  it('two resources whose automatic monitors would share a name are an error', () => {
    const yaml = editAws([
      '      - name: app1\n',
      '      - { name: awsvip-x, type: awsvip, ip: 10.1.0.21, vpcId: vpc-0a1b2c3d, servers: { node-1: { eniId: eni-0000000000000001 }, node-2: { eniId: eni-0000000000000002 } } }\n      - { name: x, type: awsvip, ip: 10.1.0.22, vpcId: vpc-0a1b2c3d, servers: { node-1: { eniId: eni-0000000000000001 }, node-2: { eniId: eni-0000000000000002 } } }\n      - name: app1\n',
    ]);
    const r = parse(yaml);
    assert.deepEqual(
      errorsOf(r).map((e) => [e.path, e.message]),
      [
        [
          'groups[0].resources[4].name',
          'the automatic monitor of x would be named awsvipw-x, like the one of awsvip-x',
        ],
      ],
    );
    assert.deepEqual(
      { line: errorsOf(r)[0]?.line, col: errorsOf(r)[0]?.col },
      at(yaml, 'x, type: awsvip', 1),
    );
  });
});

describe('resolvers and zones', () => {
  const resolver = (written: string) =>
    parse(editAws(['resolver: 10.0.0.2:53', `resolver: "${written}"`])).config?.monitors[0]?.params[
      'resolver'
    ];
  it('a resolver compiles to host:port (port 53 by default, IPv6 in brackets)', () => {
    assert.deepEqual(
      ['10.0.0.2', '10.0.0.2:5353', 'fd00::2', '[fd00::2]:5353', 'ns1.hz1.local'].map(resolver),
      ['10.0.0.2:53', '10.0.0.2:5353', '[fd00::2]:53', '[fd00::2]:5353', 'ns1.hz1.local:53'],
    );
  });
  it('a per-server resolver is compiled the same way', () => {
    const c = parse(
      editAws([
        '    resolver: 10.0.0.2:53\n',
        '    resolver: 10.0.0.2:53\n    servers: { node-2: { resolver: 10.0.2.2 } }\n',
      ]),
    ).config;
    assert.deepEqual(c?.monitors[0]?.perServer, { 'node-2': { resolver: '10.0.2.2:53' } });
  });
  it('a resolver with resolveCheck: false is a warning (it is never asked)', () => {
    const r = parse(editAws(['    resolveCheck: true\n', '    resolveCheck: false\n']));
    assert.ok(r.config);
    assert.deepEqual(
      warningsOf(r).map((w) => [w.path, w.message]),
      [['monitors[0].resolver', 'resolver is set but resolveCheck is false, so it is never asked']],
    );
  });
  it('Local Zone and Wavelength Zone names are zones too', () => {
    const c = parse(
      editAws(
        ['availabilityZone: us-east-1a', 'availabilityZone: us-east-1-bos-1a'],
        ['availabilityZone: us-east-1b', 'availabilityZone: us-east-1-wl1-bos-wlz-1'],
      ),
    );
    assert.deepEqual(c.issues, []);
  });
});

describe('awsazw recovery', () => {
  const azw = (recovery: string) =>
    parse(editAws(['    type: awsazw\n', `    type: awsazw\n    recovery: ${recovery}\n`])).config
      ?.monitors[1]?.recovery;
  it('LocalServer written out is the same as the default', () => {
    assert.deepEqual(azw('{ target: LocalServer }'), localRecovery('stop-cluster-service'));
  });
  it('a written final action wins', () => {
    assert.deepEqual(azw('{ finalAction: reboot }'), localRecovery('reboot'));
  });
  it('another target takes the common defaults', () => {
    const r = azw('{ target: failover1 }');
    assert.deepEqual(
      [r?.targetKind, r?.target, r?.action, r?.maxFailovers, r?.finalAction],
      ['group', 'failover1', 'failover', 1, 'none'],
    );
  });
  it('a zone outside aws.region is a warning', () => {
    const yaml = editAws([
      '      node-2: { availabilityZone: us-east-1b }',
      '      node-2: { availabilityZone: us-west-2b }',
    ]);
    const r = parse(yaml);
    assert.ok(r.config);
    const w = warningsOf(r);
    assert.deepEqual(
      w.map((i) => [i.path, i.message]),
      [
        [
          'monitors[1].servers.node-2.availabilityZone',
          'availability zone us-west-2b is not in aws.region us-east-1',
        ],
      ],
    );
    assert.deepEqual({ line: w[0]?.line, col: w[0]?.col }, at(yaml, 'us-west-2b'));
  });
});

describe('fencing', () => {
  it('a declared awsfencew replaces fencew and runs every fencing.checkInterval unless it says otherwise', () => {
    const one = parse(
      editAws(['monitors:\n', 'monitors:\n  - { name: fence-check, type: awsfencew }\n']),
    ).config;
    const m = one?.monitors.filter((x) => x.type === 'awsfencew');
    assert.deepEqual(
      m?.map((x) => [x.name, x.intervalMs, x.auto, x.recovery.target, x.recovery.finalAction]),
      [['fence-check', 60_000, false, 'LocalServer', 'none']],
    );
    const two = parse(
      editAws(['monitors:\n', 'monitors:\n  - { name: fencew, type: awsfencew, interval: 2m }\n']),
    ).config;
    assert.deepEqual(
      two?.monitors.filter((x) => x.type === 'awsfencew').map((x) => [x.name, x.intervalMs, x.auto]),
      [['fencew', 120_000, false]],
    );
  });

  it('fencing.checkInterval sets the automatic check interval', () => {
    const c = parse(editAws(['  checkInterval: 60s', '  checkInterval: 15s'])).config;
    assert.equal(c?.monitors.find((m) => m.name === 'fencew')?.intervalMs, 15_000);
  });

  it('no fencew and no fencing without the section', () => {
    const c = parse(editAws(NO_FENCING)).config;
    assert.equal(c?.fencing, null);
    assert.equal(
      c?.monitors.find((m) => m.type === 'awsfencew'),
      undefined,
    );
  });
});

describe('split-brain warning with two servers and no witness', () => {
  it('none with fencing (fencing decides)', () => {
    assert.deepEqual(warningsOf(parse(AWS_YAML)), []);
  });
  it('without fencing it suggests a witness or fencing:', () => {
    const w = warningsOf(parse(editAws(NO_FENCING)));
    assert.deepEqual(
      w.map((i) => i.path),
      ['cluster.witness'],
    );
    assert.match(w[0]?.remedy ?? '', /cluster\.witness.*or configure fencing:/);
    assert.doesNotMatch(w[0]?.remedy ?? '', /arrives with/);
  });
  it('a broken fencing section still counts as written (no misleading warning)', () => {
    const r = parse(editAws(['  type: aws\n', '  type: gcp\n']));
    assert.deepEqual(warningsOf(r), []);
    assert.deepEqual(
      errorsOf(r).map((e) => e.path),
      ['fencing.type'],
    );
  });
});

describe('config hash covers aws: and fencing:', () => {
  const hashOf = (yaml: string): string => {
    const c = parse(yaml).config;
    assert.ok(c, 'compiles');
    return c.hash;
  };
  const base = hashOf(AWS_YAML);
  it('changes with each section', () => {
    const changed = [
      editAws(
        ['region: us-east-1 ', 'region: us-west-2 '],
        ['us-east-1a', 'us-west-2a'],
        ['us-east-1b', 'us-west-2b'],
      ),
      editAws(['  profile: ha ', '  profile: ha2 ']),
      editAws(['  callTimeout: 100s', '  callTimeout: 30s']),
      editAws(['AWS_STS_REGIONAL_ENDPOINTS: regional', 'AWS_STS_REGIONAL_ENDPOINTS: legacy']),
      editAws(['  action: stop ', '  action: reboot ']),
      editAws(['delay: 5s', 'delay: 6s']),
      editAws(['instanceId: i-0000000000000002', 'instanceId: i-0000000000000003']),
      editAws(NO_FENCING),
    ];
    const hashes = changed.map(hashOf);
    for (const h of hashes) assert.notEqual(h, base);
    assert.equal(new Set(hashes).size, hashes.length);
  });
  it('is stable when defaults are written out or left out', () => {
    assert.equal(
      hashOf(editAws(['  callTimeout: 100s\n', ''], ['  action: stop ', '  '], ['  timeout: 180s\n', ''])),
      base,
    );
  });
});
