// Tests of the awsazw monitor against the AWS simulator through the real SDK: available (normal), impaired and
// information (warning 101), unavailable (error 1), an unknown zone (5, warning 105 under noResponse warn,
// ignored under none) and no answer (NoResponseError 6, or 106 under warn).
import { test, after, before, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { CompiledMonitor, CompiledRecovery } from '../../shared/config/types.ts';
import { createSimServer, type SimServer } from '../../sim/server.ts';
import { DEMO_WORLD_FILE } from '../../sim/main.ts';
import { loadWorld } from '../../sim/world.ts';
import { makeConfig, monitor } from '../../../test/daemon-fakes/config.ts';
import { AwsTestEnv, rejection } from '../aws-common/test-support.ts';
import { NoResponseError, tableProblems } from '../messages.ts';
import { AwsAzMonitorDriver } from './driver.ts';
import { AWSAZW_MESSAGES } from './errors.ts';

let env: AwsTestEnv<SimServer>;

before(async () => {
  const world = loadWorld(readFileSync(DEMO_WORLD_FILE, 'utf8'), DEMO_WORLD_FILE);
  env = new AwsTestEnv(await createSimServer({ world, host: '127.0.0.1', port: 0 }), 'demo');
});

after(() => env.close());

beforeEach(async () => {
  env.sim.clearFaults();
  await setZone('us-east-1a', 'available');
});

async function setZone(name: string, state: string): Promise<void> {
  const r = await fetch(`${env.sim.url}/_sim/az`, { method: 'POST', body: JSON.stringify({ name, state }) });
  assert.equal(r.status, 200, await r.text());
}

/** An awsazw monitor watching each server's zone, as the seed sets it up (recovery target LocalServer). */
function azMonitor(noResponse: CompiledRecovery['noResponse'] = 'warn', timeoutMs = 5_000): CompiledMonitor {
  const m = monitor('awsazw1', 'awsazw', { availabilityZone: null }, { timeoutMs });
  m.perServer = {
    'node-1': { availabilityZone: 'us-east-1a' },
    'node-2': { availabilityZone: 'us-east-1x' },
  };
  m.recovery = { ...m.recovery, targetKind: 'local-server', target: 'LocalServer', noResponse };
  return m;
}

function check(m: CompiledMonitor, server = 'node-1') {
  const config = env.config({ monitors: [m] });
  return new AwsAzMonitorDriver().check(m, env.ctx(config, server));
}

void test('message table: unique codes and ids, sentences with remedies', () => {
  assert.deepEqual(tableProblems(AWSAZW_MESSAGES), []);
});

void test('available is normal; impaired and information are warning 101; unavailable is error 5', async () => {
  assert.deepEqual(await check(azMonitor()), { result: 'running' });
  for (const state of ['impaired', 'information']) {
    await setZone('us-east-1a', state);
    assert.deepEqual(await check(azMonitor()), {
      result: 'degraded',
      code: 101,
      message: `The availability zone reports a problem. us-east-1a: state ${state}.`,
    });
  }
  await setZone('us-east-1a', 'unavailable');
  // noResponse concerns failed calls only: an unavailable zone is an error in every mode.
  for (const mode of ['warn', 'recover', 'none'] as const) {
    assert.deepEqual(await check(azMonitor(mode)), {
      result: 'failed',
      code: 5,
      message: 'The availability zone is unavailable or could not be checked. us-east-1a: state unavailable.',
    });
  }
});

void test('an unknown zone is error 5 (recover), warning 105 (warn), logged and normal (none)', async () => {
  const detail =
    'The availability zone is unavailable or could not be checked. Invalid availability zone: [us-east-1x].';
  assert.deepEqual(await check(azMonitor('recover'), 'node-2'), {
    result: 'failed',
    code: 5,
    message: detail,
  });
  assert.deepEqual(await check(azMonitor('warn'), 'node-2'), {
    result: 'degraded',
    code: 105,
    message: detail,
  });
  assert.deepEqual(await check(azMonitor('none'), 'node-2'), { result: 'running' });
  assert.ok(
    env.sb.logs.some(
      (l) => l.level === 'warn' && l.msg.includes('us-east-1x') && /noResponse: none/.test(l.msg),
    ),
  );
});

void test('no answer is NoResponseError 6 (recover) or 106 (warn), within the monitor timeout', async () => {
  for (const [mode, code] of [
    ['recover', 6],
    ['warn', 106],
  ] as const) {
    env.sim.injectFault({ action: 'DescribeAvailabilityZones', kind: 'noAnswer', count: 1 });
    const t0 = Date.now();
    const err = await rejection(check(azMonitor(mode, 1_000)));
    assert.ok(err instanceof NoResponseError, mode);
    assert.equal(err.code, code, mode);
    assert.match(err.message, /^AWS did not answer in time\. DescribeAvailabilityZones for us-east-1a: /);
    assert.ok(Date.now() - t0 < 1_000, `${mode}: not reported within the monitor timeout`);
  }
});

void test('throttling that outlasts the retries counts as no answer, never as a zone failure', async () => {
  env.sim.injectFault({ action: 'DescribeAvailabilityZones', kind: 'throttle' });
  const err = await rejection(check(azMonitor('recover', 1_000)));
  assert.ok(err instanceof NoResponseError);
  assert.equal(err.code, 6);
  assert.match(err.message, /throttled or unavailable/);
});

void test('validate: every server needs a zone name', () => {
  const m = azMonitor();
  const config = makeConfig({ baseDir: env.sb.dir, servers: ['node-1', 'node-2', 'node-3'], monitors: [m] });
  assert.deepEqual(new AwsAzMonitorDriver().validate(m, config), [
    'servers.node-3: availabilityZone: no availability zone is set for this server (servers.<server>.availabilityZone)',
  ]);
});
