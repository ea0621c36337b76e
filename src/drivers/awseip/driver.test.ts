// Tests of the awseip resource driver and the awseipw monitor against the AWS simulator through the real SDK
// (issue 4 sections 2, 3 and 7): association with re-association and read-back, stop that never takes the
// Elastic IP from another server, the seed's codes provoked for real (allocation / ENI not found, missing
// credentials, missing permission, no answer = 53), and the monitor's 52 when the EIP is disassociated or
// moved behind Tandem's back.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { createSimServer, type SimServer } from '../../sim/server.ts';
import { loadWorld } from '../../sim/world.ts';
import type { AwsAccess } from '../../aws/types.ts';
import type { CompiledResource } from '../../shared/config/types.ts';
import { tableProblems } from '../messages.ts';
import { execResource, makeConfig } from '../../../test/daemon-fakes/config.ts';
import {
  awsMonitor,
  AwsTestEnv,
  closedPort,
  IDS,
  eipResource,
  TEST_WORLD,
  withEc2,
  rejectsWith as rejectsWithCode,
} from '../aws-common/test-support.ts';
import { AwsEipDriver } from './driver.ts';
import { AWSEIP_MESSAGES, AWSEIPW_MESSAGES } from './errors.ts';
import { AwsEipMonitorDriver } from './monitor.ts';

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

/** Where the EIP is in the simulator's world. */
function eipAt(sim: SimServer): string | undefined {
  return sim.world.ec2.addresses.find((a) => a.allocationId === IDS.allocationId)?.networkInterfaceId;
}

const rejectsWith = (
  p: Promise<unknown>,
  code: number,
  re: RegExp,
  opts: { object?: string; noResponse?: boolean } = {},
) => rejectsWithCode(p, code, re, { ...opts, object: opts.object ?? 'awseip1' });

void test('message tables: unique codes, sentences with remedies, the seed numbers', () => {
  assert.deepEqual(tableProblems(AWSEIP_MESSAGES), []);
  assert.deepEqual(tableProblems(AWSEIPW_MESSAGES), []);
  const codes = (t: readonly { code: number; message: string }[]) =>
    new Map(t.map((m) => [m.code, m.message]));
  assert.equal(codes(AWSEIP_MESSAGES).get(50), 'The AWS call failed.');
  assert.equal(codes(AWSEIP_MESSAGES).get(51), 'AWS access is not set up.');
  assert.equal(codes(AWSEIP_MESSAGES).get(53), 'Timeout occurred.');
  assert.match(codes(AWSEIPW_MESSAGES).get(52) ?? '', /^The EIP address is not associated/);
});

void test("start on node-2 takes the EIP over from node-1's ENI; the probe follows", async () => {
  const e = await setup();
  const drv = new AwsEipDriver();
  const res = eipResource();
  assert.equal(eipAt(e.sim), IDS.eni1);
  assert.deepEqual(await drv.monitor(res, ctxFor(e, res, 'node-2')), { result: 'stopped' });
  assert.deepEqual(await drv.monitor(res, ctxFor(e, res, 'node-1')), { result: 'running' });
  assert.deepEqual(await drv.start(res, START, ctxFor(e, res, 'node-2')), { result: 'ok' });
  assert.equal(eipAt(e.sim), IDS.eni2);
  assert.deepEqual(await drv.monitor(res, ctxFor(e, res, 'node-2')), { result: 'running' });
  assert.deepEqual(await drv.monitor(res, ctxFor(e, res, 'node-1')), { result: 'stopped' });
  assert.ok(e.sb.logs.some((l) => /203\.0\.113\.10\) is associated with eni-0+2/.test(l.msg)));
});

void test("stop never takes the EIP from another server; it disassociates only the local ENI's", async () => {
  const e = await setup();
  const drv = new AwsEipDriver();
  const res = eipResource();
  await drv.start(res, START, ctxFor(e, res, 'node-2'));
  // node-1 stops late (after node-2 took over): the EIP stays on node-2.
  assert.deepEqual(await drv.stop(res, START, ctxFor(e, res, 'node-1')), { result: 'ok' });
  assert.equal(eipAt(e.sim), IDS.eni2);
  assert.deepEqual(await drv.stop(res, START, ctxFor(e, res, 'node-2')), { result: 'ok' });
  assert.equal(eipAt(e.sim), undefined);
  // Idempotent.
  assert.deepEqual(await drv.stop(res, START, ctxFor(e, res, 'node-2')), { result: 'ok' });
  assert.deepEqual(await drv.monitor(res, ctxFor(e, res, 'node-2')), { result: 'stopped' });
});

