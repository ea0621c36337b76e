// Tests of the pid monitor: it watches the process of an async exec resource through the exec driver's
// record; gone = code 1 naming the pid and resource, no record = code 2; validate checks the target.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { PidMonitorDriver } from './driver.ts';
import { PID_MESSAGES } from './errors.ts';
import { ExecDriver } from '../exec/driver.ts';
import { readAsyncRecord } from '../exec/state.ts';
import { isProcessAlive, killGroup } from '../process/proc.ts';
import { tableProblems } from '../messages.ts';
import { execResource, makeConfig, monitor } from '../../../test/daemon-fakes/config.ts';
import { Sandbox, waitUntil } from '../../../test/daemon-fakes/driver-ctx.ts';

let sb: Sandbox;
afterEach(() => sb?.cleanup());

function setup(asyncRes = true) {
  sb = new Sandbox();
  const res = execResource('exec1', { cwd: sb.dir, start: 'exec sleep 1000', async: asyncRes });
  const mon = monitor('pidw1', 'pid', { resource: 'exec1' }, { activeResource: 'exec1' });
  return { res, mon, config: makeConfig({ baseDir: sb.dir, resources: [res], monitors: [mon] }) };
}

void test('message table: unique codes and ids, sentences with remedies', () => {
  assert.deepEqual(tableProblems(PID_MESSAGES), []);
});

void test('running while the process lives; failed (code 1) once it is gone; code 2 without a record', async () => {
  const { res, mon, config } = setup();
  const drv = new PidMonitorDriver();
  const r0 = await drv.check(mon, sb.ctx(config));
  assert.equal(r0.result, 'failed');
  assert.equal(r0.code, 2);
  await new ExecDriver().start(res, { event: 'START', failoverFrom: null }, sb.ctx(config));
  assert.deepEqual(await drv.check(mon, sb.ctx(config)), { result: 'running' });
  const rec = readAsyncRecord(sb.stateDir, 'exec1')!;
  killGroup(rec.pgid, 'SIGKILL');
  await waitUntil('process gone', () => !isProcessAlive(rec.pid, rec.startTime));
  assert.deepEqual(await drv.check(mon, sb.ctx(config)), {
    result: 'failed',
    code: 1,
    message: `The monitored process is gone. Process ${rec.pid} of exec1 is gone.`,
  });
});

void test('validate: the resource must exist, be exec and async on every server', () => {
  const { mon, config } = setup(false);
  const drv = new PidMonitorDriver();
  assert.deepEqual(drv.validate(mon, config), [
    'resource: exec1 is not async on node-1; set async: true on it to watch its process',
  ]);
  const other = monitor('pidw1', 'pid', { resource: 'nope' });
  assert.deepEqual(drv.validate(other, config), ['resource: there is no resource named nope']);
  const okRes = execResource('exec1', { cwd: sb.dir, start: 'x', async: true });
  assert.deepEqual(drv.validate(mon, makeConfig({ baseDir: sb.dir, resources: [okRes] })), []);
});
