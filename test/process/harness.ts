/**
 * Multi-process harness shared by the loopback tests, the demo and the failover benchmark: writes a cluster
 * directory (config, secret, scripts), starts real `tandem daemon` processes (each in its own process group, as
 * a separate machine would be), talks to their APIs with the real credential, and crashes a server hard
 * (SIGKILL to the daemon's process group and to every resource process group it recorded), and cuts
 * interconnects for partition tests. The AWS part (simulator, AWS demo config) is in aws-harness.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, existsSync, mkdirSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freeTcpPort, freeUdpPort } from '../../src/adapters/test-support.ts';
import { apiToken } from '../../src/shared/crypto.ts';
import type { StatusDoc } from '../../src/shared/status.ts';
import { pathToFileURL } from 'node:url';

export const REPO = resolve(import.meta.dirname, '..', '..');
export const TANDEM = join(REPO, 'bin', 'tandem');

// Free loopback ports come from the adapters' test helpers (bind 0, read the port, release it).
export { freeTcpPort, freeUdpPort };

export interface ServerSpec {
  name: string;
  /** Loopback address of this "machine", e.g. 127.0.0.1. */
  address: string;
  udpPort: number;
  apiPort: number;
}

export interface ClusterDir {
  dir: string;
  configPath: string;
  secret: string;
  servers: ServerSpec[];
  token: string;
  clusterName: string;
}

/**
 * Create a cluster directory. `body` is the YAML after `servers:` (groups, monitors); `cluster` holds extra
 * lines for the `cluster:` section (indented by two spaces).
 */
export async function makeClusterDir(opts: {
  name?: string;
  servers: { name: string; address: string }[];
  heartbeat?: { interval: string; timeout: string };
  clusterExtra?: string;
  body: string;
  files?: Record<string, string>;
}): Promise<ClusterDir> {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-'));
  const clusterName = opts.name ?? 'cluster1';
  const secret = 'test-secret-' + Math.random().toString(36).slice(2);
  writeFileSync(join(dir, 'cluster.secret'), secret, { mode: 0o600 });
  const servers: ServerSpec[] = [];
  for (const s of opts.servers) {
    servers.push({ ...s, udpPort: await freeUdpPort(s.address), apiPort: await freeTcpPort(s.address) });
  }
  const hb = opts.heartbeat ?? { interval: '200ms', timeout: '2s' };
  const yaml = `cluster:
  name: ${clusterName}
  secretFile: ./cluster.secret
  heartbeat: { interval: ${hb.interval}, timeout: ${hb.timeout} }
  syncWait: 5s
  osActions:
    shutdown: "echo shutdown >> ./os-actions.log"
    reboot: "echo reboot >> ./os-actions.log"
${opts.clusterExtra ?? ''}
servers:
${servers.map((s) => `  - name: ${s.name}\n    interconnects: ["${s.address}:${s.udpPort}"]\n    api: "${s.address}:${s.apiPort}"`).join('\n')}
${opts.body}`;
  const configPath = join(dir, 'cluster.yaml');
  writeFileSync(configPath, yaml);
  for (const [name, text] of Object.entries(opts.files ?? {})) {
    const p = join(dir, name);
    writeFileSync(p, text);
    chmodSync(p, 0o755);
  }
  return { dir, configPath, secret, servers, token: apiToken(secret, clusterName), clusterName };
}

export interface Daemon {
  name: string;
  proc: ChildProcess;
  stateDir: string;
  output: string[];
  exited: Promise<number | null>;
}

export class ProcCluster {
  readonly daemons = new Map<string, Daemon>();
  constructor(readonly cd: ClusterDir) {}

  stateDir(name: string): string {
    return join(this.cd.dir, 'state', name);
  }

