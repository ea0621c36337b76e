// Keepalive of the mirror connection (src/mirror/link.ts): PINGs while connected, and a peer that goes
// silent without closing its socket is dropped after sendTimeoutMs (peer lost: the primary goes on alone).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { keepaliveIntervalMs } from '../../src/mirror/link.ts';
import { handshake, mdcKey, MsgType, type MdcConnection } from '../../src/mirror/mdc.ts';
import { MirrorVolume } from '../../src/mirror/volume.ts';
import type { PeerInfo } from '../../src/mirror/core/volume-state.ts';
import { CLEAN_FLAGS } from '../../src/mirror/core/volume-state.ts';
import {
  connected,
  makeSides,
  openPair,
  optionsFor,
  recordingLogger,
  sha,
  tempDir,
  until,
  VOLUME_SIZE,
} from './harness.ts';

test('keepalive interval: a tenth of the timeout, at least 1 s, at most a third of the timeout', () => {
  assert.equal(keepaliveIntervalMs(30_000), 3000);
  assert.equal(keepaliveIntervalMs(100_000), 10_000);
  assert.equal(keepaliveIntervalMs(5000), 1000);
  assert.equal(keepaliveIntervalMs(1500), 500);
});

const SEND_TIMEOUT_MS = 1500;

/** Accepts the volume's connection as node-b and completes the handshake. */
async function fakePeer(server: Server): Promise<{ conn: MdcConnection; sock: Socket }> {
  const sock = await new Promise<Socket>((r) => server.once('connection', r));
  const conn = await handshake(sock, {
    key: mdcKey('cluster-secret', 'c1'),
    clusterName: 'c1',
    volumeId: 'vol-1',
    server: 'node-b',
    timeoutMs: 2000,
    log: recordingLogger(),
  });
  return { conn, sock };
}

test('a peer that answers PINGs stays connected; once silent, it is dropped and the primary goes on alone', async () => {
  const { dir, cleanup } = await tempDir();
  const sides = await makeSides(dir);
  const server = createServer();
  await new Promise<void>((r) => server.listen(sides[1].port, '127.0.0.1', () => r()));
  const a = await MirrorVolume.open(optionsFor(sides[0], sides[1], { sendTimeoutMs: SEND_TIMEOUT_MS }));
  const peerSockets: Socket[] = [];
  try {
    const { conn, sock } = await fakePeer(server);
    peerSockets.push(sock);
    server.on('connection', (s: Socket) => peerSockets.push(s));
    let pings = 0;
    let answer = true;
    conn.start(
      (type) => {
        if (type !== MsgType.ping) return;
        pings++;
        if (answer) conn.send(MsgType.pong);
      },
      () => undefined,
    );
    // The same generations as node-a (initialSync skip): the copies compare identical.
    const info: PeerInfo = {
      volumeId: 'vol-1',
      size: VOLUME_SIZE,
      generations: a.status().generations,
      flags: CLEAN_FLAGS,
      role: 'secondary',
      dirtyBytes: 0,
    };
    conn.sendJson(MsgType.meta, { info, bitmap: Buffer.alloc(VOLUME_SIZE / 65536 / 8).toString('base64') });
    await until('connected', () => connected(a));
    const dev = await a.promote();
    // Idle for more than twice the timeout: PINGs answered keep the connection.
    await new Promise((r) => setTimeout(r, 2.5 * SEND_TIMEOUT_MS));
    assert.ok(connected(a), 'an answering peer is kept');
    assert.ok(pings >= 4, `PINGs sent every ${keepaliveIntervalMs(SEND_TIMEOUT_MS)} ms (saw ${pings})`);
    // Silent from now on, socket still open: noticed within the timeout (plus scheduling slack).
    answer = false;
    const silentAt = performance.now();
    await until('peer lost', () => a.status().connection.kind === 'Disconnected', 4 * SEND_TIMEOUT_MS);
    const took = performance.now() - silentAt;
    assert.ok(took < 2 * SEND_TIMEOUT_MS + 500, `dropped after ${Math.round(took)} ms`);
    assert.ok(
      sides[0].log.lines.some((l) => /nothing received from node-b for 1500 ms/.test(l.msg)),
      'the drop is logged with the peer and the timeout',
    );
    assert.equal(a.status().peer, 'Outdated');
    // The primary goes on alone.
    await dev.write(0, Buffer.alloc(4096, 1), false);
    assert.equal(a.status().dirtyBytes, 65536);
  } finally {
    await a.close();
    for (const s of peerSockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
    await cleanup();
  }
});

/** A TCP relay that can black-hole traffic both ways while keeping every socket open. */
class Relay {
  blackhole = false;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();

  constructor(targetPort: number) {
    this.#server = createServer((client) => {
      const upstream = connect({ host: '127.0.0.1', port: targetPort });
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => {
          this.#sockets.delete(s);
          client.destroy();
          upstream.destroy();
        });
      }
      client.on('data', (d: Buffer) => {
        if (!this.blackhole) upstream.write(d);
      });
      upstream.on('data', (d: Buffer) => {
        if (!this.blackhole) client.write(d);
      });
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((r) => this.#server.listen(0, '127.0.0.1', () => r()));
    const addr = this.#server.address();
    if (addr === null || typeof addr !== 'object') throw new Error('relay has no port');
    return addr.port;
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((r) => this.#server.close(() => r()));
  }
}

test('a silent network (sockets open, nothing delivered) breaks the mirror on both sides; it recovers after', async () => {
  const { dir, cleanup } = await tempDir();
  const sides = await makeSides(dir);
  const relay = new Relay(sides[1].port);
  const relayPort = await relay.listen();
  // node-a dials node-b through the relay.
  const over = { sendTimeoutMs: SEND_TIMEOUT_MS, connectTimeoutMs: 1000, ackTimeoutMs: 60_000 };
  const [a, b] = await openPair(sides, [
    { ...over, peer: { name: 'node-b', mdc: `127.0.0.1:${relayPort}` } },
    over,
  ]);
  try {
    await until('connected', () => connected(a) && connected(b));
    const dev = await a.promote();
    await dev.write(0, Buffer.alloc(4096, 1), false);
    relay.blackhole = true;
    // A sync write that can get no ack: released by the keepalive long before the 60 s ack timeout.
    const t0 = performance.now();
    await dev.write(65536, Buffer.alloc(4096, 2), false);
    const took = performance.now() - t0;
    assert.ok(took < 2 * SEND_TIMEOUT_MS + 500, `write completed alone after ${Math.round(took)} ms`);
    assert.equal(a.status().connection.kind, 'Disconnected');
    await until(
      'node-b noticed too',
      () => b.status().connection.kind === 'Disconnected',
      4 * SEND_TIMEOUT_MS,
    );
    assert.equal(b.status().local, 'UpToDate', 'its daemon stayed up: still a failover target');
    // The network returns: node-a redials, and node-b receives what it missed.
    relay.blackhole = false;
    await until('resynced', () => connected(a) && connected(b), 10_000);
    await dev.flush();
    assert.equal(await sha(sides[0].dataPath), await sha(sides[1].dataPath));
  } finally {
    await a.close();
    await b.close();
    await relay.close();
    await cleanup();
  }
});
