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

export interface BlockBackend {
  /** Size in bytes (a multiple of 512). */
  readonly size: number;
  /** Writes, trims and zeroing are refused with EPERM (the export is advertised read-only). */
  readonly readOnly: boolean;
  read(offset: number, length: number): Promise<Buffer>;
  /** Resolves when the data is written; with `fua`, only once it is durable (as after `flush`). */
  write(offset: number, data: Buffer, fua: boolean): Promise<void>;
  /** Every write acknowledged before is durable when this resolves. */
  flush(): Promise<void>;
  /** The range may read back as anything afterwards (zeros for the file backend). */
  trim(offset: number, length: number, fua: boolean): Promise<void>;
  /** The range reads back as zeros afterwards. */
  writeZeroes(offset: number, length: number, fua: boolean): Promise<void>;
}
