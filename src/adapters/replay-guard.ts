/**
 * Replay protection for heartbeats (issue 3 section 3, "replayed ... packets are dropped and counted").
 *
 * A server's reports carry its *incarnation* (fixed for one daemon run) and a *sequence number* that grows
 * with every report of that incarnation. Incarnations are `<wall ms, 15 digits>-<8 hex>`, so plain string
 * order is start order: a restarted daemon's reports are accepted at once, while a captured packet of an
 * earlier run is not. The same report is sent on every interconnect, so sequence numbers are tracked per
 * (server, interconnect): each path delivers it once, and a packet replayed on any path is dropped.
 *
 * A restart is recognised only if the new incarnation sorts after the old one, i.e. if the restarted
 * server's wall clock did not go back by more than the time between the two starts. A server whose clock
 * jumped back is heard again once this guard forgets it (`forget`, or a restart of the receiver).
 */

/** Wall-clock digits in an incarnation: enough for every ms timestamp until the year 33658. */
const WALL_DIGITS = 15;
const INCARNATION_RE = /^\d{15}-[0-9a-f]{8}$/;

/**
 * A fresh incarnation: `<wallMs zero-padded to 15 digits>-<8 lowercase hex from random()>`.
 * @param random returns a number in [0, 1), like Math.random (injected so tests are repeatable).
 */
export function newIncarnation(wallMs: number, random: () => number): string {
  const wall = Math.max(0, Math.floor(wallMs)).toString().padStart(WALL_DIGITS, '0');
  const bits = Math.min(0xffffffff, Math.max(0, Math.floor(random() * 0x100000000)));
  return `${wall}-${bits.toString(16).padStart(8, '0')}`;
}

/** True for strings of the `newIncarnation` form. */
export function isIncarnation(s: string): boolean {
  return INCARNATION_RE.test(s);
}

/** Order of two incarnations: negative when `a` started before `b` (plain string order). */
export function compareIncarnations(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export type ReplayVerdict = 'accepted' | 'replayed';

interface ServerEntry {
  incarnation: string;
  /** Highest accepted seq per interconnect of the current incarnation. */
  seqByVia: Map<string, number>;
}

/**
 * Per-(server, via) acceptance window. Bounded: at most `maxServers` servers are remembered (the least
 * recently accepted is forgotten first), so a flood of validly signed but invented server names cannot
 * grow it without limit.
 */
export class ReplayGuard {
  readonly #servers = new Map<string, ServerEntry>();
  readonly #maxServers: number;

  constructor(opts: { maxServers?: number } = {}) {
    this.#maxServers = Math.max(1, opts.maxServers ?? 256);
  }

  /**
   * Accept the report `(incarnation, seq)` of `server` heard on `via` if it is new, and remember it.
   * Malformed incarnations are never accepted.
   */
  check(server: string, via: string, incarnation: string, seq: number): ReplayVerdict {
    if (!isIncarnation(incarnation) || !Number.isSafeInteger(seq) || seq < 0) return 'replayed';
    const entry = this.#servers.get(server);
    if (entry === undefined) {
      this.#remember(server, { incarnation, seqByVia: new Map([[via, seq]]) });
      return 'accepted';
    }
    const order = compareIncarnations(incarnation, entry.incarnation);
    if (order < 0) return 'replayed';
    if (order > 0) {
      this.#remember(server, { incarnation, seqByVia: new Map([[via, seq]]) });
      return 'accepted';
    }
    const last = entry.seqByVia.get(via);
    if (last !== undefined && seq <= last) return 'replayed';
    entry.seqByVia.set(via, seq);
    this.#remember(server, entry);
    return 'accepted';
  }

  /** Latest accepted incarnation of `server`, if any. */
  incarnationOf(server: string): string | null {
    return this.#servers.get(server)?.incarnation ?? null;
  }

  /** Drop everything known about `server` (its next report is accepted whatever its incarnation). */
  forget(server: string): void {
    this.#servers.delete(server);
  }

  #remember(server: string, entry: ServerEntry): void {
    // Re-insert to keep Map order = least recently accepted first.
    this.#servers.delete(server);
    this.#servers.set(server, entry);
    while (this.#servers.size > this.#maxServers) {
      const oldest = this.#servers.keys().next();
      if (oldest.done === true) break;
      this.#servers.delete(oldest.value);
    }
  }
}
