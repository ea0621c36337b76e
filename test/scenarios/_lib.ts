/**
 * Golden scenario runner for the decision core (STYLE.md 18, issue section 5): a small deterministic
 * discrete-event simulation of N `ClusterNode`s (no daemon shell, no randomness) driven by a scenario's
 * timeline, producing two texts that are compared with the scenario's `plan.expected` and
 * `summary.expected`:
 *
 * - plan: at every `check` step, each running server's rendered plan (`renderPlan`) and a one-line view of
 *   the groups;
 * - summary: everything that happened, in time order: timeline steps, alerts, resource/script/OS actions,
 *   operator replies, and diagnostics at warn or above.
 *
 * `input.json`:
 * ```
 * { "description": "...",
 *   "config": { raw cluster config object } | "raw YAML text",
 *   "configFor": { "node-2": { another raw config } },       // optional (config mismatch)
 *   "latencyMs": 1, "actionMs": 100,                           // optional
 *   "allowDiagnostics": ["substring of an expected warn/error diagnostic"],
 *   "timeline": [ { "at": 0, "do": "boot", "server": "node-1" }, ... ],
 *   "until": 30000 }
 * ```
 * Timeline steps (`do`): boot, crash, cut {a, b} / heal, cut-lan {a, b, lan}, np {server, reachable},
 * witness {server, reachable}, fail {server, resource, verb: start|stop, times (-1 = always)},
 * running {server, resource} (ground truth before boot: the probe finds it), monitor {server, monitor,
 * result: running|degraded|failed|timeout}, operator {server, request}, check.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ClusterNode, renderPlan } from '../../src/core/node.ts';
import type { Action, CoreEvent, OperatorOp, PeerReport, PersistedState } from '../../src/core/types.ts';
import { parseConfigText } from '../../src/shared/config/index.ts';
import type { CompiledConfig } from '../../src/shared/config/types.ts';

export interface TimelineStep {
  at: number;
  do: string;
  server?: string;
  a?: string;
  b?: string;
  lan?: string;
  reachable?: boolean;
  resource?: string;
  verb?: 'start' | 'stop';
  times?: number;
  monitor?: string;
  result?: 'running' | 'degraded' | 'failed' | 'timeout';
  request?: OperatorOp;
}

export interface ScenarioInput {
  description: string;
  config: unknown;
  configFor?: Record<string, unknown>;
  latencyMs?: number;
  actionMs?: number;
  allowDiagnostics?: string[];
  timeline: TimelineStep[];
  until: number;
}

export interface ScenarioOutput {
  plan: string;
  summary: string;
  /** Warn/error diagnostics that `allowDiagnostics` does not cover. */
  unexpected: string[];
}

/** Compile a raw config (object or YAML text) the way the daemon does; throws on errors. */
export function compileScenarioConfig(raw: unknown, file = '/etc/tandem/cluster.yaml'): CompiledConfig {
  const text = typeof raw === 'string' ? raw : stringify(raw);
  const { config, issues } = parseConfigText(text, file);
  const errors = issues.filter((i) => i.severity === 'error');
  if (!config || errors.length > 0)
    throw new Error(`scenario config invalid:\n${errors.map((e) => `${e.path}: ${e.message}`).join('\n')}`);
  return config;
}

interface Server {
  name: string;
  config: CompiledConfig;
  node: ClusterNode | null;
  gen: number;
  boots: number;
  persisted: PersistedState | null;
  active: Set<string>;
  failures: Map<string, number>;
  monitorResults: Map<string, NonNullable<TimelineStep['result']>>;
  npReachable: boolean;
  witnessReachable: boolean;
  wakeGen: number;
}

interface Queued {
  at: number;
  seq: number;
  run: () => void;
}

export class ScenarioSim {
  now = 0;
  readonly summary: string[] = [];
  readonly plans: string[] = [];
  readonly unexpected: string[] = [];
  readonly servers = new Map<string, Server>();
  readonly #queue: Queued[] = [];
  #seq = 0;
  #ops = 0;
  readonly #cuts = new Set<string>();
  readonly #witness = new Map<string, { arrivedAt: number; report: PeerReport }>();
  readonly #lastSent = new Map<string, PeerReport>();
  readonly #latency: number;
  readonly #actionMs: number;
  readonly #allow: string[];
  readonly #base: CompiledConfig;

