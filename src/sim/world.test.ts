/** World file loading: the demo world, and every problem of a broken one listed with its path and line. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ConfigError } from '../shared/errors.ts';
import { DEMO_WORLD_FILE } from './main.ts';
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
