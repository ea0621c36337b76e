// A data partition whose reads, writes or syncs can be made to fail with EIO, for MirrorVolumeOptions'
// `openData` test seam: a real file handle, wrapped so that a switched-on fault rejects the call.
import { open, type FileHandle } from 'node:fs/promises';

export interface DiskFaults {
  write: boolean;
  read: boolean;
  sync: boolean;
}

export function eio(syscall: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`EIO: i/o error, ${syscall}`), { code: 'EIO', errno: -5, syscall });
}

/** `openData` that opens the real file and fails the calls whose fault is on (checked at each call). */
export function faultyOpen(faults: DiskFaults): (path: string) => Promise<FileHandle> {
  return async (path) => {
    const fh = await open(path, 'r+');
    return new Proxy(fh, {
      get(target, key) {
        if ((key === 'write' || key === 'writev') && faults.write)
          return () => Promise.reject(eio(String(key)));
        if ((key === 'read' || key === 'readv') && faults.read) return () => Promise.reject(eio(String(key)));
        if ((key === 'datasync' || key === 'sync') && faults.sync)
          return () => Promise.reject(eio(String(key)));
        const v: unknown = Reflect.get(target, key, target);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  };
}

export function noFaults(): DiskFaults {
  return { write: false, read: false, sync: false };
}

/**
 * `openData` whose writes (write, writev) take a random 0-`maxMs` ms before they run, as a disk under
 * load does: writes in flight together then complete in any order.
 */
export function slowOpen(maxMs: number, random: () => number): (path: string) => Promise<FileHandle> {
  return async (path) => {
    const fh = await open(path, 'r+');
    return new Proxy(fh, {
      get(target, key) {
        const v: unknown = Reflect.get(target, key, target);
        if (typeof v !== 'function') return v;
        const f = (v as (...a: unknown[]) => unknown).bind(target);
        if (key !== 'write' && key !== 'writev') return f;
        return async (...args: unknown[]) => {
          await new Promise((r) => setTimeout(r, Math.floor(random() * maxMs)));
          return f(...args);
        };
      },
    });
  };
}
