/**
 * Fakes for the daemon loop tests: a scripted core node (each `ready()` returns the next queued Ready), a
 * state store whose saves the test completes by hand, a recording transport and an in-memory alert log.
 * They share one `trace` array so a test can assert the exact order of what the loop did.
 */
import type {
  CoreEvent,
  NodeView,
  OperatorOp,
  PeerReport,
  PersistedState,
  Ready,
} from '../../src/core/types.ts';
import type { CoreNodeLike } from '../../src/daemon/loop.ts';
import type { AlertLog, AlertRecord, StateStore } from '../../src/ports/store.ts';
import type { HeartbeatTransport } from '../../src/ports/transport.ts';
import type { StatusDoc } from '../../src/shared/status.ts';

export function emptyReady(over: Partial<Ready> = {}): Ready {
  return {
    send: null,
    actions: [],
    alerts: [],
    diagnostics: [],
    replies: [],
    wakeAtMs: null,
    persist: null,
    ...over,
  };
}

export function report(server: string, over: Partial<PeerReport> = {}): PeerReport {
  return {
    cluster: 'cluster1',
    server,
    incarnation: '000000000000001-00000001',
    seq: 1,
    sentAtMs: 0,
    configHash: 'test-hash',
    service: 'running',
    isolated: false,
    echo: {},
    groups: { failover1: { state: 'offline', claim: null } },
    grants: {},
    failedGroups: [],
    monitorErrors: 0,
    resources: {},
    monitors: {},
    ...over,
  };
}

export const STATUS: StatusDoc = {
  cluster: { name: 'cluster1', state: 'online' },
  servers: [{ name: 'node-1', state: 'online', local: true, heartbeats: [], np: [] }],
  groups: [{ name: 'failover1', state: 'offline', server: null, resources: [] }],
  monitors: [],
};

export class FakeNode implements CoreNodeLike {
  readonly steps: { event: CoreEvent; nowMs: number }[] = [];
  readonly readies: Ready[] = [];
  /** Called on every step; may push Readies (e.g. a reply for an operator request). */
  onStep: ((event: CoreEvent) => void) | null = null;
  status: StatusDoc = STATUS;

  constructor(readonly trace: string[] = []) {}

  step(event: CoreEvent, nowMs: number): void {
    this.steps.push({ event, nowMs });
    this.trace.push(`step:${event.type}`);
    this.onStep?.(event);
  }

  ready(): Ready {
    return this.readies.shift() ?? emptyReady();
  }

  view(_nowMs: number): NodeView {
    return { status: this.status, plan: { server: 'node-1', steps: [] } };
  }

  routeFor(_op: OperatorOp, _nowMs: number): string {
    return 'node-1';
  }
}

/** A store whose saves stay pending until the test calls `complete()` (or fail when `failWith` is set). */
export class ManualStore implements Pick<StateStore, 'save'> {
  readonly saved: PersistedState[] = [];
  #pending: (() => void)[] = [];
  failWith: Error | null = null;
  /** When true, saves complete at once. */
  auto = false;

  constructor(readonly trace: string[]) {}

  save(state: PersistedState): Promise<void> {
    this.trace.push('persist:start');
    if (this.failWith) return Promise.reject(this.failWith);
    const done = (): void => {
      this.saved.push(state);
      this.trace.push('persist:done');
    };
    if (this.auto) {
      done();
      return Promise.resolve();
    }
    return new Promise((resolve) =>
      this.#pending.push(() => {
        done();
        resolve();
      }),
    );
  }

  get pending(): number {
    return this.#pending.length;
  }

  complete(): void {
    const p = this.#pending.shift();
    if (!p) throw new Error('no save pending');
    p();
  }
}

export class RecordingTransport implements Pick<HeartbeatTransport, 'broadcast'> {
  readonly sent: PeerReport[] = [];
  constructor(readonly trace: string[]) {}
  broadcast(r: PeerReport): void {
    this.sent.push(r);
    this.trace.push(`send:${r.seq}`);
  }
}

export class MemoryAlertLog implements AlertLog {
  readonly records: AlertRecord[] = [];
  append(entry: Omit<AlertRecord, 'seq'>): AlertRecord {
    const r = { ...entry, seq: this.records.length + 1 };
    this.records.push(r);
    return r;
  }
  list(opts: { afterSeq?: number; limit?: number } = {}): AlertRecord[] {
    const after = this.records.filter((r) => r.seq > (opts.afterSeq ?? 0));
    return opts.limit === undefined ? after : after.slice(-opts.limit);
  }
  flush(): Promise<void> {
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}