void test('read-back verification: still elsewhere after the association is code 54 naming where', async () => {
  const e = await setup();
  const lying = withEc2(e.aws, { associateAddress: () => Promise.resolve('eipassoc-fake') });
  const res = eipResource();
  await rejectsWith(
    new AwsEipDriver().start(res, START, ctxFor(e, res, 'node-2', lying)),
    54,
    /eipalloc-0+1 \(203\.0\.113\.10\) is associated with eni-0+1 \(association eipassoc-\w+\) instead of eni-0+2/,
  );
});

void test('allocation or ENI not found is code 50 with the AWS text and the remedy', async () => {
  const e = await setup();
  const drv = new AwsEipDriver();
  const badAlloc = eipResource({ allocationId: 'eipalloc-0bad' });
  const err = await rejectsWith(
    drv.start(badAlloc, START, ctxFor(e, badAlloc)),
    50,
    /^The AWS call failed\. EC2 AssociateAddress \(eipalloc-0bad to eni-0+2\) answered InvalidAllocationID\.NotFound: .*eipalloc-0bad.*Specify a correct EIP allocation ID/,
  );
  assert.match(err.remedy, /allocationId of awseip1 on node-2 is eipalloc-0bad/);
  const badEni = eipResource({}, { perServer: { 'node-2': { eniId: 'eni-0bad' } } });
  await rejectsWith(
    drv.start(badEni, START, ctxFor(e, badEni)),
    50,
    /answered InvalidNetworkInterfaceID\.NotFound: .*eni-0bad.*Specify a correct ENI ID: eniId of awseip1 on node-2 is eni-0bad/,
  );
  assert.equal(eipAt(e.sim), IDS.eni1);
});

void test('missing permission is 50 naming the IAM actions; no credentials is 51', async () => {
  const e = await setup();
  const res = eipResource();
  const denied = e.access({ keys: 'denied' });
  const none = e.access({ keys: null, imdsPort: await closedPort() });
  try {
    await rejectsWith(
      new AwsEipDriver().start(res, START, ctxFor(e, res, 'node-2', denied)),
      50,
      /answered UnauthorizedOperation: .*Grant this server's IAM role or user ec2:AssociateAddress, ec2:DisassociateAddress and ec2:DescribeAddresses/,
    );
    await rejectsWith(
      new AwsEipDriver().start(res, START, ctxFor(e, res, 'node-2', none)),
      51,
      /^AWS access is not set up\. EC2 AssociateAddress/,
    );
  } finally {
    denied.close();
    none.close();
  }
});

void test('stop is best effort: no answer or a hard stop leaves the EIP for the next server to re-associate', async () => {
  const e = await setup();
  const drv = new AwsEipDriver();
  const res = eipResource({}, { timeoutMs: 1_000 });
  await drv.start(res, START, ctxFor(e, res, 'node-2'));
  e.sim.injectFault({ action: 'DisassociateAddress', kind: 'noAnswer', count: 1 });
  assert.deepEqual(await drv.stop(res, START, ctxFor(e, res, 'node-2')), { result: 'ok' });
  assert.ok(e.sb.logs.some((l) => l.level === 'warn' && /could not disassociate/.test(l.msg)));
  assert.deepEqual(await drv.stop(res, { ...START, hard: true }, ctxFor(e, res, 'node-2')), { result: 'ok' });
  assert.equal(eipAt(e.sim), IDS.eni2);
  // The next server takes it over all the same.
  assert.deepEqual(await drv.start(res, START, ctxFor(e, res, 'node-1')), { result: 'ok' });
  assert.equal(eipAt(e.sim), IDS.eni1);
});

void test('no answer is code 53 within 90% of the resource timeout', async () => {
  const e = await setup();
  e.sim.injectFault({ action: 'AssociateAddress', kind: 'noAnswer' });
  const res = eipResource({}, { timeoutMs: 1_000 });
  const t0 = performance.now();
  await rejectsWith(
    new AwsEipDriver().start(res, START, ctxFor(e, res)),
    53,
    /^Timeout occurred\. EC2 AssociateAddress \(eipalloc-0+1 to eni-0+2\) got no answer: no answer within [89]\d\d ms\./,
  );
  const took = performance.now() - t0;
  assert.ok(took < 1_000, `reported after ${took.toFixed(0)} ms, past the resource timeout`);
});