  constructor(input: ScenarioInput) {
    this.#base = compileScenarioConfig(input.config);
    this.#latency = input.latencyMs ?? 1;
    this.#actionMs = input.actionMs ?? 100;
    this.#allow = input.allowDiagnostics ?? [];
    for (const s of this.#base.servers) {
      const own = input.configFor?.[s.name];
      this.servers.set(s.name, {
        name: s.name,
        config: own === undefined ? this.#base : compileScenarioConfig(own),
        node: null,
        gen: 0,
        boots: 0,
        persisted: null,
        active: new Set(),
        failures: new Map(),
        monitorResults: new Map(),
        npReachable: true,
        witnessReachable: true,
        wakeGen: 0,
      });
    }
    for (const step of input.timeline) this.#at(step.at, () => this.#apply(step));
  }

  run(until: number): ScenarioOutput {
    for (;;) {
      this.#queue.sort((x, y) => x.at - y.at || x.seq - y.seq);
      const next = this.#queue[0];
      if (!next || next.at > until) break;
      this.#queue.shift();
      this.now = next.at;
      next.run();
    }
    this.now = until;
    this.#check('end');
    return {
      plan: this.plans.join('\n') + '\n',
      summary: this.summary.join('\n') + '\n',
      unexpected: this.unexpected,
    };
  }

