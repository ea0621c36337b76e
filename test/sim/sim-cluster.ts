/**
 * Simulated multi-server cluster (STYLE.md 20): N `ClusterNode`s driven exactly as the daemon drives one,
 * over an in-memory network with per-link cuts and latencies, a simulated witness, simulated NP targets and
 * simulated resources whose *actual* state the invariant checker reads. Everything runs on a FakeClock, so a
 * case is repeatable from its seed.
 *
 * Ground truth for "active": a resource counts as active on a server from the moment its start action is
 * dispatched until its stop action completes (conservative: a half-started resource may already serve).
 */
import { ClusterNode } from '../../src/core/node.ts';
import type { Action, CoreEvent, PeerReport, PersistedState, Ready } from '../../src/core/types.ts';
import type { CompiledConfig } from '../../src/shared/config/types.ts';
import { FakeClock } from '../fakes/fake-clock.ts';

/** Deterministic PRNG (mulberry32) so a case replays from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SimOptions {
  config: CompiledConfig;
  seed: number;
  /** One-way message latency range on interconnects, ms. */
  latencyMs?: [number, number];
  /** Duration range of a resource start/stop, ms. */
  actionMs?: [number, number];
}

interface SimServer {
  name: string;
  node: ClusterNode | null;
  incarnation: number;
  persisted: PersistedState | null;
  /** Resources actually running (ground truth). */
  active: Set<string>;
  wake: { cancel(): void } | null;
  /** Monitors forced to fail on this server. */
  failingMonitors: Set<string>;
  /** Resources whose start fails on this server. */
  failingStarts: Set<string>;
  /** Actions of this incarnation still running. */
  inflight: Set<string>;
  osLog: string[];
}

export interface Violation {
  atMs: number;
  message: string;
}

export class SimCluster {
  readonly clock = new FakeClock(1_000);
  readonly config: CompiledConfig;
  readonly servers = new Map<string, SimServer>();
  readonly rand: () => number;
  /** Directed interconnect cuts: `${from}>${to}`. */
  readonly cutLinks = new Set<string>();
  /** Servers that cannot reach the witness. */
  readonly witnessCut = new Set<string>();
  /** Servers that cannot reach any NP target. */
  readonly npCut = new Set<string>();
  readonly violations: Violation[] = [];
  readonly log: string[] = [];
  #witness = new Map<string, { arrivedAt: number; report: PeerReport }>();
  /** Latest report each server sent (what it posts to the witness). */
  #reports = new Map<string, PeerReport>();
  #latency: [number, number];
  #actionMs: [number, number];

  constructor(opts: SimOptions) {
    this.config = opts.config;
    this.rand = prng(opts.seed);
    this.#latency = opts.latencyMs ?? [1, 5];
    this.#actionMs = opts.actionMs ?? [10, 200];
    for (const s of this.config.servers) {
      this.servers.set(s.name, {
        name: s.name,
        node: null,
        incarnation: 0,
        persisted: null,
        active: new Set(),
        wake: null,
        failingMonitors: new Set(),
        failingStarts: new Set(),
        inflight: new Set(),
        osLog: [],
      });
    }
  }

  get now(): number {
    return this.clock.nowMs();
  }