void test('awseipw: normal while associated here; 52 when disassociated or moved behind our back', async () => {
  const e = await setup();
  const res = eipResource();
  const drv = new AwsEipMonitorDriver();
  const mon = awsMonitor('awseipw1', 'awseipw', 'awseip1');
  await new AwsEipDriver().start(res, START, ctxFor(e, res, 'node-2'));
  assert.deepEqual(await drv.check(mon, ctxFor(e, res)), { result: 'running' });
  const r = await fetch(`${e.sim.url}/_sim/eip/disassociate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ allocationId: IDS.allocationId }),
  });
  assert.equal(r.status, 200);
  assert.deepEqual(await drv.check(mon, ctxFor(e, res)), {
    result: 'failed',
    code: 52,
    message:
      "The EIP address is not associated with this server's ENI. eipalloc-0000000000000001 (203.0.113.10) of awseip1 is associated with no network interface, not with eni-0000000000000002 of node-2.",
  });
  // The recovery restarts awseip1, which associates it again.
  await new AwsEipDriver().start(res, START, ctxFor(e, res, 'node-2'));
  assert.deepEqual(await drv.check(mon, ctxFor(e, res)), { result: 'running' });
  await new AwsEipDriver().start(res, START, ctxFor(e, res, 'node-1'));
  const moved = await drv.check(mon, ctxFor(e, res));
  assert.equal(moved.code, 52);
  assert.match(
    moved.message ?? '',
    /is associated with eni-0+1 \(association eipassoc-\w+\), not with eni-0+2/,
  );
});

void test('awseipw: no answer and persistent throttling are NoResponseErrors (153 warn, 53 recover)', async () => {
  const e = await setup();
  const res = eipResource();
  const drv = new AwsEipMonitorDriver();
  e.sim.injectFault({ action: 'DescribeAddresses', kind: 'noAnswer', count: 1 });
  const warn = awsMonitor('awseipw1', 'awseipw', 'awseip1', { timeoutMs: 1_000 }, 'warn');
  await rejectsWith(drv.check(warn, ctxFor(e, res)), 153, /^Timeout occurred\. EC2 DescribeAddresses/, {
    object: 'awseipw1',
    noResponse: true,
  });
  e.sim.injectFault({ action: 'DescribeAddresses', kind: 'throttle' });
  const recover = awsMonitor('awseipw1', 'awseipw', 'awseip1', { timeoutMs: 3_000 }, 'recover');
  await rejectsWith(drv.check(recover, ctxFor(e, res)), 53, /EC2 DescribeAddresses/, {
    object: 'awseipw1',
    noResponse: true,
  });
});

void test('awseipw: an allocation that does not exist is a plain failure 50', async () => {
  const e = await setup();
  const res = eipResource({ allocationId: 'eipalloc-0bad' });
  await rejectsWith(
    new AwsEipMonitorDriver().check(awsMonitor('awseipw1', 'awseipw', 'awseip1'), ctxFor(e, res)),
    50,
    /InvalidAllocationID\.NotFound/,
    { object: 'awseipw1' },
  );
});

void test('validate: params per server, one ENI per server; the monitor names an awseip resource', () => {
  const drv = new AwsEipDriver();
  const config = (...rs: CompiledResource[]) =>
    makeConfig({ baseDir: '/tmp', servers: ['node-1', 'node-2'], resources: rs });
  const good = eipResource();
  assert.deepEqual(drv.validate(good, config(good)), []);
  const bad = eipResource({ allocationId: 'alloc-1' }, { perServer: { 'node-1': { eniId: IDS.eni1 } } });
  assert.deepEqual(drv.validate(bad, config(bad)), [
    'allocationId: expected an EIP allocation ID such as eipalloc-0123abcd',
    'servers.node-2: eniId: Invalid input: expected string, received null',
  ]);
  const mon = new AwsEipMonitorDriver();
  const exec = execResource('exec1', { start: 'true', cwd: '/' });
  assert.deepEqual(mon.validate(awsMonitor('m', 'awseipw', 'awseip1'), config(good, exec)), []);
  assert.deepEqual(mon.validate(awsMonitor('m', 'awseipw', 'exec1'), config(good, exec)), [
    'resource: exec1 is of type exec; an awseipw monitor watches an awseip resource',
  ]);
});
