/**
 * The EC2 operations of the access layer through the real SDK: against the simulator (happy paths, AWS's
 * error codes for wrong ids, throttling, 5xx, no answer) and, for what the simulator's world cannot show
 * on demand (a denied DryRun, pagination, a looser filter), against a canned EC2 endpoint.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { freeTcpPort } from '../adapters/test-support.ts';
import type { CompiledAws } from '../shared/config/types.ts';
import { createSimServer } from '../sim/server.ts';
import type { SimServer } from '../sim/server.ts';
import { loadWorld } from '../sim/world.ts';
import { createAwsAccess } from './access.ts';
import type { AwsAccessDeps } from './access.ts';
import { queryToInput } from './ec2-ops.ts';
import { AwsCallError } from './errors.ts';
import { endpointEnv, startFakeEc2, TEST_WORLD_YAML } from './test-fakes.ts';
import type { FakeEc2 } from './test-fakes.ts';
import type { AwsAccess } from './types.ts';

const VIP = '10.1.0.20/32';
const VPC = 'vpc-0a1b2c3d';
const ENI1 = 'eni-0000000000000001';
const ENI2 = 'eni-0000000000000002';
const EIP = 'eipalloc-0000000000000001';

let sim: SimServer;
let closedImds: string;
const opened: AwsAccess[] = [];

function freshWorld() {
  const world = loadWorld(TEST_WORLD_YAML, 'test-world.yaml');
  world.ec2.transitionDelayMs = 0;
  return world;
}

function settings(over: Partial<CompiledAws> = {}): CompiledAws {
  return { region: null, profile: null, proxy: null, callTimeoutMs: 5000, environment: {}, ...over };
}

/** An AwsAccess against `url` (the simulator by default); closed after the file. */
function access(deps: Partial<AwsAccessDeps> = {}, url = sim.url): AwsAccess {
  const a = createAwsAccess(settings(), endpointEnv(url, closedImds), deps);
  opened.push(a);
  return a;
}

/** Deps whose backoff sleeps are recorded and skipped. */
function recordedBackoff(): Partial<AwsAccessDeps> & { waits: number[] } {
  const waits: number[] = [];
  return {
    waits,
    random: () => 0.5,
    sleep: (ms) => {
      waits.push(ms);
      return Promise.resolve();
    },
  };
}

