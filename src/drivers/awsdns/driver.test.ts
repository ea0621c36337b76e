// Tests of the awsdns resource against the AWS simulator through the real SDK: UPSERT and the INSYNC wait
// (first poll 1 s after the change), code 53 when INSYNC never comes within the budget, deleteOnStop true and
// false, never deleting a record that holds another server's address, the startup probe, and the AWS
// failures: wrong hosted zone (50 with AWS's text), no credentials (52), no answer (51, a NoResponseError).
import { test, after, before, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { CompiledResource } from '../../shared/config/types.ts';
import { createSimServer, type SimServer } from '../../sim/server.ts';
import { DEMO_WORLD_FILE } from '../../sim/main.ts';
import { loadWorld } from '../../sim/world.ts';
import { AwsTestEnv, closedPort, DEMO_IDS, dnsResource, rejection } from '../aws-common/test-support.ts';
import { NoResponseError, tableProblems } from '../messages.ts';
import { AwsDnsDriver } from './driver.ts';
import { AWSDNS_MESSAGES } from './errors.ts';

const { hostedZoneId: ZONE, recordName: NAME, ip1: IP1, ip2: IP2 } = DEMO_IDS;
const START = { event: 'START', failoverFrom: null } as const;

let env: AwsTestEnv<SimServer>;

before(async () => {
  const world = loadWorld(readFileSync(DEMO_WORLD_FILE, 'utf8'), DEMO_WORLD_FILE);
  env = new AwsTestEnv(await createSimServer({ world, host: '127.0.0.1', port: 0 }), 'demo');
});

after(() => env.close());

beforeEach(() => {
  env.sim.clearFaults();
  env.sim.world.route53.insyncDelayMs = 0;
});

function setup(res: CompiledResource, access = env.aws) {
  const config = env.config({ resources: [res] });
  return { ctx: (server: string) => env.ctx(config, server, access) };
}

async function record(): Promise<string[] | null> {
  return (await env.aws.route53.recordA(ZONE, NAME))?.values ?? null;
}

void test('message table: unique codes and ids, sentences with remedies', () => {
  assert.deepEqual(tableProblems(AWSDNS_MESSAGES), []);
});

void test('start: UPSERT, first GetChange 1 s after the change, then running here and stopped elsewhere', async () => {
  const res = dnsResource();
  const { ctx } = setup(res);
  const drv = new AwsDnsDriver();
  const t0 = Date.now();
  assert.deepEqual(await drv.start(res, START, ctx('node-1')), { result: 'ok' });
  const took = Date.now() - t0;
  assert.ok(
    took >= 1_000 && took < 3_000,
    `INSYNC seen after ${took} ms: the first poll is 1 s after the change`,
  );
  assert.deepEqual(await record(), [IP1]);
  assert.ok(env.sb.logs.some((l) => /srv\.hz1\.local\. is INSYNC/.test(l.msg)));
  assert.deepEqual(await drv.monitor(res, ctx('node-1')), { result: 'running' });
  assert.deepEqual(await drv.monitor(res, ctx('node-2')), { result: 'stopped' });
});

void test('start waits until the change is INSYNC (the simulator keeps it PENDING for a while)', async () => {
  env.sim.world.route53.insyncDelayMs = 600;
  const res = dnsResource();
  const { ctx } = setup(res);
  const drv = new AwsDnsDriver({ firstPollMs: 100, maxPollMs: 200 });
  const t0 = Date.now();
  assert.deepEqual(await drv.start(res, START, ctx('node-2')), { result: 'ok' });
  assert.ok(Date.now() - t0 >= 600, 'returned before the change was INSYNC');
  assert.deepEqual(await record(), [IP2]);
});

void test('a change that stays PENDING past 90% of the timeout is code 53 naming the change and record', async () => {
  env.sim.world.route53.insyncDelayMs = 60_000;
  const res = dnsResource({}, { timeoutMs: 1_000 });
  const { ctx } = setup(res);
  const drv = new AwsDnsDriver({ firstPollMs: 100, maxPollMs: 200 });
  const t0 = Date.now();
  const err = await rejection(drv.start(res, START, ctx('node-1')));
  const took = Date.now() - t0;
  assert.equal(err.code, 53);
  assert.equal(err.object, 'awsdns1');
  assert.match(
    err.message,
    /^The record change did not reach INSYNC within the timeout\. Change \S+ \(UPSERT of srv\.hz1\.local\. A 10\.0\.1\.10 in hosted zone Z0123456789ABC\) was still PENDING after \d+ ms\.$/,
  );
  assert.ok(took >= 850 && took < 1_000, `gave up after ${took} ms, expected within the 900 ms budget`);
});

void test('stop with deleteOnStop deletes the record; stopping again is fine (idempotent)', async () => {
  const res = dnsResource();
  const { ctx } = setup(res);
  const drv = new AwsDnsDriver({ firstPollMs: 50 });
  await drv.start(res, START, ctx('node-1'));
  assert.deepEqual(await drv.stop(res, START, ctx('node-1')), { result: 'ok' });
  assert.equal(await record(), null);
  assert.deepEqual(await drv.stop(res, START, ctx('node-1')), { result: 'ok' });
  assert.deepEqual(await drv.monitor(res, ctx('node-1')), { result: 'stopped' });
});

void test('stop with deleteOnStop: false leaves the record in place', async () => {
  const res = dnsResource({ deleteOnStop: false });
  const { ctx } = setup(res);
  const drv = new AwsDnsDriver({ firstPollMs: 50 });
  await drv.start(res, START, ctx('node-1'));
  assert.deepEqual(await drv.stop(res, START, ctx('node-1')), { result: 'ok' });
  assert.deepEqual(await record(), [IP1]);
  assert.ok(env.sb.logs.some((l) => /left in place \(deleteOnStop: false\)/.test(l.msg)));
});

void test('stop never deletes a record that holds another server’s address', async () => {
  const res = dnsResource();
  const { ctx } = setup(res);
  const drv = new AwsDnsDriver({ firstPollMs: 50 });
  await drv.start(res, START, ctx('node-1'));
  await drv.start(res, { event: 'FAILOVER', failoverFrom: 'node-1' }, ctx('node-2'));
  // node-1's late stop (e.g. after its cluster service comes back) must not take node-2's record away.
  assert.deepEqual(await drv.stop(res, START, ctx('node-1')), { result: 'ok' });
  assert.deepEqual(await record(), [IP2]);
  assert.ok(
    env.sb.logs.some((l) => /holds 10\.0\.2\.10, not 10\.0\.1\.10 of node-1: left alone/.test(l.msg)),
  );
});

void test('a hosted zone that does not exist is code 50 with AWS’s text', async () => {
  const res = dnsResource({ hostedZoneId: 'Z999NOSUCHZONE' });
  const { ctx } = setup(res);
  const err = await rejection(new AwsDnsDriver().start(res, START, ctx('node-1')));
  assert.equal(err.code, 50);
  assert.ok(!(err instanceof NoResponseError));
  assert.match(
    err.message,
    /^The AWS call failed\. UPSERT of srv\.hz1\.local\. A 10\.0\.1\.10 in hosted zone Z999NOSUCHZONE: .*NoSuchHostedZone/,
  );
  assert.match(err.message, /No hosted zone found with ID: Z999NOSUCHZONE/);
  assert.match(err.remedy, /route53:ChangeResourceRecordSets/);
  // The startup probe reports the same failure rather than "stopped": it does not know.
  assert.equal((await rejection(new AwsDnsDriver().monitor(res, ctx('node-1')))).code, 50);
});

void test('no credentials is code 52 (AWS access not set up)', async () => {
  const noCreds = env.access({ keys: null, imdsPort: await closedPort() });
  try {
    const res = dnsResource();
    const { ctx } = setup(res, noCreds);
    const err = await rejection(new AwsDnsDriver().start(res, START, ctx('node-1')));
    assert.equal(err.code, 52);
    assert.match(err.message, /^AWS access is not set up on this server\./);
    assert.match(err.remedy, /credentials/);
  } finally {
    noCreds.close();
  }
});

void test('no answer from Route 53 is code 51, thrown as a NoResponseError within the budget', async () => {
  env.sim.injectFault({ action: 'ChangeResourceRecordSets', kind: 'noAnswer' });
  const res = dnsResource({}, { timeoutMs: 1_000 });
  const { ctx } = setup(res);
  const t0 = Date.now();
  const err = await rejection(new AwsDnsDriver().start(res, START, ctx('node-1')));
  assert.ok(err instanceof NoResponseError);
  assert.equal(err.code, 51);
  assert.match(err.message, /^AWS did not answer in time\. UPSERT of srv\.hz1\.local\./);
  assert.ok(Date.now() - t0 < 1_000, 'not reported within the resource timeout');
});

void test('stop is best effort: no answer or a hard stop leaves the record for the next server to overwrite', async () => {
  const res = dnsResource({}, { timeoutMs: 1_000 });
  const { ctx } = setup(res);
  const drv = new AwsDnsDriver({ firstPollMs: 50 });
  await drv.start(res, START, ctx('node-1'));
  env.sim.injectFault({ action: 'ChangeResourceRecordSets', kind: 'noAnswer', count: 1 });
  assert.deepEqual(await drv.stop(res, START, ctx('node-1')), { result: 'ok' });
  assert.ok(env.sb.logs.some((l) => l.level === 'warn' && /could not delete the record set/.test(l.msg)));
  assert.deepEqual(await drv.stop(res, { ...START, hard: true }, ctx('node-1')), { result: 'ok' });
  assert.ok(env.sb.logs.some((l) => /hard stop: the record set is left/.test(l.msg)));
  assert.deepEqual(await record(), [IP1]);
});

void test('validate: every server of the group needs an address; the name must be a lowercase FQDN', () => {
  const drv = new AwsDnsDriver();
  const config = env.config({ resources: [dnsResource()] });
  assert.deepEqual(drv.validate(dnsResource(), config), []);
  const bad = dnsResource({ recordName: 'Srv.hz1.local' }, { perServer: { 'node-1': { ipAddress: IP1 } } });
  assert.deepEqual(drv.validate(bad, config), [
    'servers.node-1: recordName: must be a lowercase FQDN ending with a dot, such as srv.hz1.local.',
    'servers.node-2: recordName: must be a lowercase FQDN ending with a dot, such as srv.hz1.local.',
    'servers.node-2: ipAddress: no address is set for this server (servers.<server>.ipAddress)',
  ]);
});
