/**
 * The mirror disk parts of the config (issue 5 sections 1 and 3): the `md` resource and its automatic
 * `mdw` / `mdnw` monitors. The docs' example compiles to the expected objects; sizes, NBD endpoints and
 * per-server values compile as documented; declared monitors replace the automatic ones one by one;
 * warnings carry their path, line:col and remedy (the errors are in mirror-errors.test.ts).
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { CompiledMonitor, CompiledRecovery, CompiledResource, MdParams } from './index.ts';
import { formatIssue } from './index.ts';
import { at, editMd, errorsOf, MD_YAML, parse, warningsOf } from './testkit.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** The servers' view of a resource's params (src/drivers/driver.ts paramsFor). */
const paramsFor = (o: CompiledResource, server: string) =>
  ({ ...o.params, ...(o.perServer[server] ?? {}) }) as unknown as MdParams;

const MD2 = `      - name: md2
        type: md
        dataPath: /dev/xvdg2
        clusterPath: /dev/xvdg1
        servers:
          node-1: { mdc: "192.168.0.1:29052" }
          node-2: { mdc: "192.168.0.2:29052" }
`;
const withMd2 = (...more: [string, string][]) =>
  editMd(['      - name: app1\n', MD2 + '      - name: app1\n'], ...more);

const recovery = (action: 'failover' | 'final-only', noResponse: 'recover' | 'warn'): CompiledRecovery => ({
  targetKind: 'resource',
  target: 'md1',
  action,
  maxReactivations: 0,
  maxFailovers: action === 'failover' ? 1 : 0,
  failoverTarget: 'stable',
  finalAction: 'none',
  scripts: {
    beforeReactivation: null,
    beforeFailover: null,
    beforeFinalAction: null,
    timeoutMs: 30_000,
    cwd: '/etc/tandem',
  },
  noResponse,
});

const MDW1: CompiledMonitor = {
  name: 'mdw1',
  type: 'mdw',
  intervalMs: 10_000,
  timeoutMs: 30_000,
  retries: 0,
  startWaitMs: 0,
  activeResource: null,
  recovery: recovery('failover', 'recover'),
  params: { resource: 'md1' },
  perServer: {},
  auto: true,
};
const MDNW1: CompiledMonitor = {
  ...MDW1,
  name: 'mdnw1',
  type: 'mdnw',
  retries: 1,
  recovery: recovery('final-only', 'warn'),
};

const issuesText = (yaml: string): string =>
  parse(yaml)
    .issues.map((i) => formatIssue(i, 'f'))
    .join('\n');

describe('the mirror disk example (docs/configuration.md)', () => {
  const r = parse(MD_YAML);
  const c = r.config;

  it('is the block the docs show', () => {
    const doc = readFileSync(join(root, 'docs', 'configuration.md'), 'utf8');
    const from = doc.indexOf('## Example: mirror disk');
    assert.ok(from > 0, 'the docs have the section');
    assert.ok(doc.indexOf('```yaml\n' + MD_YAML + '```', from) > 0, 'same text as testkit MD_YAML');
  });

  it('compiles without errors or warnings', () => {
    assert.deepEqual(r.issues, []);
    assert.ok(c);
  });

  it('md1: every key compiled, per-server mdc and peer', () => {
    const params: MdParams = {
      dataPath: '/dev/xvdf2',
      clusterPath: '/dev/xvdf1',
      mdc: null,
      mode: 'sync',
      nbd: null,
      size: 10 * 2 ** 30,
      regionSize: 65_536,
      hotRegions: 1024,
      hotExtent: 4 * 1024 * 1024,
      initialSync: 'full',
      autoRecovery: true,
      queueSize: 2048,
      sendTimeoutMs: 30_000,
      connectTimeoutMs: 10_000,
      ackTimeoutMs: 100_000,
      mount: { device: '/dev/nbd0', path: '/mnt/md1', fsType: 'ext4', options: 'noatime' },
      peer: null,
    };
    assert.deepEqual(c?.resources[0], {
      name: 'md1',
      type: 'md',
      group: 'failover1',
      dependsOn: [],
      timeoutMs: 300_000,
      activation: { retries: 0, failoverThreshold: 1, finalAction: 'none' },
      deactivation: { retries: 0, finalAction: 'shutdown' },
      params: { ...params },
      perServer: {
        'node-1': { peer: 'node-2', mdc: { host: '192.168.0.1', port: 29051 } },
        'node-2': { peer: 'node-1', mdc: { host: '192.168.0.2', port: 29051 } },
      },
    });
    const md1 = c?.resources[0];
    assert.ok(md1);
    assert.deepEqual(paramsFor(md1, 'node-2'), {
      ...params,
      mdc: { host: '192.168.0.2', port: 29051 },
      peer: 'node-1',
    });
  });

  it('the application follows md1 by default', () => {
    assert.deepEqual(c?.resources[1]?.dependsOn, ['md1']);
    assert.deepEqual(c?.groups[0]?.resources, ['md1', 'app1']);
  });

  it('the automatic monitors mdw1 and mdnw1', () => {
    assert.deepEqual(c?.monitors, [MDW1, MDNW1]);
  });

  it('the defaults: leaving every optional key out compiles the same', () => {
    const minimal = editMd(
      [
        '        mode: sync                      # sync | async (queueSize: 2048 applies to async only)\n',
        '',
      ],
      ['        nbd: null                       # default: the unix socket <stateDir>/nbd/md1.sock\n', ''],
      ['        regionSize: 64K\n', ''],
      ['        initialSync: full               # full | skip\n', ''],
      ['        autoRecovery: true\n', ''],
      ['        sendTimeout: 30s\n', ''],
      ['        connectTimeout: 10s\n', ''],
      ['        ackTimeout: 100s\n', ''],
    );
    const m = parse(minimal).config;
    assert.ok(m, issuesText(minimal));
    assert.equal(m.hash, c?.hash);
  });
});

