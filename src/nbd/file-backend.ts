/**
 * `BlockBackend` on a plain file or a block device (issue 5): the unreplicated benchmark baseline, tests, and
 * the local half of a mirror. Positional reads and writes on one `FileHandle`; FLUSH and FUA are `datasync`
 * (fdatasync(2)); TRIM and WRITE_ZEROES write zeros in 1 MiB chunks, since Node has no fallocate(2) to punch
 * holes. With `sync: true` the file is opened O_DSYNC, so every write is durable when it resolves and FUA
 * costs nothing extra.
 *
 * Size: the given one (a regular file shorter than it is extended), else the file's size, or for a block
 * device the kernel's size from /sys/dev/block/MAJ:MIN/size; rounded down to a multiple of 512.
 */
import { constants, open, readFile, type FileHandle } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { BackendError, bytesLength, type BackendErrno, type BlockBackend, type Bytes } from './types.ts';
import { writeAllAt } from './write-all.ts';
import { NbdError, NbdErrorCode, sysCode } from './errors.ts';

/** Chunk of zeros written by TRIM and WRITE_ZEROES. */
export const ZERO_CHUNK_BYTES = 1024 * 1024;
const ZEROES = Buffer.alloc(ZERO_CHUNK_BYTES);

export interface FileBackendOptions {
  /** Bytes to expose (rounded down to 512). @default the file's or device's size */
  readonly size?: number;
  /** Refuse writes, trims and zeroing with EPERM; the file is opened read-only. @default false */
  readonly readOnly?: boolean;
  /** Open with O_DSYNC: every write is durable when acknowledged. @default false */
  readonly sync?: boolean;
}

/** Maps a failed fs call to the NBD error the client sees (proto.md: EDQUOT and EFBIG map to ENOSPC). */
export function errnoOf(err: unknown): BackendErrno {
  switch (sysCode(err)) {
    case 'ENOSPC':
    case 'EDQUOT':
    case 'EFBIG':
      return 'ENOSPC';
    case 'EROFS':
    case 'EACCES':
    case 'EPERM':
      return 'EPERM';
    case 'EINVAL':
      return 'EINVAL';
    case 'EBADF':
      return 'ESHUTDOWN';
    default:
      return 'EIO';
  }
}

export class FileBackend implements BlockBackend {
  readonly size: number;
  readonly readOnly: boolean;
  readonly path: string;
  readonly #fh: FileHandle;
  readonly #sync: boolean;
  #closed = false;

  private constructor(path: string, fh: FileHandle, size: number, readOnly: boolean, sync: boolean) {
    this.path = path;
    this.#fh = fh;
    this.size = size;
    this.readOnly = readOnly;
    this.#sync = sync;
  }

  static async open(path: string, opts: FileBackendOptions = {}): Promise<FileBackend> {
    const readOnly = opts.readOnly ?? false;
    const sync = opts.sync ?? false;
    let flags = readOnly ? constants.O_RDONLY : constants.O_RDWR;
    if (sync && !readOnly) flags |= constants.O_DSYNC;
    let fh: FileHandle;
    try {
      fh = await open(path, flags);
    } catch (err) {
      throw new NbdError(
        {
          code: NbdErrorCode.backendOpenFailed,
          object: path,
          message: `Cannot open the volume's backing file ${path} (${sysCode(err) ?? String(err)}).`,
          remedy: 'check that the path exists and is readable and writable by the Tandem daemon (root).',
        },
        { cause: err },
      );
    }
    try {
      const st = await fh.stat();
      const actual = await actualSize(path, st);
      let size = opts.size ?? actual;
      size -= size % 512;
      if (size < 512) {
        throw new NbdError({
          code: NbdErrorCode.backendSizeInvalid,
          object: path,
          message: `The volume's backing file ${path} is ${size} bytes after rounding down to 512; it must hold at least 512 bytes.`,
          remedy: 'give a larger `size`, or point the resource at a larger file or partition.',
        });
      }
      if (size > actual) {
        if (!st.isFile() || readOnly) {
          throw new NbdError({
            code: NbdErrorCode.backendSizeInvalid,
            object: path,
            message: `The volume's backing ${st.isFile() ? 'file' : 'device'} ${path} holds ${actual} bytes, less than the requested size ${size}.`,
            remedy: 'lower `size` to at most the device size, or use a larger partition.',
          });
        }
        await fh.truncate(size);
      }
      return new FileBackend(path, fh, size, readOnly, sync);
    } catch (err) {
      await fh.close().catch(() => undefined);
      if (err instanceof NbdError) throw err;
      throw new NbdError(
        {
          code: NbdErrorCode.backendOpenFailed,
          object: path,
          message: `Cannot size the volume's backing file ${path} (${sysCode(err) ?? String(err)}).`,
          remedy: 'check that the path is a regular file or a block device.',
        },
        { cause: err },
      );
    }
  }

