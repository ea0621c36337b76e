import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SystemClock } from './system-clock.ts';

void test('system clock: monotonic now, wall time near Date.now', () => {
  const c = new SystemClock();
  let prev = c.nowMs();
  for (let i = 0; i < 1000; i++) {
    const t = c.nowMs();
    assert.ok(t >= prev);
    prev = t;
  }
  assert.ok(Math.abs(c.wallMs() - Date.now()) < 1000);
});

void test('system clock: timers fire once after their delay, cancelled ones never', async () => {
  const c = new SystemClock();
  const t0 = c.nowMs();
  let cancelledFired = false;
  const cancelled = c.setTimer(5, () => {
    cancelledFired = true;
  });
  cancelled.cancel();
  cancelled.cancel(); // idempotent
  const firedAt = await new Promise<number>((resolve) => c.setTimer(20, () => resolve(c.nowMs())));
  assert.ok(firedAt - t0 >= 19, `fired after ${firedAt - t0} ms`);
  assert.equal(cancelledFired, false);
  const never = c.setTimer(Infinity, () => assert.fail('an infinite delay never fires'));
  never.cancel();
  await new Promise<void>((resolve) => c.setTimer(Number.NaN, resolve));
});
