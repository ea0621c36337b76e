// Tests of the awsvipw monitor against the AWS simulator (issue 4 section 3): a route rewritten behind
// Tandem's back is error 56 naming the table and the ENI it points at, and the awsvip start repairs it; the
// address gone from the interface is 57; no answer and persistent throttling are NoResponseErrors whose code
// follows `noResponse` (109 warn, 9 recover); AWS errors and missing access are plain failures.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { createSimServer, type SimServer } from '../../sim/server.ts';
import { loadWorld } from '../../sim/world.ts';
import type { AwsAccess } from '../../aws/types.ts';
import { ResourceError } from '../../shared/errors.ts';
import type { CompiledMonitor, CompiledResource } from '../../shared/config/types.ts';
import { NoResponseError } from '../messages.ts';
import { execResource, makeConfig } from '../../../test/daemon-fakes/config.ts';
import { AwsVipDriver } from './driver.ts';
import { AwsVipMonitorDriver } from './monitor.ts';
import { awsMonitor, AwsTestEnv, closedPort, IDS, FakeNet, TEST_WORLD, vipResource } from './test-support.ts';

const START = { event: 'START', failoverFrom: null } as const;

type Env = AwsTestEnv<SimServer>;
let env: Env | null = null;

afterEach(async () => {
  await env?.close();
  env = null;
});

/** The sim, with the VIP activated on node-2 (routes and, when asked, the address on ens5). */
async function setup(params: Record<string, unknown> = {}) {
  const world = loadWorld(TEST_WORLD, 'test-world.yaml');
  const sim = await createSimServer({ world, host: '127.0.0.1', port: 0 });
  const net = new FakeNet({ ens5: [IDS.eni2Ip] });
  const e = new AwsTestEnv(sim);
  env = e;
  const res = vipResource(params);
  const vip = new AwsVipDriver({ net });
  assert.deepEqual(await vip.start(res, START, ctx(e, res)), { result: 'ok' });
  return { e, net, res, vip, drv: new AwsVipMonitorDriver({ net }) };
}

function ctx(e: Env, res: CompiledResource, aws: AwsAccess = e.aws, mon?: CompiledMonitor) {
  return e.ctx(e.config({ resources: [res], monitors: mon ? [mon] : [] }), 'node-2', aws);
}

