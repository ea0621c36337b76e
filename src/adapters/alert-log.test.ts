import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { AlertRecord } from '../ports/store.ts';
import { FileAlertLog, segmentFileName } from './alert-log.ts';
import { RecordingLogger } from './recording-logger.ts';

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'tandem-alerts-'));
});
after(() => rm(root, { recursive: true, force: true }));

function entry(i: number): Omit<AlertRecord, 'seq'> {
  return {
    time: 1_767_225_600_000 + i,
    server: 'node-1',
    level: 'info',
    objectKind: 'group',
    object: 'failover1',
    code: 'GROUP_ONLINE',
    message: `entry ${i}`,
  };
}

async function linesOnDisk(dir: string): Promise<{ files: string[]; lines: number }> {
  const files = (await readdir(dir)).filter((f) => f.startsWith('alerts.')).sort();
  let lines = 0;
  for (const f of files)
    lines += (await readFile(join(dir, f), 'utf8')).split('\n').filter((l) => l !== '').length;
  return { files, lines };
}

void test('alert log: append is synchronous, seqs are monotonic, list filters and limits', async () => {
  const log = await FileAlertLog.open({ dir: join(root, 'a'), size: 100 });
  const first = log.append(entry(1));
  assert.equal(first.seq, 1);
  assert.deepEqual(first, { ...entry(1), seq: 1 });
  for (let i = 2; i <= 10; i++) log.append(entry(i));
  assert.equal(log.list().length, 10, 'in memory at once, before any write');
  assert.deepEqual(
    log.list({ afterSeq: 7 }).map((r) => r.seq),
    [8, 9, 10],
  );
  assert.deepEqual(
    log.list({ limit: 2 }).map((r) => r.seq),
    [9, 10],
    'newest last',
  );
  assert.deepEqual(
    log.list({ afterSeq: 2, limit: 3 }).map((r) => r.seq),
    [8, 9, 10],
  );
  assert.deepEqual(log.list({ afterSeq: 10 }), []);
  assert.deepEqual(log.list({ limit: 0 }), []);
  await log.close();
});

void test('alert log: the ring bound holds in memory, on disk and across a reload', async () => {
  const dir = join(root, 'b');
  const log = await FileAlertLog.open({ dir, size: 10, segmentEntries: 3 });
  for (let i = 1; i <= 25; i++) log.append(entry(i));
  assert.deepEqual(
    log.list().map((r) => r.seq),
    [16, 17, 18, 19, 20, 21, 22, 23, 24, 25],
  );
  await log.flush();
  const disk = await linesOnDisk(dir);
  assert.ok(disk.lines >= 10 && disk.lines <= 10 + 3, `${disk.lines} lines on disk`);
  assert.deepEqual(disk.files, [
    'alerts.5.jsonl',
    'alerts.6.jsonl',
    'alerts.7.jsonl',
    'alerts.8.jsonl',
    'alerts.9.jsonl',
  ]);
  await log.close();

  const again = await FileAlertLog.open({ dir, size: 10, segmentEntries: 3 });
  assert.deepEqual(
    again.list().map((r) => r.seq),
    [16, 17, 18, 19, 20, 21, 22, 23, 24, 25],
  );
  assert.deepEqual(again.list().at(-1), { ...entry(25), seq: 25 });
  assert.equal(again.append(entry(26)).seq, 26, 'seq continues after a reload');
  for (let i = 27; i <= 40; i++) again.append(entry(i));
  await again.flush();
  const after2 = await linesOnDisk(dir);
  assert.ok(after2.lines >= 10 && after2.lines <= 13, `${after2.lines} lines on disk`);

  // A smaller size on the next start is honoured at once.
  const smaller = await FileAlertLog.open({ dir, size: 4, segmentEntries: 3 });
  assert.deepEqual(
    smaller.list().map((r) => r.seq),
    [37, 38, 39, 40],
  );
  await smaller.flush();
  assert.ok((await linesOnDisk(dir)).lines <= 4 + 3);
});

void test('alert log: a torn last line is skipped on load and never appended to', async () => {
  const dir = join(root, 'c');
  const log = await FileAlertLog.open({ dir, size: 100, segmentEntries: 50 });
  for (let i = 1; i <= 5; i++) log.append(entry(i));
  await log.close();
  await appendFile(join(dir, segmentFileName(1)), '{"time":1767225600006,"server":"node-1","lev');

  const warnings = new RecordingLogger();
  const reloaded = await FileAlertLog.open({ dir, size: 100, segmentEntries: 50, log: warnings });
  assert.deepEqual(
    reloaded.list().map((r) => r.seq),
    [1, 2, 3, 4, 5],
  );
  assert.equal(warnings.lines[0]?.msg, 'alert log: unreadable lines skipped on load');
  assert.equal(reloaded.append(entry(6)).seq, 6);
  await reloaded.close();
  assert.deepEqual((await readdir(dir)).sort(), ['alerts.1.jsonl', 'alerts.2.jsonl']);
  const third = await FileAlertLog.open({ dir, size: 100, segmentEntries: 50 });
  assert.deepEqual(
    third.list().map((r) => r.seq),
    [1, 2, 3, 4, 5, 6],
  );
  await third.close();
});

void test('alert log: write failures are counted and logged, never thrown', async () => {
  const dir = join(root, 'd');
  const errors = new RecordingLogger();
  const log = await FileAlertLog.open({ dir, size: 10, log: errors });
  await rm(dir, { recursive: true });
  await appendFile(dir, 'now a file, not a directory');
  log.append(entry(1));
  await log.flush();
  assert.equal(log.writeErrors, 1);
  assert.equal(errors.lines.at(-1)?.msg, 'alert log write failed');
  assert.equal(log.list().length, 1, 'still in memory');
});
