// Randomized (seeded) test of the mirror volume state machine (src/mirror/core/volume-state.ts): two
// copies driven through random writes, partitions, crashes, restarts, promotions, demotions, breaks and
// recovers. Ground truth: each copy's content is the set of writes it holds (an activation without the
// peer counts as a write: the application may write at once). Invariants, after every step:
// - never two primaries while replicating to each other;
// - a copy is promoted only when UpToDate, or forced;
// - no promotion without force loses a write acknowledged by the other copy (the copy that may lack
//   writes is only Consistent after a restart, and refused with MD_PEER_UNKNOWN), except writes the other
//   copy made while both servers were up and not mirroring (a partition: only the cluster's NP resolution
//   and fencing rule those out, not this engine) and once the copies have diverged (a split brain, itself
//   the result of such an excused or forced loss, reported on the next connect);
// - on every connect the decision matches the contents: a copy holding writes the other lacks is newer,
//   both holding such writes is split brain (never mirrored until recover), equal contents never split brain;
// - after a resync both copies hold the same writes and their generations compare identical;
// - with autoRecovery off, no resync starts on a link unless the operator asked for it (recover, on either
//   server) or one copy is fresh (the initial full sync);
// - a copy whose disk failed is never promoted (even forced), never a resync source, stays failed across
//   restarts until recover rebuilds it (its content is then gone until the full resync lands);
// - an operator break on the primary outdates the mirrored secondary before the link drops (unless the
//   message is lost, modelled by the break op's flag), so its unforced activation loses nothing.
// A write made alone is excused from the loss check only while the other copy is up and still believes
// itself UpToDate (a partition); a copy that knows it is behind (Outdated, Consistent, ...) must be refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  CLEAN_FLAGS,
  initVolumeState,
  isReplicating,
  step,
  type CopyFlags,
  type PeerInfo,
  type VolumeAction,
  type VolumeEvent,
  type VolumeState,
} from '../../src/mirror/core/volume-state.ts';
import { compareCopies, JUST_CREATED, type Generations } from '../../src/mirror/core/generations.ts';

interface Node {
  name: 'a' | 'b';
  up: boolean;
  state: VolumeState;
  disk: { generations: Generations; flags: CopyFlags };
  content: Set<string>;
  dirty: number;
}

type Msg = { to: 0 | 1; event: (now: number) => VolumeEvent };

class World {
  readonly autoRecovery: boolean;
  nodes: [Node, Node];
  linked = false;
  resync: { source: 0 | 1 } | null = null;
  now = 0;
  ids = 1;
  writes = 0;
  queue: Msg[] = [];
  log: string[] = [];
  /** Writes made while the other server was up but not mirroring (see the excuse in the header). */
  excused = new Set<string>();
  refusals: string[] = [];
  /** The operator asked for a recovery since the link came up (or asked while it was down). */
  recoverAsked = false;
  /** The next operator break loses its outdate message (the secondary cannot be told). */
  dropOutdate = false;

  constructor(opts: { autoRecovery?: boolean } = {}) {
    this.autoRecovery = opts.autoRecovery ?? true;
    const g: Generations = { current: this.id(), bitmap: null, history: [] };
    const mk = (name: 'a' | 'b'): Node => ({
      name,
      up: true,
      disk: { generations: g, flags: CLEAN_FLAGS },
      state: initVolumeState({
        name,
        volumeId: 'vol',
        size: 1 << 20,
        generations: g,
        flags: CLEAN_FLAGS,
        dirtyBytes: 0,
        autoRecovery: this.autoRecovery,
      }),
      content: new Set(),
      dirty: 0,
    });
    this.nodes = [mk('a'), mk('b')];
  }

  id(): string {
    return (this.ids++).toString(16).padStart(16, '0');
  }

  info(i: 0 | 1): PeerInfo {
    const s = this.nodes[i].state;
    return {
      volumeId: s.volumeId,
      size: s.size,
      generations: s.generations,
      flags: s.flags,
      role: s.role,
      dirtyBytes: this.nodes[i].dirty,
    };
  }

