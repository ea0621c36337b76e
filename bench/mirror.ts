/**
 * `npm run bench:mirror`: the mirror disk's cost on loopback (issue 5 section 5).
 *
 * fio's `nbd` ioengine (libnbd) drives four workloads through NBD over a unix socket (sequential 1 MiB writes
 * and random 4 KiB writes, each at queue depth 1 and 16) against five configurations on sparse files in one
 * temp dir:
 * 1. baseline: `nbdkit file` (C, multi-threaded, unreplicated),
 * 2. Tandem's NBD server over `FileBackend` (unreplicated: the protocol's cost in Node),
 * 3. Tandem's mirror volume whose peer is unreachable (goes on alone, marking regions dirty),
 * 4. sync mode and 5. async mode with the peer volume in a CHILD process (its own event loop), MDC on
 *    127.0.0.1; the active volume and its NBD server share this process, as in the daemon.
 * Every server writes through the page cache (fio's requests carry no FUA and fio sends no FLUSH), so the
 * configurations are compared on equal terms. Then the resync rate: the peer is closed, distinct 1 MiB
 * chunks are written alone, the peer is reopened and the time until the active side's status says the peer
 * is UpToDate gives MB/s; both copies are then hashed to check that they ended identical.
 *
 * Prints MB/s (10^6 bytes), IOPS and fio's total latency (`lat`: submission to completion) p50/p99 per run,
 * each as a ratio of the baseline, and the targets (sync 1 MiB throughput >= 70 % of the baseline, sync p99
 * <= 2x the baseline, resync >= 200 MB/s). Exit code 0 when all are met, 1 when some are not, 2 when the
 * benchmark failed.
 *
 * Options (env): BENCH_RUNTIME_SEC (measured seconds per run, default 4, plus 1 s of ramp), BENCH_SIZE_MIB
 * (volume size, default 256), BENCH_RESYNC_MIB (written while the peer is away, default 256),
 * BENCH_CONFIGS (comma-separated subset of baseline,nbd-file,alone,sync,async), BENCH_WORKLOADS (subset of
 * seq1m-qd1,seq1m-qd16,rand4k-qd1,rand4k-qd16), BENCH_VERBOSE=1 (every
 * log line of both volumes).
 *
 * Internal: `bench/mirror.ts --peer JSON` is the child process holding the peer volume (it prints READY once
 * open, closes on a `close` line or when its stdin ends, so it never outlives the benchmark).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { access, mkdtemp, mkdir, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createHash, randomBytes } from 'node:crypto';
import type { Logger } from '../src/ports/logger.ts';
import { createNbdServer, type NbdServer } from '../src/nbd/server.ts';
import { FileBackend } from '../src/nbd/file-backend.ts';
import type { BlockBackend } from '../src/nbd/types.ts';
import { MirrorVolume, type MirrorStatus, type MirrorVolumeOptions } from '../src/mirror/volume.ts';
import { freePort } from '../test/mirror/harness.ts';

const SELF = fileURLToPath(import.meta.url);
const REPO = dirname(dirname(SELF));
const MiB = 1024 * 1024;
const MB = 1e6;
const env = process.env;
const RUNTIME_SEC = Number(env.BENCH_RUNTIME_SEC ?? '4');
const RAMP_SEC = 1;
const SIZE = Number(env.BENCH_SIZE_MIB ?? '256') * MiB;
const RESYNC_BYTES = Math.min(SIZE, Number(env.BENCH_RESYNC_MIB ?? '256') * MiB);
const EXPORT = 'md1';
/** BENCH_VERBOSE=1: every log line of both volumes, expected or not. */
const VERBOSE = env.BENCH_VERBOSE === '1';

