// Tests of the exec resource driver with real processes: environment and cwd, output to the log, exit codes,
// timeouts killing the whole process group, async process tracking across a simulated daemon restart,
// idempotent and hard stops, and the message table.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExecDriver } from './driver.ts';
import { EXEC_MESSAGES } from './errors.ts';
import { pidFile, readAsyncRecord, activeFile } from './state.ts';
import { isGroupAlive, isProcessAlive } from '../process/proc.ts';
import { readPgids, runDirOf } from '../process/run-dir.ts';
import { NotInstalledError, tableProblems } from '../messages.ts';
import { ResourceError } from '../../shared/errors.ts';
import { execResource, makeConfig } from '../../../test/daemon-fakes/config.ts';
import { Sandbox, waitUntil } from '../../../test/daemon-fakes/driver-ctx.ts';

let sb: Sandbox;
afterEach(() => sb?.cleanup());

const START = { event: 'START', failoverFrom: null } as const;

function setup(params: Record<string, unknown>) {
  sb = new Sandbox();
  const res = execResource('exec1', { cwd: sb.dir, ...params });
  const config = makeConfig({ baseDir: sb.dir, resources: [res] });
  return { res, config, drv: new ExecDriver() };
}

void test('message table: unique codes and ids, sentences with remedies', () => {
  assert.deepEqual(tableProblems(EXEC_MESSAGES), []);
});

void test('start runs in the config dir with TANDEM_* and params.env; output goes to the log', async () => {
  const { res, config, drv } = setup({ start: './start.sh', env: { EXTRA: 'x y' } });
  sb.script(
    'start.sh',
    'pwd > cwd.out; env | grep -E "^(TANDEM_|EXTRA=)" | sort > env.out; echo hello; echo oops >&2',
  );
  const r = await drv.start(res, { event: 'FAILOVER', failoverFrom: 'node-2' }, sb.ctx(config));
  assert.deepEqual(r, { result: 'ok' });
  assert.equal(readFileSync(join(sb.dir, 'cwd.out'), 'utf8').trim(), sb.dir);
  assert.deepEqual(readFileSync(join(sb.dir, 'env.out'), 'utf8').trim().split('\n'), [
    'EXTRA=x y',
    'TANDEM_CLUSTER=cluster1',
    'TANDEM_EVENT=FAILOVER',
    'TANDEM_FAILOVER_FROM=node-2',
    'TANDEM_GROUP=failover1',
    'TANDEM_RESOURCE=exec1',
    'TANDEM_SERVER=node-1',
  ]);
  assert.ok(sb.logs.some((l) => l.msg === 'hello' && l.level === 'info' && l.fields.stream === 'stdout'));
  assert.ok(sb.logs.some((l) => l.msg === 'oops' && l.level === 'warn' && l.fields.stream === 'stderr'));
  assert.deepEqual(await drv.monitor(res, sb.ctx(config)), { result: 'running' });
});

void test('TANDEM_FAILOVER_FROM is absent when not known', async () => {
  const { res, config, drv } = setup({ start: 'env > env.out' });
  await drv.start(res, START, sb.ctx(config));
  const env = readFileSync(join(sb.dir, 'env.out'), 'utf8');
  assert.match(env, /^TANDEM_EVENT=START$/m);
  assert.doesNotMatch(env, /TANDEM_FAILOVER_FROM/);
});

void test('non-zero exit: start is code 1, stop is code 2, both with the status', async () => {
  const { res, config, drv } = setup({ start: 'exit 3', stop: 'echo cleanup > stop.out; exit 4' });
  const r = await drv.start(res, START, sb.ctx(config));
  assert.equal(r.result, 'failed');
  assert.equal(r.code, 1);
  assert.match(r.message ?? '', /The start command failed\. It exited with status 3: exit 3/);
  assert.deepEqual(await drv.monitor(res, sb.ctx(config)), { result: 'stopped' });
  // A failed start leaves `.starting`, so the stop command runs to clean up.
  const s = await drv.stop(res, START, sb.ctx(config));
  assert.equal(s.result, 'failed');
  assert.equal(s.code, 2);
  assert.match(s.message ?? '', /status 4/);
  assert.ok(existsSync(join(sb.dir, 'stop.out')));
});

void test('stop is idempotent: a resource never started stops without running the stop command', async () => {
  const { res, config, drv } = setup({ start: 'true', stop: 'echo ran >> stop.out' });
  assert.deepEqual(await drv.stop(res, START, sb.ctx(config)), { result: 'ok' });
  assert.equal(existsSync(join(sb.dir, 'stop.out')), false);
  await drv.start(res, START, sb.ctx(config));
  assert.ok(existsSync(activeFile(sb.stateDir, 'exec1')));
  assert.deepEqual(await drv.stop(res, START, sb.ctx(config)), { result: 'ok' });
  assert.deepEqual(await drv.stop(res, START, sb.ctx(config)), { result: 'ok' });
  assert.equal(readFileSync(join(sb.dir, 'stop.out'), 'utf8'), 'ran\n');
  assert.deepEqual(await drv.monitor(res, sb.ctx(config)), { result: 'stopped' });
});