describe('md values', () => {
  const md1 = (yaml: string): CompiledResource => {
    const r = parse(yaml);
    assert.ok(r.config, issuesText(yaml));
    const res = r.config.resources[0];
    assert.ok(res);
    return res;
  };

  it('sizes: bytes, binary units, iB and lowercase', () => {
    const table: [string, number][] = [
      ['1048576', 1_048_576],
      ['"1048576"', 1_048_576],
      ['512B', 512],
      ['64K', 65_536],
      ['512M', 512 * 2 ** 20],
      ['10g', 10 * 2 ** 30],
      ['10GiB', 10 * 2 ** 30],
      ['2T', 2 * 2 ** 40],
    ];
    for (const [written, bytes] of table)
      assert.equal(md1(editMd(['size: 10G', `size: ${written}`])).params['size'], bytes, written);
  });

  it('regionSize: powers of two from 4K to 64M', () => {
    for (const [written, bytes] of [
      ['4K', 4096],
      ['1M', 2 ** 20],
      ['64M', 2 ** 26],
      ['131072', 131_072],
    ] as const)
      assert.equal(md1(editMd(['regionSize: 64K', `regionSize: ${written}`])).params['regionSize'], bytes);
  });

  it('hotExtent: 4M by default (regionSize when larger), a power of two of at least regionSize', () => {
    assert.equal(md1(MD_YAML).params['hotExtent'], 4 * 2 ** 20);
    assert.equal(md1(editMd(['regionSize: 64K', 'regionSize: 64M'])).params['hotExtent'], 2 ** 26);
    const set = editMd(['regionSize: 64K', 'regionSize: 64K\n        hotExtent: 16M']);
    assert.equal(md1(set).params['hotExtent'], 16 * 2 ** 20);
    const small = errorsOf(parse(editMd(['regionSize: 64K', 'regionSize: 64K\n        hotExtent: 32K'])));
    assert.equal(small.length, 1);
    assert.match(small[0]!.message, /hotExtent 32K is smaller than regionSize 64K/);
    assert.match(small[0]!.remedy ?? '', /set hotExtent to 64K or more/);
    const odd = errorsOf(parse(editMd(['regionSize: 64K', 'regionSize: 64K\n        hotExtent: 3M'])));
    assert.equal(odd.length, 1);
    assert.match(odd[0]!.message, /not a power of two/);
  });

  it('without size, the data partition decides (null)', () => {
    assert.equal(
      md1(editMd(["        size: 10G                       # default: the data partition's size\n", '']))
        .params['size'],
      null,
    );
  });

  it('nbd: a socket path (resolved against the config file) or address:port', () => {
    const table: [string, MdParams['nbd']][] = [
      ['./nbd/md1.sock', { path: '/etc/tandem/nbd/md1.sock' }],
      ['run/md1.sock', { path: '/etc/tandem/run/md1.sock' }],
      ['/run/tandem/md1.sock', { path: '/run/tandem/md1.sock' }],
      ['127.0.0.1:10809', { host: '127.0.0.1', port: 10809 }],
      ['"[::1]:10809"', { host: '::1', port: 10809 }],
      ['localhost:10809', { host: 'localhost', port: 10809 }],
    ];
    for (const [written, nbd] of table)
      assert.deepEqual(md1(editMd(['nbd: null ', `nbd: ${written} `])).params['nbd'], nbd, written);
  });

  it('per-server paths are resolved; a per-server nbd and mount override the common ones', () => {
    const r = md1(
      editMd([
        '          node-2: { mdc: 192.168.0.2 }',
        '          node-2: { mdc: "192.168.0.2:3000", dataPath: ./data/md1.img, clusterPath: ../meta.img, nbd: /run/md1.sock, mount: null }',
      ]),
    );
    assert.deepEqual(r.perServer['node-2'], {
      peer: 'node-1',
      mdc: { host: '192.168.0.2', port: 3000 },
      dataPath: '/etc/tandem/data/md1.img',
      clusterPath: '/etc/meta.img',
      nbd: { path: '/run/md1.sock' },
      mount: null,
    });
    assert.deepEqual(paramsFor(r, 'node-1').mount?.device, '/dev/nbd0');
    assert.equal(paramsFor(r, 'node-2').mount, null);
  });

  it('mount options default to none; async mode takes queueSize', () => {
    const r = md1(
      editMd(['mode: sync ', 'mode: async\n        queueSize: 64 '], [', options: noatime }', ' }']),
    );
    assert.deepEqual([r.params['mode'], r.params['queueSize']], ['async', 64]);
    assert.deepEqual(r.params['mount'], {
      device: '/dev/nbd0',
      path: '/mnt/md1',
      fsType: 'ext4',
      options: null,
    });
  });

  it('a group of a three-server cluster on two of them: peer on the pair only', () => {
    const yaml = editMd(
      [
        '    interconnects: ["10.0.2.10", "192.168.0.2"]\n',
        '    interconnects: ["10.0.2.10", "192.168.0.2"]\n  - name: node-3\n    interconnects: ["10.0.3.11", "192.168.0.3"]\n',
      ],
      ['  - name: failover1\n', '  - name: failover1\n    startupServers: [node-2, node-1]\n'],
    );
    const r = md1(yaml);
    assert.deepEqual(
      ['node-1', 'node-2', 'node-3'].map((s) => paramsFor(r, s).peer),
      ['node-2', 'node-1', null],
    );
  });
});

