// Tests of the awsvip resource driver against the AWS simulator through the real SDK (issue 4 sections 2 and
// 7): activation repoints every route table in parallel and verifies it, the seed's error codes provoked for
// real (VIP inside the CIDR, wrong VPC / ENI, missing credentials, no answer), throttling absorbed by the
// access layer, stop semantics, and the VIP address on the interface through a twin of the local network.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { createSimServer, type SimServer } from '../../sim/server.ts';
import { loadWorld } from '../../sim/world.ts';
import type { AwsAccess } from '../../aws/types.ts';
import type { CompiledResource } from '../../shared/config/types.ts';
import { NotInstalledError, tableProblems } from '../messages.ts';
import { makeConfig } from '../../../test/daemon-fakes/config.ts';
import { AwsVipDriver } from './driver.ts';
import { AWSVIP_MESSAGES, AWSVIPW_MESSAGES } from './errors.ts';
import { systemNet } from './netif.ts';
import {
  AwsTestEnv,
  closedPort,
  IDS,
  FakeNet,
  TEST_WORLD,
  vipResource,
  withEc2,
  rejectsWith as rejectsWithCode,
} from './test-support.ts';

const START = { event: 'START', failoverFrom: null } as const;

type Env = AwsTestEnv<SimServer>;
let env: Env | null = null;

afterEach(async () => {
  await env?.close();
  env = null;
});

async function setup(): Promise<Env> {
  const world = loadWorld(TEST_WORLD, 'test-world.yaml');
  env = new AwsTestEnv(await createSimServer({ world, host: '127.0.0.1', port: 0 }));
  return env;
}

function ctxFor(e: Env, res: CompiledResource, server = 'node-2', aws: AwsAccess = e.aws) {
  return e.ctx(e.config({ resources: [res] }), server, aws);
}

function vipTargets(sim: SimServer): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const rt of sim.world.ec2.routeTables) {
    out[rt.id] = rt.routes.find((r) => r.destination === `${IDS.vip}/32`)?.target;
  }
  return out;
}

const allAt = (eni: string) => Object.fromEntries(IDS.routeTables.map((t) => [t, eni]));

const rejectsWith = (p: Promise<unknown>, code: number, re: RegExp) =>
  rejectsWithCode(p, code, re, { object: 'awsvip1' });

void test('message tables: unique codes, sentences with remedies, the seed numbers', () => {
  assert.deepEqual(tableProblems(AWSVIP_MESSAGES), []);
  assert.deepEqual(tableProblems(AWSVIPW_MESSAGES), []);
  const codes = (t: readonly { code: number; message: string }[]) =>
    new Map(t.map((m) => [m.code, m.message]));
  assert.equal(codes(AWSVIP_MESSAGES).get(9), 'Timeout occurred.');
  assert.equal(codes(AWSVIP_MESSAGES).get(50), 'The AWS call failed.');
  assert.equal(codes(AWSVIP_MESSAGES).get(51), 'AWS access is not set up.');
  assert.match(codes(AWSVIP_MESSAGES).get(53) ?? '', /VIP address belongs/);
  assert.equal(codes(AWSVIPW_MESSAGES).get(56), 'The routing for VIP was changed.');
});

void test('activation on node-2 points all 3 route tables at its ENI; the probe follows', async () => {
  const e = await setup();
  const drv = new AwsVipDriver({ net: new FakeNet() });
  const res = vipResource();
  assert.deepEqual(vipTargets(e.sim), allAt(IDS.eni1));
  assert.deepEqual(await drv.monitor(res, ctxFor(e, res, 'node-2')), { result: 'stopped' });
  assert.deepEqual(await drv.monitor(res, ctxFor(e, res, 'node-1')), { result: 'running' });

  assert.deepEqual(await drv.start(res, START, ctxFor(e, res, 'node-2')), { result: 'ok' });
  assert.deepEqual(vipTargets(e.sim), allAt(IDS.eni2));
  assert.ok(e.sb.logs.some((l) => /routes for 10\.1\.0\.20\/32 now target eni-0+2 in rtb-/.test(l.msg)));
  assert.deepEqual(await drv.monitor(res, ctxFor(e, res, 'node-2')), { result: 'running' });
  assert.deepEqual(await drv.monitor(res, ctxFor(e, res, 'node-1')), { result: 'stopped' });
  // Starting again where it is active changes nothing and succeeds.
  assert.deepEqual(await drv.start(res, START, ctxFor(e, res, 'node-2')), { result: 'ok' });
});