async function failure(p: Promise<unknown>): Promise<AwsCallError> {
  const err = await p.then(
    (v) => assert.fail(`expected a failure, got ${JSON.stringify(v)}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof AwsCallError, String(err));
  return err;
}

async function answered(p: Promise<unknown>, code: string, message?: RegExp): Promise<AwsCallError> {
  const err = await failure(p);
  assert.equal(err.kind, 'answered', err.message);
  assert.equal(err.service, 'ec2');
  assert.equal(err.awsCode, code);
  if (message) assert.match(err.awsMessage, message);
  return err;
}

before(async () => {
  closedImds = `http://127.0.0.1:${await freeTcpPort('127.0.0.1')}`;
  sim = await createSimServer({ world: freshWorld(), host: '127.0.0.1', port: 0 });
});
after(async () => {
  for (const a of opened) a.close();
  await sim.close();
});
beforeEach(() => {
  const w = freshWorld();
  sim.world.ec2 = w.ec2;
  sim.world.route53 = w.route53;
  sim.clearFaults();
});

describe('EC2 ops against the simulator', () => {
  it('reads the CIDR blocks of a VPC, and names a wrong VPC id with AWS code', async () => {
    const a = access();
    assert.deepEqual(await a.ec2.vpcCidrs(VPC), ['10.0.0.0/16', '10.2.0.0/16']);
    await answered(a.ec2.vpcCidrs('vpc-0bad0bad'), 'InvalidVpcID.NotFound', /vpc-0bad0bad/);
  });

  it('finds the VIP route in every table of the VPC (not of another VPC) and repoints each', async () => {
    const a = access();
    assert.deepEqual(await a.ec2.routesFor(VPC, VIP), [
      { routeTableId: 'rtb-0000000000000001', target: ENI1 },
      { routeTableId: 'rtb-0000000000000002', target: ENI1 },
    ]);
    await Promise.all(
      ['rtb-0000000000000001', 'rtb-0000000000000002'].map((t) => a.ec2.replaceRoute(t, VIP, ENI2)),
    );
    assert.deepEqual(
      (await a.ec2.routesFor(VPC, VIP)).map((r) => r.target),
      [ENI2, ENI2],
    );
    assert.deepEqual(await a.ec2.routesFor('vpc-0e0e0e0e', VIP), [
      { routeTableId: 'rtb-0000000000000009', target: 'igw-0e0e0e0e' },
    ]);
    assert.deepEqual(await a.ec2.routesFor(VPC, '10.9.9.9/32'), []);
  });

  it('answers InvalidVpcID.NotFound for the routes of a VPC that does not exist', async () => {
    await answered(access().ec2.routesFor('vpc-0bad0bad', VIP), 'InvalidVpcID.NotFound');
  });

  it('names a wrong ENI, route table or missing route in ReplaceRoute', async () => {
    const a = access();
    await answered(
      a.ec2.replaceRoute('rtb-0000000000000001', VIP, 'eni-0bad0bad'),
      'InvalidNetworkInterfaceID.NotFound',
    );
    await answered(a.ec2.replaceRoute('rtb-0bad0bad', VIP, ENI2), 'InvalidRouteTableID.NotFound');
    await answered(a.ec2.replaceRoute('rtb-0000000000000003', VIP, ENI2), 'InvalidRoute.NotFound');
  });

  it('describes a network interface, and names a wrong one', async () => {
    const a = access();
    assert.deepEqual(await a.ec2.networkInterface(ENI2), {
      eniId: ENI2,
      vpcId: VPC,
      subnetId: 'subnet-0a000002',
      availabilityZone: 'us-east-1b',
      instanceId: 'i-0000000000000002',
      privateIps: ['10.0.2.10'],
      sourceDestCheck: true,
    });
    await answered(a.ec2.networkInterface('eni-0bad0bad'), 'InvalidNetworkInterfaceID.NotFound');
  });

  it('moves the Elastic IP with re-association, disassociates it, and names a wrong allocation', async () => {
    const a = access();
    const before = await a.ec2.address(EIP);
    assert.equal(before.publicIp, '203.0.113.10');
    assert.equal(before.eniId, ENI1);
    assert.notEqual(before.associationId, null);
    const assoc = await a.ec2.associateAddress(EIP, ENI2);
    const moved = await a.ec2.address(EIP);
    assert.deepEqual(moved, {
      allocationId: EIP,
      publicIp: '203.0.113.10',
      eniId: ENI2,
      associationId: assoc,
    });
    await a.ec2.disassociateAddress(assoc);
    assert.deepEqual(await a.ec2.address(EIP), { ...moved, eniId: null, associationId: null });
    await answered(a.ec2.address('eipalloc-0bad0bad'), 'InvalidAllocationID.NotFound');
    await answered(a.ec2.associateAddress('eipalloc-0bad0bad', ENI2), 'InvalidAllocationID.NotFound');
  });

  it('reads zone states, and answers null for a zone that does not exist', async () => {
    const a = access();
    assert.deepEqual(await a.ec2.availabilityZone('us-east-1a'), { name: 'us-east-1a', state: 'available' });
    assert.deepEqual(await a.ec2.availabilityZone('us-east-1b'), { name: 'us-east-1b', state: 'impaired' });
    assert.equal(await a.ec2.availabilityZone('us-east-1z'), null);
  });

  it('reads and force-stops an instance, and names a wrong instance id', async () => {
    const a = access();
    assert.equal(await a.ec2.instanceState('i-0000000000000002'), 'running');
    await a.ec2.stopInstance('i-0000000000000002', true);
    assert.match(await a.ec2.instanceState('i-0000000000000002'), /^(stopping|stopped)$/);
    await answered(a.ec2.instanceState('i-0bad0bad'), 'InvalidInstanceID.NotFound');
    await answered(a.ec2.stopInstance('i-0bad0bad', false), 'InvalidInstanceID.NotFound');
  });

  it('asks with DryRun: allowed, and nothing changes', async () => {
    const a = access();
    assert.equal(
      await a.ec2.dryRun('StopInstances', { 'InstanceId.1': 'i-0000000000000002', Force: 'true' }),
      'allowed',
    );
    assert.equal(
      await a.ec2.dryRun('ReplaceRoute', {
        RouteTableId: 'rtb-0000000000000001',
        DestinationCidrBlock: VIP,
        NetworkInterfaceId: ENI2,
      }),
      'allowed',
    );
    assert.equal(
      await a.ec2.dryRun('DescribeRouteTables', { 'Filter.1.Name': 'vpc-id', 'Filter.1.Value.1': VPC }),
      'allowed',
    );
    assert.equal(await a.ec2.instanceState('i-0000000000000002'), 'running');
    assert.equal((await a.ec2.routesFor(VPC, VIP))[0]?.target, ENI1);
    // A DryRun of a call that would fail says why, as the call would.
    await answered(
      a.ec2.dryRun('AssociateAddress', { AllocationId: 'eipalloc-0bad0bad', NetworkInterfaceId: ENI2 }),
      'InvalidAllocationID.NotFound',
    );
  });
});

describe('retries and error kinds against the simulator', () => {
  it('retries a throttling burst with jittered backoff and succeeds', async () => {
    const deps = recordedBackoff();
    sim.injectFault({ action: 'DescribeVpcs', kind: 'throttle', count: 2 });
    assert.deepEqual(await access(deps).ec2.vpcCidrs(VPC), ['10.0.0.0/16', '10.2.0.0/16']);
    assert.deepEqual(deps.waits, [50, 100]);
  });

  it('reports throttling that never stops as `unavailable` after 5 attempts, with the AWS code', async () => {
    const deps = recordedBackoff();
    sim.injectFault({ action: 'ReplaceRoute', kind: 'throttle' });
    const err = await failure(access(deps).ec2.replaceRoute('rtb-0000000000000001', VIP, ENI2));
    assert.equal(err.kind, 'unavailable');
    assert.equal(err.awsCode, 'RequestLimitExceeded');
    assert.equal(err.operation, 'ReplaceRoute');
    assert.deepEqual(deps.waits, [50, 100, 200, 400]);
  });

  it('retries 5xx: a short burst recovers, a lasting one is `unavailable` (503)', async () => {
    const deps = recordedBackoff();
    sim.injectFault({ action: 'DescribeAddresses', kind: 'error5xx', count: 1 });
    assert.equal((await access(deps).ec2.address(EIP)).eniId, ENI1);
    sim.injectFault({ action: 'DescribeAddresses', kind: 'error5xx' });
    const err = await failure(access(recordedBackoff()).ec2.address(EIP));
    assert.equal(err.kind, 'unavailable');
    assert.equal(err.httpStatus, 503);
  });

  it('reports no answer as `no-answer` within the timeout given', async () => {
    sim.injectFault({ action: 'DescribeAvailabilityZones', kind: 'noAnswer', count: 1 });
    const t0 = performance.now();
    const err = await failure(access().ec2.availabilityZone('us-east-1a', { timeoutMs: 200 }));
    const took = performance.now() - t0;
    assert.equal(err.kind, 'no-answer');
    assert.equal(err.message, 'ec2 DescribeAvailabilityZones: no answer within 200 ms');
    assert.ok(took >= 190 && took < 4000, `took ${took} ms`);
  });

  it("reports the caller's cancel as `no-answer`", async () => {
    sim.injectFault({ action: 'DescribeInstances', kind: 'noAnswer', count: 1 });
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(), 50);
    const err = await failure(access().ec2.instanceState('i-0000000000000001', { signal: ctl.signal }));
    assert.equal(err.kind, 'no-answer');
    assert.match(err.awsMessage, /^cancelled after \d+ ms/);
  });

  it('reports a refused connection as `no-answer` at once', async () => {
    const port = await freeTcpPort('127.0.0.1');
    const err = await failure(access({}, `http://127.0.0.1:${port}`).ec2.vpcCidrs(VPC));
    assert.equal(err.kind, 'no-answer');
    assert.match(err.awsMessage, /ECONNREFUSED/);
  });
});

