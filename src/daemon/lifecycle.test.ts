// Tests of the disposable store: reverse-order disposal, awaited one at a time, errors reported without
// stopping the rest, late registrations disposed at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DisposableStore } from './lifecycle.ts';

void test('disposes newest first, awaiting each; a failing one does not stop the rest', async () => {
  const order: string[] = [];
  const errors: string[] = [];
  const store = new DisposableStore((name) => errors.push(name));
  store.defer('api', () => void order.push('api'));
  store.defer('transport', async () => {
    await new Promise((r) => setImmediate(r));
    order.push('transport');
  });
  store.defer('bad', () => {
    throw new Error('boom');
  });
  store.defer('loop', () => void order.push('loop'));
  assert.equal(store.size, 4);
  await store.dispose();
  assert.deepEqual(order, ['loop', 'transport', 'api']);
  assert.deepEqual(errors, ['bad']);
  assert.equal(store.size, 0);
  await store.dispose();
});

void test('release disposes one item early; forget drops it; late additions are disposed at once', async () => {
  const order: string[] = [];
  const store = new DisposableStore();
  const a = store.add('a', { dispose: () => void order.push('a') });
  const b = store.add('b', { dispose: () => void order.push('b') });
  await store.release(a);
  store.forget(b);
  assert.deepEqual(store.names(), []);
  await store.dispose();
  assert.deepEqual(order, ['a']);
  store.defer('late', () => void order.push('late'));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(order, ['a', 'late']);
});