const WORKLOADS = [
  { id: 'seq1m-qd1', label: 'seq write 1 MiB, QD1', rw: 'write', bs: '1M', depth: 1 },
  { id: 'seq1m-qd16', label: 'seq write 1 MiB, QD16', rw: 'write', bs: '1M', depth: 16 },
  { id: 'rand4k-qd1', label: 'rand write 4 KiB, QD1', rw: 'randwrite', bs: '4k', depth: 1 },
  { id: 'rand4k-qd16', label: 'rand write 4 KiB, QD16', rw: 'randwrite', bs: '4k', depth: 16 },
] as const;
type Workload = (typeof WORKLOADS)[number];
/** BENCH_WORKLOADS: a comma-separated subset of the workload ids (default all). */
const RUN_WORKLOADS: readonly Workload[] = (() => {
  const ids = (env.BENCH_WORKLOADS ?? WORKLOADS.map((w) => w.id).join(',')).split(',').map((s) => s.trim());
  const unknown = ids.filter((id) => !WORKLOADS.some((w) => w.id === id));
  if (unknown.length > 0)
    throw new Error(
      `BENCH_WORKLOADS: unknown ${unknown.join(', ')} (use ${WORKLOADS.map((w) => w.id).join(',')})`,
    );
  return WORKLOADS.filter((w) => ids.includes(w.id));
})();

const CONFIGS = [
  { id: 'baseline', label: 'nbdkit file (baseline)' },
  { id: 'nbd-file', label: 'Tandem NBD + FileBackend' },
  { id: 'alone', label: 'Tandem md, no peer' },
  { id: 'sync', label: 'Tandem md, sync' },
  { id: 'async', label: 'Tandem md, async' },
] as const;
type ConfigId = (typeof CONFIGS)[number]['id'];

interface RunResult {
  readonly mbps: number;
  readonly iops: number;
  readonly p50us: number;
  readonly p99us: number;
}

/** What the peer child needs to open its volume (the rest is fixed in volumeOptions). */
interface PeerSpec {
  readonly mode: 'sync' | 'async';
  readonly dataPath: string;
  readonly clusterPath: string;
  readonly selfMdc: string;
  readonly peerMdc: string;
  readonly secret: string;
}

// ---- cleanup: everything started is registered here and undone in reverse order, even on failure ----

const undo: (() => Promise<unknown>)[] = [];
const children = new Set<ChildProcess>();

async function undoAll(): Promise<void> {
  while (undo.length > 0) {
    const fn = undo.pop()!;
    await fn().catch((err: unknown) => console.error(`cleanup: ${(err as Error).message}`));
  }
}

function onSignal(sig: NodeJS.Signals): void {
  console.error(`\n${sig}: stopping the benchmark and cleaning up`);
  for (const c of children) c.kill('SIGKILL');
  void undoAll().finally(() => process.exit(130));
}

// ---- logging: the volumes' warnings and errors, each distinct message once (with a count at the end) ----

/** True while a peer loss is deliberate (resync phase, teardown): its warnings are not news. */
let expectPeerLoss = false;
const logCounts = new Map<string, number>();

function benchLogger(who: string, show: readonly string[]): Logger {
  const mk =
    (level: string) =>
    (obj: Record<string, unknown>, msg: string): void => {
      if (!VERBOSE && (!show.includes(level) || expectPeerLoss)) return;
      const detail = Object.entries(obj)
        .filter(([k]) => k !== 'volume' && k !== 'seq')
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(' ');
      const line = `  [${who}] ${level}: ${msg}${detail === '' ? '' : ` (${detail})`}`;
      const n = logCounts.get(line) ?? 0;
      logCounts.set(line, n + 1);
      if (n === 0) console.error(line);
    };
  const log: Logger = {
    debug: mk('debug'),
    info: mk('info'),
    warn: mk('warn'),
    error: mk('error'),
    child: () => log,
  };
  return log;
}

/** Reports how often the lines already shown repeated. */
function flushLogCounts(): void {
  for (const [line, n] of logCounts) if (n > 1) console.error(`${line} [${n} times in all]`);
  logCounts.clear();
}

