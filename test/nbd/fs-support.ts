/**
 * A real filesystem on an NBD export, for the tests of issue 5 section 4: nbdfuse (libnbd-bin) exposes the
 * export as a file, losetup turns that file into /dev/loopN, and the caller formats, mounts, checks it.
 *
 * Root only (loop devices, mounts, /dev/fuse): `fsTestSkip` says why a test cannot run (or throws when
 * TANDEM_REQUIRE_ALL=1, as helpers.ts's `needPrograms`). Every program touching the FUSE file or the mount
 * runs as a child process: the NBD server answering it lives in the test's own process, so a synchronous
 * call there (or libuv's thread pool filled with writes to the mount) would deadlock it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { access, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isRoot, needPrograms, run, runOk } from './helpers.ts';

/** The programs every filesystem-on-NBD test needs, with their Debian packages. */
export const FS_PROGRAMS: Readonly<Record<string, string>> = {
  nbdfuse: 'libnbd-bin',
  fusermount3: 'fuse3',
  losetup: 'mount',
  mount: 'mount',
  umount: 'mount',
  'mkfs.ext4': 'e2fsprogs',
  'fsck.ext4': 'e2fsprogs',
};

/**
 * `false` when the test can run, else the skip message (root, /dev/fuse, the programs of `FS_PROGRAMS` plus
 * `more`). Throws instead when TANDEM_REQUIRE_ALL=1, so CI cannot pass by skipping.
 */
export function fsTestSkip(more: Record<string, string> = {}): string | false {
  const extra = !isRoot
    ? 'needs root for loop devices and mounts'
    : !existsSync('/dev/fuse')
      ? 'needs /dev/fuse (load the fuse module, or run the container with --device /dev/fuse)'
      : undefined;
  return needPrograms({ ...FS_PROGRAMS, ...more }, extra);
}

/** Polls `check` every 20 ms until it holds; rejects after `timeoutMs` naming `what`. */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Resolves when `child` has exited (at once if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * One NBD export as a loop device: `attach` starts nbdfuse on DIR/fuse and losetup on its file; `mount` and
 * `umount` put a filesystem of the loop device on a mount point; `detach` undoes whatever was done, in order
 * (unmount, loop detach, FUSE unmount, nbdfuse exit), never throws, and may be called again (a `finally`
 * calls it after the test body already did).
 */
export class FuseLoop {
  /** Where nbdfuse mounts; the export is the file `nbd` in it. */
  readonly fuseDir: string;
  readonly #pidFile: string;
  readonly #uri: string;
  #child: ChildProcess | null = null;
  #stderr = '';
  #loop: string | null = null;
  #mountedOn: string | null = null;

  /** `dir`: a private directory for the FUSE mount point and the pid file; `uri`: the NBD URI to expose. */
  constructor(dir: string, uri: string) {
    this.fuseDir = join(dir, 'fuse');
    this.#pidFile = join(dir, 'nbdfuse.pid');
    this.#uri = uri;
  }

  /** The loop device (after `attach`). */
  get loop(): string {
    if (this.#loop === null) throw new Error(`no loop device attached for ${this.#uri}`);
    return this.#loop;
  }

  /** What nbdfuse wrote on stderr so far. */
  get nbdfuseStderr(): string {
    return this.#stderr;
  }

  /** Starts nbdfuse, waits until it serves the file (it writes its pid file then), attaches a loop device. */
  async attach(): Promise<string> {
    await mkdir(this.fuseDir, { recursive: true });
    const child = spawn('nbdfuse', ['-P', this.#pidFile, this.fuseDir, this.#uri], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.#child = child;
    child.stderr.setEncoding('utf8').on('data', (d: string) => (this.#stderr += d));
    await waitFor(`nbdfuse to attach ${this.#uri} (${this.#stderr})`, async () => {
      if (child.exitCode !== null) throw new Error(`nbdfuse exited ${child.exitCode}: ${this.#stderr}`);
      return access(this.#pidFile).then(
        () => true,
        () => false,
      );
    });
    this.#loop = (await runOk('losetup', ['--find', '--show', join(this.fuseDir, 'nbd')])).stdout.trim();
    return this.#loop;
  }

  async mount(target: string, options: readonly string[] = []): Promise<void> {
    await mkdir(target, { recursive: true });
    const o = options.length > 0 ? ['-o', options.join(',')] : [];
    await runOk('mount', ['-t', 'ext4', ...o, this.loop, target]);
    this.#mountedOn = target;
  }

  async umount(): Promise<void> {
    if (this.#mountedOn === null) return;
    await runOk('umount', [this.#mountedOn]);
    this.#mountedOn = null;
  }

  /**
   * Undoes everything, best effort: a lazy unmount if still mounted, loop detach, FUSE unmount (retried while
   * busy), and nbdfuse's exit (SIGKILL after 5 s, then a lazy FUSE unmount so no dead mount is left behind). Resolves with
   * nbdfuse's exit code (null: killed, or never started).
   */
  async detach(): Promise<number | null> {
    if (this.#mountedOn !== null) {
      await run('umount', ['-l', this.#mountedOn]).catch(() => undefined);
      this.#mountedOn = null;
    }
    if (this.#loop !== null) {
      await run('losetup', ['-d', this.#loop]).catch(() => undefined);
      this.#loop = null;
    }
    const child = this.#child;
    if (child === null) return null;
    if (child.exitCode === null && child.signalCode === null) {
      // The loop device lets go of the FUSE file asynchronously (losetup -d only marks it for release
      // while it is still open), so the FUSE unmount can be refused as busy for a moment: retry it.
      const deadline = Date.now() + 5000;
      for (;;) {
        const r = await run('fusermount3', ['-u', this.fuseDir]).catch(() => null);
        if (r?.code === 0 || child.exitCode !== null || Date.now() > deadline) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const done = exited(child);
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await done;
      clearTimeout(t);
      if (child.signalCode !== null) await run('umount', ['-l', this.fuseDir]).catch(() => undefined);
    }
    return child.exitCode;
  }
}
