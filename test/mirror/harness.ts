// Test helpers for the mirror engine: temp dirs, free loopback ports, a recording logger, volume pairs.
import type { BlockBackend } from '../../src/nbd/types.ts';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { freeTcpPort } from '../../src/adapters/test-support.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import type { Logger } from '../../src/ports/logger.ts';
import { MirrorVolume, type MirrorVolumeOptions } from '../../src/mirror/volume.ts';

export interface LogLine {
  level: string;
  obj: Record<string, unknown>;
  msg: string;
}

export function recordingLogger(
  lines: LogLine[] = [],
  bindings: Record<string, unknown> = {},
): Logger & { lines: LogLine[] } {
  const mk = (level: string) => (obj: Record<string, unknown>, msg: string) =>
    lines.push({ level, obj: { ...bindings, ...obj }, msg });
  return {
    lines,
    debug: mk('debug'),
    info: mk('info'),
    warn: mk('warn'),
    error: mk('error'),
    child: (b) => recordingLogger(lines, { ...bindings, ...b }),
  };
}

/** A free TCP port on 127.0.0.1, outside the ephemeral range (src/adapters/test-support.ts). */
export function freePort(): Promise<number> {
  return freeTcpPort('127.0.0.1');
}

export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'tandem-mirror-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export async function sha(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

export async function until(what: string, cond: () => boolean, timeoutMs = 8000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export interface Side {
  name: string;
  dataPath: string;
  clusterPath: string;
  port: number;
  log: ReturnType<typeof recordingLogger>;
}

export const VOLUME_SIZE = 4 * 1024 * 1024;

export async function makeSides(dir: string, size = VOLUME_SIZE): Promise<[Side, Side]> {
  const sides: Side[] = [];
  for (const name of ['node-a', 'node-b']) {
    const dataPath = join(dir, `${name}.data`);
    await writeFile(dataPath, Buffer.alloc(size));
    sides.push({
      name,
      dataPath,
      clusterPath: join(dir, `${name}.meta`),
      port: await freePort(),
      log: recordingLogger(),
    });
  }
  return sides as [Side, Side];
}

export function optionsFor(
  self: Side,
  peer: Side,
  over: Partial<MirrorVolumeOptions> = {},
): MirrorVolumeOptions {
  return {
    name: 'md1',
    volumeId: 'vol-1',
    dataPath: self.dataPath,
    clusterPath: self.clusterPath,
    regionSize: 64 * 1024,
    mode: 'sync',
    initialSync: 'skip',
    queueSize: 2048,
    sendTimeoutMs: 30_000,
    connectTimeoutMs: 2000,
    ackTimeoutMs: 5000,
    retryMs: 50,
    self: { name: self.name, mdc: `127.0.0.1:${self.port}` },
    peer: { name: peer.name, mdc: `127.0.0.1:${peer.port}` },
    secret: 'cluster-secret',
    clusterName: 'c1',
    log: self.log,
    now: () => performance.now(),
    random: (n) => randomBytes(n),
    ...over,
  };
}

export async function openPair(
  sides: [Side, Side],
  over: [Partial<MirrorVolumeOptions>, Partial<MirrorVolumeOptions>] = [{}, {}],
): Promise<[MirrorVolume, MirrorVolume]> {
  const a = await MirrorVolume.open(optionsFor(sides[0], sides[1], over[0]));
  const b = await MirrorVolume.open(optionsFor(sides[1], sides[0], over[1]));
  return [a, b];
}

export function connected(v: MirrorVolume): boolean {
  return v.status().connection.kind === 'Connected';
}

/** Bytes of a dirty-bitmap region in these tests (the default). */
export const REGION = 64 * 1024;

/** `len` bytes of `seed`. */
export function block(seed: number, len = 4096): Buffer {
  return Buffer.alloc(len, seed & 0xff);
}

/**
 * A split brain: node-a (pair[0]) is activated while node-b is away and writes block(1) at 0, then closes;
 * node-b is reopened, forced active and writes block(2) at region 5; node-a is reopened. The pair is
 * updated in place (the caller's finally closes pair[0] and pair[1]); returns node-b's active device.
 */
export async function splitBrain(
  sides: [Side, Side],
  pair: [MirrorVolume, MirrorVolume],
): Promise<BlockBackend> {
  await until('connected', () => connected(pair[0]) && connected(pair[1]));
  await pair[1].close();
  await until('peer lost', () => pair[0].status().connection.kind === 'Disconnected');
  const devA = await pair[0].promote();
  await devA.write(0, block(1), false);
  await pair[0].close();
  pair[1] = await MirrorVolume.open(optionsFor(sides[1], sides[0]));
  const devB = await pair[1].promote({ force: true });
  await devB.write(REGION * 5, block(2), false);
  pair[0] = await MirrorVolume.open(optionsFor(sides[0], sides[1]));
  return devB;
}
