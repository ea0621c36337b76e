/**
 * The alert log (issue 3 section 3, "Alert log: ... kept in a bounded on-disk ring (default 10000
 * entries)"): every state change and recovery step as one JSON line.
 *
 * In memory: the newest `size` records, so `list` never touches the disk. On disk: segment files
 * `alerts.<n>.jsonl` of `segmentEntries` lines each (default size / 10); when a segment fills, the next
 * one starts, and the oldest segments are deleted while the newer ones alone still hold `size` entries,
 * so the disk keeps at most `size` + one segment of entries. `append` is synchronous (the record and its
 * seq exist at once) and queues the write; `flush` waits until everything queued is on disk (written,
 * not fsynced: alerts are a record, not a decision, and the state store is what must survive a crash).
 *
 * On open the segments are read back in order, a torn last line (crash mid-write) or any other unreadable
 * line is skipped, and seq continues after the highest seq found, so it stays monotonic across restarts.
 * A segment whose last line is torn is never appended to again.
 */
import { appendFile, mkdir, readFile, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { Logger } from '../ports/logger.ts';
import type { AlertLog, AlertRecord } from '../ports/store.ts';
import { LogThrottle } from './throttle.ts';

export const DEFAULT_ALERT_LOG_SIZE = 10_000;
const SEGMENT_RE = /^alerts\.(\d+)\.jsonl$/;

export function segmentFileName(n: number): string {
  return `alerts.${n}.jsonl`;
}

const recordSchema = z.object({
  time: z.number().finite(),
  server: z.string(),
  level: z.enum(['info', 'warning', 'error']),
  objectKind: z.string(),
  object: z.string(),
  code: z.string(),
  message: z.string(),
  seq: z.number().int().positive(),
});

export interface FileAlertLogOptions {
  /** Directory of the segment files (the daemon's --state-dir); created if missing. */
  dir: string;
  /** Entries kept (`cluster.alertLogSize`). @default 10000 */
  size?: number;
  /** Entries per segment file. @default ceil(size / 10) */
  segmentEntries?: number;
  log?: Logger;
}

type WriteOp = { kind: 'write'; n: number; line: string } | { kind: 'unlink'; n: number };

export class FileAlertLog implements AlertLog {
  readonly #dir: string;
  readonly #size: number;
  readonly #segmentEntries: number;
  readonly #log: Logger | undefined;
  readonly #throttle = new LogThrottle();
  /** Newest records, oldest first; trimmed to `size` lazily (at 2 x size). */
  #ring: AlertRecord[] = [];
  #nextSeq = 1;
  /** Segments on disk or queued, oldest first; the last one is the one appended to. */
  #segments: { n: number; count: number }[] = [];
  #queue: WriteOp[] = [];
  #draining: Promise<void> | null = null;
  #writeErrors = 0;

  private constructor(opts: FileAlertLogOptions) {
    this.#dir = opts.dir;
    this.#size = Math.max(1, Math.floor(opts.size ?? DEFAULT_ALERT_LOG_SIZE));
    this.#segmentEntries = Math.max(1, Math.floor(opts.segmentEntries ?? Math.ceil(this.#size / 10)));
    this.#log = opts.log;
  }

  /** Open the log in `opts.dir`, loading what earlier runs left there. */
  static async open(opts: FileAlertLogOptions): Promise<FileAlertLog> {
    const alertLog = new FileAlertLog(opts);
    await alertLog.#load();
    return alertLog;
  }

  /** Write failures since open (each is also logged, rate-limited). */
  get writeErrors(): number {
    return this.#writeErrors;
  }

  append(entry: Omit<AlertRecord, 'seq'>): AlertRecord {
    const record: AlertRecord = {
      time: entry.time,
      server: entry.server,
      level: entry.level,
      objectKind: entry.objectKind,
      object: entry.object,
      code: entry.code,
      message: entry.message,
      seq: this.#nextSeq++,
    };
    this.#ring.push(record);
    if (this.#ring.length >= 2 * this.#size) this.#ring = this.#ring.slice(-this.#size);
    let current = this.#segments.at(-1);
    if (current === undefined || current.count >= this.#segmentEntries) {
      current = { n: (current?.n ?? 0) + 1, count: 0 };
      this.#segments.push(current);
      this.#queuePrune();
    }
    current.count += 1;
    this.#queue.push({ kind: 'write', n: current.n, line: `${JSON.stringify(record)}\n` });
    this.#drain();
    return record;
  }

  list(opts: { afterSeq?: number; limit?: number } = {}): AlertRecord[] {
    const ring = this.#ring.length > this.#size ? this.#ring.slice(-this.#size) : this.#ring;
    const after = opts.afterSeq ?? 0;
    // Binary search for the first record with seq > after (the ring is in seq order).
    let lo = 0;
    let hi = ring.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ring[mid]!.seq > after) hi = mid;
      else lo = mid + 1;
    }
    const limit = opts.limit === undefined ? ring.length : Math.max(0, Math.floor(opts.limit));
    return ring.slice(Math.max(lo, ring.length - limit));
  }

  /** Resolves when every record appended so far has been written (write errors are logged, not thrown). */
  async flush(): Promise<void> {
    while (this.#draining !== null) await this.#draining;
  }

  /** Same as `flush`: there is no open file to close (each batch opens, appends and closes). */
  async close(): Promise<void> {
    await this.flush();
  }

  /** Queue deletion of the oldest segments the newer ones make redundant. */
  #queuePrune(): void {
    const total = (): number => this.#segments.reduce((sum, s) => sum + s.count, 0);
    while (this.#segments.length > 1 && total() - this.#segments[0]!.count >= this.#size) {
      const oldest = this.#segments.shift()!;
      this.#queue.push({ kind: 'unlink', n: oldest.n });
    }
  }

  #drain(): void {
    if (this.#draining !== null) return;
    this.#draining = (async (): Promise<void> => {
      while (this.#queue.length > 0) {
        const ops = this.#queue;
        this.#queue = [];
        // Consecutive writes to one segment become one append.
        for (let i = 0; i < ops.length;) {
          const op = ops[i]!;
          if (op.kind === 'unlink') {
            await this.#io(() => unlink(join(this.#dir, segmentFileName(op.n))), op.n, true);
            i += 1;
            continue;
          }
          let text = '';
          let j = i;
          for (; j < ops.length; j++) {
            const o = ops[j]!;
            if (o.kind !== 'write' || o.n !== op.n) break;
            text += o.line;
          }
          await this.#io(
            () => appendFile(join(this.#dir, segmentFileName(op.n)), text, { mode: 0o644 }),
            op.n,
            false,
          );
          i = j;
        }
      }
    })().finally(() => {
      this.#draining = null;
    });
  }

  async #io(fn: () => Promise<void>, n: number, missingOk: boolean): Promise<void> {
    try {
      await fn();
    } catch (err) {
      if (missingOk && (err as NodeJS.ErrnoException).code === 'ENOENT') return;
      this.#writeErrors += 1;
      const t = this.#throttle.take('io');
      if (t.log) {
        this.#log?.error(
          { err, file: join(this.#dir, segmentFileName(n)), suppressed: t.suppressed },
          'alert log write failed',
        );
      }
    }
  }

  async #load(): Promise<void> {
    await mkdir(this.#dir, { recursive: true });
    const numbers = (await readdir(this.#dir))
      .map((f) => SEGMENT_RE.exec(f)?.[1])
      .filter((s): s is string => s !== undefined)
      .map(Number)
      .filter((n) => Number.isSafeInteger(n))
      .sort((a, b) => a - b);
    let records: AlertRecord[] = [];
    let skipped = 0;
    let lastTorn = false;
    for (const n of numbers) {
      let text: string;
      try {
        text = await readFile(join(this.#dir, segmentFileName(n)), 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
      const lines = text.split('\n');
      const tail = lines.pop(); // '' when the file ends with a newline, else a torn line
      lastTorn = tail !== undefined && tail !== '';
      if (lastTorn) skipped += 1;
      let count = 0;
      for (const line of lines) {
        if (line === '') continue;
        const rec = parseRecord(line);
        if (rec === null) {
          skipped += 1;
          continue;
        }
        records.push(rec);
        count += 1;
        if (records.length >= 2 * this.#size) records = records.slice(-this.#size);
      }
      this.#segments.push({ n, count });
    }
    records.sort((a, b) => a.seq - b.seq);
    this.#ring = records.slice(-this.#size);
    this.#nextSeq = records.reduce((max, r) => Math.max(max, r.seq), 0) + 1;
    const last = this.#segments.at(-1);
    if (last !== undefined && lastTorn) {
      // Never append after a torn line: the next record would be glued to it.
      this.#segments.push({ n: last.n + 1, count: 0 });
    }
    this.#queuePrune();
    this.#drain();
    if (skipped > 0)
      this.#log?.warn({ dir: this.#dir, skipped }, 'alert log: unreadable lines skipped on load');
  }
}

function parseRecord(line: string): AlertRecord | null {
  try {
    const r = recordSchema.safeParse(JSON.parse(line));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}