void test('missing, non-executable and unknown programs are code 4 and not-installed, naming the path', async () => {
  const { res, config, drv } = setup({ start: './missing.sh' });
  await assert.rejects(drv.start(res, START, sb.ctx(config)), (e: unknown) => {
    assert.ok(e instanceof NotInstalledError);
    assert.equal(e.code, 4);
    assert.equal(e.object, 'exec1');
    assert.ok(e.message.includes(join(sb.dir, 'missing.sh')), e.message);
    assert.match(e.remedy, /chmod \+x/);
    return true;
  });
  sb.script('noexec.sh', 'true', 0o644);
  const r2 = execResource('exec1', { cwd: sb.dir, start: './noexec.sh' });
  await assert.rejects(drv.start(r2, START, sb.ctx(config)), /is not executable/);
  const r3 = execResource('exec1', { cwd: sb.dir, start: 'no-such-program-xyz --flag' });
  await assert.rejects(drv.start(r3, START, sb.ctx(config)), (e: unknown) => {
    assert.ok(e instanceof NotInstalledError);
    assert.match(e.message, /status 127 \(command not found\)/);
    return true;
  });
});

void test('abort (timeout) kills the whole process group, including children that ignore SIGTERM', async () => {
  const { res, config, drv } = setup({ start: './start.sh' });
  // A background child that ignores SIGTERM (it says `ready` once its trap is set), then a foreground sleep.
  sb.script('start.sh', `sh -c 'trap "" TERM; echo $$ > bg.pid; echo ready; exec sleep 1000' & sleep 1000`);
  const ac = new AbortController();
  const p = drv.start(res, START, sb.ctx(config, ac.signal));
  await sb.logLine(/^ready$/);
  const bg = Number(readFileSync(join(sb.dir, 'bg.pid'), 'utf8'));
  const t0 = Date.now();
  ac.abort(new Error('deadline'));
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ResourceError);
    assert.equal(e.code, 3);
    return true;
  });
  const took = Date.now() - t0;
  assert.ok(took >= 1_900 && took < 5_000, `SIGKILL came after the 2 s grace (took ${took} ms)`);
  assert.equal(isProcessAlive(bg, null), false);
});

void test('async: the process is the resource; tracked across a daemon restart; stop terminates its group', async () => {
  const { res, config, drv } = setup({
    start: 'echo started; exec sleep 1000',
    stop: 'echo stopping > stop.out',
    async: true,
  });
  assert.deepEqual(await drv.start(res, START, sb.ctx(config)), { result: 'ok' });
  const rec = readAsyncRecord(sb.stateDir, 'exec1');
  assert.ok(rec && rec.pid === rec.pgid && rec.startTime !== null);
  assert.ok(readPgids(runDirOf(sb.stateDir)).includes(rec.pgid));
  assert.ok(isProcessAlive(rec.pid, rec.startTime));
  // Output of async processes goes to a file (a pipe would break on daemon restart).
  await waitUntil('output written', () =>
    readFileSync(join(runDirOf(sb.stateDir), 'exec1.out'), 'utf8').includes('started'),
  );
  // A second start while it runs does not spawn another.
  assert.deepEqual(await drv.start(res, START, sb.ctx(config)), { result: 'ok' });
  assert.equal(readAsyncRecord(sb.stateDir, 'exec1')?.pid, rec.pid);
  // "Daemon restart": a fresh driver instance finds it through the record.
  const drv2 = new ExecDriver();
  assert.deepEqual(await drv2.monitor(res, sb.ctx(config)), { result: 'running' });
  assert.deepEqual(await drv2.stop(res, START, sb.ctx(config)), { result: 'ok' });
  assert.equal(isGroupAlive(rec.pgid), false);
  assert.ok(existsSync(join(sb.dir, 'stop.out')));
  assert.equal(existsSync(pidFile(sb.stateDir, 'exec1')), false);
  assert.deepEqual(await drv2.monitor(res, sb.ctx(config)), { result: 'stopped' });
  assert.deepEqual(await drv2.stop(res, START, sb.ctx(config)), { result: 'ok' });
});

void test('async: a recycled pid (different start time) is not the resource', async () => {
  const { res, config, drv } = setup({ start: 'exec sleep 1000', async: true });
  // Our own pid is alive, but the recorded start time does not match.
  mkdirSync(runDirOf(sb.stateDir), { recursive: true });
  writeFileSync(
    pidFile(sb.stateDir, 'exec1'),
    JSON.stringify({
      pid: process.pid,
      pgid: process.pid,
      startTime: '1',
      bootId: null,
      command: 'x',
      startedAt: 0,
    }),
  );
  assert.deepEqual(await drv.monitor(res, sb.ctx(config)), { result: 'stopped' });
});