function volumeOptions(spec: PeerSpec, selfName: string, peerName: string, log: Logger): MirrorVolumeOptions {
  return {
    name: EXPORT,
    volumeId: 'bench-volume',
    dataPath: spec.dataPath,
    clusterPath: spec.clusterPath,
    mode: spec.mode,
    // Both copies start as the same blank sparse file: no initial full sync before the runs.
    initialSync: 'skip',
    // The seed product's defaults (issue 5 section 1).
    queueSize: 2048,
    sendTimeoutMs: 30_000,
    connectTimeoutMs: 10_000,
    ackTimeoutMs: 100_000,
    retryMs: 50,
    self: { name: selfName, mdc: spec.selfMdc },
    peer: { name: peerName, mdc: spec.peerMdc },
    secret: spec.secret,
    clusterName: 'bench',
    log,
    now: () => performance.now(),
    random: (n) => randomBytes(n),
  };
}

// ---- processes: fio, nbdkit, the peer child ----

/** Runs a program to completion (no shell); SIGKILL after `timeoutMs`. */
function runProgram(cmd: string, args: string[], timeoutMs: number) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      children.delete(child);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Stops a long-running child: `how` first (a signal or a close request), SIGKILL after 10 s. */
async function stopChild(child: ChildProcess, how: () => void): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  how();
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
  children.delete(child);
}

async function preflight(): Promise<void> {
  const fio = await runProgram('fio', ['--enghelp=nbd'], 10_000).catch(() => null);
  if (fio === null || fio.code !== 0 || !/uri/.test(fio.stdout)) {
    throw new Error(
      'fio with its nbd ioengine is needed (apt-get install fio; Debian builds it with libnbd). ' +
        `\`fio --enghelp=nbd\` said: ${fio === null ? 'not installed' : (fio.stderr || fio.stdout).trim()}`,
    );
  }
  const nbdkit = await runProgram('nbdkit', ['file', '--dump-plugin'], 10_000).catch(() => null);
  if (nbdkit === null || nbdkit.code !== 0) {
    throw new Error('nbdkit with its file plugin is needed for the baseline (apt-get install nbdkit).');
  }
}

function nbdUri(socket: string): string {
  return `nbd+unix:///${EXPORT}?socket=${socket}`;
}

/** One fio run; fio's JSON gives bandwidth, IOPS and total-latency percentiles (ns). */
async function runFio(socket: string, w: Workload): Promise<RunResult> {
  const args = [
    '--output-format=json',
    `--name=${w.id}`,
    '--ioengine=nbd',
    `--uri=${nbdUri(socket)}`,
    `--rw=${w.rw}`,
    `--bs=${w.bs}`,
    `--iodepth=${w.depth}`,
    '--direct=1',
    `--size=${SIZE}`,
    '--time_based',
    `--runtime=${RUNTIME_SEC}`,
    `--ramp_time=${RAMP_SEC}`,
    // Total latency (submission + completion): libnbd sends a write's payload inside the submit call, so
    // fio's clat alone misses up to ~200 us of a 1 MiB write and part of a 4 KiB one.
    '--lat_percentiles=1',
  ];
  const r = await runProgram('fio', args, (RUNTIME_SEC + RAMP_SEC) * 1000 + 60_000);
  const at = r.stdout.indexOf('{');
  if (r.code !== 0 || at < 0) {
    throw new Error(`fio ${w.id} failed (exit ${r.code}): ${(r.stderr + r.stdout).trim().slice(0, 800)}`);
  }
  // fio prints libnbd's complaints before the JSON document on stdout.
  const doc = JSON.parse(r.stdout.slice(at)) as {
    jobs: {
      error: number;
      write: {
        bw_bytes: number;
        iops: number;
        total_ios: number;
        lat_ns: { percentile?: Record<string, number> };
      };
    }[];
  };
  const job = doc.jobs[0];
  const pct = job?.write.lat_ns.percentile;
  if (job === undefined || job.error !== 0 || job.write.total_ios === 0 || pct === undefined) {
    throw new Error(`fio ${w.id} did no writes: ${(r.stdout.slice(0, at) + r.stderr).trim().slice(0, 800)}`);
  }
  return {
    mbps: job.write.bw_bytes / MB,
    iops: job.write.iops,
    p50us: (pct['50.000000'] ?? NaN) / 1000,
    p99us: (pct['99.000000'] ?? NaN) / 1000,
  };
}