  #between(r: [number, number]): number {
    return r[0] + Math.floor(this.rand() * (r[1] - r[0] + 1));
  }

  #srv(name: string): SimServer {
    const s = this.servers.get(name);
    if (!s) throw new Error(`no server ${name}`);
    return s;
  }

  /** Boot (or reboot) a server's daemon. Resources that are still running stay running (daemon restart). */
  boot(name: string): void {
    const s = this.#srv(name);
    if (s.node) return;
    s.incarnation++;
    s.inflight.clear();
    const incarnation = `${String(this.now).padStart(15, '0')}-${name}-${s.incarnation}`;
    s.node = new ClusterNode({
      config: this.config,
      self: name,
      incarnation,
      nowMs: this.now,
      persisted: s.persisted,
    });
    this.log.push(`${this.now} boot ${name}`);
    this.#drain(s);
  }

  /** Hard crash of the machine: daemon and resources die at once (kill -9 of everything). */
  crash(name: string): void {
    const s = this.#srv(name);
    if (!s.node) return;
    s.node = null;
    s.wake?.cancel();
    s.wake = null;
    s.active.clear();
    s.inflight.clear();
    this.log.push(`${this.now} crash ${name}`);
  }

  isUp(name: string): boolean {
    return this.#srv(name).node !== null;
  }

  cut(a: string, b: string): void {
    this.cutLinks.add(`${a}>${b}`);
    this.cutLinks.add(`${b}>${a}`);
  }

  /** Server loses every path: interconnects, witness and NP targets. */
  isolate(name: string): void {
    for (const o of this.servers.keys()) if (o !== name) this.cut(name, o);
    this.witnessCut.add(name);
    this.npCut.add(name);
  }

  healAll(): void {
    this.cutLinks.clear();
    this.witnessCut.clear();
    this.npCut.clear();
  }

  setMonitorFailing(server: string, monitor: string, failing: boolean): void {
    const s = this.#srv(server);
    if (failing) s.failingMonitors.add(monitor);
    else s.failingMonitors.delete(monitor);
  }

  setStartFailing(server: string, resource: string, failing: boolean): void {
    const s = this.#srv(server);
    if (failing) s.failingStarts.add(resource);
    else s.failingStarts.delete(resource);
  }

  operate(server: string, request: Extract<CoreEvent, { type: 'operator' }>['request']): void {
    this.#feed(this.#srv(server), { type: 'operator', requestId: `op-${this.now}-${this.rand()}`, request });
  }

  /** Advance virtual time, checking the invariant after every delivered event. */
  run(ms: number): void {
    const until = this.now + ms;
    for (;;) {
      const next = this.clock.nextAt();
      if (next === null || next > until) break;
      this.clock.runUntil(next);
      this.checkSafety();
    }
    this.clock.runUntil(until);
  }

  /** Servers on which any resource of `group` is actually active. */
  activeOn(group: string): string[] {
    const g = this.config.groups.find((x) => x.name === group);
    if (!g) return [];
    const out: string[] = [];
    for (const s of this.servers.values()) if (g.resources.some((r) => s.active.has(r))) out.push(s.name);
    return out;
  }

  /** Servers on which every resource of `group` is active. */
  fullyOnlineOn(group: string): string[] {
    const g = this.config.groups.find((x) => x.name === group);
    if (!g) return [];
    const out: string[] = [];
    for (const s of this.servers.values()) if (g.resources.every((r) => s.active.has(r))) out.push(s.name);
    return out;
  }

  checkSafety(): void {
    for (const g of this.config.groups) {
      const on = this.activeOn(g.name);
      if (on.length > 1) {
        const message = `group ${g.name} active on ${on.join(' and ')}`;
        if (!this.violations.some((v) => v.message === message))
          this.violations.push({ atMs: this.now, message });
      }
    }
  }

  // ---- driving one node --------------------------------------------------------------------------

  #feed(s: SimServer, ev: CoreEvent): void {
    if (!s.node) return;
    s.node.step(ev, this.now);
    this.#drain(s);
  }

  #drain(s: SimServer): void {
    const node = s.node;
    if (!node) return;
    const r: Ready = node.ready();
    if (r.persist) s.persisted = structuredClone(r.persist);
    if (r.send) {
      this.#reports.set(s.name, structuredClone(r.send));
      this.#broadcast(s, r.send);
    }
    for (const a of r.actions) this.#dispatch(s, a);
    for (const al of r.alerts)
      this.log.push(`${this.now} ${s.name} alert ${al.level} ${al.code} ${al.object}: ${al.message}`);
    s.wake?.cancel();
    s.wake = null;
    if (r.wakeAtMs !== null) {
      const inc = s.incarnation;
      s.wake = this.clock.setTimer(Math.max(0, r.wakeAtMs - this.now), () => {
        if (s.incarnation === inc) this.#feed(s, { type: 'tick' });
      });
    }
  }

  #broadcast(from: SimServer, report: PeerReport): void {
    const lans = this.config.servers[0]?.interconnects ?? [];
    for (const peer of this.servers.values()) {
      if (peer.name === from.name) continue;
      if (this.cutLinks.has(`${from.name}>${peer.name}`)) continue;
      for (const lan of lans) {
        const copy = structuredClone(report);
        const inc = peer.incarnation;
        this.clock.setTimer(this.#between(this.#latency), () => {
          if (peer.incarnation === inc && !this.cutLinks.has(`${from.name}>${peer.name}`))
            this.#feed(peer, { type: 'heartbeat', via: lan.name, report: copy });
        });
      }
    }
  }

  #later(
    s: SimServer,
    actionId: string,
    delayMs: number,
    ev: () => CoreEvent | null,
    effect?: () => void,
  ): void {
    const inc = s.incarnation;
    s.inflight.add(actionId);
    this.clock.setTimer(delayMs, () => {
      if (s.incarnation !== inc || !s.node) return;
      s.inflight.delete(actionId);
      effect?.();
      const e = ev();
      if (e) this.#feed(s, e);
    });
  }

  #dispatch(s: SimServer, a: Action): void {
    const done = (outcome: Extract<CoreEvent, { type: 'action-done' }>['outcome']): CoreEvent => ({
      type: 'action-done',
      actionId: a.id,
      outcome,
    });
    switch (a.kind) {
      case 'resource': {
        const d = this.#between(this.#actionMs);
        if (a.verb === 'start') {
          s.active.add(a.resource);
          const fail = s.failingStarts.has(a.resource);
          this.#later(
            s,
            a.id,
            d,
            () =>
              done(
                fail
                  ? { exec: 'done', result: 'failed', code: 1, message: 'simulated start failure' }
                  : { exec: 'done', result: 'ok' },
              ),
            () => {
              if (fail) s.active.delete(a.resource);
            },
          );
        } else if (a.verb === 'stop') {
          this.#later(
            s,
            a.id,
            a.hard ? 1 : d,
            () => done({ exec: 'done', result: 'ok' }),
            () => s.active.delete(a.resource),
          );
        } else {
          const running = s.active.has(a.resource);
          this.#later(s, a.id, 5, () => done({ exec: 'done', result: running ? 'running' : 'stopped' }));
        }
        return;
      }
      case 'monitor': {
        const failing = s.failingMonitors.has(a.monitor);
        this.#later(s, a.id, 5, () =>
          done(
            failing
              ? { exec: 'done', result: 'failed', code: 1, message: 'simulated monitor failure' }
              : { exec: 'done', result: 'running' },
          ),
        );
        return;
      }
      case 'script':
        this.#later(s, a.id, 5, () => done({ exec: 'done', result: 'ok' }));
        return;
      case 'os': {
        s.osLog.push(`${this.now} ${a.action}`);
        this.log.push(`${this.now} ${s.name} os ${a.action} (${a.reason})`);
        const name = s.name;
        // The machine goes down shortly after; a reboot brings the daemon back later.
        this.clock.setTimer(50, () => {
          this.crash(name);
          if (a.action === 'reboot') this.clock.setTimer(5_000, () => this.boot(name));
        });
        return;
      }
      case 'fence': {
        // A forced stop powers the peer's machine off (its daemon and resources are gone), then reports ok.
        const target = a.server;
        this.log.push(`${this.now} ${s.name} fences ${target} (${a.reason})`);
        this.#later(
          s,
          a.id,
          300,
          () => done({ exec: 'done', result: 'ok', message: 'instance stopped' }),
          () => this.crash(target),
        );
        return;
      }
      case 'np-check': {
        for (const t of this.config.cluster.networkPartition.http) {
          const cut = this.npCut.has(s.name);
          const sentAtMs = this.now;
          this.#later(s, `${a.id}/${t.name}`, cut ? t.timeoutMs : 3, () => ({
            type: 'np-result',
            target: t.name,
            ok: !cut,
            sentAtMs,
            detail: cut ? `timeout after ${t.timeoutMs} ms` : 'HTTP 200 in 3 ms',
          }));
        }
        return;
      }
      case 'witness': {
        const w = this.config.cluster.witness;
        if (!w) return;
        const sentAtMs = this.now;
        if (this.witnessCut.has(s.name)) {
          this.#later(s, a.id, Math.max(200, Math.floor(w.timeoutMs / 2)), () => ({
            type: 'witness',
            ok: false,
            sentAtMs,
            peers: {},
            detail: 'timeout',
          }));
          return;
        }
        const report = this.#reports.get(s.name) ?? null;
        this.#later(s, a.id, 4, () => {
          if (report) this.#witness.set(s.name, { arrivedAt: sentAtMs + 2, report });
          const peers: Record<string, { ageMs: number; report: PeerReport | null }> = {};
          for (const [name, e] of this.#witness) {
            if (name === s.name) continue;
            peers[name] = { ageMs: sentAtMs + 2 - e.arrivedAt, report: structuredClone(e.report) };
          }
          return { type: 'witness', ok: true, sentAtMs, peers };
        });
        return;
      }
    }
  }
}