  #at(at: number, run: () => void): void {
    this.#queue.push({ at, seq: this.#seq++, run });
  }

  #srv(name: string | undefined): Server {
    const s = name ? this.servers.get(name) : undefined;
    if (!s) throw new Error(`scenario names unknown server ${String(name)}`);
    return s;
  }

  #log(line: string): void {
    this.summary.push(`${String(this.now).padStart(6)} ${line}`);
  }

  #apply(step: TimelineStep): void {
    switch (step.do) {
      case 'boot': {
        const s = this.#srv(step.server);
        if (s.node) return;
        s.boots += 1;
        s.gen += 1;
        this.#log(`-- boot ${s.name}`);
        s.node = new ClusterNode({
          config: s.config,
          self: s.name,
          incarnation: `${s.name}#${s.boots}`,
          nowMs: this.now,
          persisted: s.persisted,
        });
        this.#drain(s);
        return;
      }
      case 'crash':
        this.#log(`-- crash ${this.#srv(step.server).name}`);
        this.#crash(this.#srv(step.server));
        return;
      case 'cut':
      case 'heal':
      case 'cut-lan': {
        const key = `${step.a}|${step.b}|${step.lan ?? '*'}`;
        const back = `${step.b}|${step.a}|${step.lan ?? '*'}`;
        if (step.do === 'heal') {
          this.#log(step.a ? `-- heal ${step.a} <-> ${step.b}` : '-- heal all interconnects');
          if (step.a) {
            this.#cuts.delete(key);
            this.#cuts.delete(back);
          } else this.#cuts.clear();
        } else {
          this.#log(`-- cut ${step.a} <-> ${step.b}${step.lan ? ` on ${step.lan}` : ''}`);
          this.#cuts.add(key);
          this.#cuts.add(back);
        }
        return;
      }
      case 'np':
        this.#srv(step.server).npReachable = step.reachable ?? true;
        this.#log(`-- NP targets ${step.reachable ? 'reachable' : 'unreachable'} from ${step.server}`);
        return;
      case 'witness':
        this.#srv(step.server).witnessReachable = step.reachable ?? true;
        this.#log(`-- witness ${step.reachable ? 'reachable' : 'unreachable'} from ${step.server}`);
        return;
      case 'fail':
        this.#srv(step.server).failures.set(`${step.verb}:${step.resource}`, step.times ?? -1);
        this.#log(
          `-- ${step.verb} of ${step.resource} on ${step.server} fails${step.times && step.times > 0 ? ` ${step.times} time(s)` : ''}`,
        );
        return;
      case 'running':
        this.#srv(step.server).active.add(step.resource ?? '');
        this.#log(`-- ${step.resource} is running on ${step.server}`);
        return;
      case 'monitor':
        this.#srv(step.server).monitorResults.set(step.monitor ?? '', step.result ?? 'running');
        this.#log(`-- monitor ${step.monitor} on ${step.server} now reports ${step.result}`);
        return;
      case 'operator': {
        const s = this.#srv(step.server);
        if (!step.request) throw new Error('operator step without request');
        this.#ops += 1;
        const id = `op${this.#ops}@${this.now}`;
        const route = s.node?.routeFor(step.request, this.now) ?? s.name;
        this.#log(`-- operator on ${s.name}: ${JSON.stringify(step.request)} (routed to ${route})`);
        this.#feed(this.#srv(route), { type: 'operator', requestId: id, request: step.request });
        return;
      }
      case 'check':
        this.#check(`check`);
        return;
      default:
        throw new Error(`unknown timeline step ${step.do}`);
    }
  }

  #check(label: string): void {
    this.plans.push(`== t=${this.now} (${label})`);
    for (const s of this.servers.values()) {
      if (!s.node) {
        this.plans.push(`${s.name}: down`);
        continue;
      }
      const v = s.node.view(this.now);
      this.plans.push(renderPlan(v.plan));
      const groups = v.status.groups.map(
        (g) =>
          `${g.name}=${g.state}${g.server ? `@${g.server}` : ''}${g.failedOn?.length ? ` failedOn:${g.failedOn.join('+')}` : ''}`,
      );
      const servers = v.status.servers.map((x) => `${x.name}=${x.state}`);
      this.plans.push(
        `  view: ${groups.join(' ')} | ${servers.join(' ')} | cluster ${v.status.cluster.state}`,
      );
    }
  }

  #crash(s: Server): void {
    s.node = null;
    s.gen += 1;
    s.active.clear();
  }

  #feed(s: Server, ev: CoreEvent): void {
    if (!s.node) return;
    s.node.step(ev, this.now);
    this.#drain(s);
  }

  /** Schedule `ev` for `s` after `delay`, dropped if the server restarts or crashes meanwhile. */
  #later(s: Server, delay: number, ev: () => CoreEvent | null, effect?: () => void): void {
    const gen = s.gen;
    this.#at(this.now + delay, () => {
      if (s.gen !== gen || !s.node) return;
      effect?.();
      const e = ev();
      if (e) this.#feed(s, e);
    });
  }

  #drain(s: Server): void {
    const node = s.node;
    if (!node) return;
    const r = node.ready();
    if (r.persist) s.persisted = structuredClone(r.persist);
    for (const a of r.alerts) this.#log(`${s.name} ALERT ${a.level} ${a.code} ${a.object}: ${a.message}`);
    for (const d of r.diagnostics) {
      if (d.level !== 'warn' && d.level !== 'error') continue;
      const line = `${s.name} DIAG ${d.level} ${d.msg} ${JSON.stringify(d.fields ?? {})}`;
      this.#log(line);
      if (!this.#allow.some((x) => line.includes(x))) this.unexpected.push(line);
    }
    for (const rep of r.replies) {
      this.#log(
        `${s.name} REPLY ${rep.requestId} ${rep.ok ? 'ok' : `refused ${rep.code}`}: ${rep.message}${rep.remedy ? ` (remedy: ${rep.remedy})` : ''}`,
      );
    }
    if (r.send) {
      this.#lastSent.set(s.name, structuredClone(r.send));
      this.#broadcast(s, r.send);
    }
    for (const a of r.actions) this.#dispatch(s, a);
    s.wakeGen += 1;
    const wg = s.wakeGen;
    if (r.wakeAtMs !== null) {
      const gen = s.gen;
      this.#at(Math.max(this.now, r.wakeAtMs), () => {
        if (s.gen === gen && s.wakeGen === wg) this.#feed(s, { type: 'tick' });
      });
    }
  }

  #broadcast(from: Server, report: PeerReport): void {
    for (const to of this.servers.values()) {
      if (to === from) continue;
      for (const lan of this.#base.servers[0]?.interconnects ?? []) {
        if (
          this.#cuts.has(`${from.name}|${to.name}|*`) ||
          this.#cuts.has(`${from.name}|${to.name}|${lan.name}`)
        )
          continue;
        const copy = structuredClone(report);
        this.#later(to, this.#latency, () => ({ type: 'heartbeat', via: lan.name, report: copy }));
      }
    }
  }

  #takeFailure(s: Server, key: string): boolean {
    const n = s.failures.get(key);
    if (n === undefined || n === 0) return false;
    if (n > 0) s.failures.set(key, n - 1);
    return true;
  }

  #dispatch(s: Server, a: Action): void {
    const done = (outcome: Extract<CoreEvent, { type: 'action-done' }>['outcome']): CoreEvent => ({
      type: 'action-done',
      actionId: a.id,
      outcome,
    });
    switch (a.kind) {
      case 'resource': {
        if (a.verb === 'probe') {
          const running = s.active.has(a.resource);
          this.#log(`${s.name} DO probe ${a.resource} -> ${running ? 'running' : 'stopped'}`);
          this.#later(s, 5, () => done({ exec: 'done', result: running ? 'running' : 'stopped' }));
          return;
        }
        const fail = this.#takeFailure(s, `${a.verb}:${a.resource}`);
        const extra =
          a.verb === 'start'
            ? ` event=${a.event}${a.failoverFrom ? ` from=${a.failoverFrom}` : ''}`
            : a.hard
              ? ' hard'
              : '';
        this.#log(
          `${s.name} DO ${a.verb} ${a.resource} (${a.group})${extra}: ${a.reason}${fail ? ' [will fail]' : ''}`,
        );
        if (a.verb === 'start') s.active.add(a.resource);
        this.#later(
          s,
          a.hard ? 1 : this.#actionMs,
          () =>
            done(
              fail
                ? { exec: 'done', result: 'failed', code: 1, message: `simulated ${a.verb} failure` }
                : { exec: 'done', result: 'ok' },
            ),
          () => {
            if (a.verb === 'stop' && !fail) s.active.delete(a.resource);
            if (a.verb === 'start' && fail) s.active.delete(a.resource);
          },
        );
        return;
      }
      case 'monitor': {
        const res = s.monitorResults.get(a.monitor) ?? 'running';
        this.#later(s, 5, () =>
          done(
            res === 'timeout'
              ? { exec: 'timeout', message: `no answer within ${a.timeoutMs} ms` }
              : res === 'running'
                ? { exec: 'done', result: 'running' }
                : { exec: 'done', result: res, code: 2, message: `simulated ${res}` },
          ),
        );
        return;
      }
      case 'script':
        this.#log(`${s.name} DO script ${a.step} of ${a.monitor}: ${a.command}`);
        this.#later(s, 5, () => done({ exec: 'done', result: 'ok' }));
        return;
      case 'os':
        this.#log(`${s.name} DO os ${a.action} (${a.command}): ${a.reason}`);
        this.#at(this.now + 50, () => {
          this.#log(`-- ${s.name} went down (${a.action})`);
          this.#crash(s);
        });
        return;
      case 'np-check':
        for (const t of s.config.cluster.networkPartition.http) {
          const sentAtMs = this.now;
          const ok = s.npReachable;
          this.#later(s, ok ? 3 : t.timeoutMs, () => ({
            type: 'np-result',
            target: t.name,
            ok,
            sentAtMs,
            detail: ok ? 'HTTP 200' : `timeout after ${t.timeoutMs} ms`,
          }));
        }
        return;
      case 'witness': {
        const w = s.config.cluster.witness;
        if (!w) return;
        const sentAtMs = this.now;
        if (!s.witnessReachable) {
          this.#later(s, w.timeoutMs, () => ({
            type: 'witness',
            ok: false,
            sentAtMs,
            peers: {},
            detail: 'timeout',
          }));
          return;
        }
        const mine = this.#lastSent.get(s.name);
        this.#later(s, 2, () => {
          if (mine) this.#witness.set(s.name, { arrivedAt: sentAtMs + 1, report: structuredClone(mine) });
          const peers: Record<string, { ageMs: number; report: PeerReport | null }> = {};
          for (const [name, e] of this.#witness)
            if (name !== s.name)
              peers[name] = { ageMs: sentAtMs + 1 - e.arrivedAt, report: structuredClone(e.report) };
          return { type: 'witness', ok: true, sentAtMs, peers };
        });
        return;
      }
    }
  }
}

/** Normalize noise: hex hashes. */
export function normalize(text: string): string {
  return text.replace(/\b[0-9a-f]{12,64}\b/g, '<hash>');
}

export function runScenarioDir(dir: string): ScenarioOutput & { input: ScenarioInput } {
  const input = JSON.parse(readFileSync(join(dir, 'input.json'), 'utf8')) as ScenarioInput;
  const out = new ScenarioSim(input).run(input.until);
  return { input, plan: normalize(out.plan), summary: normalize(out.summary), unexpected: out.unexpected };
}