describe('EC2 ops against a canned endpoint', () => {
  let fake: FakeEc2;
  before(async () => {
    fake = await startFakeEc2();
  });
  after(() => fake.close());
  beforeEach(() => {
    fake.requests.length = 0;
    fake.answers.clear();
  });

  it('reads enableDnsSupport and reboots an instance', async () => {
    fake.answers.set('DescribeVpcAttribute', {
      status: 200,
      xml: `<vpcId>${VPC}</vpcId><enableDnsSupport><value>false</value></enableDnsSupport>`,
    });
    fake.answers.set('RebootInstances', { status: 200, xml: '<return>true</return>' });
    const a = access({}, fake.url);
    assert.equal(await a.ec2.vpcDnsSupport(VPC), false);
    await a.ec2.rebootInstance('i-0000000000000001');
    assert.equal(fake.requests[0]?.params.get('Attribute'), 'enableDnsSupport');
    assert.equal(fake.requests[1]?.params.get('InstanceId.1'), 'i-0000000000000001');
  });

  it('maps DryRun answers: DryRunOperation = allowed, UnauthorizedOperation = denied, others throw', async () => {
    const a = access({}, fake.url);
    fake.answers.set('StopInstances', {
      status: 412,
      code: 'DryRunOperation',
      message: 'Request would have succeeded.',
    });
    assert.equal(await a.ec2.dryRun('StopInstances', { InstanceId: 'i-1', Force: 'true' }), 'allowed');
    const sent = fake.requests[0]?.params;
    assert.equal(sent?.get('DryRun'), 'true');
    assert.equal(sent?.get('InstanceId.1'), 'i-1');
    assert.equal(sent?.get('Force'), 'true');
    fake.answers.set('ReplaceRoute', {
      status: 403,
      code: 'UnauthorizedOperation',
      message: 'You are not authorized to perform this operation.',
    });
    assert.equal(
      await a.ec2.dryRun('ReplaceRoute', {
        RouteTableId: 'rtb-1',
        DestinationCidrBlock: VIP,
        NetworkInterfaceId: ENI2,
      }),
      'denied',
    );
    fake.answers.set('RebootInstances', {
      status: 400,
      code: 'InvalidInstanceID.Malformed',
      message: 'Invalid id: "x"',
    });
    await answered(a.ec2.dryRun('RebootInstances', { 'InstanceId.1': 'x' }), 'InvalidInstanceID.Malformed');
    // An unauthorized real call is an ordinary `answered` error.
    fake.answers.set('DescribeAddresses', { status: 403, code: 'UnauthorizedOperation', message: 'no' });
    await answered(a.ec2.address(EIP), 'UnauthorizedOperation');
  });

  it('follows DescribeRouteTables pages and keeps only the VPC tables with the exact route', async () => {
    const route = (dest: string, eni: string) =>
      `<item><destinationCidrBlock>${dest}</destinationCidrBlock><networkInterfaceId>${eni}</networkInterfaceId><state>active</state></item>`;
    const table = (id: string, vpc: string, routes: string) =>
      `<item><routeTableId>${id}</routeTableId><vpcId>${vpc}</vpcId><routeSet>${routes}</routeSet></item>`;
    let page = 0;
    // One answer per page: the endpoint answers in order.
    const pages = [
      `<routeTableSet>${table('rtb-1', VPC, route(VIP, ENI1))}${table('rtb-x', 'vpc-other', route(VIP, ENI1))}</routeTableSet><nextToken>p2</nextToken>`,
      `<routeTableSet>${table('rtb-2', VPC, route('10.1.0.0/24', ENI1) + route(VIP, ENI2))}${table('rtb-3', VPC, route('10.1.0.21/32', ENI1))}</routeTableSet>`,
    ];
    fake.answers.set('DescribeRouteTables', {
      status: 200,
      get xml() {
        return pages[page++] ?? '<routeTableSet/>';
      },
    });
    const a = access({}, fake.url);
    assert.deepEqual(await a.ec2.routesFor(VPC, VIP), [
      { routeTableId: 'rtb-1', target: ENI1 },
      { routeTableId: 'rtb-2', target: ENI2 },
    ]);
    const [first, second] = fake.requests;
    assert.equal(first?.params.get('Filter.1.Name'), 'vpc-id');
    assert.equal(first?.params.get('Filter.1.Value.1'), VPC);
    assert.equal(first?.params.get('Filter.2.Name'), 'route.destination-cidr-block');
    assert.equal(first?.params.get('Filter.2.Value.1'), VIP);
    assert.equal(second?.params.get('NextToken'), 'p2');
  });
});

