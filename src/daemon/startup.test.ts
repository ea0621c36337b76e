// Tests of the daemon's startup checks: arguments and defaults, a bad config (exit 2 with every issue as
// FILE:LINE:COL), an unknown server (exit 2 naming the known ones), a missing or empty secret (exit 2 with how
// to create one), an unusable state directory.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ensureStateDir,
  findServer,
  loadDaemonConfig,
  parseDaemonArgs,
  readSecret,
  StartupError,
} from './startup.ts';

const dir = mkdtempSync(join(tmpdir(), 'tandem-start-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const GOOD = `cluster:
  name: c1
  secretFile: ./cluster.secret
servers:
  - name: node-1
    interconnects: ["127.0.0.1:40001"]
    api: "127.0.0.1:40002"
groups:
  - name: failover1
    resources:
      - { name: exec1, type: exec, start: ./start.sh, stop: ./stop.sh }
`;

function exitOf(fn: () => unknown): { code: number; text: string } {
  try {
    fn();
  } catch (err) {
    if (err instanceof StartupError) return { code: err.exitCode, text: err.message };
    throw err;
  }
  assert.fail('expected a StartupError');
}

void test('arguments: defaults, TANDEM_CONFIG, a leading `daemon`, bad options and levels', () => {
  const a = parseDaemonArgs(['daemon'], {}, 'tandem');
  assert.equal(a.configPath, '/etc/tandem/cluster.yaml');
  assert.equal(a.stateDir, '/var/lib/tandem');
  assert.equal(a.logLevel, 'info');
  assert.equal(a.server, null);
  const b = parseDaemonArgs(
    ['--server', 'node-1', '--state-dir', '/tmp/x', '--log-level', 'debug'],
    { TANDEM_CONFIG: '/c.yaml' },
    'tandem',
  );
  assert.deepEqual(b, {
    configPath: '/c.yaml',
    server: 'node-1',
    stateDir: '/tmp/x',
    logLevel: 'debug',
    help: false,
  });
  assert.equal(
    parseDaemonArgs(['--config', '/a.yaml'], { TANDEM_CONFIG: '/c.yaml' }, 'tandem').configPath,
    '/a.yaml',
  );
  const bad = exitOf(() => parseDaemonArgs(['--bogus'], {}, 'tandem'));
  assert.equal(bad.code, 2);
  assert.match(bad.text, /Usage: tandem daemon/);
  assert.equal(exitOf(() => parseDaemonArgs(['--log-level', 'loud'], {}, 'tandem')).code, 2);
});

void test('a bad config exits 2 printing every issue as FILE:LINE:COL', () => {
  const f = join(dir, 'bad.yaml');
  writeFileSync(f, GOOD.replace('name: failover1', 'name: failover1\n    bogusKey: 1'));
  const r = exitOf(() => loadDaemonConfig(f, 'tandem'));
  assert.equal(r.code, 2);
  assert.ok(r.text.includes(`${f}:`), r.text);
  assert.match(r.text, new RegExp(`${f}:\\d+:\\d+: groups\\[0\\]\\.bogusKey`));
  const missing = exitOf(() => loadDaemonConfig(join(dir, 'none.yaml'), 'tandem'));
  assert.equal(missing.code, 2);
  assert.match(missing.text, /cannot read the config file .*none\.yaml \(ENOENT\); pass --config FILE/);
});

void test('an unknown server exits 2 naming the known ones; a missing or empty secret exits 2 with how to make one', () => {
  const f = join(dir, 'good.yaml');
  writeFileSync(f, GOOD);
  const { config } = loadDaemonConfig(f, 'tandem');
  assert.equal(findServer(config, 'node-1', 'tandem').name, 'node-1');
  const r = exitOf(() => findServer(config, 'node-9', 'tandem'));
  assert.equal(r.code, 2);
  assert.match(r.text, /server node-9 is not in the servers of .*; pass --server with one of: node-1/);
  const s1 = exitOf(() => readSecret(config, 'tandem'));
  assert.equal(s1.code, 2);
  assert.ok(s1.text.includes(`${join(dir, 'cluster.secret')} does not exist`), s1.text);
  assert.ok(s1.text.includes('head -c 32 /dev/urandom | base64 >'), s1.text);
  writeFileSync(join(dir, 'cluster.secret'), '\n');
  assert.match(exitOf(() => readSecret(config, 'tandem')).text, /is empty; create it/);
  writeFileSync(join(dir, 'cluster.secret'), 's3cret\n');
  assert.equal(readSecret(config, 'tandem').toString(), 's3cret');
});

void test('a state directory that cannot be created exits 2', () => {
  writeFileSync(join(dir, 'file'), 'x');
  const r = exitOf(() => ensureStateDir(join(dir, 'file', 'sub'), 'tandem'));
  assert.equal(r.code, 2);
  assert.match(r.text, /cannot create the state directory .* \(ENOTDIR\); pass --state-dir DIR/);
});
