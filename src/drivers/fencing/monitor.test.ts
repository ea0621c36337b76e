// Tests of the awsfencew monitor against the AWS simulator through the real SDK: normal when every peer's
// instance exists and StopInstances (dry run) is allowed; a missing instance is error 1 naming server and
// instance; no fencing section is 5; no answer is NoResponseError 106 (warn) or 6 (recover); a principal
// denied ec2:StopInstances (the simulator's IAM) is error 2 naming the permission.
import { test, after, before, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createAwsAccess } from '../../aws/access.ts';
import type { AwsAccess } from '../../aws/types.ts';
import type { CompiledConfig, CompiledMonitor, CompiledRecovery } from '../../shared/config/types.ts';
import { ResourceError } from '../../shared/errors.ts';
import { createSimServer, type SimServer } from '../../sim/server.ts';
import { DEMO_WORLD_FILE } from '../../sim/main.ts';
import { loadWorld } from '../../sim/world.ts';
import { makeConfig, monitor } from '../../../test/daemon-fakes/config.ts';
import { Sandbox } from '../../../test/daemon-fakes/driver-ctx.ts';
import { NoResponseError } from '../messages.ts';
import { AwsFenceMonitorDriver } from './monitor.ts';

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

beforeEach(() => sim.clearFaults());

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
  const config = makeConfig({ baseDir: sb.dir, servers: ['node-1', 'node-2'] });
  const servers: Record<string, { instanceId: string; delayMs: number }> = {
    'node-1': { instanceId: I1, delayMs: 0 },
  };
  if (node2Instance !== null) servers['node-2'] = { instanceId: node2Instance, delayMs: 3_000 };
  config.fencing = { type: 'aws', action: 'stop', timeoutMs: 5_000, checkIntervalMs: 60_000, servers };
  return config;
}

function check(m: CompiledMonitor, config: CompiledConfig, access = aws, server = 'node-1') {
  return new AwsFenceMonitorDriver().check(m, sb.ctx(config, new AbortController().signal, server, access));
}

async function rejection(p: Promise<unknown>): Promise<ResourceError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ResourceError, `expected a ResourceError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the check to fail');
}

void test('normal when every peer’s instance exists and a forced stop would be allowed; nothing is stopped', async () => {
  assert.deepEqual(await check(fenceMonitor(), configWith()), { result: 'running' });
  assert.deepEqual(await check(fenceMonitor(), configWith(), aws, 'node-2'), { result: 'running' });
  assert.ok(sim.world.ec2.instances.every((i) => i.state === 'running'));
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
  const plain = makeConfig({ baseDir: sb.dir, servers: ['node-1', 'node-2'] });
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
    sim.injectFault({ action: 'DescribeInstances', kind: 'noAnswer', count: 1 });
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
  sim.setDenials('tandem-allowed', ['ec2:StopInstances']);
  try {
    assert.deepEqual(await check(fenceMonitor(), configWith()), {
      result: 'failed',
      code: 2,
      message:
        'This server is not allowed to stop the instance of a server. node-1 may not stop node-2: ec2:StopInstances on instance i-0000000000000002 is denied (dry run).',
    });
  } finally {
    sim.setDenials('tandem-allowed', []);
  }
});
