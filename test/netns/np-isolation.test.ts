/**
 * Network-namespace test (issue "Cluster core", section 5): two servers in their own network namespaces with an
 * interconnect between them and an uplink each to a hub namespace that hosts the HTTP NP target. Cutting the
 * interconnect and node-1's uplink isolates node-1: it must stop its group and run `actionOnIsolation`, and
 * node-2 (which still reaches the NP target) must take over — strictly after node-1's stop, checked from the
 * timestamps the resource scripts write (one machine, one clock).
 *
 * Needs root and iproute2; skips with a message otherwise (fails instead when TANDEM_REQUIRE_ALL=1).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, existsSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TANDEM } from '../process/harness.ts';
import { apiToken } from '../../src/shared/crypto.ts';

const requireAll = process.env.TANDEM_REQUIRE_ALL === '1';
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const hasIp = spawnSync('ip', ['-V']).status === 0;
const canNetns = isRoot && hasIp && spawnSync('ip', ['netns', 'list']).status === 0;
const skip = canNetns
  ? false
  : 'needs root and iproute2 for network namespaces (apt-get install iproute2; run as root)';
if (skip && requireAll)
  throw new Error(`TANDEM_REQUIRE_ALL=1 but the network-namespace test cannot run: ${skip}`);

const tag = `t${process.pid % 100000}`;
const NS = { a: `tnd-${tag}-a`, b: `tnd-${tag}-b`, hub: `tnd-${tag}-hub` };

function sh(args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')} failed: ${r.stderr}`);
}

function setupNetwork(): void {
  for (const n of Object.values(NS)) sh(['netns', 'add', n]);
  for (const n of Object.values(NS)) sh(['-n', n, 'link', 'set', 'lo', 'up']);
  // interconnect a <-> b
  sh([
    'link',
    'add',
    `ic-${tag}a`,
    'netns',
    NS.a,
    'type',
    'veth',
    'peer',
    'name',
    `ic-${tag}b`,
    'netns',
    NS.b,
  ]);
  sh(['-n', NS.a, 'addr', 'add', '10.213.1.1/24', 'dev', `ic-${tag}a`]);
  sh(['-n', NS.b, 'addr', 'add', '10.213.1.2/24', 'dev', `ic-${tag}b`]);
  sh(['-n', NS.a, 'link', 'set', `ic-${tag}a`, 'up']);
  sh(['-n', NS.b, 'link', 'set', `ic-${tag}b`, 'up']);
  // uplinks to the hub bridge (NP target and API access)
  sh(['-n', NS.hub, 'link', 'add', 'br0', 'type', 'bridge']);
  sh(['-n', NS.hub, 'addr', 'add', '10.213.2.254/24', 'dev', 'br0']);
  sh(['-n', NS.hub, 'link', 'set', 'br0', 'up']);
  for (const [side, addr] of [
    ['a', '10.213.2.1/24'],
    ['b', '10.213.2.2/24'],
  ] as const) {
    const ns = NS[side];
    sh([
      'link',
      'add',
      `up-${tag}${side}`,
      'netns',
      ns,
      'type',
      'veth',
      'peer',
      'name',
      `hp-${tag}${side}`,
      'netns',
      NS.hub,
    ]);
    sh(['-n', ns, 'addr', 'add', addr, 'dev', `up-${tag}${side}`]);
    sh(['-n', ns, 'link', 'set', `up-${tag}${side}`, 'up']);
    sh(['-n', NS.hub, 'link', 'set', `hp-${tag}${side}`, 'master', 'br0']);
    sh(['-n', NS.hub, 'link', 'set', `hp-${tag}${side}`, 'up']);
  }
}

function teardownNetwork(): void {
  for (const n of Object.values(NS)) spawnSync('ip', ['netns', 'del', n]);
}

function nsSpawn(ns: string, args: string[], cwd: string, logFile: string): ChildProcess {
  const out = join(cwd, logFile);
  const p = spawn('ip', ['netns', 'exec', ns, ...args], {
    cwd,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const chunks: string[] = [];
  p.stdout?.setEncoding('utf8').on('data', (d: string) => chunks.push(d));
  p.stderr?.setEncoding('utf8').on('data', (d: string) => chunks.push(d));
  p.on('exit', () => {
    if (existsSync(cwd)) writeFileSync(out, chunks.join(''));
  });
  return p;
}

/** GET a daemon API from inside the hub namespace. */
function hubGet(url: string, token: string): unknown {
  const code = `fetch(${JSON.stringify(url)},{headers:{authorization:'Bearer ${token}'},signal:AbortSignal.timeout(2000)}).then(r=>r.text()).then(t=>process.stdout.write(t),()=>process.exit(3))`;
  const r = spawnSync('ip', ['netns', 'exec', NS.hub, process.execPath, '-e', code], { encoding: 'utf8' });
  if (r.status !== 0) return null;
  try {
    return JSON.parse(r.stdout) as unknown;
  } catch {
    return null;
  }
}