void test('async: a start command that exits at once fails with code 5', async () => {
  const { res, config, drv } = setup({ start: 'echo bye; exit 0', async: true });
  const r = await drv.start(res, START, sb.ctx(config));
  assert.equal(r.result, 'failed');
  assert.equal(r.code, 5);
  assert.match(r.message ?? '', /status 0 within 100 ms/);
  assert.equal(existsSync(pidFile(sb.stateDir, 'exec1')), false);
});

void test('async stop: SIGKILL after SIGTERM is ignored until the timeout is nearly used up', async () => {
  sb = new Sandbox();
  const res = execResource(
    'exec1',
    { cwd: sb.dir, start: "trap '' TERM; echo trapped; exec sleep 1000", async: true },
    { timeoutMs: 1_300 },
  );
  const config = makeConfig({ baseDir: sb.dir, resources: [res] });
  const drv = new ExecDriver();
  assert.deepEqual(await drv.start(res, START, sb.ctx(config)), { result: 'ok' });
  const rec = readAsyncRecord(sb.stateDir, 'exec1')!;
  // Async output goes to a file: wait until the trap is set before stopping.
  const out = join(runDirOf(sb.stateDir), 'exec1.out');
  await waitUntil('trap set', () => readFileSync(out, 'utf8').includes('trapped'));
  const t0 = Date.now();
  assert.deepEqual(await drv.stop(res, START, sb.ctx(config)), { result: 'ok' });
  assert.ok(Date.now() - t0 >= 250, 'waited for SIGTERM first');
  assert.equal(isGroupAlive(rec.pgid), false);
  assert.ok(sb.logs.some((l) => /did not stop on SIGTERM; sending SIGKILL/.test(l.msg)));
});

void test('hard stop: SIGKILL at once to the async group, without running the stop command', async () => {
  const { res, config, drv } = setup({
    start: "trap '' TERM; sleep 1000",
    stop: 'echo ran > stop.out',
    async: true,
  });
  await drv.start(res, START, sb.ctx(config));
  const rec = readAsyncRecord(sb.stateDir, 'exec1')!;
  const t0 = Date.now();
  assert.deepEqual(await drv.stop(res, { ...START, hard: true }, sb.ctx(config)), { result: 'ok' });
  assert.ok(Date.now() - t0 < 1_000);
  await waitUntil('group gone', () => !isGroupAlive(rec.pgid));
  assert.equal(existsSync(join(sb.dir, 'stop.out')), false);
  assert.deepEqual(await drv.monitor(res, sb.ctx(config)), { result: 'stopped' });
});

void test('hard stop of a plain resource kills what its start left running and a start still in flight', async () => {
  const { res, config, drv } = setup({ start: './start.sh', stop: 'echo ran > stop.out' });
  sb.script('start.sh', 'sleep 1000 >/dev/null 2>&1 & echo $! > bg.pid');
  await drv.start(res, START, sb.ctx(config));
  const bg = Number(readFileSync(join(sb.dir, 'bg.pid'), 'utf8'));
  assert.ok(isProcessAlive(bg, null));
  assert.deepEqual(await drv.stop(res, { ...START, hard: true }, sb.ctx(config)), { result: 'ok' });
  await waitUntil('background child gone', () => !isProcessAlive(bg, null));
  assert.equal(existsSync(join(sb.dir, 'stop.out')), false);

  // A start still running is killed by the hard stop, and the start call fails saying so.
  sb.script('start.sh', "trap '' TERM; echo ready; sleep 1000");
  const p = drv.start(res, START, sb.ctx(config));
  await sb.logLine(/^ready$/);
  const t0 = Date.now();
  await drv.stop(res, { ...START, hard: true }, sb.ctx(config));
  const r = await p;
  assert.equal(r.result, 'failed');
  assert.equal(r.code, 1);
  assert.match(r.message ?? '', /killed by a stop of exec1/);
  assert.ok(Date.now() - t0 < 1_500);
});

void test('a marker from another boot does not count as running', async () => {
  const { res, config, drv } = setup({ start: 'true' });
  await drv.start(res, START, sb.ctx(config));
  writeFileSync(
    activeFile(sb.stateDir, 'exec1'),
    JSON.stringify({ bootId: 'another-boot', at: 0, pgid: null }),
  );
  assert.deepEqual(await drv.monitor(res, sb.ctx(config)), { result: 'stopped' });
});

void test('validate reports bad params, per server too', () => {
  const { config, drv } = setup({ start: 'true' });
  const bad = execResource(
    'exec1',
    { cwd: 'relative', start: '' },
    { perServer: { 'node-1': { env: { 'A-B': 'x' } } } },
  );
  const problems = drv.validate(bad, config);
  assert.ok(problems.some((p) => p.startsWith('start:')));
  assert.ok(problems.some((p) => p.startsWith('cwd:')));
  assert.ok(problems.some((p) => p.startsWith('servers.node-1: env.A-B')));
});
