/** World file loading: the demo world, and every problem of a broken one listed with its path and line. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ConfigError } from '../shared/errors.ts';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DEMO_WORLD_FILE, WORLDS_DIR } from './main.ts';
import { cidrContains, loadWorld } from './world.ts';

describe('loadWorld', () => {
  it('loads the demo world: two AZs, four subnets, three VIP routes, two instances, one EIP, one zone', () => {
    const w = loadWorld(readFileSync(DEMO_WORLD_FILE, 'utf8'), DEMO_WORLD_FILE);
    assert.equal(w.region, 'us-east-1');
    assert.deepEqual(
      w.ec2.availabilityZones.map((a) => a.name),
      ['us-east-1a', 'us-east-1b'],
    );
    assert.equal(w.ec2.subnets.length, 4);
    const vip = w.ec2.routeTables.map(
      (rt) => rt.routes.find((r) => r.destination === '10.1.0.20/32')?.target,
    );
    assert.deepEqual(vip, ['eni-0000000000000001', 'eni-0000000000000001', 'eni-0000000000000001']);
    assert.equal(w.ec2.networkInterfaces.length, 2);
    assert.equal(w.ec2.addresses[0]?.networkInterfaceId, 'eni-0000000000000001');
    assert.equal(w.route53.hostedZones[0]?.id, 'Z0123456789ABC');
    assert.equal(w.route53.vpcRegion, 'us-east-1');
    assert.deepEqual(
      w.ec2.instances.map((i) => i.iamRole),
      ['tandem-ha', 'tandem-ha'],
    );
    assert.equal(w.iam.enforced, true);
    assert.deepEqual(
      w.iam.users.map((u) => [u.name, u.accessKeyId, u.deny]),
      [['tandem-allowed', 'AKIASIMALLOWED000001', []]],
    );
    assert.deepEqual(w.iam.roles, [{ name: 'tandem-ha', deny: [] }]);
    assert.equal(w.ec2.vpcs[0]?.enableDnsSupport, true);
    assert.equal(w.ec2.transitionDelayMs, 2000);
    const quick = loadWorld(readFileSync(DEMO_WORLD_FILE, 'utf8'), DEMO_WORLD_FILE, {
      instanceStopDelayMs: 0,
    });
    assert.equal(quick.ec2.transitionDelayMs, 0);
  });

  it('loads each world with a mistake, documented at its top', () => {
    const load = (name: string) => {
      const file = join(WORLDS_DIR, name);
      const text = readFileSync(file, 'utf8');
      assert.match(
        text,
        /^# A world for `tandem doctor` tests[^\n]*\n# MISTAKE: /,
        `${name} documents its mistake`,
      );
      return loadWorld(text, file);
    };
    assert.deepEqual(readdirSync(WORLDS_DIR).sort(), [
      'dns-support-off.yaml',
      'iam-denied.yaml',
      'source-dest-check-on.yaml',
      'vip-in-cidr.yaml',
      'zone-not-associated.yaml',
    ]);
    const sdc = load('source-dest-check-on.yaml');
    assert.deepEqual(
      sdc.ec2.networkInterfaces.map((n) => [n.id, n.sourceDestCheck]),
      [
        ['eni-0000000000000001', false],
        ['eni-0000000000000002', true],
      ],
    );
    const zone = load('zone-not-associated.yaml');
    assert.deepEqual(zone.route53.hostedZones[0]?.vpcs, ['vpc-0f0f0f0f']);
    assert.ok(zone.ec2.instances.every((i) => i.vpcId === 'vpc-0a1b2c3d'));
    assert.equal(load('dns-support-off.yaml').ec2.vpcs[0]?.enableDnsSupport, false);
    const iam = load('iam-denied.yaml');
    assert.deepEqual(
      iam.iam.users.map((u) => [u.accessKeyId, u.secretAccessKey, u.deny]),
      [
        ['AKIASIMDENIED0000001', 'denied-secret', ['ec2:ReplaceRoute', 'route53:ChangeResourceRecordSets']],
        ['AKIASIMALLOWED000001', 'allowed-secret', []],
      ],
    );
    assert.ok(iam.ec2.instances.every((i) => i.iamRole === 'tandem-ha'));
    const vip = load('vip-in-cidr.yaml');
    for (const rt of vip.ec2.routeTables) {
      assert.ok(
        rt.routes.some((r) => r.destination === '10.0.5.20/32'),
        rt.id,
      );
    }
    assert.ok(cidrContains('10.0.0.0/16', '10.0.5.20'));
  });

  it('names an unknown instance role and iam: problems with their lines', () => {
    const text = [
      'region: us-east-1',
      'availabilityZones: [{ name: us-east-1a }]',
      'vpcs:',
      '  - id: vpc-1',
      '    cidrBlocks: [10.0.0.0/16]',
      '    subnets: [{ id: subnet-1, cidr: 10.0.1.0/24, availabilityZone: us-east-1a }]',
      'instances:',
      '  - id: i-1',
      '    availabilityZone: us-east-1a',
      '    subnet: subnet-1',
      '    iamRole: ghost',
      '    networkInterfaces: [{ id: eni-1, privateIp: 10.0.1.10 }]',
      'iam:',
      '  users: [{ accessKeyId: short, secretAccessKey: s }]',
      '  roles: [{ name: tandem-ha, deny: [ec2:ReplaceRoute] }]',
    ].join('\n');
    assert.throws(
      () => loadWorld(text, 'w.yaml'),
      (e: ConfigError) => {
        assert.deepEqual(
          e.issues.map((i) => [i.path, i.line]),
          [['iam.users[0].accessKeyId', 14]],
        );
        return true;
      },
    );
    assert.throws(
      () => loadWorld(text.replace('short', 'AKIAOK00000000000001'), 'w.yaml'),
      (e: ConfigError) => {
        assert.deepEqual(
          e.issues.map((i) => [i.path, i.line]),
          [['instances[0].iamRole', 11]],
        );
        assert.match(
          e.message,
          /w\.yaml:11: instances\[0\]\.iamRole: role ghost is not defined under iam\.roles/,
        );
        return true;
      },
    );
    const ok = loadWorld(
      text.replace('short', 'AKIAOK00000000000001').replace('ghost', 'tandem-ha'),
      'w.yaml',
    );
    assert.equal(ok.iam.users[0]?.name, 'sim-user-1');
  });

  it('lists every problem with its YAML path and line', () => {
    const text = [
      'region: us-east-1',
      'availabilityZones:',
      '  - { name: us-east-1a, state: melted }',
      'vpcs:',
      '  - id: vpc-1',
      '    cidrBlocks: [10.0.0.0/16]',
      '    subnets:',
      '      - { id: subnet-1, cidr: 10.9.0.0/24, availabilityZone: us-east-1q }',
      '    routeTables:',
      '      - id: rtb-1',
      '        routes: [{ destination: 10.1.0.20/32, target: eni-404 }]',
      'instances: []',
      'addresses:',
      '  - { allocationId: eipalloc-1, publicIp: 1.2.3.4, association: { networkInterfaceId: eni-404 } }',
    ].join('\n');
    // Schema problems are reported first (the cross-checks need a valid shape).
    assert.throws(
      () => loadWorld(text, 'w.yaml'),
      (e: ConfigError) => {
        assert.ok(e instanceof ConfigError);
        assert.deepEqual(
          e.issues.map((i) => [i.path, i.line]),
          [['availabilityZones[0].state', 3]],
        );
        return true;
      },
    );
    const fixed = text.replace('melted', 'available');
    assert.throws(
      () => loadWorld(fixed, 'w.yaml'),
      (e: ConfigError) => {
        assert.deepEqual(
          e.issues.map((i) => [i.path, i.line]),
          [
            ['vpcs[0].subnets[0].availabilityZone', 8],
            ['vpcs[0].subnets[0].cidr', 8],
            ['vpcs[0].routeTables[0].routes[0].target', 11],
            ['addresses[0].association.networkInterfaceId', 14],
          ],
        );
        assert.match(
          e.message,
          /w\.yaml:8: vpcs\[0\]\.subnets\[0\]\.cidr: 10\.9\.0\.0\/24 is outside every CIDR block of vpc-1/,
        );
        return true;
      },
    );
  });

  it('reports YAML syntax errors and hosted zone problems with their paths', () => {
    assert.throws(() => loadWorld('region: [', 'bad.yaml'), /bad\.yaml:\d+: \(yaml\)/);
    const text = [
      'region: us-east-1',
      'availabilityZones: [{ name: us-east-1a }]',
      'hostedZones:',
      '  - { id: Z1, name: hz1.local., private: true, vpcs: [vpc-404] }',
    ].join('\n');
    assert.throws(
      () => loadWorld(text, 'w.yaml'),
      (e: ConfigError) => {
        assert.deepEqual(
          e.issues.map((i) => [i.path, i.line]),
          [['hostedZones[0].vpcs', 4]],
        );
        return true;
      },
    );
  });

  it('checks CIDR membership', () => {
    assert.equal(cidrContains('10.0.0.0/16', '10.0.255.1'), true);
    assert.equal(cidrContains('10.0.0.0/16', '10.1.0.20'), false);
    assert.equal(cidrContains('0.0.0.0/0', '203.0.113.10'), true);
  });
});
