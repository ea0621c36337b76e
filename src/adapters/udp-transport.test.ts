import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { after, before, test } from 'node:test';
import type { PeerReport } from '../ports/transport.ts';
import type { CompiledConfig, CompiledServer } from '../shared/config/types.ts';
import { heartbeatKey } from '../shared/crypto.ts';
import { ConfigError } from '../shared/errors.ts';
import { RecordingLogger } from './recording-logger.ts';
import type { LogLine } from './recording-logger.ts';
import { freeUdpPort, sampleReport } from './test-support.ts';
import { UdpHeartbeatTransport } from './udp-transport.ts';
import { encodeReport } from './wire.ts';

const SECRET = Buffer.from('udp-test-secret');
const KEY = heartbeatKey(SECRET);

function server(name: string, priority: number, address: string, ports: number[]): CompiledServer {
  return {
    name,
    priority,
    interconnects: ports.map((port, i) => ({ name: `lan${i + 1}`, address, port })),
    api: { address, port: 29003 },
  };
}

function config(servers: CompiledServer[]): CompiledConfig {
  return {
    sourceFile: '/etc/tandem/cluster.yaml',
    baseDir: '/etc/tandem',
    cluster: {
      name: 'cluster1',
      secretFile: '/etc/tandem/cluster.secret',
      heartbeat: { intervalMs: 1000, timeoutMs: 10000 },
      syncWaitMs: 300000,
      networkPartition: { actionOnIsolation: 'shutdown', http: [] },
      witness: null,
      osActions: { shutdown: 'true', reboot: 'true' },
      lease: { enforced: false, leaseMs: 7000, isolationStopTimeoutMs: 2000, marginMs: 1000 },
      alertLogSize: 10000,
    },
    servers,
    groups: [],
    resources: [],
    monitors: [],
    aws: { region: null, profile: null, proxy: null, callTimeoutMs: 100_000, environment: {} },
    fencing: null,
    hash: 'h',
  };
}

interface Heard {
  report: PeerReport;
  via: string;
}

/** Collects reports and lets a test await the n-th one. */
class Inbox {
  readonly items: Heard[] = [];
  #waiters: { n: number; resolve: () => void }[] = [];
  readonly onReport = (report: PeerReport, via: string): void => {
    this.items.push({ report, via });
    this.#waiters = this.#waiters.filter((w) => (this.items.length >= w.n ? (w.resolve(), false) : true));
  };
  until(n: number): Promise<void> {
    if (this.items.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ n, resolve }));
  }
}

const dropped =
  (reason: string, via = 'lan1') =>
  (l: LogLine): boolean =>
    l.msg === 'heartbeat packet dropped' && l.fields.reason === reason && l.fields.interconnect === via;

let cfg: CompiledConfig;
let t1: UdpHeartbeatTransport;
let t2: UdpHeartbeatTransport;
const log1 = new RecordingLogger();
const log2 = new RecordingLogger();
const in1 = new Inbox();
const in2 = new Inbox();
let raw: Socket;

function sendRaw(packet: Buffer, to: CompiledServer, lane: number): Promise<void> {
  const ic = to.interconnects[lane]!;
  return new Promise((resolve, reject) =>
    raw.send(packet, ic.port, ic.address, (err) => (err ? reject(err) : resolve())),
  );
}

before(async () => {
  const p = await Promise.all([
    freeUdpPort('127.0.0.1'),
    freeUdpPort('127.0.0.1'),
    freeUdpPort('127.0.0.2'),
    freeUdpPort('127.0.0.2'),
  ]);
  cfg = config([
    server('node-1', 0, '127.0.0.1', [p[0], p[1]]),
    server('node-2', 1, '127.0.0.2', [p[2], p[3]]),
  ]);
  t1 = new UdpHeartbeatTransport({ config: cfg, self: 'node-1', secret: SECRET, log: log1 });
  t2 = new UdpHeartbeatTransport({ config: cfg, self: 'node-2', secret: SECRET, log: log2 });
  await Promise.all([t1.start(in1.onReport), t2.start(in2.onReport)]);
  raw = createSocket('udp4');
  await new Promise<void>((resolve) => raw.bind({ address: '127.0.0.3', port: 0 }, resolve));
});

after(async () => {
  await Promise.all([t1.close(), t2.close(), new Promise<void>((resolve) => raw.close(() => resolve()))]);
});

