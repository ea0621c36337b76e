// Tests of the forced stop against the AWS simulator through the real SDK: the peer's instance ends up
// `stopped`; an instance already stopped is done at once without a StopInstances; a stop that never completes
// within fencing.timeout is code 2 naming the last state; an unknown instance is code 1 with AWS's text; a
// server without an instance is code 5; no answer is code 4; reboot; a principal denied ec2:StopInstances
// (the simulator's IAM) is code 1 naming UnauthorizedOperation.
import { test, after, before, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createAwsAccess } from '../../aws/access.ts';
import type { AwsAccess } from '../../aws/types.ts';
import type { CompiledConfig, CompiledFencing } from '../../shared/config/types.ts';
import { ResourceError } from '../../shared/errors.ts';
import { createSimServer, type SimServer } from '../../sim/server.ts';
import { DEMO_WORLD_FILE } from '../../sim/main.ts';
import { loadWorld } from '../../sim/world.ts';
import { makeConfig } from '../../../test/daemon-fakes/config.ts';
import { Sandbox } from '../../../test/daemon-fakes/driver-ctx.ts';
import { tableProblems } from '../messages.ts';
import { AWSFENCEW_MESSAGES, FENCE_MESSAGES } from './errors.ts';
import { fenceServer } from './fence.ts';

const I1 = 'i-0000000000000001';
const I2 = 'i-0000000000000002';

/** The demo world's IAM user (its iam: section accepts only known keys). */
const KEY_ID = 'AKIASIMALLOWED000001';
const SECRET = 'allowed-secret';

let sim: SimServer;
let aws: AwsAccess;
let sb: Sandbox;

function accessFor(url: string): AwsAccess {
  return createAwsAccess(
    {
      region: 'us-east-1',
      profile: null,
      proxy: null,
      callTimeoutMs: 5000,
      environment: { AWS_ENDPOINT_URL: url, AWS_ACCESS_KEY_ID: KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET },
    },
    { HOME: sb.dir, AWS_EC2_METADATA_DISABLED: 'true' },
  );
}

before(async () => {
  sb = new Sandbox();
  sim = await createSimServer({
    world: loadWorld(readFileSync(DEMO_WORLD_FILE, 'utf8'), DEMO_WORLD_FILE),
    host: '127.0.0.1',
    port: 0,
  });
  aws = accessFor(sim.url);
});

after(async () => {
  aws.close();
  await sim.close();
  sb.cleanup();
});

beforeEach(() => {
  sim.clearFaults();
  sim.world.ec2.transitionDelayMs = 300;
  for (const i of sim.world.ec2.instances) {
    i.state = 'running';
    delete i.settlesAtMs;
  }
});

function configWith(fencing: Partial<CompiledFencing> = {}): CompiledConfig {
  const config = makeConfig({ baseDir: sb.dir, servers: ['node-1', 'node-2'] });
  config.fencing = {
    type: 'aws',
    action: 'stop',
    timeoutMs: 5_000,
    checkIntervalMs: 60_000,
    servers: { 'node-1': { instanceId: I1, delayMs: 0 }, 'node-2': { instanceId: I2, delayMs: 3_000 } },
    ...fencing,
  };
  return config;
}

function stateOf(id: string): string | undefined {
  return sim.world.ec2.instances.find((i) => i.id === id)?.state;
}