describe('queryToInput', () => {
  it('turns EC2 Query parameters into SDK input', () => {
    assert.deepEqual(
      queryToInput('DescribeRouteTables', {
        'RouteTableId.2': 'rtb-b',
        'RouteTableId.1': 'rtb-a',
        'Filter.1.Name': 'vpc-id',
        'Filter.1.Value.1': 'vpc-1',
        'Filter.2.Name': 'route.destination-cidr-block',
        'Filter.2.Value.2': 'b',
        'Filter.2.Value.1': 'a',
      }),
      {
        RouteTableIds: ['rtb-a', 'rtb-b'],
        Filters: [
          { Name: 'vpc-id', Values: ['vpc-1'] },
          { Name: 'route.destination-cidr-block', Values: ['a', 'b'] },
        ],
      },
    );
    assert.deepEqual(
      queryToInput('AssociateAddress', {
        AllocationId: 'e',
        NetworkInterfaceId: 'n',
        AllowReassociation: 'true',
      }),
      {
        AllocationId: 'e',
        NetworkInterfaceId: 'n',
        AllowReassociation: true,
      },
    );
    assert.deepEqual(queryToInput('DescribeAvailabilityZones', { ZoneName: 'us-east-1a' }), {
      ZoneNames: ['us-east-1a'],
    });
  });
});