/** nbdkit writes its pidfile once it accepts connections (nbdkit(1), --pidfile). */
async function startNbdkit(file: string, socket: string): Promise<void> {
  const pidfile = `${socket}.pid`;
  const child = spawn(
    'nbdkit',
    [
      ...['--unix', socket, '--pidfile', pidfile, '--foreground', '--exit-with-parent'],
      ...['--exportname', EXPORT, 'file', `file=${file}`],
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  children.add(child);
  undo.push(() => stopChild(child, () => child.kill('SIGTERM')));
  const end = performance.now() + 10_000;
  while (!(await exists(pidfile))) {
    if (child.exitCode !== null) throw new Error(`nbdkit exited (${child.exitCode}) before it was ready`);
    if (performance.now() > end) throw new Error(`nbdkit did not become ready on ${socket} within 10 s`);
    await sleep(10);
  }
}

function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

interface PeerProc {
  /** performance.now() when the child printed READY (its volume open, listening and dialing). */
  readonly readyAt: number;
  close(): Promise<void>;
}

async function startPeer(spec: PeerSpec): Promise<PeerProc> {
  const child = spawn(process.execPath, ['--import', 'tsx', SELF, '--peer', JSON.stringify(spec)], {
    cwd: REPO,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  children.add(child);
  const close = () =>
    stopChild(child, () => {
      child.stdin?.end('close\n');
    });
  undo.push(close);
  const lines = createInterface({ input: child.stdout });
  const readyAt = await new Promise<number>((resolve, reject) => {
    lines.on('line', (l) => {
      if (l === 'READY') resolve(performance.now());
    });
    child.once('exit', (code) => reject(new Error(`the peer process exited (${code}) before it was ready`)));
  });
  return { readyAt, close };
}

/** The peer child: opens the secondary copy, reports READY, closes on request or when stdin ends. */
async function peerMain(spec: PeerSpec): Promise<void> {
  const v = await MirrorVolume.open(volumeOptions(spec, 'node-b', 'node-a', benchLogger('peer', ['error'])));
  process.stdout.write('READY\n');
  let closing: Promise<void> | null = null;
  const close = (): Promise<void> =>
    (closing ??= v.close().then(
      () => {
        flushLogCounts();
        process.exit(0);
      },
      (err: unknown) => {
        console.error(`peer: close failed: ${(err as Error).message}`);
        process.exit(1);
      },
    ));
  const input = createInterface({ input: process.stdin });
  input.on('line', (l) => {
    if (l.trim() === 'close') void close();
  });
  input.on('close', () => void close());
}

// ---- the configurations ----

interface Served {
  readonly socket: string;
  /** Extra measurement on the live setup (the resync phase), before teardown. */
  readonly after?: () => Promise<void>;
}

async function serve(dir: string, backend: BlockBackend): Promise<string> {
  const socket = join(dir, 'nbd.sock');
  const server: NbdServer = await createNbdServer({
    exportName: EXPORT,
    backend: () => backend,
    listen: { path: socket },
  });
  undo.push(() => server.close());
  return socket;
}

async function sparseFile(path: string): Promise<string> {
  await writeFile(path, '');
  await truncate(path, SIZE);
  return path;
}

async function until(what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(2);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function setUp(id: ConfigId, dir: string): Promise<Served> {
  const data = await sparseFile(join(dir, 'a.data'));
  switch (id) {
    case 'baseline': {
      const socket = join(dir, 'nbd.sock');
      await startNbdkit(data, socket);
      return { socket };
    }
    case 'nbd-file': {
      const fb = await FileBackend.open(data);
      undo.push(() => fb.close());
      return { socket: await serve(dir, fb) };
    }
    case 'alone': {
      // A port nobody listens on: every dial is refused at once, as with a peer that is down.
      const spec: PeerSpec = {
        mode: 'sync',
        dataPath: data,
        clusterPath: join(dir, 'a.meta'),
        selfMdc: `127.0.0.1:${await freePort()}`,
        peerMdc: `127.0.0.1:${await freePort()}`,
        secret: randomBytes(16).toString('hex'),
      };
      const v = await MirrorVolume.open(
        volumeOptions(spec, 'node-a', 'node-b', benchLogger('node-a', ['error'])),
      );
      undo.push(() => v.close());
      return { socket: await serve(dir, await v.promote({ force: true })) };
    }
    case 'sync':
    case 'async': {
      const [pa, pb] = [await freePort(), await freePort()];
      const secret = randomBytes(16).toString('hex');
      const peerSpec: PeerSpec = {
        mode: id,
        dataPath: await sparseFile(join(dir, 'b.data')),
        clusterPath: join(dir, 'b.meta'),
        selfMdc: `127.0.0.1:${pb}`,
        peerMdc: `127.0.0.1:${pa}`,
        secret,
      };
      let peer = await startPeer(peerSpec);
      const spec: PeerSpec = {
        ...peerSpec,
        dataPath: data,
        clusterPath: join(dir, 'a.meta'),
        selfMdc: `127.0.0.1:${pa}`,
        peerMdc: `127.0.0.1:${pb}`,
      };
      const v = await MirrorVolume.open(
        volumeOptions(spec, 'node-a', 'node-b', benchLogger('node-a', ['warn', 'error'])),
      );
      undo.push(async () => {
        expectPeerLoss = true;
        await v.close();
      });
      await until('the mirror to connect', () => isInSync(v.status()), 20_000);
      const dev = await v.promote();
      const socket = await serve(dir, dev);
      if (id === 'async') {
        return {
          socket,
          after: async () => {
            // What the async runs left behind: writes not yet acknowledged by the peer, regions not clean.
            const s = v.status();
            const t = performance.now();
            await until('the async backlog to drain', () => isInSync(v.status()), 120_000);
            asyncDrain = {
              queueDepth: s.asyncQueueDepth,
              dirtyBytes: s.dirtyBytes,
              seconds: (performance.now() - t) / 1000,
            };
          },
        };
      }
      return {
        socket,
        after: async () => {
          resync = await measureResync(
            v,
            dev,
            data,
            peerSpec,
            () => peer,
            (p) => (peer = p),
          );
        },
      };
    }
  }
}

function isInSync(s: MirrorStatus): boolean {
  return s.connection.kind === 'Connected' && s.peer === 'UpToDate' && s.dirtyBytes === 0;
}

// ---- resync ----

interface ResyncResult {
  readonly bytes: number;
  /** From the peer's READY (volume open) to the active side's status showing the peer UpToDate. */
  readonly seconds: number;
  /** From the first status showing Resyncing to UpToDate: the copy loop alone. */
  readonly copySeconds: number | null;
  readonly identical: boolean;
}

let resync: ResyncResult | null = null;
/** The async peer's lag when the last async run ended, and how long it took to catch up. */
let asyncDrain: { queueDepth: number; dirtyBytes: number; seconds: number } | null = null;

async function measureResync(
  v: MirrorVolume,
  dev: BlockBackend,
  activeDataPath: string,
  peerSpec: PeerSpec,
  peer: () => PeerProc,
  setPeer: (p: PeerProc) => void,
): Promise<ResyncResult> {
  expectPeerLoss = true;
  await peer().close();
  await until('the peer loss to be noticed', () => v.status().connection.kind === 'Disconnected', 10_000);
  // Distinct 1 MiB chunks (distinct contents too), 8 in flight: every region they cover becomes dirty.
  const chunk = randomBytes(MiB);
  let next = 0;
  const writer = async (): Promise<void> => {
    for (let i = next++; i * MiB < RESYNC_BYTES; i = next++) {
      const data = Buffer.from(chunk);
      data.writeUInt32LE(i, 0);
      await dev.write(i * MiB, data, false);
    }
  };
  await Promise.all(Array.from({ length: 8 }, writer));
  await dev.flush();
  const dirty = v.status().dirtyBytes;
  const sentBefore = v.status().resyncBytesSent;
  setPeer(await startPeer(peerSpec));
  expectPeerLoss = false;
  const readyAt = peer().readyAt;
  let copyStart: number | null = null;
  await until(
    'the peer to be UpToDate again',
    () => {
      const s = v.status();
      if (copyStart === null && s.connection.kind === 'Resyncing') copyStart = performance.now();
      return isInSync(s);
    },
    120_000,
  );
  const doneAt = performance.now();
  const bytes = v.status().resyncBytesSent - sentBefore;
  if (bytes !== dirty) console.error(`  note: ${dirty} bytes were dirty, ${bytes} were copied`);
  // Sync mode: the flush returns once the peer's copy is durable too; then both files must hash the same.
  await dev.flush();
  const [ha, hb] = await Promise.all([sha256(activeDataPath), sha256(peerSpec.dataPath)]);
  return {
    bytes,
    seconds: (doneAt - readyAt) / 1000,
    copySeconds: copyStart === null ? null : (doneAt - copyStart) / 1000,
    identical: ha === hb,
  };
}

function sha256(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (d) => h.update(d))
      .on('end', () => resolve(h.digest('hex')))
      .on('error', reject);
  });
}

// ---- report ----

function fmt(n: number, digits = 0): string {
  return Number.isFinite(n)
    ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : '-';
}

function ratio(n: number, base: number | undefined): string {
  return base === undefined || !(base > 0) ? '-' : `${(n / base).toFixed(2)}x`;
}

function table(results: Map<string, RunResult>, configs: readonly (typeof CONFIGS)[number][]): void {
  const head = ['configuration', 'MB/s', 'x base', 'IOPS', 'p50 us', 'x base', 'p99 us', 'x base'];
  const widths = [26, 8, 7, 8, 8, 7, 9, 7];
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  for (const w of RUN_WORKLOADS) {
    console.log(`\n${w.label}`);
    console.log(line(head));
    const base = results.get(`baseline/${w.id}`);
    for (const c of configs) {
      const r = results.get(`${c.id}/${w.id}`);
      if (r === undefined) continue;
      console.log(
        line([
          c.label,
          fmt(r.mbps, 1),
          ratio(r.mbps, base?.mbps),
          fmt(r.iops),
          fmt(r.p50us),
          ratio(r.p50us, base?.p50us),
          fmt(r.p99us),
          ratio(r.p99us, base?.p99us),
        ]),
      );
    }
  }
}

function targets(results: Map<string, RunResult>): boolean {
  const rows: [string, boolean | null][] = [];
  for (const w of RUN_WORKLOADS.filter((x) => x.bs === '1M')) {
    const b = results.get(`baseline/${w.id}`);
    const s = results.get(`sync/${w.id}`);
    const r = b && s ? s.mbps / b.mbps : NaN;
    rows.push([
      `sync throughput >= 70 % of baseline, ${w.label}: ${fmt(r * 100)} % (${fmt(s?.mbps ?? NaN, 1)} / ${fmt(b?.mbps ?? NaN, 1)} MB/s)`,
      Number.isFinite(r) ? r >= 0.7 : null,
    ]);
  }
  for (const w of RUN_WORKLOADS) {
    const b = results.get(`baseline/${w.id}`);
    const s = results.get(`sync/${w.id}`);
    const r = b && s ? s.p99us / b.p99us : NaN;
    rows.push([
      `sync p99 <= 2x baseline, ${w.label}: ${fmt(r, 2)}x (${fmt(s?.p99us ?? NaN)} / ${fmt(b?.p99us ?? NaN)} us)`,
      Number.isFinite(r) ? r <= 2 : null,
    ]);
  }
  if (resync !== null) {
    const rate = resync.bytes / MB / resync.seconds;
    const copy =
      resync.copySeconds === null
        ? ''
        : `; copy loop alone ${fmt(resync.bytes / MB / resync.copySeconds)} MB/s`;
    rows.push([
      `resync >= 200 MB/s: ${fmt(rate)} MB/s (${fmt(resync.bytes / MiB)} MiB in ${fmt(resync.seconds, 2)} s from the peer's open${copy}); copies identical afterwards: ${resync.identical ? 'yes' : 'NO'}`,
      rate >= 200 && resync.identical,
    ]);
  }
  console.log('\nTargets (issue 5 section 5)');
  for (const [text, ok] of rows)
    console.log(`  ${ok === null ? 'n/a    ' : ok ? 'met    ' : 'NOT MET'}  ${text}`);
  return rows.every(([, ok]) => ok === true);
}

// ---- main ----

async function main(): Promise<number> {
  const wanted = (env.BENCH_CONFIGS ?? CONFIGS.map((c) => c.id).join(',')).split(',').map((s) => s.trim());
  const configs = CONFIGS.filter((c) => wanted.includes(c.id));
  const unknown = wanted.filter((w) => !CONFIGS.some((c) => c.id === w));
  if (unknown.length > 0)
    throw new Error(
      `BENCH_CONFIGS: unknown ${unknown.join(', ')} (use ${CONFIGS.map((c) => c.id).join(',')})`,
    );
  await preflight();
  const root = await mkdtemp(join(tmpdir(), 'tandem-bench-md-'));
  undo.push(() => rm(root, { recursive: true, force: true }));
  console.log(
    `bench:mirror: ${SIZE / MiB} MiB sparse volumes in ${root}, fio nbd engine over unix sockets, ` +
      `${RUNTIME_SEC} s per run after ${RAMP_SEC} s ramp, ${configs.length} configurations x ${RUN_WORKLOADS.length} workloads`,
  );
  const results = new Map<string, RunResult>();
  for (const c of configs) {
    const dir = join(root, c.id);
    await mkdir(dir);
    const mark = undo.length;
    try {
      expectPeerLoss = false;
      const s = await setUp(c.id, dir);
      for (const w of RUN_WORKLOADS) {
        const r = await runFio(s.socket, w);
        results.set(`${c.id}/${w.id}`, r);
        console.log(
          `  ${c.label.padEnd(26)} ${w.label.padEnd(22)} ${fmt(r.mbps, 1).padStart(8)} MB/s ${fmt(r.iops).padStart(7)} IOPS  p50 ${fmt(r.p50us)} us  p99 ${fmt(r.p99us)} us`,
        );
      }
      if (s.after !== undefined) await s.after();
    } finally {
      // This configuration's servers, volumes and processes, newest first; then its files.
      expectPeerLoss = true;
      while (undo.length > mark)
        await undo.pop()!().catch((err: unknown) => console.error(`cleanup: ${(err as Error).message}`));
      await rm(dir, { recursive: true, force: true });
      flushLogCounts();
    }
  }
  table(results, configs);
  console.log('\nNotes');
  console.log(
    '  every server writes through the page cache (fio sends neither FUA nor FLUSH); the mirror configurations' +
      ' start with a clean dirty bitmap, so the first write to each 4 MiB activity-log extent saves the metadata;' +
      ' the primary streams large writes (256 KiB pieces to the local copy and the peer as they arrive)',
  );
  if (asyncDrain !== null) {
    console.log(
      `  async: when the last run ended ${asyncDrain.queueDepth} writes awaited the peer's ack and ` +
        `${fmt(asyncDrain.dirtyBytes / MiB, 1)} MiB were dirty; the peer caught up in ${fmt(asyncDrain.seconds, 2)} s`,
    );
  }
  return targets(results) ? 0 : 1;
}

if (process.argv[2] === '--peer') {
  await peerMain(JSON.parse(process.argv[3]!) as PeerSpec);
} else {
  // A closed stdout (`| head`) must not kill the benchmark before it cleans up.
  for (const out of [process.stdout, process.stderr]) out.on('error', () => undefined);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let code = 2;
  try {
    code = await main();
  } catch (err) {
    console.error(`\nbench:mirror failed: ${(err as Error).stack ?? String(err)}`);
  } finally {
    await undoAll();
  }
  process.exitCode = code;
}
