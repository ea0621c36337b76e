/**
 * Shared pieces of the NBD tests: finding the Debian client programs (skip with the package name, or fail when
 * TANDEM_REQUIRE_ALL=1), running them without blocking the event loop (the server under test lives in this
 * very process, so a spawnSync would deadlock it), and a served temp file.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNbdServer, type NbdServer, type NbdServerOptions } from '../../src/nbd/server.ts';
import { FileBackend, type FileBackendOptions } from '../../src/nbd/file-backend.ts';
import type { BlockBackend } from '../../src/nbd/types.ts';

export const requireAll = process.env.TANDEM_REQUIRE_ALL === '1';
export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

function onPath(program: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore' }).status === 0;
}

/**
 * `false` when every program is installed, else a skip message naming the Debian packages. Throws instead when
 * TANDEM_REQUIRE_ALL=1, so CI cannot pass by skipping.
 */
export function needPrograms(programs: Record<string, string>, extra?: string): string | false {
  const missing = Object.entries(programs).filter(([p]) => !onPath(p));
  const problems: string[] = [];
  if (missing.length > 0) {
    const pkgs = [...new Set(missing.map(([, pkg]) => pkg))].join(' ');
    problems.push(`missing ${missing.map(([p]) => p).join(', ')} (apt-get install ${pkgs})`);
  }
  if (extra !== undefined) problems.push(extra);
  if (problems.length === 0) return false;
  const msg = problems.join('; ');
  if (requireAll) throw new Error(`TANDEM_REQUIRE_ALL=1 but this NBD test cannot run: ${msg}`);
  return msg;
}

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a program asynchronously; kills it (SIGKILL) after `timeoutMs`. */
export function run(cmd: string, args: string[], timeoutMs = 15_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Like `run`, but throws with the program's output when it exits non-zero. */
export async function runOk(cmd: string, args: string[], timeoutMs?: number): Promise<RunResult> {
  const r = await run(cmd, args, timeoutMs);
  if (r.code !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  }
  return r;
}

export interface Served {
  readonly dir: string;
  readonly file: string;
  readonly backend: FileBackend;
  readonly server: NbdServer;
  /** `nbd+unix:///EXPORT?socket=PATH` or `nbd://HOST:PORT/EXPORT`. */
  readonly uri: string;
  readonly logs: Array<{ level: string; msg: string; fields?: Record<string, unknown> }>;
}

export const EXPORT = 'vol1';

/**
 * Serves a fresh zero-filled temp file of `size` bytes (or `initial`) and runs `fn`; closes the server and the
 * backend and removes the temp dir afterwards, whatever happens.
 */
export async function withServed<T>(
  args: {
    size?: number;
    initial?: Buffer;
    tcp?: boolean;
    backendOptions?: FileBackendOptions;
    backend?: (fb: FileBackend) => BlockBackend | null;
    server?: Partial<NbdServerOptions>;
  },
  fn: (s: Served) => Promise<T>,
): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'tandem-nbd-'));
  let backend: FileBackend | undefined;
  let server: NbdServer | undefined;
  try {
    const file = join(dir, 'disk.img');
    await writeFile(file, args.initial ?? Buffer.alloc(args.size ?? 4 * 1024 * 1024));
    backend = await FileBackend.open(file, args.backendOptions);
    const fb = backend;
    const logs: Served['logs'] = [];
    const listen = args.tcp ? { host: '127.0.0.1', port: 0 } : { path: join(dir, 'nbd.sock') };
    server = await createNbdServer({
      exportName: EXPORT,
      backend: args.backend ? () => args.backend!(fb) : () => fb,
      listen,
      log: (level, msg, fields) => logs.push(fields === undefined ? { level, msg } : { level, msg, fields }),
      ...args.server,
    });
    const uri = args.tcp
      ? `nbd://${server.address}/${EXPORT}`
      : `nbd+unix:///${EXPORT}?socket=${server.address}`;
    return await fn({ dir, file, backend: fb, server, uri, logs });
  } finally {
    await server?.close();
    await backend?.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** A buffer filled with `byte`. */
export function pattern(byte: number, length: number): Buffer {
  return Buffer.alloc(length, byte);
}
