/**
 * The simulator's EC2 Query API through the real AWS SDK v3: route tables, EIPs, AZs, ENIs, instances,
 * DryRun and AWS's error codes as the SDK parses them.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, beforeEach, describe, it } from 'node:test';
import {
  AssociateAddressCommand,
  CreateRouteCommand,
  DescribeAddressesCommand,
  DescribeAvailabilityZonesCommand,
  DescribeInstancesCommand,
  DescribeNetworkInterfacesCommand,
  DescribeRouteTablesCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  DisassociateAddressCommand,
  EC2Client,
  DescribeVpcAttributeCommand,
  ModifyNetworkInterfaceAttributeCommand,
  ModifyVpcAttributeCommand,
  RebootInstancesCommand,
  ReplaceRouteCommand,
  StartInstancesCommand,
  StopInstancesCommand,
} from '@aws-sdk/client-ec2';
import { createSimServer } from './server.ts';
import type { SimServer } from './server.ts';
import { DEMO_WORLD_FILE } from './main.ts';
import { loadWorld } from './world.ts';

const VIP = '10.1.0.20/32';
const ENI1 = 'eni-0000000000000001';
const ENI2 = 'eni-0000000000000002';
const EIP = 'eipalloc-0000000000000001';
const TABLES = ['rtb-0000000000000public', 'rtb-00000000000private1', 'rtb-00000000000private2'];

let sim: SimServer;
let ec2: EC2Client;

function freshWorld() {
  const world = loadWorld(readFileSync(DEMO_WORLD_FILE, 'utf8'), DEMO_WORLD_FILE);
  world.ec2.transitionDelayMs = 0;
  return world;
}

async function rejects(p: Promise<unknown>, name: string, message?: string | RegExp): Promise<Error> {
  try {
    await p;
  } catch (err) {
    const e = err as Error & { $metadata?: { httpStatusCode?: number } };
    assert.equal(e.name, name, e.message);
    if (typeof message === 'string') assert.equal(e.message, message);
    else if (message !== undefined) assert.match(e.message, message);
    return e;
  }
  assert.fail(`expected ${name}`);
}

before(async () => {
  sim = await createSimServer({ world: freshWorld(), host: '127.0.0.1', port: 0 });
  ec2 = new EC2Client({
    endpoint: sim.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIASIMALLOWED000001', secretAccessKey: 'allowed-secret' },
    maxAttempts: 1,
  });
});
after(async () => {
  ec2.destroy();
  await sim.close();
});
beforeEach(() => {
  const w = freshWorld();
  sim.world.ec2 = w.ec2;
});

describe('route tables', () => {
  it('describes the VIP route in three tables and replaces it in each', async () => {
    const found = await ec2.send(
      new DescribeRouteTablesCommand({
        Filters: [
          { Name: 'vpc-id', Values: ['vpc-0a1b2c3d'] },
          { Name: 'route.destination-cidr-block', Values: [VIP] },
        ],
      }),
    );
    assert.deepEqual(
      found.RouteTables?.map((t) => t.RouteTableId),
      TABLES,
    );
    for (const t of found.RouteTables ?? []) {
      const r = t.Routes?.find((x) => x.DestinationCidrBlock === VIP);
      assert.equal(r?.NetworkInterfaceId, ENI1);
      assert.equal(r?.InstanceId, 'i-0000000000000001');
      assert.equal(r?.State, 'active');
    }
    await Promise.all(
      TABLES.map((id) =>
        ec2.send(
          new ReplaceRouteCommand({ RouteTableId: id, DestinationCidrBlock: VIP, NetworkInterfaceId: ENI2 }),
        ),
      ),
    );
    const after = await ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: TABLES }));
    for (const t of after.RouteTables ?? []) {
      assert.equal(t.Routes?.find((x) => x.DestinationCidrBlock === VIP)?.NetworkInterfaceId, ENI2);
      assert.equal(t.Routes?.find((x) => x.DestinationCidrBlock === '10.0.0.0/16')?.GatewayId, 'local');
    }
  });

  it('creates a route, refuses a duplicate, and refuses to replace a missing one', async () => {
    const dest = '10.1.0.30/32';
    await ec2.send(
      new CreateRouteCommand({
        RouteTableId: TABLES[0],
        DestinationCidrBlock: dest,
        NetworkInterfaceId: ENI2,
      }),
    );
    const t = await ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [TABLES[0] ?? ''] }));
    assert.equal(
      t.RouteTables?.[0]?.Routes?.find((r) => r.DestinationCidrBlock === dest)?.NetworkInterfaceId,
      ENI2,
    );
    await rejects(
      ec2.send(
        new CreateRouteCommand({
          RouteTableId: TABLES[0],
          DestinationCidrBlock: dest,
          NetworkInterfaceId: ENI2,
        }),
      ),
      'RouteAlreadyExists',
    );
    await rejects(
      ec2.send(
        new ReplaceRouteCommand({
          RouteTableId: TABLES[1],
          DestinationCidrBlock: dest,
          NetworkInterfaceId: ENI2,
        }),
      ),
      'InvalidRoute.NotFound',
      /There is no route defined for '10\.1\.0\.30\/32'/,
    );
  });

  it('names unknown route tables, ENIs and VPCs with the real codes and messages', async () => {
    await rejects(
      ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: ['rtb-nope'] })),
      'InvalidRouteTableID.NotFound',
      "The routeTable ID 'rtb-nope' does not exist",
    );
    await rejects(
      ec2.send(
        new ReplaceRouteCommand({
          RouteTableId: TABLES[0],
          DestinationCidrBlock: VIP,
          NetworkInterfaceId: 'eni-x',
        }),
      ),
      'InvalidNetworkInterfaceID.NotFound',
      "The networkInterface ID 'eni-x' does not exist",
    );
    await rejects(
      ec2.send(new DescribeVpcsCommand({ VpcIds: ['vpc-x'] })),
      'InvalidVpcID.NotFound',
      "The vpc ID 'vpc-x' does not exist",
    );
  });

  it('answers DryRun with DryRunOperation and changes nothing', async () => {
    const e = await rejects(
      ec2.send(
        new ReplaceRouteCommand({
          RouteTableId: TABLES[0],
          DestinationCidrBlock: VIP,
          NetworkInterfaceId: ENI2,
          DryRun: true,
        }),
      ),
      'DryRunOperation',
    );
    assert.equal((e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode, 412);
    await rejects(ec2.send(new DescribeRouteTablesCommand({ DryRun: true })), 'DryRunOperation');
    await rejects(
      ec2.send(
        new ReplaceRouteCommand({
          RouteTableId: 'rtb-nope',
          DestinationCidrBlock: VIP,
          NetworkInterfaceId: ENI2,
          DryRun: true,
        }),
      ),
      'InvalidRouteTableID.NotFound',
    );
    const t = await ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [TABLES[0] ?? ''] }));
    assert.equal(
      t.RouteTables?.[0]?.Routes?.find((r) => r.DestinationCidrBlock === VIP)?.NetworkInterfaceId,
      ENI1,
    );
  });
});

describe('VPCs, subnets, instances and ENIs', () => {
  it('describes the VPC CIDRs, subnets per zone, and instances with their ENIs', async () => {
    const vpcs = await ec2.send(new DescribeVpcsCommand({ VpcIds: ['vpc-0a1b2c3d'] }));
    assert.deepEqual(
      vpcs.Vpcs?.[0]?.CidrBlockAssociationSet?.map((c) => c.CidrBlock),
      ['10.0.0.0/16'],
    );
    const subs = await ec2.send(
      new DescribeSubnetsCommand({ Filters: [{ Name: 'availability-zone', Values: ['us-east-1b'] }] }),
    );
    assert.deepEqual(
      subs.Subnets?.map((s) => s.SubnetId),
      ['subnet-0a000002', 'subnet-0a000012'],
    );
    const inst = await ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0000000000000002'] }));
    const i = inst.Reservations?.[0]?.Instances?.[0];
    assert.equal(i?.Placement?.AvailabilityZone, 'us-east-1b');
    assert.equal(i?.State?.Name, 'running');
    assert.equal(i?.NetworkInterfaces?.[0]?.NetworkInterfaceId, ENI2);
    await rejects(
      ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-nope'] })),
      'InvalidInstanceID.NotFound',
      "The instance ID 'i-nope' does not exist",
    );
  });

  it('sets Source/Dest check and shows the EIP on its ENI', async () => {
    await ec2.send(
      new ModifyNetworkInterfaceAttributeCommand({
        NetworkInterfaceId: ENI2,
        SourceDestCheck: { Value: true },
      }),
    );
    const r = await ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [ENI1, ENI2] }));
    assert.deepEqual(
      r.NetworkInterfaces?.map((n) => n.SourceDestCheck),
      [false, true],
    );
    assert.equal(r.NetworkInterfaces?.[0]?.Association?.PublicIp, '203.0.113.10');
    assert.equal(r.NetworkInterfaces?.[0]?.Attachment?.InstanceId, 'i-0000000000000001');
    await rejects(
      ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: ['eni-x'] })),
      'InvalidNetworkInterfaceID.NotFound',
      "The networkInterface ID 'eni-x' does not exist",
    );
  });

  it('stops (forced) and starts an instance, through stopping, with a settable delay', async () => {
    sim.world.ec2.transitionDelayMs = 60_000;
    const stop = await ec2.send(
      new StopInstancesCommand({ InstanceIds: ['i-0000000000000001'], Force: true }),
    );
    assert.equal(stop.StoppingInstances?.[0]?.PreviousState?.Name, 'running');
    assert.equal(stop.StoppingInstances?.[0]?.CurrentState?.Name, 'stopping');
    await rejects(
      ec2.send(new StartInstancesCommand({ InstanceIds: ['i-0000000000000001'] })),
      'IncorrectInstanceState',
    );
    const inst = sim.world.ec2.instances[0];
    assert.ok(inst !== undefined);
    inst.settlesAtMs = 0; // the delay has passed
    const d = await ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0000000000000001'] }));
    assert.equal(d.Reservations?.[0]?.Instances?.[0]?.State?.Name, 'stopped');
    const rt = await ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [TABLES[0] ?? ''] }));
    assert.equal(
      rt.RouteTables?.[0]?.Routes?.find((r) => r.DestinationCidrBlock === VIP)?.State,
      'blackhole',
    );
    sim.world.ec2.transitionDelayMs = 0;
    const start = await ec2.send(new StartInstancesCommand({ InstanceIds: ['i-0000000000000001'] }));
    assert.equal(start.StartingInstances?.[0]?.PreviousState?.Name, 'stopped');
    assert.equal(start.StartingInstances?.[0]?.CurrentState?.Name, 'running');
    await rejects(
      ec2.send(new StopInstancesCommand({ InstanceIds: ['i-0000000000000001'], DryRun: true })),
      'DryRunOperation',
    );
  });
});

describe('Elastic IPs', () => {
  it('associates, refuses without AllowReassociation, reassociates and disassociates', async () => {
    const d = await ec2.send(new DescribeAddressesCommand({ AllocationIds: [EIP] }));
    const first = d.Addresses?.[0];
    assert.equal(first?.NetworkInterfaceId, ENI1);
    assert.equal(first?.InstanceId, 'i-0000000000000001');
    await rejects(
      ec2.send(new AssociateAddressCommand({ AllocationId: EIP, NetworkInterfaceId: ENI2 })),
      'Resource.AlreadyAssociated',
    );
    const re = await ec2.send(
      new AssociateAddressCommand({ AllocationId: EIP, NetworkInterfaceId: ENI2, AllowReassociation: true }),
    );
    assert.match(re.AssociationId ?? '', /^eipassoc-/);
    assert.notEqual(re.AssociationId, first?.AssociationId);
    const d2 = await ec2.send(new DescribeAddressesCommand({ AllocationIds: [EIP] }));
    assert.equal(d2.Addresses?.[0]?.NetworkInterfaceId, ENI2);
    await rejects(
      ec2.send(new DisassociateAddressCommand({ AssociationId: first?.AssociationId ?? '' })),
      'InvalidAssociationID.NotFound',
    );
    await ec2.send(new DisassociateAddressCommand({ AssociationId: re.AssociationId ?? '' }));
    const d3 = await ec2.send(new DescribeAddressesCommand({ AllocationIds: [EIP] }));
    assert.equal(d3.Addresses?.[0]?.AssociationId, undefined);
    await ec2.send(new AssociateAddressCommand({ AllocationId: EIP, NetworkInterfaceId: ENI1 }));
    await rejects(
      ec2.send(new DescribeAddressesCommand({ AllocationIds: ['eipalloc-nope'] })),
      'InvalidAllocationID.NotFound',
      "The allocation ID 'eipalloc-nope' does not exist",
    );
  });
});

describe('availability zones', () => {
  it('reports zone states and rejects an unknown zone as AWS does', async () => {
    const z = sim.world.ec2.availabilityZones[1];
    assert.ok(z !== undefined);
    z.state = 'unavailable';
    const r = await ec2.send(
      new DescribeAvailabilityZonesCommand({ ZoneNames: ['us-east-1a', 'us-east-1b'] }),
    );
    assert.deepEqual(
      r.AvailabilityZones?.map((a) => [a.ZoneName, a.ZoneId, a.State]),
      [
        ['us-east-1a', 'use1-az1', 'available'],
        ['us-east-1b', 'use1-az2', 'unavailable'],
      ],
    );
    await rejects(
      ec2.send(new DescribeAvailabilityZonesCommand({ ZoneNames: ['us-east-1z'] })),
      'InvalidParameterValue',
      'Invalid availability zone: [us-east-1z]',
    );
  });
});

describe('VPC attributes, instance profiles, forced stop and reboot', () => {
  const I1 = 'i-0000000000000001';
  const state = async (id: string): Promise<string | undefined> =>
    (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations?.[0]?.Instances?.[0]
      ?.State?.Name;

  it('describes and modifies enableDnsSupport / enableDnsHostnames', async () => {
    const get = async (attr: 'enableDnsSupport' | 'enableDnsHostnames'): Promise<boolean | undefined> => {
      const r = await ec2.send(new DescribeVpcAttributeCommand({ VpcId: 'vpc-0a1b2c3d', Attribute: attr }));
      assert.equal(r.VpcId, 'vpc-0a1b2c3d');
      return attr === 'enableDnsSupport' ? r.EnableDnsSupport?.Value : r.EnableDnsHostnames?.Value;
    };
    assert.equal(await get('enableDnsSupport'), true);
    assert.equal(await get('enableDnsHostnames'), false);
    await ec2.send(
      new ModifyVpcAttributeCommand({ VpcId: 'vpc-0a1b2c3d', EnableDnsSupport: { Value: false } }),
    );
    assert.equal(await get('enableDnsSupport'), false);
    await rejects(
      ec2.send(new ModifyVpcAttributeCommand({ VpcId: 'vpc-0a1b2c3d', EnableDnsHostnames: { Value: true } })),
      'InvalidParameterValue',
      /enableDnsSupport/,
    );
    await rejects(
      ec2.send(new DescribeVpcAttributeCommand({ VpcId: 'vpc-x', Attribute: 'enableDnsSupport' })),
      'InvalidVpcID.NotFound',
      "The vpc ID 'vpc-x' does not exist",
    );
  });

  it('shows the instance profile of an instance with a role', async () => {
    const r = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [I1] }));
    const p = r.Reservations?.[0]?.Instances?.[0]?.IamInstanceProfile;
    assert.equal(p?.Arn, 'arn:aws:iam::123456789012:instance-profile/tandem-ha');
    assert.match(p?.Id ?? '', /^AIPA[A-Z0-9]+$/);
  });

  it('a hung shutdown stays stopping until a forced stop, which completes after the delay', async () => {
    const inst = sim.world.ec2.instances[0];
    assert.ok(inst !== undefined);
    inst.hangsOnStop = true;
    sim.world.ec2.transitionDelayMs = 60_000;
    await ec2.send(new StopInstancesCommand({ InstanceIds: [I1] }));
    assert.equal(await state(I1), 'stopping');
    assert.equal(inst.settlesAtMs, undefined, 'a graceful stop of a hung instance never ends');
    const t0 = Date.now();
    const forced = await ec2.send(new StopInstancesCommand({ InstanceIds: [I1], Force: true }));
    assert.equal(forced.StoppingInstances?.[0]?.CurrentState?.Name, 'stopping');
    assert.ok((inst.settlesAtMs ?? 0) >= t0 + 60_000, 'stopped once the stop delay has passed');
    inst.settlesAtMs = 0;
    assert.equal(await state(I1), 'stopped');
    sim.world.ec2.transitionDelayMs = 0;
    inst.hangsOnStop = false;
    await ec2.send(new StartInstancesCommand({ InstanceIds: [I1] }));
    const stop = await ec2.send(new StopInstancesCommand({ InstanceIds: [I1] }));
    assert.equal(stop.StoppingInstances?.[0]?.CurrentState?.Name, 'stopped', 'delay 0: stopped at once');
  });

  it('reboots a running instance (still running for EC2, down for the delay) and refuses a stopped one', async () => {
    sim.world.ec2.transitionDelayMs = 60_000;
    await ec2.send(new RebootInstancesCommand({ InstanceIds: [I1] }));
    assert.equal(await state(I1), 'running');
    assert.ok((sim.world.ec2.instances[0]?.rebootingUntilMs ?? 0) > Date.now());
    await rejects(
      ec2.send(new RebootInstancesCommand({ InstanceIds: [I1], DryRun: true })),
      'DryRunOperation',
    );
    sim.world.ec2.transitionDelayMs = 0;
    await ec2.send(new StopInstancesCommand({ InstanceIds: ['i-0000000000000002'], Force: true }));
    await rejects(
      ec2.send(new RebootInstancesCommand({ InstanceIds: ['i-0000000000000002'] })),
      'IncorrectInstanceState',
      "The instance 'i-0000000000000002' is not in a state from which it can be rebooted.",
    );
    await rejects(
      ec2.send(new RebootInstancesCommand({ InstanceIds: ['i-nope'] })),
      'InvalidInstanceID.NotFound',
    );
  });
});
