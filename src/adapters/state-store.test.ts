import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { PersistedState } from '../ports/store.ts';
import { ConfigError } from '../shared/errors.ts';
import { FileStateStore } from './state-store.ts';

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'tandem-state-'));
});
after(() => rm(root, { recursive: true, force: true }));

void test('state store: nothing saved yet -> null; save then load round-trips', async () => {
  const dir = join(root, 'a', 'nested'); // created on first save
  const store = new FileStateStore({ stateDir: dir });
  assert.equal(await store.load(), null);
  const state: PersistedState = { serviceWanted: 'stopped', failedGroups: { failover1: ['node-1'] } };
  await store.save(state);
  assert.deepEqual(await new FileStateStore({ stateDir: dir }).load(), state);
  assert.deepEqual(JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')), state);
});

void test('state store: saves apply in call order, atomically, leaving no temp files', async () => {
  const dir = join(root, 'b');
  const store = new FileStateStore({ stateDir: dir });
  const saves: Promise<void>[] = [];
  for (let i = 0; i < 20; i++) {
    saves.push(
      store.save({ serviceWanted: i % 2 === 0 ? 'running' : 'stopped', failedGroups: { g: [`node-${i}`] } }),
    );
  }
  // A load queued behind the saves sees the last one.
  const loaded = store.load();
  await Promise.all(saves);
  assert.deepEqual(await loaded, { serviceWanted: 'stopped', failedGroups: { g: ['node-19'] } });
  assert.deepEqual(await readdir(dir), ['state.json']);
});

void test('state store: a damaged state file is a named error with a remedy', async () => {
  const dir = join(root, 'c');
  const store = new FileStateStore({ stateDir: dir });
  await store.save({ serviceWanted: 'running', failedGroups: {} });
  await writeFile(join(dir, 'state.json'), '{"serviceWanted": "runn');
  await assert.rejects(
    store.load(),
    (err: unknown) =>
      err instanceof ConfigError && /STATE_FILE_INVALID/.test(err.message) && /remove it/.test(err.message),
  );
  await writeFile(join(dir, 'state.json'), '{"serviceWanted": "maybe", "failedGroups": {}}');
  await assert.rejects(store.load(), ConfigError);
});

void test('state store: a failed save rejects and later saves still work', async () => {
  const file = join(root, 'not-a-dir');
  await writeFile(file, 'x');
  const broken = new FileStateStore({ stateDir: join(file, 'sub') });
  await assert.rejects(broken.save({ serviceWanted: 'running', failedGroups: {} }));
  await assert.rejects(
    broken.save({ serviceWanted: 'stopped', failedGroups: {} }),
    'the chain survives a failure',
  );
  const dir = join(root, 'd');
  const store = new FileStateStore({ stateDir: dir });
  await store.save({ serviceWanted: 'running', failedGroups: {} });
  assert.deepEqual(await store.load(), { serviceWanted: 'running', failedGroups: {} });
});