void test('the route tables are updated in parallel', async () => {
  const e = await setup();
  let inflight = 0;
  let most = 0;
  const spans: Array<[number, number]> = [];
  const counted = withEc2(e.aws, {
    replaceRoute: async (...args) => {
      const t = performance.now();
      inflight += 1;
      most = Math.max(most, inflight);
      try {
        return await e.aws.ec2.replaceRoute(...args);
      } finally {
        inflight -= 1;
        spans.push([t, performance.now()]);
      }
    },
  });
  const res = vipResource();
  const drv = new AwsVipDriver({ net: new FakeNet() });
  await drv.monitor(res, ctxFor(e, res, 'node-2', counted)); // warm up: credentials and client
  e.sim.setLatency(100, 100);
  let t0 = performance.now();
  await e.aws.ec2.vpcCidrs(IDS.vpcId);
  const one = performance.now() - t0;
  t0 = performance.now();
  assert.deepEqual(await drv.start(res, START, ctxFor(e, res, 'node-2', counted)), { result: 'ok' });
  const took = performance.now() - t0;
  assert.equal(most, 3, 'all three ReplaceRoute calls were in flight at once');
  const span = Math.max(...spans.map((s) => s[1])) - Math.min(...spans.map((s) => s[0]));
  assert.ok(span < 2 * one, `3 updates took ${span.toFixed(0)} ms, one call ${one.toFixed(0)} ms`);
  // Reads (2 in parallel), the updates, one read back: ~3 call times, where one after the other is 6.
  assert.ok(took < 5 * one, `start took ${took.toFixed(0)} ms, one call ${one.toFixed(0)} ms`);
  assert.deepEqual(vipTargets(e.sim), allAt(IDS.eni2));
});

void test('read-back verification: a table still pointing elsewhere is code 55 naming it', async () => {
  const e = await setup();
  const lying = withEc2(e.aws, {
    // AWS "accepts" the update of the public table but it does not take effect.
    replaceRoute: (rt, dest, eni, o) =>
      rt === 'rtb-0000000000000public' ? Promise.resolve() : e.aws.ec2.replaceRoute(rt, dest, eni, o),
  });
  const res = vipResource();
  const err = await rejectsWith(
    new AwsVipDriver({ net: new FakeNet() }).start(res, START, ctxFor(e, res, 'node-2', lying)),
    55,
    /rtb-0000000000000public routes it to eni-0+1/,
  );
  assert.doesNotMatch(err.message, /private/);
});

void test('a VIP inside a CIDR block of the VPC is refused with code 53 before anything changes', async () => {
  const e = await setup();
  const res = vipResource({ ip: '10.0.5.20' });
  await rejectsWith(
    new AwsVipDriver({ net: new FakeNet() }).start(res, START, ctxFor(e, res)),
    53,
    /The VIP address 10\.0\.5\.20 belongs to the VPC vpc-0a1b2c3d \(CIDR 10\.0\.0\.0\/16\)/,
  );
  assert.deepEqual(vipTargets(e.sim), allAt(IDS.eni1));
});

void test('a VPC without the VIP route is code 54 naming the VPC and the route to add', async () => {
  const e = await setup();
  const res = vipResource({ ip: '10.1.0.99' });
  await rejectsWith(
    new AwsVipDriver({ net: new FakeNet() }).start(res, START, ctxFor(e, res)),
    54,
    /No route table of vpc-0a1b2c3d has a route for 10\.1\.0\.99\/32: add a route/,
  );
});

void test('a wrong VPC or ENI is code 50 with the AWS error text and the remedy', async () => {
  const e = await setup();
  const drv = new AwsVipDriver({ net: new FakeNet() });
  const badVpc = vipResource({ vpcId: 'vpc-0bad' });
  const err = await rejectsWith(
    drv.start(badVpc, START, ctxFor(e, badVpc)),
    50,
    /^The AWS call failed\. EC2 DescribeVpcs \(vpc-0bad\) answered InvalidVpcID\.NotFound: The vpc ID 'vpc-0bad' does not exist\. Specify a correct VPC ID/,
  );
  assert.match(err.remedy, /vpcId of awsvip1 on node-2 is vpc-0bad/);

  const badEni = vipResource(
    {},
    { perServer: { 'node-1': { eniId: IDS.eni1 }, 'node-2': { eniId: 'eni-0bad' } } },
  );
  await rejectsWith(
    drv.start(badEni, START, ctxFor(e, badEni)),
    50,
    /EC2 ReplaceRoute \(rtb-0000000000000public, rtb-00000000000private1, rtb-00000000000private2\) answered InvalidNetworkInterfaceID\.NotFound: .*eni-0bad.*Specify a correct ENI ID/,
  );
  assert.deepEqual(vipTargets(e.sim), allAt(IDS.eni1));
});