  /** Feeds one event to node i, carries out its actions, then delivers queued messages. */
  feed(i: 0 | 1, event: VolumeEvent): readonly VolumeAction[] {
    const n = this.nodes[i];
    const wasAlonePrimary = n.state.role === 'primary' && !isReplicating(n.state.connection);
    const wasFailed = n.state.flags.diskFailed;
    const wasResyncing = n.state.connection.kind === 'Resyncing';
    const r = step(n.state, event);
    n.state = r.state;
    // A rebuilt copy (recover after a disk failure) holds nothing trustworthy until the full resync lands.
    if (wasFailed && !n.state.flags.diskFailed) {
      n.content = new Set();
      n.dirty = 0;
    }
    if (!wasResyncing && n.state.connection.kind === 'Resyncing') this.checkResyncAllowed(n.name);
    for (const a of r.actions) this.act(i, a);
    this.noteAlone(i, wasAlonePrimary);
    // A resync whose source stopped (a disk failed, a refusal) is over: part of it landed.
    if (this.resync !== null && this.nodes[this.resync.source].state.connection.kind !== 'Resyncing')
      this.interruptResync();
    return r.actions;
  }

  /** autoRecovery off: a resync starts only when asked for, or for a fresh copy. */
  checkResyncAllowed(who: string): void {
    if (this.autoRecovery || this.recoverAsked) return;
    const fresh = this.nodes.some((x) => x.state.generations.current === JUST_CREATED);
    assert.ok(
      fresh,
      `resync started on ${who} with autoRecovery off, unasked: ${this.log.slice(-12).join(' | ')}`,
    );
  }

  /** A primary that starts running without its peer may write at once: count it as a write. */
  noteAlone(i: 0 | 1, was: boolean): void {
    const n = this.nodes[i];
    const is = n.state.role === 'primary' && !isReplicating(n.state.connection);
    if (is && !was) {
      const id = `alone-${n.name}-${this.writes++}`;
      n.content.add(id);
      if (this.unaware(i)) this.excused.add(id);
      n.dirty++;
    }
  }

  /** The other copy is up and believes itself UpToDate: what node i writes alone now is excused. */
  unaware(i: 0 | 1): boolean {
    const o = this.nodes[1 - i]!;
    return o.up && o.state.local === 'UpToDate';
  }

  act(i: 0 | 1, a: VolumeAction): void {
    const n = this.nodes[i];
    const other = (1 - i) as 0 | 1;
    switch (a.type) {
      case 'persist':
        n.disk = { generations: a.generations, flags: a.flags };
        break;
      case 'send-meta': {
        const info = this.info(i);
        if (this.linked)
          this.queue.push({
            to: other,
            event: (nowMs) => ({ type: 'peer-meta', nowMs, peer: info, newId: this.id() }),
          });
        break;
      }
      case 'start-resync':
        assert.ok(!n.state.flags.diskFailed, 'a failed copy is a resync source');
        this.checkResyncAllowed(n.name);
        // Asked for by the operator: the target has recorded that it is being overwritten first.
        if (!this.autoRecovery && !this.nodes.some((x) => x.state.generations.current === JUST_CREATED))
          assert.ok(this.nodes[other].disk.flags.inconsistent, 'source started before the target was ready');
        if (this.linked) this.resync = { source: i };
        break;
      case 'send-resync-done':
        if (this.linked)
          this.queue.push({
            to: other,
            event: (nowMs) => ({ type: 'resync-done', nowMs, generations: a.generations }),
          });
        break;
      case 'send-recover':
        if (this.linked)
          this.queue.push({
            to: other,
            event: (nowMs) => ({ type: 'recover', nowMs, source: 'peer', newId: this.id() }),
          });
        break;
      case 'send-recover-start':
        if (this.linked)
          this.queue.push({
            to: other,
            event: (nowMs) => ({ type: 'peer-recover-start', nowMs, newId: this.id() }),
          });
        break;
      case 'send-outdate':
        // The engine waits for the ack before the disconnect that follows: delivered at once, or lost.
        if (this.linked && !this.dropOutdate && this.nodes[other].up)
          this.feed(other, { type: 'peer-outdate', nowMs: this.now });
        break;
      case 'send-outdate-ack':
        break;
      case 'disconnect':
        if (this.linked) this.unlink(i);
        break;
      case 'refuse':
        this.refusals.push(a.refusal.code);
        break;
      case 'log':
        break;
    }
  }

