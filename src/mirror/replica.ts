/**
 * The receiving side of the mirror connection (issue 5 section 2): mirrored writes and resync blocks are
 * applied to the local copy strictly in arrival order (the sender's ordering argument in resync.ts relies
 * on it), a write is acknowledged once it is on the local copy (durable first when it carried FUA), and
 * FLUSH / RESYNC_DONE run once everything received before them is durable.
 *
 * The active copy never takes data from the link: it would be written under the application. Receiving
 * some while primary means the peers disagree about roles, so the connection is dropped.
 *
 * Teardown: the link hands over messages faster than the disk takes them, so writes may still be queued
 * here when the connection closes. `drain` waits for them (and for pending FLUSH / RESYNC_DONE work); the
 * volume awaits it before closing the data file, which would otherwise fail them with "file closed".
 */
import type { FileHandle } from 'node:fs/promises';
import type { Logger } from '../ports/logger.ts';
import { encodeSeq, MsgType, type DataMsg, type MdcConnection } from './mdc.ts';

export interface ReplicaOptions {
  /** Volume name (logs). */
  readonly volume: string;
  readonly data: FileHandle;
  readonly log: Logger;
  readonly isPrimary: () => boolean;
}

export class Replica {
  readonly #o: ReplicaOptions;
  #chain: Promise<void> = Promise.resolve();
  /** afterDurable work in flight: not on `#chain` (later writes do not wait for it), but drained too. */
  readonly #side = new Set<Promise<void>>();

  constructor(o: ReplicaOptions) {
    this.#o = o;
  }

  /** A WRITE (acknowledged with its seq) or a RESYNC_BLOCK (not acknowledged), after everything before it. */
  apply(conn: MdcConnection, type: number, m: DataMsg): void {
    // No copy: the payload is a view of socket data that nothing else writes to.
    const data = m.data;
    this.#chain = this.#chain.then(async () => {
      if (this.#o.isPrimary()) {
        this.#o.log.error(
          { volume: this.#o.volume },
          'mirror write received while primary; dropping the connection',
        );
        conn.close();
        return;
      }
      try {
        await this.#o.data.write(data, 0, data.length, m.offset);
        if (m.fua) await this.#o.data.datasync();
        if (type === MsgType.write) conn.send(MsgType.ack, encodeSeq(m.seq));
      } catch (err) {
        this.#fail(conn, err, 'local write of mirrored data failed');
      }
    });
  }

  /**
   * Runs `then` once everything received so far is applied and durable. Not queued in front of later
   * writes: they may proceed meanwhile (a flush covers what came before it, as on a local disk).
   */
  afterDurable(conn: MdcConnection, then: () => unknown): void {
    const p = this.#chain.then(async () => {
      try {
        await this.#o.data.datasync();
        await then();
      } catch (err) {
        this.#fail(conn, err, 'flushing mirrored data failed');
      }
    });
    this.#side.add(p);
    void p.finally(() => this.#side.delete(p));
  }

  /**
   * Resolves once every write, FLUSH and RESYNC_DONE received so far has been carried out (or has failed
   * and been logged). The caller stops new messages first (closes the link); work queued by the drained
   * work itself is waited for too.
   */
  async drain(): Promise<void> {
    for (;;) {
      const chain = this.#chain;
      const side = [...this.#side];
      await Promise.allSettled([chain, ...side]);
      if (chain === this.#chain && this.#side.size === 0) return;
    }
  }

  #fail(conn: MdcConnection, err: unknown, what: string): void {
    this.#o.log.error(
      { volume: this.#o.volume, err: (err as Error).message },
      `${what}; dropping the connection`,
    );
    conn.close();
  }
}