async function admin(sim: SimServer, path: string, body: unknown): Promise<void> {
  const r = await fetch(`${sim.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(r.status, 200, await r.text());
}

void test('normal while every route targets the local ENI', async () => {
  const { e, res, drv } = await setup();
  const mon = awsMonitor('awsvipw1', 'awsvipw', 'awsvip1');
  assert.deepEqual(await drv.check(mon, ctx(e, res)), { result: 'running' });
});

void test('a route rewritten behind our back is error 56 naming the table and its ENI; start repairs it', async () => {
  const { e, res, vip, drv } = await setup();
  const mon = awsMonitor('awsvipw1', 'awsvipw', 'awsvip1');
  await admin(e.sim, '/_sim/route', {
    routeTableId: 'rtb-00000000000private2',
    destination: '10.1.0.20/32',
    target: IDS.eni1,
  });
  assert.deepEqual(await drv.check(mon, ctx(e, res)), {
    result: 'failed',
    code: 56,
    message:
      'The routing for VIP was changed. The route for 10.1.0.20/32 no longer targets eni-0000000000000002 (awsvip1 on node-2): rtb-00000000000private2 -> eni-0000000000000001.',
  });
  // The recovery action restarts awsvip1: its start repoints the route.
  assert.deepEqual(await vip.start(res, START, ctx(e, res)), { result: 'ok' });
  assert.deepEqual(await drv.check(mon, ctx(e, res)), { result: 'running' });
});

void test('a VIP route deleted from every table is error 56 too', async () => {
  const { e, res, drv } = await setup();
  for (const rt of e.sim.world.ec2.routeTables)
    rt.routes = rt.routes.filter((r) => !r.destination.startsWith('10.1.'));
  const r = await drv.check(awsMonitor('awsvipw1', 'awsvipw', 'awsvip1'), ctx(e, res));
  assert.equal(r.result, 'failed');
  assert.equal(r.code, 56);
  assert.match(r.message ?? '', /No route table of vpc-0a1b2c3d has a route for 10\.1\.0\.20\/32 any more/);
});

void test('assignAddress: the address gone from the interface is error 57', async () => {
  const { e, net, res, drv } = await setup({ assignAddress: true });
  const mon = awsMonitor('awsvipw1', 'awsvipw', 'awsvip1');
  assert.deepEqual(await drv.check(mon, ctx(e, res)), { result: 'running' });
  net.ifaces.set('ens5', [IDS.eni2Ip]);
  assert.deepEqual(await drv.check(mon, ctx(e, res)), {
    result: 'failed',
    code: 57,
    message:
      "The VIP address is no longer on this server's network interface. 10.1.0.20/32 of awsvip1 is not on any network interface of node-2.",
  });
});

async function rejectsWith(p: Promise<unknown>, cls: typeof ResourceError, code: number, re: RegExp) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof cls, String(err));
    assert.equal(err instanceof NoResponseError, cls === NoResponseError, 'NoResponseError or not');
    assert.equal(err.code, code, err.message);
    assert.equal(err.object, 'awsvipw1');
    assert.match(err.message, re);
    return true;
  });
}

void test('no answer is a NoResponseError: 109 with noResponse warn, 9 with recover, within 90% of the timeout', async () => {
  const { e, res, drv } = await setup();
  e.sim.injectFault({ action: 'DescribeRouteTables', kind: 'noAnswer' });
  const warn = awsMonitor('awsvipw1', 'awsvipw', 'awsvip1', { timeoutMs: 1_000 }, 'warn');
  const t0 = performance.now();
  await rejectsWith(
    drv.check(warn, ctx(e, res)),
    NoResponseError,
    109,
    /^Timeout occurred\. EC2 DescribeRouteTables \(vpc-0a1b2c3d\) got no answer: no answer within [89]\d\d ms\./,
  );
  const took = performance.now() - t0;
  assert.ok(took < 1_000, `reported after ${took.toFixed(0)} ms, past the monitor timeout`);
  const recover = awsMonitor('awsvipw1', 'awsvipw', 'awsvip1', { timeoutMs: 1_000 }, 'recover');
  await rejectsWith(drv.check(recover, ctx(e, res)), NoResponseError, 9, /got no answer/);
});

void test('persistent throttling is a NoResponseError, never a plain failure', async () => {
  const { e, res, drv } = await setup();
  e.sim.injectFault({ action: 'DescribeRouteTables', kind: 'throttle' });
  const mon = awsMonitor('awsvipw1', 'awsvipw', 'awsvip1', { timeoutMs: 3_000 }, 'warn');
  await rejectsWith(
    drv.check(mon, ctx(e, res)),
    NoResponseError,
    109,
    /EC2 DescribeRouteTables \(vpc-0a1b2c3d\) (stayed throttled or unavailable after retries: RequestLimitExceeded|got no answer)/,
  );
  // A short burst is absorbed by the access layer's retries.
  e.sim.clearFaults();
  e.sim.injectFault({ action: 'DescribeRouteTables', kind: 'throttle', count: 2 });
  assert.deepEqual(await drv.check(mon, ctx(e, res)), { result: 'running' });
});

void test('AWS errors and missing access are plain failures (50, 51), whatever noResponse says', async () => {
  const { e, drv } = await setup();
  const mon = awsMonitor('awsvipw1', 'awsvipw', 'awsvip1', {}, 'none');
  const badVpc = vipResource({ vpcId: 'vpc-0bad' });
  await rejectsWith(
    drv.check(mon, ctx(e, badVpc)),
    ResourceError,
    50,
    /InvalidVpcID\.NotFound: The vpc ID 'vpc-0bad' does not exist\. Specify a correct VPC ID: vpcId of awsvip1 on node-2/,
  );
  const noKeys = e.access({ keys: null, imdsPort: await closedPort() });
  try {
    await rejectsWith(
      drv.check(mon, ctx(e, vipResource(), noKeys)),
      ResourceError,
      51,
      /^AWS access is not set up\./,
    );
  } finally {
    noKeys.close();
  }
});

void test('a monitor naming no awsvip resource is code 58; validate says why', async () => {
  const { e, res, drv } = await setup();
  const mon = awsMonitor('awsvipw1', 'awsvipw', 'nope');
  await rejectsWith(drv.check(mon, ctx(e, res)), ResourceError, 58, /There is no resource named nope/);
  const exec = execResource('exec1', { start: 'true', cwd: '/' });
  const config = makeConfig({ baseDir: '/tmp', servers: ['node-1', 'node-2'], resources: [res, exec] });
  assert.deepEqual(drv.validate(mon, config), ['resource: there is no resource named nope']);
  assert.deepEqual(drv.validate(awsMonitor('m', 'awsvipw', 'exec1'), config), [
    'resource: exec1 is of type exec; an awsvipw monitor watches an awsvip resource',
  ]);
  assert.deepEqual(drv.validate(awsMonitor('m', 'awsvipw', 'awsvip1'), config), []);
});
