/**
 * Helpers for the md driver and monitor tests (not used by the daemon): a two-server config with an md
 * resource on temp files and free loopback ports, a MirrorHost per server over real MirrorVolumes (the
 * daemon's own host lives in src/daemon, above this layer), a DriverContext, and a fake `MdSystem` that
 * records the programs the driver runs and answers from a script.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createAwsAccess } from '../../aws/access.ts';
import type { MirrorHost } from '../../mirror/host.ts';
import { MirrorVolume, type MirrorVolumeOptions } from '../../mirror/volume.ts';
import type { Logger } from '../../ports/logger.ts';
import { parseConfigText } from '../../shared/config/index.ts';
import type {
  CompiledConfig,
  CompiledMonitor,
  CompiledResource,
  MdParams,
} from '../../shared/config/types.ts';
import { paramsFor, type DriverContext } from '../driver.ts';
import type { MdSystem, RunResult } from './attach.ts';

export const SIZE = 4 * 1024 * 1024;

const quiet: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => quiet,
};

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const a = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  if (a === null || typeof a !== 'object') throw new Error('no port');
  return a.port;
}

export interface LogLine {
  level: string;
  msg: string;
}

/** Owns a temp dir, a compiled config, one host per server; `close()` cleans everything up. */
export class MdWorld {
  readonly dir = mkdtempSync(join(tmpdir(), 'tandem-md-'));
  config!: CompiledConfig;
  readonly hosts = new Map<string, MirrorHost>();
  readonly logs: LogLine[] = [];

  static async create(extra = '', mount = ''): Promise<MdWorld> {
    const w = new MdWorld();
    const [p1, p2] = [await freePort(), await freePort()];
    for (const s of ['node-1', 'node-2']) {
      writeFileSync(join(w.dir, `${s}.data`), Buffer.alloc(SIZE));
      writeFileSync(join(w.dir, `${s}.cluster`), Buffer.alloc(1024 * 1024));
    }
    const d = w.dir;
    const text = `cluster:
  name: c1
  secretFile: ./cluster.secret
servers:
  - { name: node-1, interconnects: ["127.0.0.1"] }
  - { name: node-2, interconnects: ["127.0.0.2"] }
  - { name: node-3, interconnects: ["127.0.0.3"] }
groups:
  - name: g1
    startupServers: [node-1, node-2]
    resources:
      - name: md1
        type: md
        connectTimeout: 1s
        ackTimeout: 2s
${extra}${mount}        servers:
          node-1: { dataPath: ${d}/node-1.data, clusterPath: ${d}/node-1.cluster, mdc: "127.0.0.1:${p1}" }
          node-2: { dataPath: ${d}/node-2.data, clusterPath: ${d}/node-2.cluster, mdc: "127.0.0.1:${p2}" }
`;
    writeFileSync(join(d, 'cluster.secret'), 'secret');
    writeFileSync(join(d, 'cluster.yaml'), text);
    const r = parseConfigText(text, join(d, 'cluster.yaml'));
    if (r.config === null) throw new Error(JSON.stringify(r.issues, null, 2));
    w.config = r.config;
    return w;
  }

  get md1(): CompiledResource {
    return this.config.resources.find((r) => r.name === 'md1')!;
  }

  monitor(type: 'mdw' | 'mdnw'): CompiledMonitor {
    return this.config.monitors.find((m) => m.type === type)!;
  }

  /** Opens the copy of `server` (as the daemon would) and returns its host; `over` replaces options. */
  async open(server: string, over: Partial<MirrorVolumeOptions> = {}): Promise<MirrorHost> {
    const own = paramsFor(this.md1, server) as unknown as MdParams;
    const peer = paramsFor(this.md1, own.peer!) as unknown as MdParams;
    const v = await MirrorVolume.open({
      name: 'md1',
      volumeId: 'c1/md1',
      dataPath: own.dataPath!,
      clusterPath: own.clusterPath!,
      regionSize: own.regionSize,
      hotRegions: own.hotRegions,
      hotExtent: own.hotExtent,
      mode: own.mode,
      initialSync: own.initialSync,
      autoRecovery: own.autoRecovery,
      queueSize: own.queueSize,
      sendTimeoutMs: own.sendTimeoutMs,
      connectTimeoutMs: own.connectTimeoutMs,
      ackTimeoutMs: own.ackTimeoutMs,
      retryMs: 50,
      self: { name: server, mdc: `${own.mdc!.host}:${own.mdc!.port}` },
      peer: { name: own.peer!, mdc: `${peer.mdc!.host}:${peer.mdc!.port}` },
      secret: 'secret',
      clusterName: 'c1',
      log: quiet,
      now: () => performance.now(),
      random: (n) => randomBytes(n),
      ...over,
    });
    let forced = false;
    const host: MirrorHost = {
      volume: (n) => (n === 'md1' ? v : null),
      openError: () => null,
      statuses: () => [v.status()],
      allowForce: () => {
        forced = true;
      },
      takeForce: () => {
        const f = forced;
        forced = false;
        return f;
      },
      close: () => v.close(),
    };
    this.hosts.set(server, host);
    return host;
  }

  /** A host whose copy failed to open. */
  failedHost(): MirrorHost {
    return {
      volume: () => null,
      openError: () => ({
        code: 'MD_META_CORRUPT',
        message: 'The cluster partition holds no valid metadata.',
        remedy: 'Check clusterPath.',
      }),
      statuses: () => [],
      allowForce: () => undefined,
      takeForce: () => false,
      close: () => Promise.resolve(),
    };
  }

  ctx(
    server: string,
    host: MirrorHost | null = this.hosts.get(server) ?? null,
    timeoutMs = 10_000,
  ): DriverContext {
    return {
      server,
      config: this.config,
      signal: new AbortController().signal,
      log: (level, msg) => this.logs.push({ level, msg }),
      stateDir: join(this.dir, `state-${server}`),
      aws: createAwsAccess(this.config.aws),
      mirror: host,
      timeoutMs,
    };
  }

  async close(): Promise<void> {
    await Promise.all([...this.hosts.values()].map((h) => h.close()));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Polls `cond` every 10 ms; throws after `timeoutMs`. */
export async function until(what: string, cond: () => boolean, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** An MdSystem that records every run and answers from `answer` (default: success). */
export class FakeSystem implements MdSystem {
  readonly runs: string[] = [];
  mounted = new Set<string>();
  answer: (program: string, args: readonly string[]) => RunResult = () => ({
    kind: 'ok',
    stdout: '',
    stderr: '',
  });

  run(program: string, args: readonly string[]): Promise<RunResult> {
    this.runs.push([program, ...args].join(' '));
    const r = this.answer(program, args);
    if (r.kind === 'ok' && program === 'mount') this.mounted.add(args[args.length - 1]!);
    if (r.kind === 'ok' && program === 'umount') this.mounted.delete(args[args.length - 1]!);
    return Promise.resolve(r);
  }

  isMounted(path: string): Promise<boolean> {
    return Promise.resolve(this.mounted.has(path));
  }
}
