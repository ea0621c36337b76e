// Tests of the forced stop against the AWS simulator through the real SDK: the peer's instance ends up
// `stopped`; an instance already stopped is done at once without a StopInstances; a stop that never completes
// within fencing.timeout is code 2 naming the last state; an unknown instance is code 1 with AWS's text; a
// server without an instance is code 5; no answer is code 4; reboot; a principal denied ec2:StopInstances
// (the simulator's IAM) is code 1 naming UnauthorizedOperation.
import { test, after, before, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { CompiledConfig, CompiledFencing } from '../../shared/config/types.ts';
import { createSimServer, type SimServer } from '../../sim/server.ts';
import { DEMO_WORLD_FILE } from '../../sim/main.ts';
import { loadWorld } from '../../sim/world.ts';
import { AwsTestEnv, DEMO_IDS, rejection } from '../aws-common/test-support.ts';
import { tableProblems } from '../messages.ts';
import { AWSFENCEW_MESSAGES, FENCE_MESSAGES } from './errors.ts';
import { fenceServer } from './fence.ts';

const { instance1: I1, instance2: I2 } = DEMO_IDS;

let env: AwsTestEnv<SimServer>;

before(async () => {
  const world = loadWorld(readFileSync(DEMO_WORLD_FILE, 'utf8'), DEMO_WORLD_FILE);
  env = new AwsTestEnv(await createSimServer({ world, host: '127.0.0.1', port: 0 }), 'demo');
});

after(() => env.close());

beforeEach(() => {
  env.sim.clearFaults();
  env.sim.world.ec2.transitionDelayMs = 300;
  for (const i of env.sim.world.ec2.instances) {
    i.state = 'running';
    delete i.settlesAtMs;
  }
});

function configWith(fencing: Partial<CompiledFencing> = {}): CompiledConfig {
  const config = env.config();
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
  return env.sim.world.ec2.instances.find((i) => i.id === id)?.state;
}

void test('message tables: unique codes and ids, sentences with remedies', () => {
  assert.deepEqual(tableProblems(FENCE_MESSAGES), []);
  assert.deepEqual(tableProblems(AWSFENCEW_MESSAGES), []);
});

void test('stops the peer’s instance and waits until it is stopped (first poll 500 ms after the stop)', async () => {
  const ctx = env.ctx(configWith(), 'node-1');
  const t0 = Date.now();
  const r = await fenceServer(ctx, 'node-2');
  const took = Date.now() - t0;
  assert.equal(r.result, 'ok');
  assert.match(r.message ?? '', /^instance i-0000000000000002 stopped after \d+ ms$/);
  assert.equal(stateOf(I2), 'stopped');
  assert.equal(stateOf(I1), 'running');
  assert.ok(took >= 500 && took < 2_000, `took ${took} ms`);
  assert.ok(
    env.sb.logs.some((l) => /forced stop of instance i-0000000000000002 of node-2 requested/.test(l.msg)),
  );
});

void test('an instance already stopped is done at once, without a StopInstances', async () => {
  const inst = env.sim.world.ec2.instances.find((i) => i.id === I2)!;
  inst.state = 'stopped';
  // A StopInstances would fail: the test sees it if one is sent.
  env.sim.injectFault({ action: 'StopInstances', kind: 'error5xx' });
  const t0 = Date.now();
  const r = await fenceServer(env.ctx(configWith(), 'node-1'), 'node-2');
  assert.deepEqual(r, { result: 'ok', message: 'instance i-0000000000000002 was already stopped' });
  assert.ok(Date.now() - t0 < 500);
});

void test('a stop that does not complete within fencing.timeout is code 2 naming the state last seen', async () => {
  env.sim.world.ec2.transitionDelayMs = 60_000;
  const ctx = env.ctx(configWith({ timeoutMs: 1_200 }), 'node-1');
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
  const err = await rejection(fenceServer(env.ctx(cfg, 'node-1'), 'node-2'));
  assert.equal(err.code, 1);
  assert.match(
    err.message,
    /^The forced stop of the instance failed\. DescribeInstances of instance i-0badbadbadbad0000 of node-2: .*InvalidInstanceID\.NotFound/,
  );
  const none = await rejection(fenceServer(env.ctx(cfg, 'node-1'), 'node-3'));
  assert.equal(none.code, 5);
  assert.match(none.message, /Server node-3 cannot be stopped: fencing\.servers has no entry for it\./);
  const noSection = env.config();
  const e3 = await rejection(fenceServer(env.ctx(noSection, 'node-1'), 'node-2'));
  assert.equal(e3.code, 5);
  assert.equal(stateOf(I2), 'running');
});

void test('no answer from EC2 is code 4 within the timeout', async () => {
  env.sim.injectFault({ action: 'StopInstances', kind: 'noAnswer' });
  const ctx = env.ctx(configWith({ timeoutMs: 1_000 }), 'node-1');
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
  const r = await fenceServer(env.ctx(configWith({ action: 'reboot' }), 'node-1'), 'node-2');
  assert.deepEqual(r, { result: 'ok', message: 'instance i-0000000000000002 rebooted' });
  assert.equal(stateOf(I2), 'running');
});

void test('the daemon cancelling the forced stop ends it at once with code 2', async () => {
  env.sim.world.ec2.transitionDelayMs = 60_000;
  const ac = new AbortController();
  const p = fenceServer(env.sb.ctx(configWith(), ac.signal, 'node-1', env.aws), 'node-2');
  setTimeout(() => ac.abort(), 700);
  const err = await rejection(p);
  assert.equal(err.code, 2);
  assert.match(
    err.message,
    /The forced stop was cancelled: instance i-0000000000000002 of node-2 was last seen stopping\./,
  );
});

void test('a principal denied ec2:StopInstances gets code 1 naming UnauthorizedOperation (simulator IAM)', async () => {
  env.sim.setDenials('tandem-allowed', ['ec2:StopInstances']);
  try {
    const ctx = env.ctx(configWith(), 'node-1');
    const err = await rejection(fenceServer(ctx, 'node-2'));
    assert.equal(err.code, 1);
    assert.match(
      err.message,
      /StopInstances \(Force\) of instance i-0000000000000002 of node-2: .*UnauthorizedOperation/,
    );
    assert.equal(stateOf(I2), 'running');
  } finally {
    env.sim.setDenials('tandem-allowed', []);
  }
});
