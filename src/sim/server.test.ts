/**
 * The simulator's HTTP front end: fault injection (throttle, 5xx, no answer, latency; by count and by
 * time) as the real SDK sees it, the SigV4-shaped Authorization check, and the `/_sim/` admin API.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, afterEach, before, describe, it } from 'node:test';
import {
  DescribeAddressesCommand,
  DescribeRouteTablesCommand,
  EC2Client,
  ReplaceRouteCommand,
} from '@aws-sdk/client-ec2';
import { ListResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53';
import { createSimServer } from './server.ts';
import type { SimServer } from './server.ts';
import { DEMO_WORLD_FILE } from './main.ts';
import { loadWorld } from './world.ts';

const creds = { accessKeyId: 'AKIASIMALLOWED000001', secretAccessKey: 'allowed-secret' };
let sim: SimServer;
let ec2: EC2Client;
let clock = 1_000_000;

before(async () => {
  const world = loadWorld(readFileSync(DEMO_WORLD_FILE, 'utf8'), DEMO_WORLD_FILE);
  sim = await createSimServer({ world, host: '127.0.0.1', port: 0, now: () => clock });
  ec2 = new EC2Client({ endpoint: sim.url, region: 'us-east-1', credentials: creds, maxAttempts: 1 });
});
after(async () => {
  ec2.destroy();
  await sim.close();
});
afterEach(() => {
  sim.clearFaults();
  sim.setLatency(0, 0);
});

async function rejectsWith(p: Promise<unknown>, name: string, status?: number): Promise<void> {
  try {
    await p;
  } catch (err) {
    const e = err as Error & { $metadata?: { httpStatusCode?: number } };
    assert.equal(e.name, name, e.message);
    if (status !== undefined) assert.equal(e.$metadata?.httpStatusCode, status);
    return;
  }
  assert.fail(`expected ${name}`);
}

const describeTables = (): Promise<unknown> => ec2.send(new DescribeRouteTablesCommand({}));

describe('fault injection', () => {
  it('throttles the named action for a count, then answers normally', async () => {
    sim.injectFault({ action: 'DescribeRouteTables', kind: 'throttle', count: 2 });
    await ec2.send(new DescribeAddressesCommand({})); // another action is not hit
    await rejectsWith(describeTables(), 'RequestLimitExceeded', 400);
    await rejectsWith(describeTables(), 'RequestLimitExceeded', 400);
    await describeTables();
  });

  it('answers 503 Unavailable until the given time', async () => {
    sim.injectFault({ action: '*', kind: 'error5xx', forMs: 5000 });
    await rejectsWith(describeTables(), 'Unavailable', 503);
    clock += 5000;
    await describeTables();
  });

  it('throttles Route 53 as Throttling', async () => {
    const r53 = new Route53Client({
      endpoint: sim.url,
      region: 'us-east-1',
      credentials: creds,
      maxAttempts: 1,
    });
    try {
      sim.injectFault({ action: 'ListResourceRecordSets', kind: 'throttle', count: 1 });
      await rejectsWith(
        r53.send(new ListResourceRecordSetsCommand({ HostedZoneId: 'Z0123456789ABC' })),
        'Throttling',
        400,
      );
    } finally {
      r53.destroy();
    }
  });

  it('never answers (noAnswer): the SDK times out', async () => {
    const slow = new EC2Client({
      endpoint: sim.url,
      region: 'us-east-1',
      credentials: creds,
      maxAttempts: 1,
      requestHandler: { requestTimeout: 200, throwOnRequestTimeout: true },
    });
    try {
      sim.injectFault({ action: 'ReplaceRoute', kind: 'noAnswer', count: 1 });
      await assert.rejects(
        slow.send(
          new ReplaceRouteCommand({
            RouteTableId: 'rtb-0000000000000public',
            DestinationCidrBlock: '10.1.0.20/32',
            NetworkInterfaceId: 'eni-0000000000000002',
          }),
        ),
        (e: Error) => e.name === 'TimeoutError' || /timeout/i.test(e.message),
      );
    } finally {
      slow.destroy();
    }
  });

  it('adds latency per fault and per call', async () => {
    sim.injectFault({ action: 'DescribeRouteTables', kind: 'latency', latencyMs: 120, count: 1 });
    let t0 = performance.now();
    await describeTables();
    assert.ok(performance.now() - t0 >= 115, 'fault latency applied');
    sim.setLatency(80, 80);
    t0 = performance.now();
    await describeTables();
    assert.ok(performance.now() - t0 >= 75, 'API latency applied');
  });
});

describe('authorization and routing', () => {
  it('requires a SigV4-shaped Authorization header', async () => {
    const form = {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=DescribeVpcs&Version=2016-11-15',
    };
    const missing = await fetch(sim.url, form);
    assert.equal(missing.status, 403);
    assert.match(await missing.text(), /<Code>MissingAuthenticationToken<\/Code>/);
    const bad = await fetch(sim.url, { ...form, headers: { ...form.headers, authorization: 'Basic abc' } });
    assert.match(await bad.text(), /<Code>IncompleteSignature<\/Code>/);
  });

  it('answers InvalidAction for an unknown action', async () => {
    const auth =
      'AWS4-HMAC-SHA256 Credential=AKIASIMALLOWED000001/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host;x-amz-date, Signature=' +
      '0'.repeat(64);
    const res = await fetch(sim.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: auth },
      body: 'Action=RunInstances&Version=2016-11-15',
    });
    assert.equal(res.status, 400);
    assert.match(await res.text(), /<Response><Errors><Error><Code>InvalidAction<\/Code>.*<RequestID>/);
  });
});

describe('admin API', () => {
  const post = (path: string, body: unknown): Promise<Response> =>
    fetch(`${sim.url}${path}`, { method: 'POST', body: JSON.stringify(body) });

  it('changes AZ state, rewrites a route, disassociates the EIP, and shows it all in /_sim/world', async () => {
    assert.equal((await post('/_sim/az', { name: 'us-east-1a', state: 'impaired' })).status, 200);
    assert.equal(
      (
        await post('/_sim/route', {
          routeTableId: 'rtb-00000000000private1',
          destination: '10.1.0.20/32',
          target: 'eni-0000000000000002',
        })
      ).status,
      200,
    );
    assert.equal(
      (await post('/_sim/eip/disassociate', { allocationId: 'eipalloc-0000000000000001' })).status,
      200,
    );
    assert.equal(
      (await post('/_sim/record/delete', { zoneId: 'Z0123456789ABC', name: 'srv.hz1.local.', type: 'A' }))
        .status,
      200,
    );
    const w = (await (await fetch(`${sim.url}/_sim/world`)).json()) as {
      ec2: {
        availabilityZones: { name: string; state: string }[];
        routeTables: { id: string; routes: { destination: string; target: string }[] }[];
        addresses: { networkInterfaceId?: string }[];
      };
      route53: { hostedZones: { records: unknown[] }[] };
    };
    assert.equal(w.ec2.availabilityZones[0]?.state, 'impaired');
    const rt = w.ec2.routeTables.find((r) => r.id === 'rtb-00000000000private1');
    assert.equal(rt?.routes.find((r) => r.destination === '10.1.0.20/32')?.target, 'eni-0000000000000002');
    assert.equal(w.ec2.addresses[0]?.networkInterfaceId, undefined);
    assert.deepEqual(w.route53.hostedZones[0]?.records, []);
  });

  it('injects faults and latency over HTTP, and refuses bad bodies with a reason', async () => {
    assert.equal(
      (await post('/_sim/fault', { action: 'DescribeRouteTables', kind: 'throttle', count: 1 })).status,
      200,
    );
    await rejectsWith(describeTables(), 'RequestLimitExceeded');
    assert.equal((await post('/_sim/latency', { min: 0, max: 0 })).status, 200);
    const bad = await post('/_sim/az', { name: 'us-east-1a', state: 'melted' });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: { message: string } }).error.message, /state/);
    const unknown = await post('/_sim/az', { name: 'us-east-1z', state: 'available' });
    assert.equal(unknown.status, 404);
  });

  it('POST /_sim/instance stops and restarts an instance at once, and names an unknown one', async () => {
    const stop = await post('/_sim/instance', { instanceId: 'i-0000000000000002', state: 'stopped' });
    assert.equal(stop.status, 200);
    assert.equal(sim.world.ec2.instances[1]?.state, 'stopped');
    assert.equal(
      (await post('/_sim/instance', { instanceId: 'i-0000000000000002', state: 'running' })).status,
      200,
    );
    assert.equal(sim.world.ec2.instances[1]?.state, 'running');
    assert.equal(
      (await post('/_sim/instance', { instanceId: 'i-0000000000000002', hangsOnStop: true })).status,
      200,
    );
    assert.equal(sim.world.ec2.instances[1]?.hangsOnStop, true);
    await post('/_sim/instance', { instanceId: 'i-0000000000000002', hangsOnStop: false });
    const unknown = await post('/_sim/instance', { instanceId: 'i-nope', state: 'running' });
    assert.equal(unknown.status, 404);
    assert.match(
      ((await unknown.json()) as { error: { message: string } }).error.message,
      /i-nope is not in the world/,
    );
    assert.equal(
      (await post('/_sim/instance', { instanceId: 'i-0000000000000002', state: 'melted' })).status,
      400,
    );
  });

  it('GET /_sim/world shows instance states with their IMDS, IAM principals without secrets, and the DNS address', async () => {
    const res = await fetch(`${sim.url}/_sim/world`);
    const text = await res.text();
    assert.ok(!text.includes('allowed-secret'), 'no secret in the view');
    const w = JSON.parse(text) as {
      instances: Array<{ id: string; state: string; iamRole: string | null; imds: string | null }>;
      imds: Record<string, string>;
      iam: {
        enforced: boolean;
        users: Array<Record<string, unknown>>;
        roles: Array<{ name: string; instances: string[] }>;
      };
      dns: { host: string; port: number };
    };
    assert.deepEqual(
      w.instances.map((i) => [i.id, i.state, i.iamRole, i.imds]),
      [
        ['i-0000000000000001', 'running', 'tandem-ha', sim.imds['i-0000000000000001']],
        ['i-0000000000000002', 'running', 'tandem-ha', sim.imds['i-0000000000000002']],
      ],
    );
    assert.deepEqual(w.imds, sim.imds);
    assert.equal(w.iam.enforced, true);
    assert.deepEqual(w.iam.users, [
      { name: 'tandem-allowed', accessKeyId: 'AKIASIMALLOWED000001', deny: [] },
    ]);
    assert.deepEqual(w.iam.roles[0], {
      name: 'tandem-ha',
      deny: [],
      instances: ['i-0000000000000001', 'i-0000000000000002'],
    });
    assert.deepEqual(w.dns, sim.dns);
  });

  it('POST /_sim/route53 sets how long changes stay PENDING', async () => {
    const r = await post('/_sim/route53', { insyncDelayMs: 2500 });
    assert.equal(r.status, 200);
    assert.equal(sim.world.route53.insyncDelayMs, 2500);
    assert.equal((await post('/_sim/route53', { insyncDelayMs: -1 })).status, 400);
  });
});
