// Tests of the executor: every action ends in exactly one event; results vs thrown ResourceErrors vs
// not-installed vs deadline (timeout) vs cancel; NP checks give one np-result per target; the witness one
// event. Simulated handlers on a virtual clock, plus one run of the real handlers with a real exec resource.
import { createAwsAccess } from '../aws/access.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Action, CoreEvent, ResourceAction } from '../core/types.ts';
import { RecordingLogger } from '../adapters/recording-logger.ts';
import { SystemClock } from '../adapters/system-clock.ts';
import { NotInstalledError } from '../drivers/messages.ts';
import { isProcessAlive } from '../drivers/process/proc.ts';
import { monitorDrivers, resourceDrivers } from '../drivers/registry.ts';
import { ResourceError } from '../shared/errors.ts';
import type { CompiledHttpNp } from '../shared/config/types.ts';
import { FakeClock } from '../../test/fakes/fake-clock.ts';
import { execResource, makeConfig, monitor } from '../../test/daemon-fakes/config.ts';
import { Sandbox } from '../../test/daemon-fakes/driver-ctx.ts';
import { report } from '../../test/daemon-fakes/fake-node.ts';
import { Executor, type ActionHandlers } from './executor.ts';
import { createDefaultHandlers } from './handlers.ts';

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

const np = (name: string, timeoutMs = 2_000): CompiledHttpNp => ({
  name,
  target: '127.0.0.1',
  port: 9,
  ssl: false,
  path: '/',
  intervalMs: 5_000,
  timeoutMs,
});

function resourceAction(id: string, over: Partial<ResourceAction> = {}): ResourceAction {
  return {
    kind: 'resource',
    id,
    reason: 'test',
    verb: 'start',
    resource: 'exec1',
    group: 'failover1',
    timeoutMs: 1_000,
    event: 'START',
    failoverFrom: null,
    ...over,
  };
}

function never<T>(): Promise<T> {
  return new Promise<T>(() => undefined);
}

function rig(handlers: Partial<ActionHandlers>) {
  const clock = new FakeClock(0);
  const events: CoreEvent[] = [];
  const signals: AbortSignal[] = [];
  const base: ActionHandlers = {
    resource: () => Promise.resolve({ result: 'ok' }),
    monitor: () => Promise.resolve({ result: 'running' }),
    script: () => Promise.resolve({ result: 'ok' }),
    os: () => Promise.resolve({ result: 'ok' }),
    fence: () => Promise.resolve({ result: 'ok' }),
    'np-check': (t) => Promise.resolve({ target: t.name, ok: true, detail: 'HTTP 200 in 1 ms' }),
    witness: () => Promise.resolve({ ok: true, detail: 'ok', peers: {} }),
  };
  const config = makeConfig({
    baseDir: '/tmp',
    np: [np('np1'), np('np2', 4_000)],
    witness: { target: '127.0.0.1', port: 1, ssl: false, intervalMs: 1_000, timeoutMs: 3_000 },
  });
  const ex = new Executor({
    config,
    clock,
    logger: new RecordingLogger(),
    handlers: { ...base, ...handlers },
    emit: (e) => events.push(e),
    lastReport: () => report('node-1', { seq: 7 }),
  });
  return { clock, events, signals, ex };
}

void test('a result is `done` with its code and message; exactly one event', async () => {
  const r = rig({ resource: () => Promise.resolve({ result: 'failed', code: 1, message: 'exit 3' }) });
  r.ex.run(resourceAction('a1'));
  await flush();
  assert.deepEqual(r.events, [
    {
      type: 'action-done',
      actionId: 'a1',
      outcome: { exec: 'done', result: 'failed', code: 1, message: 'exit 3' },
    },
  ]);
  r.clock.advance(5_000);
  assert.equal(r.events.length, 1);
  assert.equal(r.clock.pendingTimers(), 0);
  assert.equal(r.ex.inFlight, 0);
});

void test('a thrown ResourceError is a failed result; NotInstalledError and ENOENT are not-installed; others are error', async () => {
  const errs: Error[] = [
    new ResourceError({ code: 2, object: 'exec1', message: 'stop failed', remedy: 'x', retryable: true }),
    new NotInstalledError({
      code: 4,
      object: 'exec1',
      message: 'no ./start.sh',
      remedy: 'x',
      retryable: false,
    }),
    Object.assign(new Error('spawn /bin/sh ENOENT'), { code: 'ENOENT' }),
    new TypeError('boom'),
  ];
  let i = 0;
  const r = rig({ resource: () => Promise.reject(errs[i++] ?? new Error('no more')) });
  for (let k = 0; k < errs.length; k++) r.ex.run(resourceAction(`a${k}`));
  await flush();
  assert.deepEqual(
    r.events.map((e) => (e.type === 'action-done' ? e.outcome : null)),
    [
      { exec: 'done', result: 'failed', code: 2, message: 'stop failed' },
      { exec: 'not-installed', code: 4, message: 'no ./start.sh' },
      { exec: 'not-installed', message: 'spawn /bin/sh ENOENT' },
      { exec: 'error', message: 'boom' },
    ],
  );
});

void test('the deadline is enforced whatever the handler does: timeout at once, signal aborted, late result dropped', async () => {
  let signal: AbortSignal | null = null;
  let finish: (() => void) | null = null;
  const r = rig({
    monitor: (_a, ctx) => {
      signal = ctx.signal;
      return new Promise((res) => (finish = () => res({ result: 'running' })));
    },
  });
  r.ex.run({ kind: 'monitor', id: 'm1', reason: 'interval', monitor: 'custom1', timeoutMs: 300 });
  r.clock.advance(299);
  await flush();
  assert.deepEqual(r.events, []);
  r.clock.advance(1);
  assert.equal(signal!.aborted, true);
  assert.deepEqual(r.events, [
    {
      type: 'action-done',
      actionId: 'm1',
      outcome: { exec: 'timeout', message: 'check of monitor custom1 did not finish within 300 ms' },
    },
  ]);
  finish!();
  await flush();
  assert.equal(r.events.length, 1);
  assert.equal(r.ex.inFlight, 0);
});