void test('udp transport: two servers exchange reports on both interconnects', async () => {
  const r1 = sampleReport({ server: 'node-1', seq: 1 });
  t1.broadcast(r1);
  await in2.until(2);
  assert.deepEqual(in2.items.map((h) => h.via).sort(), ['lan1', 'lan2']);
  for (const h of in2.items) assert.deepEqual(h.report, r1);

  const r2 = sampleReport({ server: 'node-2', incarnation: '001767225600009-00000001', seq: 7 });
  t2.broadcast(r2);
  await in1.until(2);
  assert.deepEqual(in1.items.map((h) => h.via).sort(), ['lan1', 'lan2']);
  assert.deepEqual(in1.items[0]!.report, r2);

  t1.broadcast({ ...r1, seq: 2 });
  await in2.until(4);
  assert.equal(t1.stats().sent, 4, 'one datagram per peer interconnect per broadcast');
  assert.equal(t2.stats().received, 4);
  assert.equal(t1.stats().received, 2);
});

void test('udp transport: forged, foreign, malformed and replayed packets are dropped and counted', async () => {
  const node2 = cfg.servers[1]!;
  const base = in2.items.length;
  const before = t2.stats();

  await sendRaw(encodeReport(sampleReport({ seq: 50 }), heartbeatKey(Buffer.from('wrong secret'))), node2, 0);
  await log2.waitFor(dropped('unsigned'));
  await sendRaw(encodeReport(sampleReport({ cluster: 'cluster9', seq: 51 }), KEY), node2, 0);
  await log2.waitFor(dropped('foreign'));
  await sendRaw(Buffer.from('TND1 garbage'), node2, 0);
  await log2.waitFor(dropped('malformed'));

  // A captured packet sent twice: the first copy is new, the second is a replay.
  const captured = encodeReport(sampleReport({ seq: 100 }), KEY);
  await sendRaw(captured, node2, 0);
  await in2.until(base + 1);
  await sendRaw(captured, node2, 0);
  await log2.waitFor(dropped('replayed'));
  // An older incarnation of node-1 (a packet of a previous run) is a replay too, on any interconnect.
  await sendRaw(
    encodeReport(sampleReport({ incarnation: '001767225500000-00000000', seq: 1000 }), KEY),
    node2,
    1,
  );
  await log2.waitFor(dropped('replayed', 'lan2'));

  const s = t2.stats();
  assert.equal(s.droppedUnsigned - before.droppedUnsigned, 1);
  assert.equal(s.droppedForeign - before.droppedForeign, 1);
  assert.equal(s.droppedMalformed - before.droppedMalformed, 1);
  assert.equal(s.droppedReplayed - before.droppedReplayed, 2);
  assert.equal(in2.items.length, base + 1, 'only the first copy reached the core');
  assert.equal(in2.items.at(-1)!.report.seq, 100);
});

void test('udp transport: our own reports looping back are ignored', async () => {
  const node1 = cfg.servers[0]!;
  const base = in1.items.length;
  await sendRaw(encodeReport(sampleReport({ server: 'node-1', seq: 9999 }), KEY), node1, 0);
  // A later valid report on the same path arrives after the echo; only it is passed on.
  await sendRaw(
    encodeReport(sampleReport({ server: 'node-2', incarnation: '001767225600009-00000001', seq: 8 }), KEY),
    node1,
    0,
  );
  await in1.until(base + 1);
  assert.equal(in1.items.length, base + 1);
  assert.equal(in1.items.at(-1)!.report.server, 'node-2');
});

void test('udp transport: a port in use fails start with a named error; close releases the ports', async () => {
  const busy = new UdpHeartbeatTransport({
    config: cfg,
    self: 'node-1',
    secret: SECRET,
    log: new RecordingLogger(),
  });
  await assert.rejects(
    busy.start(() => undefined),
    (err: unknown) =>
      err instanceof ConfigError &&
      /HEARTBEAT_BIND_FAILED/.test(err.message) &&
      /lan1 of server node-1/.test(err.message) &&
      /EADDRINUSE/.test(err.message),
  );
  await busy.close();
  assert.throws(
    () =>
      new UdpHeartbeatTransport({ config: cfg, self: 'node-9', secret: SECRET, log: new RecordingLogger() }),
    (err: unknown) => err instanceof ConfigError && /node-9/.test(err.message),
  );

  const own = config([
    server('node-1', 0, '127.0.0.1', [await freeUdpPort('127.0.0.1')]),
    server('node-2', 1, '127.0.0.2', [9]),
  ]);
  const t = new UdpHeartbeatTransport({
    config: own,
    self: 'node-1',
    secret: SECRET,
    log: new RecordingLogger(),
  });
  await t.start(() => undefined);
  t.broadcast(sampleReport()); // nobody listens on node-2: best effort, no throw
  await t.close();
  t.broadcast(sampleReport()); // after close: a no-op
  const ic = own.servers[0]!.interconnects[0]!;
  const probe = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.bind({ address: ic.address, port: ic.port, exclusive: true }, resolve);
  });
  await new Promise<void>((resolve) => probe.close(() => resolve()));
});