  start(name: string, opts: { env?: Record<string, string>; configPath?: string } = {}): Daemon {
    const stateDir = this.stateDir(name);
    mkdirSync(stateDir, { recursive: true });
    const config = opts.configPath ?? this.cd.configPath;
    const extraEnv = opts.env ?? {};
    const proc = spawn(
      process.execPath,
      [TANDEM, 'daemon', '--config', config, '--server', name, '--state-dir', stateDir],
      {
        cwd: this.cd.dir,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, ...extraEnv },
      },
    );
    const output: string[] = [];
    proc.stdout?.setEncoding('utf8').on('data', (d: string) => output.push(d));
    proc.stderr?.setEncoding('utf8').on('data', (d: string) => output.push(d));
    const exited = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
    const d: Daemon = { name, proc, stateDir, output, exited };
    this.daemons.set(name, d);
    return d;
  }

  /** Crash a server hard: SIGKILL its daemon's process group and every resource process group it recorded. */
  killHard(name: string): void {
    const d = this.daemons.get(name);
    if (!d?.proc.pid) return;
    const pgids = new Set<number>([d.proc.pid]);
    const f = join(d.stateDir, 'run', 'pgids');
    if (existsSync(f))
      for (const l of readFileSync(f, 'utf8').split('\n'))
        if (/^\d+$/.test(l.trim())) pgids.add(Number(l.trim()));
    for (const g of pgids) {
      try {
        process.kill(-g, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }

  async stopGraceful(name: string, timeoutMs = 20_000): Promise<number | null> {
    const d = this.daemons.get(name);
    if (!d?.proc.pid || d.proc.exitCode !== null) return d?.proc.exitCode ?? null;
    d.proc.kill('SIGTERM');
    const t = setTimeout(() => this.killHard(name), timeoutMs);
    const code = await d.exited;
    clearTimeout(t);
    return code;
  }

  /** Stop everything (hard) and remove the directory unless `keep`. */
  async dispose(keep = false): Promise<void> {
    for (const name of this.daemons.keys()) this.killHard(name);
    await Promise.all([...this.daemons.values()].map((d) => d.exited));
    if (!keep) rmSync(this.cd.dir, { recursive: true, force: true });
  }

  apiBase(name: string): string {
    const s = this.cd.servers.find((x) => x.name === name);
    if (!s) throw new Error(`no server ${name}`);
    return `http://${s.address}:${s.apiPort}`;
  }

  async api<T = unknown>(
    name: string,
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    token = this.cd.token,
  ): Promise<{ status: number; body: T }> {
    const init: RequestInit = {
      method,
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(15_000),
    };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { ...init.headers, 'content-type': 'application/json' };
    }
    const r = await fetch(this.apiBase(name) + path, init);
    const text = await r.text();
    return { status: r.status, body: (text ? JSON.parse(text) : null) as T };
  }

  async status(name: string): Promise<StatusDoc | null> {
    try {
      const r = await this.api<StatusDoc>(name, 'GET', '/api/v1/status');
      return r.status === 200 ? r.body : null;
    } catch {
      return null;
    }
  }

  /** Poll `fn` every `everyMs` until it returns a value that is not null/false, or throw after `timeoutMs`. */
  async waitFor<T>(
    what: string,
    fn: () => Promise<T | null | false>,
    timeoutMs = 30_000,
    everyMs = 20,
  ): Promise<T> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const v = await fn();
      if (v !== null && v !== false) return v;
      if (Date.now() > end) {
        const logs = [...this.daemons.values()]
          .map((d) => `--- ${d.name}\n${d.output.join('').slice(-4000)}`)
          .join('\n');
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${logs}`);
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  }

  /** Wait until `group` is online on some server as seen by `via`; returns that server. */
  async waitGroupOnline(via: string, group: string, timeoutMs = 30_000): Promise<string> {
    return await this.waitFor(
      `group ${group} online (asking ${via})`,
      async () => {
        const st = await this.status(via);
        const g = st?.groups.find((x) => x.name === group);
        return g && g.state === 'online' && g.server ? g.server : null;
      },
      timeoutMs,
    );
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Interconnect cut: a preload (`NODE_OPTIONS=--import`) given to daemons started with `interconnectCut: true`
// drops UDP datagrams to and from the endpoints listed in the cluster directory's `udp-cut` file, as a pulled
// cable would (a send still "succeeds"). Only the listed heartbeat endpoints are affected; nothing of the host's
// network configuration changes.

const UDP_CUT_PRELOAD = `// Written by test/process/harness.ts: drops heartbeat datagrams while the cut file lists their endpoint.
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
const file = process.env.HARNESS_UDP_CUT_FILE;
function cut() {
  try { return new Set(readFileSync(file, 'utf8').split('\\n').filter(Boolean)); } catch { return null; }
}
const proto = dgram.Socket.prototype;
const send = proto.send;
proto.send = function (msg, ...rest) {
  const withOffset = typeof rest[0] === 'number' && typeof rest[1] === 'number' && typeof rest[2] === 'number';
  const port = withOffset ? rest[2] : rest[0];
  const address = withOffset ? rest[3] : rest[1];
  const set = cut();
  if (set !== null && set.has(address + ':' + port)) {
    const cb = rest.find((x) => typeof x === 'function');
    if (cb) process.nextTick(cb, null, 0);
    return;
  }
  return send.call(this, msg, ...rest);
};
const emit = proto.emit;
proto.emit = function (event, ...args) {
  if (event === 'message') {
    const rinfo = args[1];
    const set = cut();
    if (set !== null && rinfo && set.has(rinfo.address + ':' + rinfo.port)) return false;
  }
  return emit.call(this, event, ...args);
};
`;

/** The cut file of a cluster directory. */
export function udpCutFile(cd: ClusterDir): string {
  return join(cd.dir, 'udp-cut');
}

/** Env for a daemon that honours the cut file (see `ProcCluster.cutInterconnects`). */
export function interconnectCutEnv(cd: ClusterDir): Record<string, string> {
  const preload = join(cd.dir, 'udp-cut-preload.mjs');
  if (!existsSync(preload)) writeFileSync(preload, UDP_CUT_PRELOAD);
  const prev = process.env.NODE_OPTIONS ?? '';
  return {
    NODE_OPTIONS: `${prev} --import=${pathToFileURL(preload).href}`.trim(),
    HARNESS_UDP_CUT_FILE: udpCutFile(cd),
  };
}

/** Cut every interconnect between the given servers (default: all), both ways. */
export function cutInterconnects(cd: ClusterDir, names?: string[]): void {
  const servers = cd.servers.filter((s) => names === undefined || names.includes(s.name));
  writeFileSync(udpCutFile(cd), servers.map((s) => `${s.address}:${s.udpPort}\n`).join(''));
}

/** Restore the interconnects. */
export function healInterconnects(cd: ClusterDir): void {
  rmSync(udpCutFile(cd), { force: true });
}
