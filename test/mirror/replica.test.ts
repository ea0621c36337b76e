// The receiving side of the mirror connection (src/mirror/replica.ts): writes queued when the volume closes
// reach the data file before it is closed (drain), instead of failing with "file closed".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Replica } from '../../src/mirror/replica.ts';
import { MsgType, type MdcConnection } from '../../src/mirror/mdc.ts';
import { MirrorVolume } from '../../src/mirror/volume.ts';
import { connected, makeSides, optionsFor, recordingLogger, tempDir, until } from './harness.ts';

/** The two calls Replica makes on a connection, recorded. */
function fakeConn(): MdcConnection & { sent: number[]; closedCount: number } {
  const c = {
    sent: [] as number[],
    closedCount: 0,
    closed: false,
    send(type: number): boolean {
      c.sent.push(type);
      return true;
    },
    close(): void {
      c.closedCount++;
    },
  };
  return c as unknown as MdcConnection & { sent: number[]; closedCount: number };
}

test('drain waits for every queued write and flush before the data file is closed', async () => {
  const { dir, cleanup } = await tempDir();
  const path = join(dir, 'data');
  await writeFile(path, Buffer.alloc(64 * 4096));
  const fh = await open(path, 'r+');
  const log = recordingLogger();
  const conn = fakeConn();
  try {
    const r = new Replica({ volume: 'md1', data: fh, log, isPrimary: () => false });
    for (let i = 0; i < 64; i++)
      r.apply(conn, MsgType.write, {
        seq: i + 1,
        offset: i * 4096,
        fua: i % 8 === 0,
        data: Buffer.alloc(4096, i),
      });
    let flushed = false;
    r.afterDurable(conn, () => (flushed = true));
    // One more write queued by the flush's own completion: drain waits for it as well.
    r.afterDurable(conn, () =>
      r.apply(conn, MsgType.resyncBlock, { seq: 0, offset: 0, fua: false, data: Buffer.alloc(4096, 0xee) }),
    );
    await r.drain();
    await fh.close();
    assert.equal(flushed, true);
    assert.deepEqual(
      log.lines.filter((l) => l.level === 'error'),
      [],
    );
    assert.equal(conn.closedCount, 0);
    assert.equal(conn.sent.filter((t) => t === MsgType.ack).length, 64);
    const data = await readFile(path);
    assert.equal(data[0], 0xee);
    for (let i = 1; i < 64; i++) assert.equal(data[i * 4096 + 100], i, `block ${i} written`);
  } finally {
    await fh.close().catch(() => undefined);
    await cleanup();
  }
});

test('closing a secondary with mirrored writes queued logs no failed local write', async () => {
  const { dir, cleanup } = await tempDir();
  const sides = await makeSides(dir);
  const a = await MirrorVolume.open(optionsFor(sides[0], sides[1], { mode: 'async' }));
  const b = await MirrorVolume.open(optionsFor(sides[1], sides[0], { mode: 'async' }));
  try {
    await until('connected', () => connected(a) && connected(b));
    const dev = await a.promote();
    // A burst of async writes; once the first acks are back (the secondary is applying them), the
    // secondary closes with the rest still queued.
    const writes = [];
    for (let i = 0; i < 64; i++) writes.push(dev.write(i * 65536, Buffer.alloc(65536, i + 1), false));
    await until('first acks', () => a.status().asyncQueueDepth < 60, 5000);
    await b.close();
    await Promise.all(writes);
    const failed = sides[1].log.lines.filter((l) => l.level === 'error');
    assert.deepEqual(failed, [], 'no mirrored write failed at teardown');
  } finally {
    await a.close();
    await b.close();
    await cleanup();
  }
});