describe('automatic monitors of md', () => {
  const monitors = (yaml: string): CompiledMonitor[] => {
    const r = parse(yaml);
    assert.ok(r.config, issuesText(yaml));
    return r.config.monitors;
  };
  const names = (yaml: string): [string, string, boolean][] =>
    monitors(yaml).map((m) => [m.name, m.type, m.auto]);
  const renamed = (name: string): string => editMd(['      - name: md1\n', `      - name: ${name}\n`]);

  it('the seed naming: md1 -> mdw1, md -> mdw, md-data -> mdw-data, data and mdata -> mdw-<name>', () => {
    const table: [string, string[]][] = [
      ['md', ['mdw', 'mdnw']],
      ['md-data', ['mdw-data', 'mdnw-data']],
      ['md_2', ['mdw_2', 'mdnw_2']],
      ['data', ['mdw-data', 'mdnw-data']],
      ['mdata', ['mdw-mdata', 'mdnw-mdata']],
    ];
    for (const [resource, expected] of table)
      assert.deepEqual(
        monitors(renamed(resource)).map((m) => m.name),
        expected,
        resource,
      );
  });

  it('a declared mdw that names its resource compiles exactly like the automatic one', () => {
    const ms = monitors(editMd(['monitors: []', 'monitors:\n  - { name: mdw1, type: mdw, resource: md1 }']));
    assert.deepEqual(ms, [{ ...MDW1, auto: false }, MDNW1]);
    const mn = monitors(
      editMd(['monitors: []', 'monitors:\n  - { name: mdnw1, type: mdnw, resource: md1 }']),
    );
    assert.deepEqual(mn, [{ ...MDNW1, auto: false }, MDW1]);
  });

  it('a declared mdw replaces mdw1 only, under any name, and keeps its own settings', () => {
    const ms = monitors(
      editMd([
        'monitors: []',
        'monitors:\n  - { name: disk-state, type: mdw, resource: md1, interval: 5s, recovery: { finalAction: stop-group } }',
      ]),
    );
    assert.deepEqual(
      ms.map((m) => [m.name, m.type, m.auto]),
      [
        ['disk-state', 'mdw', false],
        ['mdnw1', 'mdnw', true],
      ],
    );
    assert.deepEqual(ms[0], {
      ...MDW1,
      name: 'disk-state',
      intervalMs: 5000,
      recovery: { ...MDW1.recovery, finalAction: 'stop-group' },
      auto: false,
    });
  });

  it('a custom monitor about md1 replaces neither, unless it takes the name of one', () => {
    const check = '{ name: app-data, type: custom, command: ./check.sh, target: md1 }';
    assert.deepEqual(names(editMd(['monitors: []', `monitors:\n  - ${check}`])), [
      ['app-data', 'custom', false],
      ['mdw1', 'mdw', true],
      ['mdnw1', 'mdnw', true],
    ]);
    const named = '{ name: mdnw1, type: custom, command: ./mdc.sh, target: md1 }';
    assert.deepEqual(names(editMd(['monitors: []', `monitors:\n  - ${named}`])), [
      ['mdnw1', 'custom', false],
      ['mdw1', 'mdw', true],
    ]);
  });

  it('mdw with timing { active: md1 } checks only where md1 is online; timing always is no mistake', () => {
    const active = monitors(
      editMd([
        'monitors: []',
        'monitors:\n  - { name: mdw1, type: mdw, resource: md1, timing: { active: md1 } }',
      ]),
    );
    assert.equal(active[0]?.activeResource, 'md1');
    const always = editMd([
      'monitors: []',
      'monitors:\n  - { name: mdw1, type: mdw, resource: md1, timing: always }',
    ]);
    assert.deepEqual(parse(always).issues, []);
  });

  it('autoMonitor: false leaves none', () => {
    assert.deepEqual(
      monitors(editMd(['        type: md\n', '        type: md\n        autoMonitor: false\n'])),
      [],
    );
  });

  it('two md resources get two pairs', () => {
    assert.deepEqual(
      monitors(withMd2()).map((m) => m.name),
      ['mdw1', 'mdnw1', 'mdw2', 'mdnw2'],
    );
  });
});

