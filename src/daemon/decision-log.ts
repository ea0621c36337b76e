/**
 * Saved decision inputs (STYLE.md 19, Pacemaker's pe-input series): whenever a step of the core produced
 * actions, the loop records what produced them (the event, the node's view of the cluster, the plan with
 * its reasons and the actions) as one JSON file under `<stateDir>/decisions/`, named
 * `decision-<seq>-<digest>.json`. Inputs that differ only in noise (sequence numbers, send times, ages,
 * action and request ids) have the same digest, and a digest already in the ring is not written again.
 * The ring is bounded (default 200 files): the oldest file goes when a new one would exceed it.
 *
 * Writes are asynchronous and serialized; a failing disk never stalls the loop (the failure is logged).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Action, CoreEvent, Plan } from '../core/types.ts';
import type { Logger } from '../ports/logger.ts';
import type { StatusDoc } from '../shared/status.ts';

export const DEFAULT_DECISION_FILES = 200;

/**
 * What produced a plan. `extra` carries the core's full state snapshot for replay (`decide(snapshot, nowMs)`
 * gives the plan again); it is saved but left out of the digest, since its timestamps differ on every step.
 */
export interface DecisionInput {
  server: string;
  configHash: string;
  /** Local monotonic ms when the event was stepped. */
  nowMs: number;
  event: CoreEvent;
  status: StatusDoc;
  plan: Plan;
  actions: Action[];
  extra?: Record<string, unknown>;
}

/** Keys whose values change on every step without changing the decision. */
const NOISE_KEYS = new Set([
  'id',
  'actionId',
  'requestId',
  'seq',
  'sentAtMs',
  'lastHeardAgoMs',
  'ageMs',
  'source',
  'nowMs',
  'at',
]);

/** Canonical JSON (sorted keys) of `v` with the noise keys left out. */
export function canonicalJson(v: unknown, dropNoise: boolean): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map((x) => canonicalJson(x, dropNoise)).join(',')}]`;
  const keys = Object.keys(v)
    .filter((k) => !(dropNoise && NOISE_KEYS.has(k)) && (v as Record<string, unknown>)[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k], dropNoise)}`).join(',')}}`;
}

export function decisionDigest(input: DecisionInput): string {
  const { extra: _extra, ...decision } = input;
  return createHash('sha256').update(canonicalJson(decision, true)).digest('hex').slice(0, 16);
}

const FILE_RE = /^decision-(\d+)-([0-9a-f]{16})\.json$/;

export interface DecisionLogOptions {
  /** Directory of the ring (`<stateDir>/decisions`); created if missing. */
  dir: string;
  maxFiles?: number;
  wallMs: () => number;
  logger: Logger;
}

export class DecisionLog {
  readonly #dir: string;
  readonly #max: number;
  readonly #wallMs: () => number;
  readonly #log: Logger;
  /** Files in the ring, oldest first. */
  #files: { seq: number; digest: string; name: string }[] = [];
  #nextSeq = 1;
  #chain: Promise<void> = Promise.resolve();
  #failures = 0;

  constructor(opts: DecisionLogOptions) {
    this.#dir = opts.dir;
    this.#max = Math.max(1, opts.maxFiles ?? DEFAULT_DECISION_FILES);
    this.#wallMs = opts.wallMs;
    this.#log = opts.logger;
    mkdirSync(this.#dir, { recursive: true });
    for (const name of readdirSync(this.#dir)) {
      const m = FILE_RE.exec(name);
      if (m) this.#files.push({ seq: Number(m[1]), digest: m[2]!, name });
    }
    this.#files.sort((a, b) => a.seq - b.seq);
    this.#nextSeq = (this.#files.at(-1)?.seq ?? 0) + 1;
  }

  /** Files currently in the ring, oldest first. */
  files(): string[] {
    return this.#files.map((f) => join(this.#dir, f.name));
  }

  /**
   * Record `input` unless an input with the same digest is in the ring. Returns the file name it will be
   * written to, or null when deduplicated. The write itself happens in the background (see `flush`).
   */
  record(input: DecisionInput): string | null {
    const digest = decisionDigest(input);
    if (this.#files.some((f) => f.digest === digest)) return null;
    const seq = this.#nextSeq++;
    const name = `decision-${String(seq).padStart(8, '0')}-${digest}.json`;
    this.#files.push({ seq, digest, name });
    const evicted =
      this.#files.length > this.#max ? this.#files.splice(0, this.#files.length - this.#max) : [];
    const wallMs = this.#wallMs();
    const body =
      JSON.stringify({ time: new Date(wallMs).toISOString(), wallMs, digest, ...input }, null, 1) + '\n';
    this.#chain = this.#chain.then(async () => {
      try {
        await writeFile(join(this.#dir, name), body);
        for (const e of evicted) await rm(join(this.#dir, e.name), { force: true });
      } catch (err) {
        // Logged for the first failure and every 100th after it: the log must not drown.
        if (this.#failures++ % 100 === 0) {
          this.#log.warn(
            { err, dir: this.#dir },
            'could not save a decision input (the daemon goes on without it)',
          );
        }
      }
    });
    return name;
  }

  /** Wait until every recorded input is on disk. */
  async flush(): Promise<void> {
    await this.#chain;
  }
}