  drain(): void {
    for (let guard = 0; this.queue.length > 0; guard++) {
      assert.ok(guard < 100, 'message storm');
      const m = this.queue.shift()!;
      if (!this.linked) continue;
      this.feed(m.to, m.event(this.now));
    }
  }

  /** Drops the link; `except` already knows (it crashed or asked for it). */
  unlink(except?: 0 | 1): void {
    this.interruptResync();
    this.linked = false;
    this.recoverAsked = false;
    this.queue = [];
    for (const i of [0, 1] as const) {
      if (i !== except && this.nodes[i].up)
        this.feed(i, { type: 'peer-lost', nowMs: this.now, newId: this.id() });
    }
    this.queue = [];
  }

  interruptResync(): void {
    if (this.resync === null) return;
    const src = this.nodes[this.resync.source];
    const dst = this.nodes[1 - this.resync.source]!;
    // Part of the copy landed: the target lost what the source overwrote and has not all of the source's.
    dst.content = new Set([...dst.content].filter((w) => src.content.has(w)));
    this.resync = null;
  }
}

function relation(a: Set<string>, b: Set<string>): 'equal' | 'a-newer' | 'b-newer' | 'diverged' {
  const aOnly = [...a].some((w) => !b.has(w));
  const bOnly = [...b].some((w) => !a.has(w));
  return aOnly && bOnly ? 'diverged' : aOnly ? 'a-newer' : bOnly ? 'b-newer' : 'equal';
}

function checkConnect(w: World): void {
  const [a, b] = w.nodes;
  const rel = relation(a.content, b.content);
  const da = a.state.lastDecision;
  const db = b.state.lastDecision;
  const ctx = `${rel} a=${da?.kind} b=${db?.kind} ${w.log.slice(-12).join(' | ')}`;
  if (rel === 'diverged') {
    for (const n of w.nodes) {
      assert.ok(!isReplicating(n.state.connection), `diverged copies are mirrored: ${ctx}`);
      if (n.state.lastDecision !== null)
        assert.ok(['split-brain', 'unrelated'].includes(n.state.lastDecision.kind), ctx);
    }
  } else if (rel === 'a-newer') {
    if (da !== null) assert.equal(da.kind, 'local-newer', ctx);
    if (db !== null) assert.equal(db.kind, 'peer-newer', ctx);
  } else if (rel === 'b-newer') {
    if (da !== null) assert.equal(da.kind, 'peer-newer', ctx);
    if (db !== null) assert.equal(db.kind, 'local-newer', ctx);
  } else {
    for (const d of [da, db]) if (d !== null) assert.ok(!['split-brain', 'unrelated'].includes(d.kind), ctx);
  }
}

function checkAlways(w: World): void {
  const [a, b] = w.nodes;
  if (w.linked) {
    assert.ok(
      !(
        a.state.role === 'primary' &&
        b.state.role === 'primary' &&
        isReplicating(a.state.connection) &&
        isReplicating(b.state.connection)
      ),
      `two primaries replicating: ${w.log.slice(-10).join(' | ')}`,
    );
    // Both sides agree on whether they mirror.
    assert.equal(
      isReplicating(a.state.connection),
      isReplicating(b.state.connection),
      `replication disagreement: ${w.log.slice(-10).join(' | ')} ${JSON.stringify([a.state, b.state])}`,
    );
  }
  for (const n of w.nodes) {
    // The copy a pending recovery would overwrite is Outdated, on disk too when it lacks writes.
    const c = n.state.connection;
    if (n.up && c.kind === 'RecoveryPending' && c.direction === 'from-peer') {
      assert.equal(n.state.local === 'Outdated' || n.state.local === 'Inconsistent', true, n.state.local);
      if (n.state.lastDecision?.kind === 'peer-newer')
        assert.ok(n.disk.flags.outdated, 'outdated not persisted');
    }
    if (n.up && n.state.role === 'primary' && w.linked && isReplicating(n.state.connection)) {
      assert.ok(
        !(n.state.connection.kind === 'Resyncing' && n.state.connection.direction === 'from-peer'),
        'a primary is a resync target',
      );
    }
  }
}

