// Tests of the custom monitor driver: exit 0 = running, non-zero = failed code 1 with the status, a command
// that cannot run = not-installed code 2, abort kills the command's process group, and the environment.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CustomMonitorDriver } from './driver.ts';
import { CUSTOM_MESSAGES } from './errors.ts';
import { NotInstalledError, tableProblems } from '../messages.ts';
import { isProcessAlive } from '../process/proc.ts';
import { ResourceError } from '../../shared/errors.ts';
import { makeConfig, monitor } from '../../../test/daemon-fakes/config.ts';
import { Sandbox } from '../../../test/daemon-fakes/driver-ctx.ts';

let sb: Sandbox;
afterEach(() => sb?.cleanup());

function setup(params: Record<string, unknown>) {
  sb = new Sandbox();
  const mon = monitor('custom1', 'custom', { cwd: sb.dir, env: {}, ...params });
  return { mon, config: makeConfig({ baseDir: sb.dir, monitors: [mon] }), drv: new CustomMonitorDriver() };
}

void test('message table: unique codes and ids, sentences with remedies', () => {
  assert.deepEqual(tableProblems(CUSTOM_MESSAGES), []);
});

void test('exit 0 is running; the command sees its cwd and TANDEM_MONITOR/SERVER', async () => {
  const { mon, config, drv } = setup({ command: './check.sh', env: { LEVEL: '2' } });
  sb.script('check.sh', 'echo "$PWD $TANDEM_MONITOR $TANDEM_SERVER $LEVEL" > seen.out; echo fine');
  assert.deepEqual(await drv.check(mon, sb.ctx(config)), { result: 'running' });
  assert.equal(readFileSync(join(sb.dir, 'seen.out'), 'utf8').trim(), `${sb.dir} custom1 node-1 2`);
  assert.ok(sb.logs.some((l) => l.msg === 'fine' && l.fields.command === 'check'));
});

void test('non-zero exit is failed with code 1 and the status', async () => {
  const { mon, config, drv } = setup({ command: 'exit 7' });
  const r = await drv.check(mon, sb.ctx(config));
  assert.deepEqual(r, {
    result: 'failed',
    code: 1,
    message: 'The monitor command reported an error. It exited with status 7: exit 7',
  });
});

void test('a command that cannot run is code 2 and not-installed', async () => {
  const { mon, config, drv } = setup({ command: './nope.sh' });
  await assert.rejects(drv.check(mon, sb.ctx(config)), (e: unknown) => {
    assert.ok(e instanceof NotInstalledError);
    assert.equal(e.code, 2);
    assert.equal(e.object, 'custom1');
    assert.ok(e.message.includes(join(sb.dir, 'nope.sh')));
    return true;
  });
  const m2 = monitor('custom1', 'custom', { cwd: sb.dir, command: 'not-a-program-zz' });
  await assert.rejects(
    drv.check(m2, sb.ctx(config)),
    (e: unknown) => e instanceof NotInstalledError && e.code === 2,
  );
});

void test('abort kills the command and its children; the call fails with code 3', async () => {
  const { mon, config, drv } = setup({ command: 'sleep 1000 & echo $! > bg.pid; echo ready; wait' });
  const ac = new AbortController();
  const p = drv.check(mon, sb.ctx(config, ac.signal));
  await sb.logLine(/^ready$/);
  const bg = Number(readFileSync(join(sb.dir, 'bg.pid'), 'utf8'));
  ac.abort(new Error('deadline'));
  await assert.rejects(p, (e: unknown) => e instanceof ResourceError && e.code === 3);
  assert.equal(isProcessAlive(bg, null), false);
});

void test('validate reports a missing command', () => {
  const { config, drv } = setup({ command: 'true' });
  const bad = monitor('custom1', 'custom', { cwd: sb.dir, command: ' ' });
  assert.deepEqual(drv.validate(bad, config), ['command: the monitor command is empty']);
});
