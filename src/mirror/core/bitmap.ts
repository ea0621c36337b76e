/**
 * The dirty bitmap of a mirror volume (issue 5 section 2): one bit per region (default 64 KiB) of the data
 * partition, set when the region may differ from the peer's copy. It is persisted in the metadata on the
 * cluster partition (src/mirror/metadata.ts) and drives the resync: only set regions are copied, unless the
 * generations say a full copy is needed. Pure: no I/O.
 *
 * A set bit never loses data: at worst a region is copied that did not need it. A clear bit is a promise
 * that both copies hold the same bytes in that region, so bits are cleared only once the peer has the data.
 */

/** Default region size: 64 KiB (as DRBD's activity-log extents are multiples of its 4 KiB bitmap unit). */
export const DEFAULT_REGION_SIZE = 64 * 1024;

/** One dirty region: index and the byte range it covers (the last region may be shorter). */
export interface DirtyRegion {
  readonly index: number;
  readonly offset: number;
  readonly length: number;
}

export class DirtyBitmap {
  /** Volume size in bytes. */
  readonly size: number;
  /** Bytes per region (a power of two, at least 512). */
  readonly regionSize: number;
  /** Number of regions: ceil(size / regionSize). */
  readonly regions: number;
  #bits: Uint8Array;
  #count = 0;

  constructor(size: number, regionSize: number = DEFAULT_REGION_SIZE, bits?: Uint8Array) {
    if (!Number.isSafeInteger(size) || size < 0)
      throw new RangeError(`bitmap size ${size} is not a byte count`);
    if (!Number.isSafeInteger(regionSize) || regionSize < 512 || (regionSize & (regionSize - 1)) !== 0) {
      throw new RangeError(`region size ${regionSize} must be a power of two of at least 512 bytes`);
    }
    this.size = size;
    this.regionSize = regionSize;
    this.regions = Math.ceil(size / regionSize);
    const bytes = DirtyBitmap.byteLength(size, regionSize);
    if (bits !== undefined && bits.length !== bytes) {
      throw new RangeError(`serialized bitmap has ${bits.length} bytes, expected ${bytes}`);
    }
    this.#bits = bits !== undefined ? new Uint8Array(bits) : new Uint8Array(bytes);
    // Bits past the last region must stay clear so that count() and equality are exact.
    const tail = this.regions % 8;
    if (tail !== 0 && bytes > 0) this.#bits[bytes - 1]! &= (1 << tail) - 1;
    for (const b of this.#bits) this.#count += popcount(b);
  }

  /** Bytes a serialized bitmap of this geometry takes. */
  static byteLength(size: number, regionSize: number): number {
    return Math.ceil(Math.ceil(size / regionSize) / 8);
  }

  /** The inverse of `serialize`. */
  static deserialize(size: number, regionSize: number, bytes: Uint8Array): DirtyBitmap {
    return new DirtyBitmap(size, regionSize, bytes);
  }

  /** A copy of the bits (region i is bit i % 8 of byte i / 8). */
  serialize(): Uint8Array {
    return new Uint8Array(this.#bits);
  }

  clone(): DirtyBitmap {
    return new DirtyBitmap(this.size, this.regionSize, this.#bits);
  }

  /** Number of dirty regions. */
  count(): number {
    return this.#count;
  }

  /** Bytes covered by dirty regions (the last region counts only its real length). */
  dirtyBytes(): number {
    if (this.#count === 0) return 0;
    let bytes = this.#count * this.regionSize;
    const last = this.regions - 1;
    if (this.isDirty(last)) bytes -= this.regions * this.regionSize - this.size;
    return bytes;
  }

  isDirty(index: number): boolean {
    if (index < 0 || index >= this.regions) return false;
    return ((this.#bits[index >> 3] ?? 0) & (1 << (index & 7))) !== 0;
  }

  /** First and last region index touched by a byte range (empty ranges touch nothing: null). */
  regionsOf(offset: number, length: number): { first: number; last: number } | null {
    if (length <= 0) return null;
    const end = Math.min(offset + length, this.size);
    if (offset < 0 || offset >= end) return null;
    return { first: Math.floor(offset / this.regionSize), last: Math.floor((end - 1) / this.regionSize) };
  }

  /** Marks every region the byte range touches; returns how many were newly set. */
  setRange(offset: number, length: number): number {
    const r = this.regionsOf(offset, length);
    if (r === null) return 0;
    let added = 0;
    for (let i = r.first; i <= r.last; i++) if (this.setRegion(i)) added++;
    return added;
  }

  /**
   * Clears the regions the byte range covers ENTIRELY (a partly covered region may still differ elsewhere);
   * returns how many were cleared.
   */
  clearRange(offset: number, length: number): number {
    const end = Math.min(offset + length, this.size);
    if (length <= 0 || offset < 0 || offset >= end) return 0;
    const first = Math.ceil(offset / this.regionSize);
    // The last region may be short: it is fully covered when the range reaches the end of the volume.
    const last = end === this.size ? this.regions - 1 : Math.floor(end / this.regionSize) - 1;
    let cleared = 0;
    for (let i = first; i <= last; i++) if (this.clearRegion(i)) cleared++;
    return cleared;
  }

  /** Sets one region; true if it was clear. */
  setRegion(index: number): boolean {
    if (index < 0 || index >= this.regions || this.isDirty(index)) return false;
    this.#bits[index >> 3]! |= 1 << (index & 7);
    this.#count++;
    return true;
  }

  /** Clears one region; true if it was set. */
  clearRegion(index: number): boolean {
    if (!this.isDirty(index)) return false;
    this.#bits[index >> 3]! &= ~(1 << (index & 7)) & 0xff;
    this.#count--;
    return true;
  }

  setAll(): void {
    for (let i = 0; i < this.regions; i++) this.setRegion(i);
  }

  clearAll(): void {
    this.#bits.fill(0);
    this.#count = 0;
  }

  /** ORs `other` into this bitmap (same geometry required); returns how many regions were newly set. */
  merge(other: DirtyBitmap): number {
    if (other.size !== this.size || other.regionSize !== this.regionSize) {
      throw new RangeError(
        `cannot merge a bitmap of ${other.size} bytes / ${other.regionSize} into ${this.size} / ${this.regionSize}`,
      );
    }
    const before = this.#count;
    const src = other.#bits;
    this.#count = 0;
    for (let i = 0; i < this.#bits.length; i++) {
      const v = (this.#bits[i]! | src[i]!) & 0xff;
      this.#bits[i] = v;
      this.#count += popcount(v);
    }
    return this.#count - before;
  }

  /** The byte range of region `index`. */
  region(index: number): DirtyRegion {
    const offset = index * this.regionSize;
    return { index, offset, length: Math.min(this.regionSize, this.size - offset) };
  }

  /** Dirty regions in ascending order, starting at region `from`. */
  *dirtyRegions(from = 0): IterableIterator<DirtyRegion> {
    for (let byte = from >> 3; byte < this.#bits.length; byte++) {
      const v = this.#bits[byte]!;
      if (v === 0) continue;
      for (let bit = 0; bit < 8; bit++) {
        const i = byte * 8 + bit;
        if (i >= from && (v & (1 << bit)) !== 0) yield this.region(i);
      }
    }
  }
}

function popcount(v: number): number {
  let n = 0;
  for (let x = v; x !== 0; x &= x - 1) n++;
  return n;
}
