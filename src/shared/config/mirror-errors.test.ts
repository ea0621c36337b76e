/**
 * Each error of the mirror disk config (issue 5 sections 1 and 3: the `md` resource and the `mdw` /
 * `mdnw` monitors) is reported with the right path, line:col (checked against the text, not the YAML
 * parser), message and remedy. Table-driven: each case edits the docs' mirror disk example.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { formatIssue } from './index.ts';
import { at, editMd, errorsOf, parse } from './testkit.ts';

interface ErrorCase {
  name: string;
  yaml: string;
  path: string;
  where: string | [string, number];
  message: RegExp;
  remedy?: RegExp;
}

const R = 'groups[0].resources[0]';
const NODE_2_MDC = '          node-2: { mdc: 192.168.0.2 }';
const SERVERS_BLOCK = `        servers:
          node-1: { mdc: 192.168.0.1 }  # the mirror connect over lan2, TCP port 29051
          node-2: { mdc: 192.168.0.2 }
`;
const NODE_3 = [
  '    interconnects: ["10.0.2.10", "192.168.0.2"]\n',
  '    interconnects: ["10.0.2.10", "192.168.0.2"]\n  - name: node-3\n    interconnects: ["10.0.3.11", "192.168.0.3"]\n',
] as [string, string];
const md2 = (over: Record<string, string> = {}): [string, string] => {
  const v = {
    dataPath: '/dev/xvdg2',
    clusterPath: '/dev/xvdg1',
    servers: '{ node-1: { mdc: "192.168.0.1:29052" }, node-2: { mdc: "192.168.0.2:29052" } }',
    more: '',
    ...over,
  };
  return [
    '      - name: app1\n',
    `      - name: md2\n        type: md\n        dataPath: ${v.dataPath}\n        clusterPath: ${v.clusterPath}\n${v.more}        servers: ${v.servers}\n      - name: app1\n`,
  ];
};
const R2 = 'groups[0].resources[1]';
const monitor = (m: string): [string, string] => ['monitors: []', `monitors:\n  - ${m}`];

const cases: ErrorCase[] = [
  {
    name: 'a group on three servers',
    yaml: editMd(NODE_3),
    path: `${R}.type`,
    where: 'md\n        dataPath',
    message:
      /^md resource md1 mirrors between exactly two servers \(one copy each\), but group failover1 can run on 3: node-1, node-2, node-3$/,
    remedy:
      /^set startupServers of group failover1 to the two servers that hold the copies, e\.g\. startupServers: \[node-1, node-2\]$/,
  },
  {
    name: 'a group on one server',
    yaml: editMd(['  - name: failover1\n', '  - name: failover1\n    startupServers: [node-1]\n']),
    path: `${R}.type`,
    where: 'md\n        dataPath',
    message: /but group failover1 can run on 1: node-1$/,
    remedy: /add a second server to the cluster and to startupServers of group failover1/,
  },
  {
    name: 'a server without mdc',
    yaml: editMd([`${NODE_2_MDC}\n`, '']),
    path: `${R}.servers.node-2.mdc`,
    where: 'servers:\n          node-1',
    message: /^no mdc for node-2, which holds a copy of md1$/,
    remedy:
      /^set servers\.node-2\.mdc to an address of node-2 that the other server reaches, usually its interconnect address/,
  },
  {
    name: 'no dataPath for either server',
    yaml: editMd([
      '        dataPath: /dev/xvdf2            # the data partition (same device name on both servers)\n',
      '',
    ]),
    path: `${R}.servers.node-1.dataPath`,
    where: 'node-1: { mdc',
    message: /^no dataPath for node-1, which holds a copy of md1$/,
    remedy: /^set dataPath \(common\) or servers\.node-1\.dataPath to the path of node-1's data partition/,
  },
  {
    name: 'no clusterPath for node-2 (set per server for node-1 only)',
    yaml: editMd(
      ["        clusterPath: /dev/xvdf1         # the cluster partition: the mirror's metadata\n", ''],
      ['{ mdc: 192.168.0.1 }', '{ mdc: 192.168.0.1, clusterPath: /dev/xvdf1 }'],
    ),
    path: `${R}.servers.node-2.clusterPath`,
    where: 'node-2: { mdc',
    message: /^no clusterPath for node-2, which holds a copy of md1$/,
    remedy: /cluster partition, e\.g\. \/dev\/xvdf1: it holds the mirror's metadata/,
  },
  {
    name: 'dataPath and clusterPath the same',
    yaml: editMd(['clusterPath: /dev/xvdf1', 'clusterPath: /dev/xvdf2']),
    path: `${R}.clusterPath`,
    where: ['/dev/xvdf2', 1],
    message: /^dataPath and clusterPath of node-1 are both \/dev\/xvdf2$/,
    remedy: /must be separate from the data partition/,
  },
  {
    name: 'dataPath and clusterPath the same on one server, relative and absolute',
    yaml: editMd([
      NODE_2_MDC,
      '          node-2: { mdc: 192.168.0.2, dataPath: ./d.img, clusterPath: /etc/tandem/d.img }',
    ]),
    path: `${R}.servers.node-2.clusterPath`,
    where: '/etc/tandem/d.img',
    message: /^dataPath and clusterPath of node-2 are both \/etc\/tandem\/d\.img$/,
  },
  {
    name: 'one mdc for both servers (common)',
    yaml: editMd([SERVERS_BLOCK, '        mdc: 192.168.0.1\n']),
    path: `${R}.mdc`,
    where: '192.168.0.1\n',
    message: /^mdc 192\.168\.0\.1:29051 is set for both node-1 and node-2$/,
    remedy: /each server listens for the mirror connection on its own address/,
  },
  {
    name: 'the same mdc written per server (default port = explicit port)',
    yaml: editMd([NODE_2_MDC, '          node-2: { mdc: "192.168.0.1:29051" }']),
    path: `${R}.servers.node-2.mdc`,
    where: '"192.168.0.1:29051"',
    message: /^mdc 192\.168\.0\.1:29051 is set for both node-1 and node-2$/,
  },
  {
    name: 'mdc on an unspecified address',
    yaml: editMd([NODE_2_MDC, '          node-2: { mdc: 0.0.0.0 }']),
    path: `${R}.servers.node-2.mdc`,
    where: '0.0.0.0',
    message: /"0\.0\.0\.0" is not an address other servers can reach/,
  },
  {
    name: 'size in decimal units',
    yaml: editMd(['size: 10G', 'size: 10GB']),
    path: `${R}.size`,
    where: '10GB',
    message: /^"10GB" is ambiguous \(decimal or binary units\?\)$/,
    remedy: /binary unit K, M, G or T \(e\.g\. 10G = 10 x 1024\^3 bytes/,
  },
  {
    name: 'size with decimals',
    yaml: editMd(['size: 10G', 'size: 1.5G']),
    path: `${R}.size`,
    where: '1.5G',
    message: /^"1\.5G" is not a whole number$/,
  },
  {
    name: 'size not a multiple of 512',
    yaml: editMd(['size: 10G', 'size: 1000']),
    path: `${R}.size`,
    where: '1000',
    message: /^1000 is not a multiple of 512 bytes$/,
  },
  {
    name: 'size negative',
    yaml: editMd(['size: 10G', 'size: -512']),
    path: `${R}.size`,
    where: '-512',
    message: /^-512 is not a positive size$/,
  },
  {
    name: 'size as a word',
    yaml: editMd(['size: 10G', 'size: big']),
    path: `${R}.size`,
    where: 'big',
    message: /^"big" is not a size$/,
  },
  {
    name: 'regionSize not a power of two',
    yaml: editMd(['regionSize: 64K', 'regionSize: 48K']),
    path: `${R}.regionSize`,
    where: '48K',
    message: /^"48K" is not a power of two from 4K to 64M$/,
    remedy: /e\.g\. 64K/,
  },
  {
    name: 'regionSize too small',
    yaml: editMd(['regionSize: 64K', 'regionSize: 2K']),
    path: `${R}.regionSize`,
    where: '2K',
    message: /is not a power of two from 4K to 64M/,
  },
  {
    name: 'nbd neither a path nor address:port',
    yaml: editMd(['nbd: null ', 'nbd: nbd.sock ']),
    path: `${R}.nbd`,
    where: 'nbd.sock',
    message: /^"nbd\.sock" is neither a socket path \(paths contain "\/"\) nor address:port$/,
    remedy: /\.\/nbd\/md1\.sock/,
  },
  {
    name: 'nbd on an unspecified address',
    yaml: editMd(['nbd: null ', 'nbd: "0.0.0.0:10809" ']),
    path: `${R}.nbd`,
    where: '"0.0.0.0:10809"',
    message: /^"0\.0\.0\.0" is not an address NBD clients can connect to$/,
  },
  {
    name: 'nbd socket path too long for a unix socket',
    yaml: editMd(['nbd: null ', `nbd: /run/${'x'.repeat(100)}.sock `]),
    path: `${R}.nbd`,
    where: '/run/xxx',
    message: /^the NBD socket path \/run\/x+\.sock is 110 bytes long; a unix socket path holds at most 107$/,
    remedy: /choose a shorter path/,
  },
  {
    name: 'mount device not an NBD device',
    yaml: editMd(['device: /dev/nbd0', 'device: /dev/xvdf2']),
    path: `${R}.mount.device`,
    where: '/dev/xvdf2,',
    message: /^"\/dev\/xvdf2" is not an NBD device$/,
    remedy: /\/dev\/nbd0/,
  },
  {
    name: 'mount point relative',
    yaml: editMd(['path: /mnt/md1', 'path: mnt/md1']),
    path: `${R}.mount.path`,
    where: 'mnt/md1,',
    message: /^"mnt\/md1" is not an absolute path$/,
  },
  {
    name: 'mount without fsType',
    yaml: editMd([' fsType: ext4,', '']),
    path: `${R}.mount.fsType`,
    where: 'mount: {',
    message: /^required key "fsType" is missing$/,
  },
  {
    name: 'mode not sync or async',
    yaml: editMd(['mode: sync ', 'mode: semi ']),
    path: `${R}.mode`,
    where: 'semi',
    message: /^"semi" is not allowed here$/,
    remedy: /use one of: sync, async/,
  },
  {
    name: 'queueSize zero',
    yaml: editMd(['        regionSize: 64K\n', '        regionSize: 64K\n        queueSize: 0\n']),
    path: `${R}.queueSize`,
    where: '0\n        initialSync',
    message: /^0 is too small$/,
  },
  {
    name: 'a key that is not per server',
    yaml: editMd([NODE_2_MDC, '          node-2: { mdc: 192.168.0.2, mode: async }']),
    path: `${R}.servers.node-2.mode`,
    where: 'mode: async',
    message: /^"mode" cannot be set per server for type md$/,
    remedy: /per-server keys of md: dataPath, clusterPath, mdc, nbd, mount/,
  },
  {
    name: 'two volumes on one data partition',
    yaml: editMd(md2({ dataPath: '/dev/xvdf2' })),
    path: `${R2}.dataPath`,
    where: ['/dev/xvdf2', 1],
    message: /^dataPath \/dev\/xvdf2 of md2 on node-1 is already the dataPath of md1$/,
    remedy: /each mirror disk needs its own data and cluster partitions/,
  },
  {
    name: "a volume's cluster partition is another's data partition",
    yaml: editMd(md2({ clusterPath: '/dev/xvdf2' })),
    path: `${R2}.clusterPath`,
    where: ['/dev/xvdf2', 1],
    message: /^clusterPath \/dev\/xvdf2 of md2 on node-1 is already the dataPath of md1$/,
  },
  {
    name: 'two volumes on one mdc endpoint of one server',
    yaml: editMd(md2({ servers: '{ node-1: { mdc: "192.168.0.1:29052" }, node-2: { mdc: 192.168.0.2 } }' })),
    path: `${R2}.servers.node-2.mdc`,
    where: ['192.168.0.2 }', 1],
    message: /^mdc 192\.168\.0\.2:29051 of md2 on node-2 is already the mdc of md1$/,
    remedy: /its own MDC port/,
  },
  {
    name: 'two volumes on one mount point',
    yaml: editMd(md2({ more: '        mount: { device: /dev/nbd1, path: /mnt/md1, fsType: xfs }\n' })),
    path: `${R2}.mount.path`,
    where: ['/mnt/md1', 1],
    message: /^mount\.path \/mnt\/md1 of md2 on node-1 is already the mount\.path of md1$/,
  },
  {
    name: 'two volumes on one NBD device',
    yaml: editMd(md2({ more: '        mount: { device: /dev/nbd0, path: /mnt/md2, fsType: xfs }\n' })),
    path: `${R2}.mount.device`,
    where: ['/dev/nbd0', 1],
    message: /^mount\.device \/dev\/nbd0 of md2 on node-1 is already the mount\.device of md1$/,
  },
  {
    name: 'an mdw monitor of an exec resource',
    yaml: editMd(monitor('{ name: m1, type: mdw, resource: app1 }')),
    path: 'monitors[0].resource',
    where: 'app1 }',
    message: /^resource "app1" is of type exec, not md$/,
    remedy: /an mdw monitor watches an md resource; md resources: md1/,
  },
  {
    name: 'an mdnw monitor of an unknown resource',
    yaml: editMd(monitor('{ name: m1, type: mdnw, resource: md2 }')),
    path: 'monitors[0].resource',
    where: 'md2',
    message: /^unknown resource "md2"$/,
    remedy: /did you mean "md1"\? name an md resource/,
  },
  {
    name: 'a custom monitor named like the automatic mdw1',
    yaml: editMd(monitor('{ name: mdw1, type: custom, command: ./c.sh, recovery: { target: failover1 } }')),
    path: 'monitors[0].name',
    where: 'mdw1',
    message: /^"mdw1" is the name of the automatic monitor of md1$/,
    remedy: /^rename this monitor, or make it the mdw monitor of md1 to replace the automatic one$/,
  },
  {
    name: 'an mdw of md1 named like the automatic mdnw1 (it replaces mdw1, so the name is taken)',
    yaml: editMd(monitor('{ name: mdnw1, type: mdw, resource: md1 }')),
    path: 'monitors[0].name',
    where: 'mdnw1',
    message: /^"mdnw1" is the name of the automatic monitor of md1$/,
    remedy: /make it the mdnw monitor of md1/,
  },
];

describe('mirror disk config errors: path, line:col, message, remedy', () => {
  for (const c of cases) {
    it(c.name, () => {
      const r = parse(c.yaml);
      assert.equal(r.config, null, 'a config with errors is not returned');
      const hit = errorsOf(r).find((e) => e.path === c.path && c.message.test(e.message));
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

  it('a mistyped startup server is reported as such, not as a missing second server', () => {
    const yaml = editMd([
      '  - name: failover1\n',
      '  - name: failover1\n    startupServers: [node-1, node2]\n',
    ]);
    assert.deepEqual(
      errorsOf(parse(yaml)).map((e) => [e.path, e.message]),
      [['groups[0].startupServers[1]', 'unknown server "node2"']],
    );
  });

  it('each mistake is reported once (no echo per server)', () => {
    const counts = [
      editMd(['clusterPath: /dev/xvdf1', 'clusterPath: /dev/xvdf2']),
      editMd([SERVERS_BLOCK, '        mdc: 192.168.0.1\n']),
      editMd(md2({ dataPath: '/dev/xvdf2' })),
    ].map((y) => errorsOf(parse(y)).length);
    assert.deepEqual(counts, [1, 1, 1]);
  });
});
