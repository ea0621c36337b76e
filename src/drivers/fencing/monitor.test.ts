// Tests of the awsfencew monitor against the AWS simulator through the real SDK: normal when every peer's
// instance exists and StopInstances (dry run) is allowed; a missing instance is error 1 naming server and
// instance; no fencing section is 5; no answer is NoResponseError 106 (warn) or 6 (recover); a principal
// denied ec2:StopInstances (the simulator's IAM) is error 2 naming the permission.
import { test, after, before, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { CompiledConfig, CompiledMonitor, CompiledRecovery } from '../../shared/config/types.ts';
import { createSimServer, type SimServer } from '../../sim/server.ts';
import { DEMO_WORLD_FILE } from '../../sim/main.ts';
import { loadWorld } from '../../sim/world.ts';
import { monitor } from '../../../test/daemon-fakes/config.ts';
import { AwsTestEnv, DEMO_IDS, rejection } from '../aws-common/test-support.ts';
import { NoResponseError } from '../messages.ts';
import { AwsFenceMonitorDriver } from './monitor.ts';

const { instance1: I1, instance2: I2 } = DEMO_IDS;

let env: AwsTestEnv<SimServer>;

before(async () => {
  const world = loadWorld(readFileSync(DEMO_WORLD_FILE, 'utf8'), DEMO_WORLD_FILE);
  env = new AwsTestEnv(await createSimServer({ world, host: '127.0.0.1', port: 0 }), 'demo');
});

after(() => env.close());

beforeEach(() => env.sim.clearFaults());

function fenceMonitor(
  noResponse: CompiledRecovery['noResponse'] = 'warn',
  timeoutMs = 5_000,
): CompiledMonitor {
  const m = monitor('awsfencew1', 'awsfencew', {}, { timeoutMs, auto: true });
  m.recovery = {
    ...m.recovery,
    targetKind: 'local-server',
    target: 'LocalServer',
    action: 'final-only',
    noResponse,
  };
  return m;
}

function configWith(node2Instance: string | null = I2): CompiledConfig {
  const config = env.config();
  const servers: Record<string, { instanceId: string; delayMs: number }> = {
    'node-1': { instanceId: I1, delayMs: 0 },
  };
  if (node2Instance !== null) servers['node-2'] = { instanceId: node2Instance, delayMs: 3_000 };
  config.fencing = { type: 'aws', action: 'stop', timeoutMs: 5_000, checkIntervalMs: 60_000, servers };
  return config;
}

function check(m: CompiledMonitor, config: CompiledConfig, access = env.aws, server = 'node-1') {
  return new AwsFenceMonitorDriver().check(m, env.ctx(config, server, access));
}

void test('normal when every peer’s instance exists and a forced stop would be allowed; nothing is stopped', async () => {
  assert.deepEqual(await check(fenceMonitor(), configWith()), { result: 'running' });
  assert.deepEqual(await check(fenceMonitor(), configWith(), env.aws, 'node-2'), { result: 'running' });
  assert.ok(env.sim.world.ec2.instances.every((i) => i.state === 'running'));
});

void test('a missing instance is error 1 naming the server and the instance', async () => {
  const r = await check(fenceMonitor(), configWith('i-0badbadbadbad0000'));
  assert.equal(r.result, 'failed');
  assert.equal(r.code, 1);
  assert.match(
    r.message ?? '',
    /^The instance of a server cannot be found\. node-2 \(instance i-0badbadbadbad0000\), DescribeInstances: .*InvalidInstanceID\.NotFound/,
  );
});

void test('no fencing section is error 5; validate names servers without an instance', async () => {
  const plain = env.config();
  assert.deepEqual(await check(fenceMonitor(), plain), {
    result: 'failed',
    code: 5,
    message: 'Fencing is not configured. The config has no fencing: section.',
  });
  const drv = new AwsFenceMonitorDriver();
  assert.deepEqual(drv.validate(fenceMonitor(), configWith()), []);
  assert.deepEqual(drv.validate(fenceMonitor(), configWith(null)), [
    'fencing.servers has no instanceId for node-2',
  ]);
});

void test('no answer is NoResponseError 106 under warn and 6 under recover', async () => {
  for (const [mode, code] of [
    ['warn', 106],
    ['recover', 6],
  ] as const) {
    env.sim.injectFault({ action: 'DescribeInstances', kind: 'noAnswer', count: 1 });
    const err = await rejection(check(fenceMonitor(mode, 1_000), configWith()));
    assert.ok(err instanceof NoResponseError, mode);
    assert.equal(err.code, code, mode);
    assert.match(
      err.message,
      /^AWS did not answer in time\. node-2 \(instance i-0000000000000002\), DescribeInstances: /,
    );
  }
});

void test('a principal denied ec2:StopInstances is error 2 naming the permission (simulator IAM)', async () => {
  env.sim.setDenials('tandem-allowed', ['ec2:StopInstances']);
  try {
    assert.deepEqual(await check(fenceMonitor(), configWith()), {
      result: 'failed',
      code: 2,
      message:
        'This server is not allowed to stop the instance of a server. node-1 may not stop node-2: ec2:StopInstances on instance i-0000000000000002 is denied (dry run).',
    });
  } finally {
    env.sim.setDenials('tandem-allowed', []);
  }
});