type Op = [kind: number, node: 0 | 1, flag: boolean];

/** How often the interesting cases came up (the random tests check they did). */
const stats = {
  lossChecks: 0,
  peerUnknownRefusals: 0,
  pendingSeen: 0,
  pendingStarted: 0,
  failedRefusals: 0,
  rebuilt: 0,
  needsSource: 0,
  outdatedByBreak: 0,
};

const OPS = [
  'write',
  'partition',
  'reconnect',
  'crash',
  'restart',
  'promote',
  'demote',
  'resync',
  'recover',
  'break',
  'disk-failure',
  'recover-auto',
];

function run(ops: Op[], opts: { autoRecovery?: boolean } = {}): World {
  const w = new World(opts);
  const reconnect = (): void => {
    if (w.linked || !w.nodes[0].up || !w.nodes[1].up) return;
    w.linked = true;
    const ia = w.info(0);
    const ib = w.info(1);
    const pendingRecover = w.nodes.some((n) => n.state.pendingRecover !== null);
    w.recoverAsked = pendingRecover;
    w.feed(0, { type: 'peer-connected', nowMs: w.now, peer: ib, newId: w.id() });
    w.feed(1, { type: 'peer-connected', nowMs: w.now, peer: ia, newId: w.id() });
    if (!pendingRecover) checkConnect(w);
    w.drain();
  };
  reconnect();
  for (const [kind, i, flag] of ops) {
    w.now += 1000;
    const n = w.nodes[i];
    w.log.push(`${OPS[kind]}(${n.name}${flag ? ',!' : ''})`);
    switch (kind) {
      case 0: {
        // A failed disk fails the write (EIO): nothing is acknowledged.
        if (!n.up || n.state.role !== 'primary' || n.state.flags.diskFailed) break;
        const id = `w${w.writes++}`;
        n.content.add(id);
        const o = w.nodes[1 - i]!;
        if (w.linked && isReplicating(n.state.connection)) {
          assert.ok(isReplicating(o.state.connection));
          o.content.add(id);
        } else {
          if (w.unaware(i)) w.excused.add(id);
          n.dirty++;
          w.feed(i, { type: 'dirty', nowMs: w.now, dirtyBytes: n.dirty * 65536 });
        }
        break;
      }
      case 1:
        if (w.linked) w.unlink();
        break;
      case 2:
        reconnect();
        break;
      case 3:
        if (!n.up) break;
        if (w.linked) {
          n.up = false;
          w.unlink(i);
        }
        n.up = false;
        break;
      case 4:
        if (n.up) break;
        n.up = true;
        n.state = initVolumeState({
          name: n.name,
          volumeId: 'vol',
          size: 1 << 20,
          generations: n.disk.generations,
          flags: n.disk.flags,
          dirtyBytes: n.dirty * 65536,
          autoRecovery: w.autoRecovery,
        });
        assert.equal(
          n.state.local === 'Failed',
          n.disk.flags.diskFailed,
          'a disk failure survives a restart',
        );
        break;
      case 5: {
        if (!n.up) break;
        const before = n.state;
        const o = w.nodes[1 - i]!;
        const lost = [...o.content].filter((x) => !n.content.has(x) && !w.excused.has(x));
        const diverged = relation(n.content, o.content) === 'diverged';
        const acts = w.feed(i, { type: 'promote', nowMs: w.now, force: flag, newId: w.id() });
        const refused = acts.some((a) => a.type === 'refuse');
        if (acts.some((a) => a.type === 'refuse' && a.refusal.code === 'MD_PEER_UNKNOWN'))
          stats.peerUnknownRefusals++;
        if (acts.some((a) => a.type === 'refuse' && a.refusal.code === 'MD_DISK_FAILED'))
          stats.failedRefusals++;
        if (before.flags.diskFailed)
          assert.ok(before.role === 'primary' || refused, 'a failed copy promoted');
        if (before.role !== 'primary' && !refused) {
          assert.equal(n.state.role, 'primary');
          assert.ok(flag || before.local === 'UpToDate', `promoted a ${before.local} copy unforced`);
          if (!flag && !diverged) {
            stats.lossChecks++;
            assert.deepEqual(
              lost,
              [],
              `unforced activation of ${n.name} loses writes ${o.name} acknowledged: ${w.log.slice(-12).join(' | ')}`,
            );
          }
        }
        if (refused) assert.equal(n.state.role, before.role);
        w.drain();
        break;
      }
      case 6:
        if (!n.up) break;
        w.feed(i, { type: 'demote', nowMs: w.now });
        w.drain();
        break;
      case 7: {
        if (!w.linked || w.resync === null) break;
        const src = w.resync.source;
        const dst = (1 - src) as 0 | 1;
        w.nodes[dst].content = new Set(w.nodes[src].content);
        w.resync = null;
        w.nodes[0].dirty = 0;
        w.nodes[1].dirty = 0;
        w.feed(src, { type: 'resync-done', nowMs: w.now });
        w.drain();
        const [a, b] = w.nodes;
        assert.equal(relation(a.content, b.content), 'equal');
        assert.equal(
          compareCopies(a.state.generations, b.state.generations).kind,
          'identical',
          w.log.slice(-12).join(' | '),
        );
        assert.equal(a.state.connection.kind, 'Connected');
        assert.equal(b.state.connection.kind, 'Connected');
        assert.equal(a.state.local, 'UpToDate');
        assert.equal(b.state.local, 'UpToDate');
        break;
      }
      case 8:
      case 11: {
        if (!n.up) break;
        w.recoverAsked = true;
        const pending = w.nodes.some((x) => x.state.connection.kind === 'RecoveryPending');
        const failed = w.nodes.some((x) => x.state.flags.diskFailed);
        const acts = w.feed(i, {
          type: 'recover',
          nowMs: w.now,
          source: kind === 11 ? 'auto' : flag ? 'local' : 'peer',
          newId: w.id(),
        });
        w.drain();
        if (acts.some((a) => a.type === 'refuse' && a.refusal.code === 'MD_RECOVER_NEEDS_SOURCE'))
          stats.needsSource++;
        if (pending && w.resync !== null) stats.pendingStarted++;
        if (failed && !w.nodes.some((x) => x.state.flags.diskFailed)) stats.rebuilt++;
        break;
      }
      case 9: {
        if (!n.up) break;
        const o = w.nodes[1 - i]!;
        const told = !flag && n.state.role === 'primary' && w.linked && isReplicating(n.state.connection);
        w.dropOutdate = flag;
        w.feed(i, { type: 'break', nowMs: w.now, newId: w.id() });
        w.dropOutdate = false;
        w.drain();
        if (told) {
          stats.outdatedByBreak++;
          // (Inconsistent when it was the target of a recovery: not activated unforced either.)
          assert.ok(['Outdated', 'Inconsistent'].includes(o.state.local), `break left it ${o.state.local}`);
          assert.ok(o.disk.flags.outdated && o.disk.flags.broken, 'persisted before the link drops');
        }
        break;
      }
      case 10:
        if (!n.up) break;
        w.feed(i, { type: 'local-io-error', nowMs: w.now, op: flag ? 'read' : 'write', error: 'EIO' });
        w.drain();
        assert.equal(n.state.local, 'Failed');
        assert.ok(!(w.linked && isReplicating(n.state.connection)), 'a failed copy is mirrored');
        break;
    }
    checkAlways(w);
    if (w.nodes.some((x) => x.state.connection.kind === 'RecoveryPending')) {
      stats.pendingSeen++;
      assert.equal(w.autoRecovery, false, 'a recovery pending with autoRecovery on');
    }
  }
  return w;
}

