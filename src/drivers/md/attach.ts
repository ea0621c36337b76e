/**
 * The `mount` part of the md resource (issue 5 section 1, real servers only): attach the NBD export to
 * `/dev/nbdN` with `nbd-client`, mount it, and on deactivation unmount and detach. Behind a small port
 * (`MdSystem`) so the driver's ordering and error mapping are tested without root or the nbd module; the
 * real one runs the programs with execFile (no shell), bounded by the call's deadline.
 *
 * A busy mount point is never unmounted by force on a graceful stop: the operator gets the processes that
 * hold it (`fuser -vm PATH`), since killing an application behind its back is worse than a failed stop (the
 * core's deactivation failure handling then applies). A hard stop (isolation) unmounts lazily instead.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type { NbdListen } from '../../nbd/server.ts';

/** Outcome of one program run: exit status 0, a non-zero status, or the program is missing. */
export type RunResult =
  | { kind: 'ok'; stdout: string; stderr: string }
  | { kind: 'failed'; status: number | null; stdout: string; stderr: string; detail: string }
  | { kind: 'missing'; detail: string };

export interface MdSystem {
  run(
    program: string,
    args: readonly string[],
    o: { signal: AbortSignal; timeoutMs: number },
  ): Promise<RunResult>;
  /** Whether `path` is a mount point now (/proc/self/mountinfo). */
  isMounted(path: string): Promise<boolean>;
}

export function systemMd(): MdSystem {
  return {
    run(program, args, o) {
      return new Promise((resolve) => {
        execFile(
          program,
          [...args],
          { signal: o.signal, timeout: Math.max(1, o.timeoutMs), killSignal: 'SIGKILL', encoding: 'utf8' },
          (err, stdout, stderr) => {
            if (err === null) return resolve({ kind: 'ok', stdout, stderr });
            const e: { code?: unknown; killed?: boolean; name: string; message: string } = err;
            if (e.code === 'ENOENT' || e.code === 'EACCES')
              return resolve({ kind: 'missing', detail: `${program}: ${e.message}` });
            const status = typeof e.code === 'number' ? e.code : null;
            const detail =
              e.killed === true || e.name === 'AbortError'
                ? `did not finish within ${o.timeoutMs} ms`
                : `exited with ${status !== null ? `status ${status}` : e.message}`;
            resolve({ kind: 'failed', status, stdout, stderr, detail });
          },
        );
      });
    },
    async isMounted(path) {
      const text = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
      return mountPoints(text).includes(path.replace(/\/+$/, '') || '/');
    },
  };
}

/** Mount points listed in a mountinfo text (field 5, with the kernel's octal escapes decoded). */
export function mountPoints(mountinfo: string): string[] {
  const out: string[] = [];
  for (const line of mountinfo.split('\n')) {
    const f = line.split(' ');
    const p = f[4];
    if (p !== undefined)
      out.push(p.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8))));
  }
  return out;
}

/** `nbd-client` arguments attaching export `name` served at `listen` to `device`. */
export function nbdClientAttachArgs(listen: NbdListen, device: string, name: string): string[] {
  return 'path' in listen
    ? ['-unix', listen.path, device, '-N', name]
    : [listen.host, String(listen.port), device, '-N', name];
}

/** `mount` arguments. */
export function mountArgs(m: {
  device: string;
  path: string;
  fsType: string;
  options: string | null;
}): string[] {
  return ['-t', m.fsType, ...(m.options !== null ? ['-o', m.options] : []), m.device, m.path];
}

/** The command line as the operator would type it (for messages). */
export function commandLine(program: string, args: readonly string[]): string {
  return [program, ...args]
    .map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`))
    .join(' ');
}

/** umount's "target is busy" (util-linux exit status 32 with that text). */
export function isBusy(r: RunResult): boolean {
  return r.kind === 'failed' && /busy/i.test(r.stderr);
}

/** umount of something that is not mounted: the goal is reached. */
export function isNotMounted(r: RunResult): boolean {
  return r.kind === 'failed' && /not mounted|no mount point specified/i.test(r.stderr);
}

/** The process list of `fuser -vm PATH` (it writes the table to stderr), trimmed to something readable. */
export function fuserSummary(r: RunResult): string {
  if (r.kind === 'missing') return 'fuser (psmisc) is not installed; run `lsof +f -- PATH` to see them';
  const text = `${r.stdout}\n${r.stderr}`
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !/^USER\s+PID/.test(l));
  return text.length > 0 ? text.join('; ') : 'no process found (a bind mount or a loop device may hold it)';
}