  async read(offset: number, length: number): Promise<Buffer> {
    this.#check(offset, length, false);
    const buf = Buffer.allocUnsafe(length);
    let done = 0;
    try {
      while (done < length) {
        const { bytesRead } = await this.#fh.read(buf, done, length - done, offset + done);
        if (bytesRead === 0) {
          // A regular file shorter than the export (never after open(), which extends it; only if someone
          // truncated it behind our back) reads as zeros past its end, like a sparse tail.
          buf.fill(0, done);
          break;
        }
        done += bytesRead;
      }
    } catch (err) {
      throw this.#fail('read', offset, length, err);
    }
    return buf;
  }

  async write(offset: number, data: Bytes, fua: boolean): Promise<void> {
    const length = bytesLength(data);
    this.#check(offset, length, true);
    try {
      await writeAllAt(this.#fh, offset, data);
      if (fua && !this.#sync) await this.#fh.datasync();
    } catch (err) {
      throw this.#fail('write', offset, length, err);
    }
  }

  async flush(): Promise<void> {
    if (this.#closed) throw this.#closedError();
    try {
      // Even O_DSYNC files get a datasync: cheap, and it covers metadata of an extended file.
      await this.#fh.datasync();
    } catch (err) {
      throw this.#fail('flush', 0, 0, err);
    }
  }

  trim(offset: number, length: number, fua: boolean): Promise<void> {
    return this.writeZeroes(offset, length, fua);
  }

  async writeZeroes(offset: number, length: number, fua: boolean): Promise<void> {
    this.#check(offset, length, true);
    try {
      for (let done = 0; done < length;) {
        const n = Math.min(ZERO_CHUNK_BYTES, length - done);
        await writeAllAt(this.#fh, offset + done, ZEROES.subarray(0, n));
        done += n;
      }
      if (fua && !this.#sync) await this.#fh.datasync();
    } catch (err) {
      throw this.#fail('zero', offset, length, err);
    }
  }

  /** Closes the file once pending calls finished; later calls fail with ESHUTDOWN. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#fh.close();
  }

  #check(offset: number, length: number, modifies: boolean): void {
    if (this.#closed) throw this.#closedError();
    if (modifies && this.readOnly) {
      throw new BackendError('EPERM', `The volume ${this.path} is read-only.`);
    }
    if (!Number.isSafeInteger(offset) || offset < 0 || length < 0 || offset + length > this.size) {
      throw new BackendError(
        modifies ? 'ENOSPC' : 'EINVAL',
        `Request ${offset}+${length} is beyond the end of the volume ${this.path} (${this.size} bytes).`,
      );
    }
  }

  #closedError(): BackendError {
    return new BackendError('ESHUTDOWN', `The volume ${this.path} is closed.`);
  }

  #fail(op: string, offset: number, length: number, err: unknown): BackendError {
    if (err instanceof BackendError) return err;
    const errno = this.#closed ? 'ESHUTDOWN' : errnoOf(err);
    return new BackendError(
      errno,
      `${op} ${offset}+${length} on ${this.path} failed (${sysCode(err) ?? String(err)}).`,
      { cause: err },
    );
  }
}

/** Size of a regular file, or of a block device from sysfs (stat reports 0 for devices). */
async function actualSize(path: string, st: Stats): Promise<number> {
  if (st.isFile()) return st.size;
  if (st.isBlockDevice()) {
    const rdev = st.rdev;
    // glibc's major()/minor() split of dev_t.
    const major = ((rdev >>> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff);
    const minor = (rdev & 0xff) | ((rdev >>> 12) & ~0xff);
    const sectors = Number((await readFile(`/sys/dev/block/${major}:${minor}/size`, 'utf8')).trim());
    if (!Number.isSafeInteger(sectors)) throw new Error(`cannot read the size of block device ${path}`);
    return sectors * 512;
  }
  throw Object.assign(new Error(`${path} is neither a regular file nor a block device`), { code: 'EINVAL' });
}
