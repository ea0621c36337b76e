/**
 * What the NBD server serves (issue 5): a block device of `size` bytes behind one interface, so that the
 * protocol (src/nbd/server.ts) knows nothing of files or mirrors. The mirror disk engine implements it for
 * the active server's volume (a write resolves only when it is as durable as the mode requires: sync = on
 * both copies); `FileBackend` (file-backend.ts) implements it for a plain file (tests, the unreplicated
 * benchmark baseline).
 */

export type BackendErrno = 'EIO' | 'EPERM' | 'ENOSPC' | 'EINVAL' | 'ESHUTDOWN';

/** A failed backend call; the server answers the request with the matching NBD error. */
export class BackendError extends Error {
  readonly errno: BackendErrno;
  constructor(errno: BackendErrno, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BackendError';
    this.errno = errno;
  }
}

/**
 * Bytes to write: one buffer, or the socket chunks a request arrived in (a 1 MiB write comes as ~16 reads).
 * Passing the chunks on (to `writev`, to the mirror link) spares copying them into one buffer.
 */
export type Bytes = Buffer | readonly Buffer[];

export function bytesLength(b: Bytes): number {
  if (Buffer.isBuffer(b)) return b.length;
  let n = 0;
  for (const c of b) n += c.length;
  return n;
}

/** One buffer holding `b` (a copy only when it is a chunk list of more than one chunk). */
export function toBuffer(b: Bytes): Buffer {
  if (Buffer.isBuffer(b)) return b;
  return b.length === 1 ? b[0]! : Buffer.concat(b);
}

/** `b` split after its first `n` bytes (views, no copy); the caller checked `bytesLength(b) >= n`. */
export function splitBytes(b: Bytes, n: number): [Bytes, Bytes] {
  if (Buffer.isBuffer(b)) return [b.subarray(0, n), b.subarray(n)];
  const head: Buffer[] = [];
  const tail: Buffer[] = [];
  let left = n;
  for (const c of b) {
    if (left >= c.length) head.push(c);
    else if (left <= 0) tail.push(c);
    else {
      head.push(c.subarray(0, left));
      tail.push(c.subarray(left));
    }
    left -= c.length;
  }
  return [head, tail];
}

/**
 * A write whose data arrive in pieces: the server hands over a large WRITE request's payload as it comes
 * in, so the backend can start on it before the last byte is read (BlockBackend.writeStream).
 */
export interface WriteStream {
  /** The next bytes, in order. Never throws: failures surface from `end`. */
  data(chunk: Buffer): void;
  /** Every byte was given: resolves as `write` would, rejects with a BackendError. */
  end(): Promise<void>;
  /** The client went away mid-request: the write is abandoned (what was written may stay). */
  abort(): void;
}

export interface BlockBackend {
  /** Size in bytes (a multiple of 512). */
  readonly size: number;
  /** Writes, trims and zeroing are refused with EPERM (the export is advertised read-only). */
  readonly readOnly: boolean;
  read(offset: number, length: number): Promise<Buffer>;
  /** Resolves when the data is written; with `fua`, only once it is durable (as after `flush`). */
  write(offset: number, data: Bytes, fua: boolean): Promise<void>;
  /**
   * Optional: the same write, streamed (see WriteStream). May throw a BackendError at once (the range or
   * the state refuses it); the server then drops the payload and answers with that error.
   */
  writeStream?(offset: number, length: number, fua: boolean): WriteStream;
  /** Every write acknowledged before is durable when this resolves. */
  flush(): Promise<void>;
  /** The range may read back as anything afterwards (zeros for the file backend). */
  trim(offset: number, length: number, fua: boolean): Promise<void>;
  /** The range reads back as zeros afterwards. */
  writeZeroes(offset: number, length: number, fua: boolean): Promise<void>;
}
