/**
 * The metadata of a mirror copy on its cluster partition (issue 5 section 2): volume id, size, region size,
 * generations, flags and the dirty bitmap, written crash-safe.
 *
 * Layout: two slots of `slotBytes` each (slot 0 at offset 0, slot 1 right after). A slot is
 *
 *   magic "TNDMMETA" (8) | format version u32 | sequence u64 | header length u32 | header (JSON) |
 *   bitmap length u32 | bitmap | CRC32 u32 of everything before it
 *
 * all little-endian. A save writes the slot NOT holding the newest state with sequence + 1 and fdatasyncs;
 * a load takes the valid slot (magic, version, CRC) with the highest sequence. A save torn by a crash
 * leaves a slot that fails its CRC, and the other slot still holds the previous state: nothing is lost
 * that had been reported saved.
 *
 * A save writes only the 4 KiB pages of the slot that differ from what the slot holds (the store keeps
 * both slots' bytes): an activity-log save of a 1 TiB volume changes a few bits of a 2 MiB bitmap, and
 * writes three pages (header, the changed bitmap page, the CRC) instead of the whole slot. Torn, such a
 * write still fails the CRC (the sequence and the CRC are among the pages written), so the rule above
 * holds. A slot whose write failed is rewritten whole next time.
 */
import { open, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { TandemError } from '../shared/errors.ts';
import { DirtyBitmap } from './core/bitmap.ts';
import type { Generations } from './core/generations.ts';
import { CLEAN_FLAGS, type CopyFlags } from './core/volume-state.ts';

const MAGIC = Buffer.from('TNDMMETA', 'ascii');
export const METADATA_FORMAT_VERSION = 1;
const HEADER_ALIGN = 4096;
/** Unit of a partial slot write. */
const PAGE = 4096;

export interface MirrorMeta {
  readonly volumeId: string;
  readonly size: number;
  readonly regionSize: number;
  readonly generations: Generations;
  readonly flags: CopyFlags;
  readonly bitmap: DirtyBitmap;
}

export type MetadataErrorCode =
  'MD_META_EMPTY' | 'MD_META_CORRUPT' | 'MD_META_MISMATCH' | 'MD_META_TOO_SMALL' | 'MD_META_IO';

/** A cluster partition that cannot be used; `code` is stable, the message names the path and the remedy. */
export class MetadataError extends TandemError {
  readonly code: MetadataErrorCode;
  readonly path: string;
  readonly remedy: string;
  constructor(
    args: { code: MetadataErrorCode; path: string; message: string; remedy: string },
    options?: { cause?: unknown },
  ) {
    super(args.message, options);
    this.code = args.code;
    this.path = args.path;
    this.remedy = args.remedy;
  }
}

/** Bytes one slot takes for a volume of this geometry (header room + bitmap, 4 KiB aligned). */
export function slotBytesFor(size: number, regionSize: number): number {
  const raw = HEADER_ALIGN + DirtyBitmap.byteLength(size, regionSize) + 64;
  return Math.ceil(raw / HEADER_ALIGN) * HEADER_ALIGN;
}

/** Bytes the cluster partition needs (two slots). */
export function metadataBytesFor(size: number, regionSize: number): number {
  return 2 * slotBytesFor(size, regionSize);
}

function encode(meta: MirrorMeta, seq: bigint, slotBytes: number): Buffer {
  const header = Buffer.from(
    JSON.stringify({
      volumeId: meta.volumeId,
      size: meta.size,
      regionSize: meta.regionSize,
      generations: meta.generations,
      flags: meta.flags,
    }),
    'utf8',
  );
  const bits = meta.bitmap.serialize();
  const len = 8 + 4 + 8 + 4 + header.length + 4 + bits.length + 4;
  if (len > slotBytes) throw new RangeError(`metadata needs ${len} bytes, a slot has ${slotBytes}`);
  const buf = Buffer.alloc(len);
  let o = MAGIC.copy(buf, 0);
  o = buf.writeUInt32LE(METADATA_FORMAT_VERSION, o);
  o = buf.writeBigUInt64LE(seq, o);
  o = buf.writeUInt32LE(header.length, o);
  o += header.copy(buf, o);
  o = buf.writeUInt32LE(bits.length, o);
  o += Buffer.from(bits.buffer, bits.byteOffset, bits.length).copy(buf, o);
  buf.writeUInt32LE(crc32(buf.subarray(0, o)), o);
  return buf;
}

type Decoded = { ok: true; seq: bigint; meta: MirrorMeta } | { ok: false; blank: boolean; why: string };

function decode(buf: Buffer): Decoded {
  if (buf.every((b) => b === 0)) return { ok: false, blank: true, why: 'never written' };
  if (buf.length < 28 || !buf.subarray(0, 8).equals(MAGIC))
    return { ok: false, blank: false, why: 'no metadata magic' };
  const version = buf.readUInt32LE(8);
  if (version !== METADATA_FORMAT_VERSION)
    return { ok: false, blank: false, why: `format version ${version}` };
  const seq = buf.readBigUInt64LE(12);
  const hlen = buf.readUInt32LE(20);
  if (24 + hlen + 4 > buf.length) return { ok: false, blank: false, why: 'header length out of range' };
  const blenAt = 24 + hlen;
  const blen = buf.readUInt32LE(blenAt);
  const crcAt = blenAt + 4 + blen;
  if (crcAt + 4 > buf.length) return { ok: false, blank: false, why: 'bitmap length out of range' };
  if (crc32(buf.subarray(0, crcAt)) !== buf.readUInt32LE(crcAt))
    return { ok: false, blank: false, why: 'checksum mismatch (torn or damaged write)' };
  try {
    const h = JSON.parse(buf.subarray(24, blenAt).toString('utf8')) as Omit<MirrorMeta, 'bitmap'>;
    const bitmap = DirtyBitmap.deserialize(h.size, h.regionSize, buf.subarray(blenAt + 4, crcAt));
    // Flags added later (peerOutdated) are absent from older slots: absent means not set.
    return { ok: true, seq, meta: { ...h, flags: { ...CLEAN_FLAGS, ...h.flags }, bitmap } };
  } catch (err) {
    return { ok: false, blank: false, why: `unreadable header: ${(err as Error).message}` };
  }
}

/** Byte ranges (whole pages) where `next` differs from `prev` (everything when `prev` is unknown). */
function changedRuns(prev: Buffer | null, next: Buffer): [number, number][] {
  if (prev === null) return [[0, next.length]];
  const runs: [number, number][] = [];
  for (let at = 0; at < next.length; at += PAGE) {
    const end = Math.min(at + PAGE, next.length);
    if (end <= prev.length && next.subarray(at, end).equals(prev.subarray(at, end))) continue;
    const last = runs[runs.length - 1];
    if (last !== undefined && last[1] === at) last[1] = end;
    else runs.push([at, end]);
  }
  return runs;
}

/** The two-slot metadata of one copy. Saves are serialized and coalesced: at most one is in flight. */
export class MetadataStore {
  readonly path: string;
  readonly slotBytes: number;
  #fh: FileHandle;
  #seq: bigint;
  #inflight: Promise<void> | null = null;
  #queued: { meta: MirrorMeta; done: Promise<void> } | null = null;
  #closed = false;
  /** What each slot holds on disk, when known (null: unknown, the next write to it is whole). */
  readonly #images: [Buffer | null, Buffer | null];
  #writtenBytes = 0;

  private constructor(
    path: string,
    fh: FileHandle,
    slotBytes: number,
    seq: bigint,
    images: [Buffer | null, Buffer | null] = [null, null],
  ) {
    this.path = path;
    this.#fh = fh;
    this.slotBytes = slotBytes;
    this.#seq = seq;
    this.#images = images;
  }

  /** Bytes written to the partition by saves since open (partial slot writes make it small). */
  get writtenBytes(): number {
    return this.#writtenBytes;
  }

  /**
   * Opens the cluster partition and loads the newest valid slot. With `init` and a partition that was
   * never written (all zeros, or an empty/missing file), writes `init` to both slots first. A partition
   * holding another volume's metadata, or two damaged slots, is refused with a `MetadataError`.
   */
  static async open(
    path: string,
    expect: { volumeId: string; size: number; regionSize: number },
    init?: () => MirrorMeta,
  ): Promise<{ store: MetadataStore; meta: MirrorMeta; created: boolean }> {
    const slotBytes = slotBytesFor(expect.size, expect.regionSize);
    let fh: FileHandle;
    try {
      fh = await open(path, 'r+').catch(async (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT' && init !== undefined) return open(path, 'w+');
        throw err;
      });
    } catch (err) {
      throw new MetadataError(
        {
          code: 'MD_META_IO',
          path,
          message: `Cluster partition ${path} cannot be opened: ${(err as Error).message}.`,
          remedy: 'Check the clusterPath of the md resource and its permissions.',
        },
        { cause: err },
      );
    }
    try {
      const st = await stat(path);
      const isFile = st.isFile();
      if (!isFile && st.size > 0 && st.size < 2 * slotBytes) {
        throw new MetadataError({
          code: 'MD_META_TOO_SMALL',
          path,
          message: `Cluster partition ${path} has ${st.size} bytes; the volume's metadata needs ${2 * slotBytes}.`,
          remedy: 'Use a larger cluster partition (1 GiB is plenty), or a larger region size.',
        });
      }
      const slots: Decoded[] = [];
      const images: [Buffer | null, Buffer | null] = [null, null];
      for (const i of [0, 1] as const) {
        const buf = Buffer.alloc(slotBytes);
        const { bytesRead } = await fh.read(buf, 0, slotBytes, i * slotBytes);
        slots.push(decode(buf.subarray(0, Math.max(bytesRead, 0))));
        images[i] = buf.subarray(0, Math.max(bytesRead, 0)); // what the slot holds (a file may end early)
      }
      const valid = slots.flatMap((s, i) => (s.ok ? [{ ...s, slot: i }] : []));
      if (valid.length === 0) {
        const blank = slots.every((s) => !s.ok && s.blank) || (isFile && st.size === 0);
        if (blank && init !== undefined) {
          const meta = init();
          const store = new MetadataStore(path, fh, slotBytes, 0n);
          await store.#writeSlot(meta, 1n);
          await store.#writeSlot(meta, 2n);
          return { store, meta, created: true };
        }
        const why = slots.map((s, i) => `slot ${i}: ${s.ok ? 'ok' : s.why}`).join('; ');
        throw new MetadataError(
          blank
            ? {
                code: 'MD_META_EMPTY',
                path,
                message: `Cluster partition ${path} holds no mirror metadata.`,
                remedy: 'Initialize the volume (start the md resource once with this partition).',
              }
            : {
                code: 'MD_META_CORRUPT',
                path,
                message: `Cluster partition ${path}: both metadata slots are damaged (${why}).`,
                remedy:
                  'Check the disk; if the data partition is intact, re-initialize the metadata of this copy and let it be fully recovered from the peer (tandem md recover NAME --source PEER).',
              },
        );
      }
      const best = valid.reduce((a, b) => (b.seq > a.seq ? b : a));
      const m = best.meta;
      if (m.volumeId !== expect.volumeId || m.size !== expect.size || m.regionSize !== expect.regionSize) {
        throw new MetadataError({
          code: 'MD_META_MISMATCH',
          path,
          message: `Cluster partition ${path} holds the metadata of volume ${m.volumeId} (${m.size} bytes, regions of ${m.regionSize}), not of ${expect.volumeId} (${expect.size} bytes, regions of ${expect.regionSize}).`,
          remedy:
            'Check the clusterPath and size of the md resource; each volume needs its own cluster partition area.',
        });
      }
      return { store: new MetadataStore(path, fh, slotBytes, best.seq, images), meta: m, created: false };
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  /** Sequence number of the newest saved state. */
  get sequence(): bigint {
    return this.#seq;
  }

  /**
   * Saves `meta` durably. Concurrent saves are coalesced: one waiting behind the save in flight carries the
   * latest `meta` passed, and every caller waiting for it resolves when it is durable.
   */
  save(meta: MirrorMeta): Promise<void> {
    if (this.#closed)
      return Promise.reject(
        new MetadataError({
          code: 'MD_META_IO',
          path: this.path,
          message: `Cluster partition ${this.path} is closed.`,
          remedy: 'This is a bug: the volume saved its metadata after close.',
        }),
      );
    if (this.#inflight === null) {
      this.#inflight = this.#run(meta);
      return this.#inflight;
    }
    if (this.#queued !== null) {
      this.#queued.meta = meta;
      return this.#queued.done;
    }
    const q = {
      meta,
      done: this.#inflight
        .catch(() => undefined)
        .then(() => {
          this.#queued = null;
          this.#inflight = this.#run(q.meta);
          return this.#inflight;
        }),
    };
    this.#queued = q;
    return q.done;
  }

  async #run(meta: MirrorMeta): Promise<void> {
    try {
      await this.#writeSlot(meta, this.#seq + 1n);
    } finally {
      if (this.#queued === null) this.#inflight = null;
    }
  }

  async #writeSlot(meta: MirrorMeta, seq: bigint): Promise<void> {
    const buf = encode(meta, seq, this.slotBytes);
    const slot = Number(seq % 2n) as 0 | 1;
    const prev = this.#images[slot];
    this.#images[slot] = null; // unknown until this write is durable
    try {
      for (const [from, to] of changedRuns(prev, buf)) {
        await this.#fh.write(buf, from, to - from, slot * this.slotBytes + from);
        this.#writtenBytes += to - from;
      }
      await this.#fh.datasync();
      // The slot now holds `buf`, and beyond it whatever it held before.
      if (prev !== null && prev.length >= buf.length) {
        buf.copy(prev);
        this.#images[slot] = prev;
      } else this.#images[slot] = buf;
    } catch (err) {
      throw new MetadataError(
        {
          code: 'MD_META_IO',
          path: this.path,
          message: `Cluster partition ${this.path}: metadata write failed: ${(err as Error).message}.`,
          remedy: 'Check the disk holding the cluster partition.',
        },
        { cause: err },
      );
    }
    this.#seq = seq;
  }

  /** Waits for saves in flight, then closes the partition. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    while (this.#inflight !== null) await this.#inflight.catch(() => undefined);
    await this.#fh.close();
  }
}
