/**
 * The hot regions of an active mirror copy: the activity log of issue 5 section 2's dirty bitmap, in the
 * spirit of DRBD's. The regions written most recently stay marked in the PERSISTED bitmap even after the
 * peer has acknowledged their writes, so that the next write to one of them needs no metadata save (an
 * fdatasync on the cluster partition) before it starts. Without it every write to a region the peer had
 * just caught up on set its bit again and paid that save.
 *
 * The rule that makes it safe is unchanged: a region is on disk as dirty BEFORE any write to it starts.
 * A region enters the set with a save that covers it; writes to it wait for that save (`touch` hands it
 * out while it is pending). The persisted bitmap is the in-memory bitmap (what the peer really lacks) plus
 * the hot regions; a region leaving the set (least recently written, beyond `capacity`) is dropped from disk
 * by the next save, lazily, and only if its writes were acknowledged by then (otherwise the in-memory
 * bitmap still holds it). A region marked longer than needed only costs copying it after a crash of the
 * active server, never a lost write.
 */

/**
 * Default number of hot entries: 1024 extents of DEFAULT_HOT_EXTENT = 4 GiB kept marked (DRBD: 1237 x 4 MiB).
 * The set holds extent indices; the volume maps an extent to its regions.
 */
export const DEFAULT_HOT_REGIONS = 1024;
/** Bytes one hot entry covers by default: a sequential writer pays one save per 4 MiB, not per region. */
export const DEFAULT_HOT_EXTENT = 4 * 1024 * 1024;

/** Placeholder between `touch` and `covered` (the same synchronous step of the write path). */
const NOT_SAVED: Promise<void> = Promise.resolve();

export class HotRegions {
  /** Most regions kept marked (0: none, every write to a clean region saves the metadata). */
  readonly capacity: number;
  /** Region index -> the save covering it while pending, null once durable. Map order = recency. */
  readonly #m = new Map<number, Promise<void> | null>();

  constructor(capacity: number = DEFAULT_HOT_REGIONS) {
    if (!Number.isSafeInteger(capacity) || capacity < 0)
      throw new RangeError(`hot region count ${capacity} must be a whole number of at least 0`);
    this.capacity = capacity;
  }

  get size(): number {
    return this.#m.size;
  }

  /**
   * Regions `first..last` are about to be written: each becomes the most recent, and beyond `capacity` the
   * least recently written leave the set (the next save drops them from disk). Returns the regions that
   * were not hot, which the caller must save at once (the snapshot includes them) and hand to `covered`,
   * and the saves still pending for those that were (the write waits for them too).
   */
  touch(first: number, last: number): { added: number[]; pending: Promise<void>[] } {
    const added: number[] = [];
    const pending: Promise<void>[] = [];
    for (let i = first; i <= last; i++) {
      const p = this.#m.get(i);
      this.#m.delete(i);
      if (p === undefined) {
        added.push(i);
        // Not durable yet: `covered` sets the save at once, before anything else can touch it.
        this.#m.set(i, NOT_SAVED);
        continue;
      }
      this.#m.set(i, p);
      if (p !== null) pending.push(p);
    }
    for (const i of this.#m.keys()) {
      if (this.#m.size <= this.capacity) break;
      this.#m.delete(i);
    }
    return { added, pending };
  }

  /**
   * `save` covers `regions` (returned as `added` by `touch`): they are durable once it resolves. If it
   * fails they leave the set, so the next write to them saves again.
   */
  covered(regions: readonly number[], save: Promise<void>): void {
    for (const i of regions) if (this.#m.get(i) === NOT_SAVED) this.#m.set(i, save);
    save.then(
      () => {
        for (const i of regions) if (this.#m.get(i) === save) this.#m.set(i, null);
      },
      () => {
        for (const i of regions) if (this.#m.get(i) === save) this.#m.delete(i);
      },
    );
  }

  /** The hot regions (pending or durable): what a save must keep marked besides the in-memory bitmap. */
  regions(): IterableIterator<number> {
    return this.#m.keys();
  }

  clear(): void {
    this.#m.clear();
  }
}