async function waitFor<T>(what: string, fn: () => T | null, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== null) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test(
  'network namespaces: the isolated server stops and shuts down before the survivor takes over',
  { skip, timeout: 120_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tandem-netns-'));
    const procs: ChildProcess[] = [];
    teardownNetwork();
    setupNetwork();
    try {
      const secret = 'netns-secret-' + tag;
      writeFileSync(join(dir, 'cluster.secret'), secret, { mode: 0o600 });
      const stamp = 'date +%s%N';
      writeFileSync(
        join(dir, 'start.sh'),
        `#!/bin/sh\necho "START $TANDEM_SERVER $TANDEM_EVENT $(${stamp})" >> ./events.log\n`,
        { mode: 0o755 },
      );
      writeFileSync(
        join(dir, 'stop.sh'),
        `#!/bin/sh\necho "STOP $TANDEM_SERVER $(${stamp})" >> ./events.log\n`,
        { mode: 0o755 },
      );
      writeFileSync(
        join(dir, 'cluster.yaml'),
        `cluster:
  name: netns
  secretFile: ./cluster.secret
  heartbeat: { interval: 200ms, timeout: 2s }
  syncWait: 10s
  networkPartition:
    actionOnIsolation: shutdown
    http:
      - { name: httpnp1, target: 10.213.2.254, port: 8080, ssl: false, path: /, interval: 1s, timeout: 1s }
  osActions:
    shutdown: "echo \\"SHUTDOWN $(${stamp})\\" >> ./os-actions.log"
    reboot: "echo \\"REBOOT $(${stamp})\\" >> ./os-actions.log"
servers:
  - { name: node-1, interconnects: ["10.213.1.1"], api: "10.213.2.1:29003" }
  - { name: node-2, interconnects: ["10.213.1.2"], api: "10.213.2.2:29003" }
groups:
  - name: failover1
    resources:
      - { name: exec1, type: exec, start: ./start.sh, stop: ./stop.sh, timeout: 5s }
`,
      );
      procs.push(
        nsSpawn(
          NS.hub,
          [
            process.execPath,
            '-e',
            "require('http').createServer((q,r)=>r.writeHead(200).end()).listen(8080,'10.213.2.254')",
          ],
          dir,
          'np.log',
        ),
      );
      for (const [name, ns] of [
        ['node-1', NS.a],
        ['node-2', NS.b],
      ] as const) {
        mkdirSync(join(dir, 'state', name), { recursive: true });
        procs.push(
          nsSpawn(
            ns,
            [
              process.execPath,
              TANDEM,
              'daemon',
              '--config',
              join(dir, 'cluster.yaml'),
              '--server',
              name,
              '--state-dir',
              join(dir, 'state', name),
            ],
            dir,
            `${name}.log`,
          ),
        );
      }
      const token = apiToken(secret, 'netns');
      type St = { groups: { name: string; state: string; server: string | null }[] };
      await waitFor(
        'group online on node-1',
        () => {
          const st = hubGet('http://10.213.2.2:29003/api/v1/status', token) as St | null;
          const g = st?.groups.find((x) => x.name === 'failover1');
          return g?.state === 'online' && g.server === 'node-1' ? true : null;
        },
        40_000,
      );
      // Isolate node-1: interconnect and uplink down.
      sh(['-n', NS.a, 'link', 'set', `ic-${tag}a`, 'down']);
      sh(['-n', NS.a, 'link', 'set', `up-${tag}a`, 'down']);
      await waitFor(
        'group online on node-2',
        () => {
          const st = hubGet('http://10.213.2.2:29003/api/v1/status', token) as St | null;
          const g = st?.groups.find((x) => x.name === 'failover1');
          return g?.state === 'online' && g.server === 'node-2' ? true : null;
        },
        30_000,
      );
      await waitFor(
        'shutdown recorded',
        () => (existsSync(join(dir, 'os-actions.log')) ? true : null),
        10_000,
      );
      const ev = readFileSync(join(dir, 'events.log'), 'utf8').trim().split('\n');
      const stop1 = ev.find((l) => l.startsWith('STOP node-1'));
      const start2 = ev.find((l) => l.startsWith('START node-2'));
      assert.ok(stop1, `node-1 must stop its group:\n${ev.join('\n')}`);
      assert.ok(start2, `node-2 must take over:\n${ev.join('\n')}`);
      const t = (l: string) => BigInt(l.split(' ').pop()!);
      assert.ok(
        t(stop1) < t(start2),
        `isolated node-1 stopped at ${t(stop1)} but node-2 started at ${t(start2)}`,
      );
      assert.match(start2, /FAILOVER/);
      const os = readFileSync(join(dir, 'os-actions.log'), 'utf8');
      assert.match(os, /^SHUTDOWN \d+/);
      assert.ok(!existsSync(join(dir, 'state', 'node-2', 'os-actions.log')));
    } finally {
      for (const p of procs) {
        try {
          if (p.pid) process.kill(-p.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      teardownNetwork();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