void test('a missing IAM permission is code 50 with UnauthorizedOperation and the permissions to grant', async () => {
  const e = await setup();
  const aws = e.access({ keys: 'denied' });
  try {
    const res = vipResource();
    const err = await rejectsWith(
      new AwsVipDriver({ net: new FakeNet() }).start(res, START, ctxFor(e, res, 'node-2', aws)),
      50,
      /EC2 ReplaceRoute \(rtb-0000000000000public, rtb-00000000000private1, rtb-00000000000private2\) answered UnauthorizedOperation: .*Grant this server's IAM role or user .*ec2:ReplaceRoute on every route table of vpc-0a1b2c3d holding the route for 10\.1\.0\.20\/32/,
    );
    assert.match(err.remedy, /ec2:DescribeRouteTables/);
  } finally {
    aws.close();
  }
});

void test('no credentials anywhere is code 51 "AWS access is not set up"', async () => {
  const e = await setup();
  const aws = e.access({ keys: null, imdsPort: await closedPort() });
  try {
    const res = vipResource();
    await rejectsWith(
      new AwsVipDriver({ net: new FakeNet() }).start(res, START, ctxFor(e, res, 'node-2', aws)),
      51,
      /^AWS access is not set up\. EC2 DescribeVpcs \(vpc-0a1b2c3d\): /,
    );
  } finally {
    aws.close();
  }
});

void test('no answer is code 9 within 90% of the resource timeout', async () => {
  const e = await setup();
  e.sim.injectFault({ action: 'DescribeRouteTables', kind: 'noAnswer' });
  const res = vipResource({}, { timeoutMs: 1_500 });
  const t0 = performance.now();
  await rejectsWith(
    new AwsVipDriver({ net: new FakeNet() }).start(res, START, ctxFor(e, res)),
    9,
    /^Timeout occurred\. EC2 DescribeRouteTables \(vpc-0a1b2c3d\) got no answer: no answer within 1[23]\d\d ms\./,
  );
  // The call got what was left of 90% of the timeout (1350 ms), so the driver answered before the
  // executor's deadline.
  const took = performance.now() - t0;
  assert.ok(took < 1_500, `reported after ${took.toFixed(0)} ms`);
});

void test('a throttling burst is retried by the access layer: the start succeeds', async () => {
  const e = await setup();
  e.sim.injectFault({ action: 'ReplaceRoute', kind: 'throttle', count: 2 });
  e.sim.injectFault({ action: 'DescribeVpcs', kind: 'error5xx', count: 1 });
  const res = vipResource();
  assert.deepEqual(await new AwsVipDriver({ net: new FakeNet() }).start(res, START, ctxFor(e, res)), {
    result: 'ok',
  });
  assert.deepEqual(vipTargets(e.sim), allAt(IDS.eni2));
});

void test('throttling that outlasts the retries is code 50 for a resource', async () => {
  const e = await setup();
  e.sim.injectFault({ action: 'ReplaceRoute', kind: 'throttle' });
  const res = vipResource({}, { timeoutMs: 3_000 });
  await rejectsWith(
    new AwsVipDriver({ net: new FakeNet() }).start(res, START, ctxFor(e, res)),
    50,
    /EC2 ReplaceRoute \(rtb-.*\) stayed throttled or unavailable after retries: RequestLimitExceeded/,
  );
});

void test('stop leaves the routes alone; with assignAddress false it calls nothing', async () => {
  const e = await setup();
  const net = new FakeNet();
  const drv = new AwsVipDriver({ net });
  const res = vipResource();
  await drv.start(res, START, ctxFor(e, res, 'node-2'));
  e.sim.injectFault({ action: '*', kind: 'noAnswer' }); // any AWS call would hang
  assert.deepEqual(await drv.stop(res, START, ctxFor(e, res, 'node-2')), { result: 'ok' });
  assert.deepEqual(await drv.stop(res, START, ctxFor(e, res, 'node-1')), { result: 'ok' });
  assert.deepEqual(net.calls, []);
  assert.deepEqual(vipTargets(e.sim), allAt(IDS.eni2));
});

