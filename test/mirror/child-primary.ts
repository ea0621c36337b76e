// Child process of test/mirror/kill.test.ts: opens a mirror volume (options as JSON in argv[2]), waits for
// the peer, activates it and writes unique blocks at queue depth 4, printing `ACK <offset> <sha256>` for
// each write once it is acknowledged, until it is killed. Optional argv[3]: a pause in ms after each write
// (per writer), so that a test has time to change the world while the stream runs. Optional argv[4]: the
// block size (default 4096); from 128 KiB on, each write is streamed as the NBD server does (writeStream,
// 64 KiB at a time with the event loop turning in between), so a kill lands between its pieces.
import { createHash, randomBytes } from 'node:crypto';
import { MirrorVolume, type MirrorVolumeOptions } from '../../src/mirror/volume.ts';
import { recordingLogger } from './harness.ts';

const o = JSON.parse(process.argv[2]!) as Omit<MirrorVolumeOptions, 'log' | 'now' | 'random'>;
const pauseMs = Number(process.argv[3] ?? 0);
const blockBytes = Number(process.argv[4] ?? 4096);
const CHUNK = 64 * 1024;
const v = await MirrorVolume.open({
  ...o,
  log: recordingLogger(),
  now: () => performance.now(),
  random: (n: number) => randomBytes(n),
});
while (v.status().connection.kind !== 'Connected') await new Promise((r) => setTimeout(r, 5));
const dev = await v.promote();
process.stdout.write('READY\n');
let next = 0;
const blocks = Math.floor(dev.size / blockBytes);

async function write(offset: number, data: Buffer): Promise<void> {
  if (blockBytes < 128 * 1024 || dev.writeStream === undefined) return dev.write(offset, data, false);
  const s = dev.writeStream(offset, data.length, false);
  for (let at = 0; at < data.length; at += CHUNK) {
    s.data(data.subarray(at, at + CHUNK));
    await new Promise((r) => setImmediate(r));
  }
  return s.end();
}

async function writer(): Promise<void> {
  for (;;) {
    const i = next++;
    if (i >= blocks) return;
    const data = randomBytes(blockBytes);
    await write(i * blockBytes, data);
    process.stdout.write(`ACK ${i * blockBytes} ${createHash('sha256').update(data).digest('hex')}\n`);
    if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
  }
}
await Promise.all([writer(), writer(), writer(), writer()]);
process.stdout.write('DONE\n');