async function rejection(p: Promise<unknown>): Promise<ResourceError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ResourceError, `expected a ResourceError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the forced stop to fail');
}

void test('message tables: unique codes and ids, sentences with remedies', () => {
  assert.deepEqual(tableProblems(FENCE_MESSAGES), []);
  assert.deepEqual(tableProblems(AWSFENCEW_MESSAGES), []);
});

void test('stops the peer’s instance and waits until it is stopped (first poll 500 ms after the stop)', async () => {
  const ctx = sb.ctx(configWith(), new AbortController().signal, 'node-1', aws);
  const t0 = Date.now();
  const r = await fenceServer(ctx, 'node-2');
  const took = Date.now() - t0;
  assert.equal(r.result, 'ok');
  assert.match(r.message ?? '', /^instance i-0000000000000002 stopped after \d+ ms$/);
  assert.equal(stateOf(I2), 'stopped');
  assert.equal(stateOf(I1), 'running');
  assert.ok(took >= 500 && took < 2_000, `took ${took} ms`);
  assert.ok(
    sb.logs.some((l) => /forced stop of instance i-0000000000000002 of node-2 requested/.test(l.msg)),
  );
});

void test('an instance already stopped is done at once, without a StopInstances', async () => {
  const inst = sim.world.ec2.instances.find((i) => i.id === I2)!;
  inst.state = 'stopped';
  // A StopInstances would fail: the test sees it if one is sent.
  sim.injectFault({ action: 'StopInstances', kind: 'error5xx' });
  const t0 = Date.now();
  const r = await fenceServer(sb.ctx(configWith(), new AbortController().signal, 'node-1', aws), 'node-2');
  assert.deepEqual(r, { result: 'ok', message: 'instance i-0000000000000002 was already stopped' });
  assert.ok(Date.now() - t0 < 500);
});

void test('a stop that does not complete within fencing.timeout is code 2 naming the state last seen', async () => {
  sim.world.ec2.transitionDelayMs = 60_000;
  const ctx = sb.ctx(configWith({ timeoutMs: 1_200 }), new AbortController().signal, 'node-1', aws);
  const t0 = Date.now();
  const err = await rejection(fenceServer(ctx, 'node-2'));
  const took = Date.now() - t0;
  assert.equal(err.code, 2);
  assert.equal(err.object, 'node-2');
  assert.match(
    err.message,
    /^The instance did not stop within the fencing timeout\. Not stopped after \d+ ms: instance i-0000000000000002 of node-2 was last seen stopping\. Stop it by hand \(aws ec2 stop-instances --force --instance-ids i-0000000000000002\), then run: tandem server confirm-down node-2\.$/,
  );
  assert.match(err.remedy, /tandem server confirm-down/);
  assert.ok(took >= 1_100 && took < 1_600, `gave up after ${took} ms`);
});

void test('an unknown instance is code 1 with AWS’s error; a server without an instance is code 5', async () => {
  const cfg = configWith({
    servers: {
      'node-1': { instanceId: I1, delayMs: 0 },
      'node-2': { instanceId: 'i-0badbadbadbad0000', delayMs: 0 },
    },
  });
  const err = await rejection(
    fenceServer(sb.ctx(cfg, new AbortController().signal, 'node-1', aws), 'node-2'),
  );
  assert.equal(err.code, 1);
  assert.match(
    err.message,
    /^The forced stop of the instance failed\. DescribeInstances of instance i-0badbadbadbad0000 of node-2: .*InvalidInstanceID\.NotFound/,
  );
  const none = await rejection(
    fenceServer(sb.ctx(cfg, new AbortController().signal, 'node-1', aws), 'node-3'),
  );
  assert.equal(none.code, 5);
  assert.match(none.message, /Server node-3 cannot be stopped: fencing\.servers has no entry for it\./);
  const noSection = makeConfig({ baseDir: sb.dir, servers: ['node-1', 'node-2'] });
  const e3 = await rejection(
    fenceServer(sb.ctx(noSection, new AbortController().signal, 'node-1', aws), 'node-2'),
  );
  assert.equal(e3.code, 5);
  assert.equal(stateOf(I2), 'running');
});

void test('no answer from EC2 is code 4 within the timeout', async () => {
  sim.injectFault({ action: 'StopInstances', kind: 'noAnswer' });
  const ctx = sb.ctx(configWith({ timeoutMs: 1_000 }), new AbortController().signal, 'node-1', aws);
  const t0 = Date.now();
  const err = await rejection(fenceServer(ctx, 'node-2'));
  assert.equal(err.code, 4);
  assert.match(
    err.message,
    /^AWS did not answer in time\. StopInstances \(Force\) of instance i-0000000000000002 of node-2: /,
  );
  assert.ok(Date.now() - t0 < 1_300);
});

void test('action reboot reboots the instance and is done when EC2 accepted it', async () => {
  const r = await fenceServer(
    sb.ctx(configWith({ action: 'reboot' }), new AbortController().signal, 'node-1', aws),
    'node-2',
  );
  assert.deepEqual(r, { result: 'ok', message: 'instance i-0000000000000002 rebooted' });
  assert.equal(stateOf(I2), 'running');
});

void test('the daemon cancelling the forced stop ends it at once with code 2', async () => {
  sim.world.ec2.transitionDelayMs = 60_000;
  const ac = new AbortController();
  const p = fenceServer(sb.ctx(configWith(), ac.signal, 'node-1', aws), 'node-2');
  setTimeout(() => ac.abort(), 700);
  const err = await rejection(p);
  assert.equal(err.code, 2);
  assert.match(
    err.message,
    /The forced stop was cancelled: instance i-0000000000000002 of node-2 was last seen stopping\./,
  );
});

void test('a principal denied ec2:StopInstances gets code 1 naming UnauthorizedOperation (simulator IAM)', async () => {
  sim.setDenials('tandem-allowed', ['ec2:StopInstances']);
  try {
    const ctx = sb.ctx(configWith(), new AbortController().signal, 'node-1', aws);
    const err = await rejection(fenceServer(ctx, 'node-2'));
    assert.equal(err.code, 1);
    assert.match(
      err.message,
      /StopInstances \(Force\) of instance i-0000000000000002 of node-2: .*UnauthorizedOperation/,
    );
    assert.equal(stateOf(I2), 'running');
  } finally {
    sim.setDenials('tandem-allowed', []);
  }
});