const opArb = fc.tuple(
  // Writes, reconnects and resyncs are the common events; the rest are faults and operator requests.
  fc.constantFrom(0, 0, 0, 1, 2, 2, 3, 4, 4, 5, 5, 6, 7, 7, 7, 8, 9, 11),
  fc.constantFrom<0 | 1>(0, 1),
  fc.boolean(),
) as fc.Arbitrary<Op>;

/** Disk failures are rarer: a failed copy stays failed until a recover. */
const diskFailureArb = fc.tuple(
  fc.constant(10),
  fc.constantFrom<0 | 1>(0, 1),
  fc.boolean(),
) as fc.Arbitrary<Op>;
const opArbWithFailures = fc.oneof(
  { arbitrary: opArb, weight: 100 },
  { arbitrary: diskFailureArb, weight: 1 },
);

/** autoRecovery off: copies that differ on reconnect (partitions, writes alone) and recovers without source. */
const manualOpArb = fc.oneof(
  {
    arbitrary: fc.tuple(
      fc.constantFrom(0, 0, 0, 1, 1, 2, 2, 2, 3, 4, 4, 5, 5, 6, 7, 7, 7, 8, 9, 11, 11, 11),
      fc.constantFrom<0 | 1>(0, 1),
      fc.boolean(),
    ),
    weight: 100,
  },
  { arbitrary: diskFailureArb, weight: 1 },
);