void test('cancel gives `cancelled`; dispose aborts the rest and emits nothing more', async () => {
  const signals: AbortSignal[] = [];
  const r = rig({
    resource: (_a, ctx) => {
      signals.push(ctx.signal);
      return new Promise((_res, rej) => ctx.signal.addEventListener('abort', () => rej(new Error('killed'))));
    },
  });
  r.ex.run(resourceAction('a1'));
  r.ex.run(resourceAction('a2'));
  r.ex.cancel('a1');
  await flush();
  assert.equal(r.events.length, 1);
  const e = r.events[0]!;
  assert.ok(e.type === 'action-done' && e.outcome.exec === 'cancelled');
  await r.ex.dispose();
  assert.equal(signals[1]!.aborted, true);
  assert.equal(r.events.length, 1);
  assert.equal(r.ex.inFlight, 0);
  r.ex.run(resourceAction('a3'));
  assert.equal(r.ex.inFlight, 0);
});

void test('np-check: one np-result per configured target, a hung probe ends at its timeout plus a second', async () => {
  const r = rig({
    'np-check': (t) =>
      t.name === 'np1' ? Promise.resolve({ target: 'np1', ok: true, detail: 'HTTP 200 in 3 ms' }) : never(),
  });
  r.clock.advance(10);
  r.ex.run({ kind: 'np-check', id: 'n1', reason: 'peer lost' });
  await flush();
  assert.deepEqual(r.events, [
    { type: 'np-result', target: 'np1', ok: true, sentAtMs: 10, detail: 'HTTP 200 in 3 ms' },
  ]);
  r.clock.advance(5_000);
  assert.deepEqual(r.events[1], {
    type: 'np-result',
    target: 'np2',
    ok: false,
    sentAtMs: 10,
    detail: 'no answer within 5000 ms',
  });
  assert.equal(r.events.length, 2);
});

void test('witness: posts the last report sent, one event with the send time; a failure is ok: false', async () => {
  const seen: number[] = [];
  let fail = false;
  const r = rig({
    witness: (_a, rep) => {
      seen.push(rep?.seq ?? -1);
      if (fail) return Promise.reject(new Error('ECONNREFUSED'));
      return Promise.resolve({ ok: true, detail: 'ok', peers: { 'node-2': { ageMs: 12, report: null } } });
    },
  });
  r.clock.advance(42);
  r.ex.run({ kind: 'witness', id: 'w1', reason: 'interval' });
  fail = true;
  r.ex.run({ kind: 'witness', id: 'w2', reason: 'interval' });
  await flush();
  assert.deepEqual(seen, [7, 7]);
  assert.deepEqual(r.events, [
    {
      type: 'witness',
      ok: true,
      sentAtMs: 42,
      peers: { 'node-2': { ageMs: 12, report: null } },
      detail: 'ok',
    },
    { type: 'witness', ok: false, sentAtMs: 42, peers: {}, detail: 'ECONNREFUSED' },
  ]);
});

void test('real handlers: an exec start that outlives its timeout is reported as timeout and its group is killed', async () => {
  const sb = new Sandbox();
  try {
    sb.script('start.sh', 'sleep 1000 & echo $! > bg.pid; sleep 1000');
    sb.script('check.sh', 'exit 1');
    const res = execResource('exec1', { cwd: sb.dir, start: './start.sh', stop: 'true' });
    const config = makeConfig({
      baseDir: sb.dir,
      resources: [res],
      monitors: [monitor('custom1', 'custom', { cwd: sb.dir, command: './check.sh' })],
    });
    const events: CoreEvent[] = [];
    let wake: (() => void) | null = null;
    const ex = new Executor({
      config,
      clock: new SystemClock(),
      logger: new RecordingLogger(),
      handlers: createDefaultHandlers({
        server: 'node-1',
        config,
        stateDir: sb.stateDir,
        resourceDrivers: resourceDrivers(),
        monitorDrivers: monitorDrivers(),
        aws: createAwsAccess(config.aws),
        npProber: { probe: (t) => Promise.resolve({ target: t.name, ok: true, detail: 'x' }) },
        witness: null,
      }),
      emit: (e) => {
        events.push(e);
        wake?.();
      },
      lastReport: () => null,
    });
    const next = (): Promise<void> => new Promise((r) => (wake = r));
    const actions: Action[] = [
      resourceAction('start1', { timeoutMs: 300 }),
      { kind: 'monitor', id: 'mon1', reason: 'interval', monitor: 'custom1', timeoutMs: 5_000 },
      resourceAction('unknown', { resource: 'nope' }),
    ];
    for (const a of actions) {
      const got = next();
      ex.run(a);
      await got;
    }
    const [t, m, u] = events.map((e) => (e.type === 'action-done' ? e.outcome : null));
    assert.equal(t?.exec, 'timeout');
    assert.deepEqual(m, {
      exec: 'done',
      result: 'failed',
      code: 1,
      message: 'The monitor command reported an error. It exited with status 1: ./check.sh',
    });
    assert.deepEqual(u, {
      exec: 'done',
      result: 'failed',
      code: 6,
      message: 'The object is not in the configuration this daemon runs with. There is no resource nope.',
    });
    await ex.dispose();
    const bg = Number(readFileSync(join(sb.dir, 'bg.pid'), 'utf8'));
    assert.equal(isProcessAlive(bg, null), false);
  } finally {
    sb.cleanup();
  }
});