void test('assignAddress: the VIP goes on the interface holding the ENI private IP, and comes off', async () => {
  const e = await setup();
  const net = new FakeNet({ lo: ['127.0.0.1'], ens5: [IDS.eni2Ip] });
  const drv = new AwsVipDriver({ net });
  const res = vipResource({ assignAddress: true });
  assert.deepEqual(await drv.start(res, START, ctxFor(e, res, 'node-2')), { result: 'ok' });
  assert.deepEqual(net.calls, [['address', 'replace', '10.1.0.20/32', 'dev', 'ens5']]);
  assert.deepEqual(net.ifaces.get('ens5'), [IDS.eni2Ip, IDS.vip]);
  assert.deepEqual(await drv.monitor(res, ctxFor(e, res, 'node-2')), { result: 'running' });
  // Routes here but the address gone: not active here.
  net.ifaces.set('ens5', [IDS.eni2Ip]);
  assert.deepEqual(await drv.monitor(res, ctxFor(e, res, 'node-2')), { result: 'stopped' });
  net.ifaces.set('ens5', [IDS.eni2Ip, IDS.vip]);
  assert.deepEqual(await drv.stop(res, START, ctxFor(e, res, 'node-2')), { result: 'ok' });
  assert.deepEqual(net.ifaces.get('ens5'), [IDS.eni2Ip]);
  // Idempotent: the address is absent, nothing to do.
  assert.deepEqual(await drv.stop(res, START, ctxFor(e, res, 'node-2')), { result: 'ok' });
  assert.equal(net.calls.length, 2);
});

void test('assignAddress with a configured interface that is down: stop removes the address anyway', async () => {
  const e = await setup();
  const net = new FakeNet({ eth1: [] });
  const res = vipResource({ assignAddress: true, interface: 'eth1' });
  assert.deepEqual(await new AwsVipDriver({ net }).stop(res, START, ctxFor(e, res)), { result: 'ok' });
  assert.deepEqual(net.calls, [['address', 'del', '10.1.0.20/32', 'dev', 'eth1']]);
});

void test('assignAddress without a matching interface is code 57, before the routes move', async () => {
  const e = await setup();
  const none = vipResource({ assignAddress: true });
  await rejectsWith(
    new AwsVipDriver({ net: new FakeNet({ lo: ['127.0.0.1'] }) }).start(none, START, ctxFor(e, none)),
    57,
    /No local interface holds the private IP 10\.0\.2\.10 of eni-0+2: set `interface:` or `assignAddress: false`/,
  );
  // The real network: an interface name that does not exist on this host (nothing is run).
  const missing = vipResource({ assignAddress: true, interface: 'tnd-nope0' });
  await rejectsWith(
    new AwsVipDriver().start(missing, START, ctxFor(e, missing)),
    57,
    /There is no network interface tnd-nope0 on this server/,
  );
  assert.deepEqual(vipTargets(e.sim), allAt(IDS.eni1));
});

void test('the ip command: missing is 59 (not installed), failing is 58 with its stderr', async () => {
  const e = await setup();
  const res = vipResource({ assignAddress: true, interface: 'lo' });
  const missing = new AwsVipDriver({ net: systemNet('/nonexistent/tandem-ip') });
  await assert.rejects(missing.start(res, START, ctxFor(e, res)), (err: unknown) => {
    assert.ok(err instanceof NotInstalledError);
    assert.equal(err.code, 59);
    assert.match(err.message, /\/nonexistent\/tandem-ip address replace 10\.1\.0\.20\/32 dev lo/);
    return true;
  });
  const failing = e.sb.script('ip', 'echo "RTNETLINK answers: Operation not permitted" >&2; exit 2');
  await rejectsWith(
    new AwsVipDriver({ net: systemNet(failing) }).start(res, START, ctxFor(e, res)),
    58,
    /address replace 10\.1\.0\.20\/32 dev lo: exited with status 2: RTNETLINK answers: Operation not permitted/,
  );
});

void test('invalid params are code 60 naming the key', async () => {
  const e = await setup();
  const res = vipResource({ ip: '10.1.0.300' });
  await rejectsWith(new AwsVipDriver().start(res, START, ctxFor(e, res)), 60, /ip: expected an IPv4 address/);
});

void test('validate: params per server, one ENI per server', () => {
  const drv = new AwsVipDriver({ net: new FakeNet() });
  const config = (res: CompiledResource) =>
    makeConfig({ baseDir: '/tmp', servers: ['node-1', 'node-2'], resources: [res] });
  const good = vipResource();
  assert.deepEqual(drv.validate(good, config(good)), []);
  const noEni = vipResource({}, { perServer: { 'node-1': { eniId: IDS.eni1 } } });
  assert.deepEqual(drv.validate(noEni, config(noEni)), [
    'servers.node-2: eniId: Invalid input: expected string, received null',
  ]);
  const same = vipResource(
    {},
    { perServer: { 'node-1': { eniId: IDS.eni1 }, 'node-2': { eniId: IDS.eni1 } } },
  );
  assert.match(drv.validate(same, config(same)).join('\n'), /eniId: node-1, node-2 all use eni-0+1/);
  const badIp = vipResource({ ip: 'x' });
  assert.deepEqual(drv.validate(badIp, config(badIp)), ['ip: expected an IPv4 address such as 10.1.0.20']);
});