test('random event sequences keep the mirror invariants (seeded)', () => {
  fc.assert(
    fc.property(fc.array(opArb, { minLength: 5, maxLength: 80 }), (ops) => {
      run(ops);
    }),
    {
      seed: 20260105,
      numRuns: 2000,
    },
  );
  // The seeded runs do reach the cases the invariants are about.
  assert.ok(stats.lossChecks > 300, `only ${stats.lossChecks} unforced activations checked`);
  assert.ok(stats.peerUnknownRefusals > 15, `only ${stats.peerUnknownRefusals} MD_PEER_UNKNOWN refusals`);
});

test('random event sequences with autoRecovery off keep the invariants: nothing is copied unasked (seeded)', () => {
  const before = { ...stats };
  fc.assert(
    fc.property(fc.array(manualOpArb, { minLength: 5, maxLength: 80 }), (ops) => {
      run(ops, { autoRecovery: false });
    }),
    { seed: 20260417, numRuns: 1500 },
  );
  const seen = (k: keyof typeof stats): number => stats[k] - before[k];
  assert.ok(seen('lossChecks') > 200, `only ${seen('lossChecks')} unforced activations checked`);
  assert.ok(seen('pendingSeen') > 150, `only ${seen('pendingSeen')} steps with a recovery pending`);
  assert.ok(seen('pendingStarted') > 15, `only ${seen('pendingStarted')} pending recoveries started`);
  assert.ok(seen('failedRefusals') > 10, `only ${seen('failedRefusals')} failed copies refused`);
  assert.ok(seen('rebuilt') > 10, `only ${seen('rebuilt')} failed copies rebuilt by recover`);
  assert.ok(seen('needsSource') > 0, 'no recover without a source was refused');
  assert.ok(seen('outdatedByBreak') > 10, `only ${seen('outdatedByBreak')} secondaries outdated by a break`);
});

