// Child process of test/mirror/kill.test.ts: opens a mirror volume (options as JSON in argv[2]), waits for
// the peer, activates it and writes unique 4 KiB blocks at queue depth 4, printing `ACK <offset> <sha256>`
// for each write once it is acknowledged, until it is killed. Optional argv[3]: a pause in ms after each
// write (per writer), so that a test has time to change the world while the stream runs.
import { createHash, randomBytes } from 'node:crypto';
import { MirrorVolume, type MirrorVolumeOptions } from '../../src/mirror/volume.ts';
import { recordingLogger } from './harness.ts';

const o = JSON.parse(process.argv[2]!) as Omit<MirrorVolumeOptions, 'log' | 'now' | 'random'>;
const pauseMs = Number(process.argv[3] ?? 0);
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
const blocks = Math.floor(dev.size / 4096);
async function writer(): Promise<void> {
  for (;;) {
    const i = next++;
    if (i >= blocks) return;
    const data = randomBytes(4096);
    await dev.write(i * 4096, data, false);
    process.stdout.write(`ACK ${i * 4096} ${createHash('sha256').update(data).digest('hex')}\n`);
    if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
  }
}
await Promise.all([writer(), writer(), writer(), writer()]);
process.stdout.write('DONE\n');
