/**
 * The block device of an activated (primary) mirror copy, as the NBD server sees it (BlockBackend). It
 * forwards to the volume's write path and refuses everything once the volume is deactivated, so an NBD
 * client still connected after a demotion cannot write to a copy that is now a secondary.
 */
import { BackendError, type BlockBackend, type Bytes, type WriteStream } from '../nbd/types.ts';

/** What the active device needs from the volume (MirrorVolume implements it). */
export interface VolumeIo {
  readonly size: number;
  read(offset: number, length: number): Promise<Buffer>;
  write(offset: number, data: Bytes, fua: boolean): Promise<void>;
  writeStream(offset: number, length: number, fua: boolean): WriteStream;
  flush(): Promise<void>;
}

const ZEROES = Buffer.alloc(256 * 1024);

export class ActiveVolume implements BlockBackend {
  readonly size: number;
  readonly readOnly = false;
  #v: VolumeIo | null;

  constructor(v: VolumeIo) {
    this.#v = v;
    this.size = v.size;
  }

  /** The volume was deactivated: every later request fails with ESHUTDOWN. */
  retire(): void {
    this.#v = null;
  }

  #vol(): VolumeIo {
    if (this.#v === null) throw new BackendError('ESHUTDOWN', 'the volume was deactivated');
    return this.#v;
  }

  read(offset: number, length: number): Promise<Buffer> {
    return this.#vol().read(offset, length);
  }

  write(offset: number, data: Bytes, fua: boolean): Promise<void> {
    return this.#vol().write(offset, data, fua);
  }

  writeStream(offset: number, length: number, fua: boolean): WriteStream {
    return this.#vol().writeStream(offset, length, fua);
  }

  flush(): Promise<void> {
    return this.#vol().flush();
  }

  // Trim and zeroes are mirrored as writes of zeros: the peer's copy must read back the same bytes.
  trim(offset: number, length: number, fua: boolean): Promise<void> {
    return this.#zeroes(offset, length, fua);
  }

  writeZeroes(offset: number, length: number, fua: boolean): Promise<void> {
    return this.#zeroes(offset, length, fua);
  }

  /** Zeros streamed from one shared buffer (never written to), not a buffer the size of the range. */
  async #zeroes(offset: number, length: number, fua: boolean): Promise<void> {
    const s = this.#vol().writeStream(offset, length, fua);
    for (let done = 0; done < length; done += ZEROES.length)
      s.data(ZEROES.subarray(0, Math.min(ZEROES.length, length - done)));
    return s.end();
  }
}