test('random event sequences with disk failures keep the invariants (seeded)', () => {
  const before = { ...stats };
  fc.assert(
    fc.property(fc.array(opArbWithFailures, { minLength: 5, maxLength: 80 }), (ops) => {
      run(ops);
    }),
    { seed: 20260418, numRuns: 1000 },
  );
  const seen = (k: keyof typeof stats): number => stats[k] - before[k];
  assert.ok(
    seen('failedRefusals') > 5,
    `only ${seen('failedRefusals')} activations of a failed copy refused`,
  );
  assert.ok(seen('rebuilt') > 5, `only ${seen('rebuilt')} failed copies rebuilt by recover`);
});

test('a restarted secondary activated alone is refused: it may lack writes the primary made alone', () => {
  // a primary, b secondary, in sync; b goes down; a writes alone; a crashes; b restarts and is activated.
  const w = run([
    [5, 0, false],
    [0, 0, false],
    [3, 1, false],
    [0, 0, false],
    [3, 0, false],
    [4, 1, false],
    [5, 1, false],
  ]);
  assert.equal(w.nodes[1].state.role, 'secondary');
  assert.equal(w.nodes[1].state.local, 'Consistent');
  assert.deepEqual(w.refusals, ['MD_PEER_UNKNOWN']);
  // a restarts: it persisted that b is outdated, so it is UpToDate alone and activated without force.
  run([
    [5, 0, false],
    [0, 0, false],
    [3, 1, false],
    [0, 0, false],
    [3, 0, false],
    [4, 0, false],
    [5, 0, false],
    [0, 0, false],
    [4, 1, false],
    [2, 0, false],
    [7, 0, false],
  ]);
  // Forced, b is activated (the operator accepts losing a's writes); a's copy is then split brain.
  const f = run([
    [5, 0, false],
    [0, 0, false],
    [3, 1, false],
    [0, 0, false],
    [3, 0, false],
    [4, 1, false],
    [5, 1, true],
    [0, 1, false],
    [4, 0, false],
    [2, 0, false],
  ]);
  assert.equal(f.nodes[1].state.role, 'primary');
  assert.equal(f.nodes[0].state.connection.kind, 'SplitBrain');
});

test('a primary that crashed while connected is not fresh after a restart: its peer may have taken over', () => {
  // a primary crashes; b (never restarted) takes over and writes alone; b crashes; a restarts alone.
  const w = run([
    [5, 0, false],
    [0, 0, false],
    [3, 0, false],
    [5, 1, false],
    [0, 1, false],
    [3, 1, false],
    [4, 0, false],
    [5, 0, false],
  ]);
  assert.equal(w.nodes[0].state.local, 'Consistent');
  assert.deepEqual(w.refusals, ['MD_PEER_UNKNOWN']);
});

test('a secondary that stayed up when its primary crashed is activated without force', () => {
  const w = run([
    [5, 0, false],
    [0, 0, false],
    [3, 0, false],
    [5, 1, false],
    [0, 1, false],
  ]);
  assert.equal(w.nodes[1].state.role, 'primary');
  assert.deepEqual(w.refusals, []);
});

test('a primary that fails over and writes is newer; the old primary catches up from the bitmap', () => {
  // a primary, b secondary, in sync; a crashes; b activated and written; a returns.
  run([
    [5, 0, false],
    [0, 0, false],
    [3, 0, false],
    [5, 1, false],
    [0, 1, false],
    [4, 0, false],
    [2, 0, false],
    [7, 0, false],
  ]);
});

test('regression: recover as victim asked while disconnected, then activated alone', () => {
  run([
    [1, 0, false],
    [8, 0, false],
    [5, 0, false],
    [0, 0, false],
    [2, 0, false],
  ]);
});

test('regression: a forced activation of a partly recovered copy is newer, not unrelated', () => {
  run([
    [8, 0, true],
    [0, 0, false],
    [1, 0, false],
    [5, 1, true],
    [2, 0, false],
    [0, 0, false],
  ]);
});

test('regression: break, recover while disconnected, forced activation of the broken copy', () => {
  run([
    [9, 1, false],
    [8, 0, true],
    [0, 0, false],
    [0, 0, false],
    [5, 1, true],
    [2, 0, false],
    [0, 0, false],
  ]);
});