describe('md warnings', () => {
  it('queueSize with mode sync (it never applies)', () => {
    const yaml = editMd(['        regionSize: 64K\n', '        regionSize: 64K\n        queueSize: 4096\n']);
    const r = parse(yaml);
    assert.ok(r.config);
    const w = warningsOf(r);
    assert.deepEqual(
      w.map((i) => [i.path, i.message, i.remedy]),
      [
        [
          'groups[0].resources[0].queueSize',
          'queueSize is set but mode is sync, so no write is ever queued',
          'remove queueSize, or set mode: async',
        ],
      ],
    );
    assert.deepEqual({ line: w[0]?.line, col: w[0]?.col }, at(yaml, '4096'));
  });

  it('an nbd address other machines reach (NBD has no authentication)', () => {
    const yaml = editMd([
      '          node-2: { mdc: 192.168.0.2 }',
      '          node-2: { mdc: 192.168.0.2, nbd: "10.0.2.10:10809" }',
    ]);
    const r = parse(yaml);
    assert.ok(r.config);
    const w = warningsOf(r);
    assert.deepEqual(
      w.map((i) => i.path),
      ['groups[0].resources[0].servers.node-2.nbd'],
    );
    assert.match(
      w[0]?.message ?? '',
      /^nbd 10\.0\.2\.10:10809 is reachable from other machines, and NBD has no authentication/,
    );
    assert.match(w[0]?.remedy ?? '', /unix socket \(the default\) or 127\.0\.0\.1:PORT/);
    assert.deepEqual({ line: w[0]?.line, col: w[0]?.col }, at(yaml, '"10.0.2.10:10809"'));
  });

  it('none for a second volume with its own partitions and ports', () => {
    const r = parse(withMd2());
    assert.deepEqual(r.issues, []);
  });
});

describe('config hash covers md', () => {
  const hashOf = (yaml: string): string => {
    const c = parse(yaml).config;
    assert.ok(c, issuesText(yaml));
    return c.hash;
  };
  const base = hashOf(MD_YAML);
  it('changes with each key', () => {
    const changed = [
      editMd(['dataPath: /dev/xvdf2', 'dataPath: /dev/xvdh2']),
      editMd(['clusterPath: /dev/xvdf1', 'clusterPath: /dev/xvdh1']),
      editMd(['{ mdc: 192.168.0.2 }', '{ mdc: "192.168.0.2:29052" }']),
      editMd(['mode: sync', 'mode: async']),
      editMd(['nbd: null', 'nbd: /run/md1.sock']),
      editMd(['size: 10G', 'size: 20G']),
      editMd(['regionSize: 64K', 'regionSize: 128K']),
      editMd(['initialSync: full', 'initialSync: skip']),
      editMd(['autoRecovery: true', 'autoRecovery: false']),
      editMd(['sendTimeout: 30s', 'sendTimeout: 31s']),
      editMd(['connectTimeout: 10s', 'connectTimeout: 11s']),
      editMd(['ackTimeout: 100s', 'ackTimeout: 101s']),
      editMd(['options: noatime', 'options: "noatime,nodev"']),
    ];
    const hashes = changed.map(hashOf);
    for (const h of hashes) assert.notEqual(h, base);
    assert.equal(new Set(hashes).size, hashes.length);
  });
  it('is stable when a size is written another way', () => {
    assert.equal(
      hashOf(editMd(['size: 10G', 'size: 10GiB'], ['regionSize: 64K', 'regionSize: 65536'])),
      base,
    );
  });
  it('does not count errors as compiled (a broken md is not silently dropped)', () => {
    assert.equal(parse(editMd(['size: 10G', 'size: 10GB'])).config, null);
    assert.ok(errorsOf(parse(editMd(['size: 10G', 'size: 10GB']))).length > 0);
  });
});
