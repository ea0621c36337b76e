import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ReplayGuard, compareIncarnations, isIncarnation, newIncarnation } from './replay-guard.ts';

const INC_A = newIncarnation(1_767_225_600_000, () => 0.5);
const INC_B = newIncarnation(1_767_225_700_000, () => 0.25);

void test('newIncarnation: 15 wall digits, a dash, 8 hex; later starts sort later', () => {
  assert.equal(INC_A, '001767225600000-80000000');
  assert.equal(
    newIncarnation(0, () => 0),
    '000000000000000-00000000',
  );
  assert.equal(
    newIncarnation(5, () => 0.9999999999),
    '000000000000005-ffffffff',
  );
  assert.ok(isIncarnation(INC_A));
  assert.ok(compareIncarnations(INC_A, INC_B) < 0);
  fc.assert(
    fc.property(
      fc.nat(2 ** 45),
      fc.nat(2 ** 45),
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      (a, b, r) => {
        const x = newIncarnation(a, () => r);
        const y = newIncarnation(b, () => r);
        return (
          isIncarnation(x) &&
          (a < b ? compareIncarnations(x, y) < 0 : a > b ? compareIncarnations(x, y) > 0 : x === y)
        );
      },
    ),
  );
});

void test('replay guard: a duplicate or older seq on the same interconnect is dropped', () => {
  const g = new ReplayGuard();
  assert.equal(g.check('node-1', 'lan1', INC_A, 5), 'accepted');
  assert.equal(g.check('node-1', 'lan1', INC_A, 5), 'replayed');
  assert.equal(g.check('node-1', 'lan1', INC_A, 4), 'replayed');
  assert.equal(g.check('node-1', 'lan1', INC_A, 6), 'accepted');
});

void test('replay guard: each interconnect delivers the same report once', () => {
  const g = new ReplayGuard();
  assert.equal(g.check('node-1', 'lan1', INC_A, 1), 'accepted');
  assert.equal(g.check('node-1', 'lan2', INC_A, 1), 'accepted');
  assert.equal(g.check('node-1', 'lan2', INC_A, 1), 'replayed');
  assert.equal(g.check('node-2', 'lan1', INC_A, 1), 'accepted', 'servers are independent');
});

void test('replay guard: an older incarnation is dropped, a newer one accepted and resets the window', () => {
  const g = new ReplayGuard();
  assert.equal(g.check('node-1', 'lan1', INC_B, 100), 'accepted');
  assert.equal(g.check('node-1', 'lan1', INC_A, 101), 'replayed', 'packet of an earlier run');
  assert.equal(g.check('node-1', 'lan2', INC_A, 1), 'replayed', 'on any interconnect');
  const inc3 = newIncarnation(1_767_225_800_000, () => 0.1);
  assert.equal(g.check('node-1', 'lan2', inc3, 1), 'accepted', 'restarted daemon starts over at seq 1');
  assert.equal(g.check('node-1', 'lan1', inc3, 1), 'accepted', 'old window of lan1 is gone');
  assert.equal(g.check('node-1', 'lan1', INC_B, 500), 'replayed');
  assert.equal(g.incarnationOf('node-1'), inc3);
});

void test('replay guard: malformed incarnations and seqs are never accepted; forget lets a server back in', () => {
  const g = new ReplayGuard();
  assert.equal(g.check('node-1', 'lan1', 'x', 1), 'replayed');
  assert.equal(g.check('node-1', 'lan1', INC_A, -1), 'replayed');
  assert.equal(g.check('node-1', 'lan1', INC_A, 1.5), 'replayed');
  assert.equal(g.check('node-1', 'lan1', INC_B, 1), 'accepted');
  g.forget('node-1');
  assert.equal(g.check('node-1', 'lan1', INC_A, 1), 'accepted', 'clock went back: heard again after forget');
});

void test('replay guard: bounded number of servers, least recently accepted forgotten first', () => {
  const g = new ReplayGuard({ maxServers: 2 });
  g.check('a', 'lan1', INC_A, 1);
  g.check('b', 'lan1', INC_A, 1);
  g.check('a', 'lan1', INC_A, 2);
  g.check('c', 'lan1', INC_A, 1);
  assert.equal(g.incarnationOf('b'), null);
  assert.equal(g.incarnationOf('a'), INC_A);
  assert.equal(g.incarnationOf('c'), INC_A);
});

void test('replay guard: accepted seqs strictly increase per (server, via) within an incarnation (property)', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.constantFrom('lan1', 'lan2'), fc.nat(20)), { maxLength: 60 }),
      (steps) => {
        const g = new ReplayGuard();
        const last = new Map<string, number>();
        for (const [via, seq] of steps) {
          const v = g.check('node-1', via, INC_A, seq);
          const prev = last.get(via);
          assert.equal(v, prev === undefined || seq > prev ? 'accepted' : 'replayed');
          if (v === 'accepted') last.set(via, seq);
        }
      },
    ),
  );
});
