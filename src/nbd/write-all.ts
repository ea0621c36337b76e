/**
 * Writing `Bytes` (one buffer or a chunk list, types.ts) at a file offset, whole: `writev` for a chunk list
 * (one system call for a 1 MiB request that arrived in ~16 socket reads, no joining copy), looping on short
 * writes. Shared by the file backend and the mirror volume's copies.
 */
import type { FileHandle } from 'node:fs/promises';
import type { Bytes } from './types.ts';

function shortWrite(): Error {
  return Object.assign(new Error('short write (no space left?)'), { code: 'ENOSPC' });
}

export async function writeAllAt(fh: FileHandle, offset: number, data: Bytes): Promise<void> {
  if (Buffer.isBuffer(data)) {
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await fh.write(data, done, data.length - done, offset + done);
      if (bytesWritten === 0) throw shortWrite();
      done += bytesWritten;
    }
    return;
  }
  let bufs: readonly Buffer[] = data;
  let at = offset;
  while (bufs.length > 0) {
    const { bytesWritten } = await fh.writev(bufs as Buffer[], at);
    if (bytesWritten === 0) throw shortWrite();
    at += bytesWritten;
    // Rare (a regular file takes the whole writev): drop what was written and go on with the rest.
    let left = bytesWritten;
    let i = 0;
    while (i < bufs.length && left >= bufs[i]!.length) left -= bufs[i++]!.length;
    const rest = bufs.slice(i);
    if (left > 0 && rest.length > 0) rest[0] = rest[0]!.subarray(left);
    bufs = rest;
  }
}
