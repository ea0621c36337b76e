import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Logger } from '../ports/logger.ts';
import { MdWorld, until } from '../drivers/md/test-support.ts';
import { createMirrorHost, localCopies, volumeOptions } from './mirror-host.ts';

function recorder(lines: { level: string; msg: string; obj: Record<string, unknown> }[]): Logger {
  const mk =
    (level: string) =>
    (obj: Record<string, unknown>, msg: string): void => {
      lines.push({ level, msg, obj });
    };
  const l: Logger = {
    debug: mk('debug'),
    info: mk('info'),
    warn: mk('warn'),
    error: mk('error'),
    child: () => l,
  };
  return l;
}

const SECRET = Buffer.from('secret');

test('each server of the pair opens its copy; the copies connect; a third server holds none', async () => {
  const w = await MdWorld.create();
  const lines: { level: string; msg: string; obj: Record<string, unknown> }[] = [];
  const log = recorder(lines);
  const opts = (self: string) => ({ config: w.config, self, stateDir: w.dir, secret: SECRET, log });
  const h1 = await createMirrorHost(opts('node-1'));
  const h2 = await createMirrorHost(opts('node-2'));
  const h3 = await createMirrorHost(opts('node-3'));
  try {
    const v1 = h1.volume('md1');
    assert.ok(v1 !== null);
    assert.equal(v1.size, 4 * 1024 * 1024);
    await until('connected', () => v1.status().connection.kind === 'Connected');
    assert.deepEqual(
      h1.statuses().map((s) => s.name),
      ['md1'],
    );
    assert.equal(h1.openError('md1'), null);
    assert.equal(h3.volume('md1'), null);
    assert.deepEqual(h3.statuses(), []);
    assert.ok(lines.some((l) => /mirror disk md1 opened/.test(l.msg)));
  } finally {
    await Promise.all([h1.close(), h2.close(), h3.close()]);
    await h1.close(); // idempotent
    await w.close();
  }
});

test('volume options: volume id, mdc addresses of both servers and the timeouts come from the config', async () => {
  const w = await MdWorld.create();
  try {
    const [c] = localCopies(w.config, 'node-2');
    assert.ok(c);
    const o = volumeOptions(c, { config: w.config, self: 'node-2', secret: SECRET, log: recorder([]) });
    assert.ok('volumeId' in o);
    assert.equal(o.volumeId, 'c1/md1');
    assert.equal(o.clusterName, 'c1');
    assert.match(o.self.mdc, /^127\.0\.0\.1:\d+$/);
    assert.deepEqual(o.peer.name, 'node-1');
    assert.notEqual(o.self.mdc, o.peer.mdc);
    assert.equal(o.connectTimeoutMs, 1000);
    assert.equal(o.ackTimeoutMs, 2000);
    assert.equal(o.mode, 'sync');
    assert.equal(o.autoRecovery, true, 'autoRecovery reaches the engine');
    assert.equal('size' in o, false);
    assert.equal(localCopies(w.config, 'node-3').length, 0);
  } finally {
    await w.close();
  }
});

test('a copy that cannot be opened is kept as openError with a remedy; the host still works', async () => {
  const w = await MdWorld.create();
  const lines: { level: string; msg: string; obj: Record<string, unknown> }[] = [];
  try {
    rmSync(`${w.dir}/node-1.data`);
    const h = await createMirrorHost({
      config: w.config,
      self: 'node-1',
      stateDir: w.dir,
      secret: SECRET,
      log: recorder(lines),
    });
    assert.equal(h.volume('md1'), null);
    const e = h.openError('md1');
    assert.equal(e?.code, 'MD_DATA_OPEN_FAILED');
    assert.match(e?.message ?? '', /node-1\.data of md1 \(ENOENT\)/);
    assert.match(e?.remedy ?? '', /fix dataPath of md1 for node-1/);
    assert.ok(lines.some((l) => l.level === 'error' && l.obj['code'] === 'MD_DATA_OPEN_FAILED'));
    await h.close();

    // The mdc port of node-2 is taken by someone else.
    const [c] = localCopies(w.config, 'node-2');
    const port = c!.own.mdc!.port;
    const squatter = createServer();
    await new Promise<void>((r) => squatter.listen(port, '127.0.0.1', () => r()));
    try {
      const h2 = await createMirrorHost({
        config: w.config,
        self: 'node-2',
        stateDir: w.dir,
        secret: SECRET,
        log: recorder(lines),
      });
      assert.equal(h2.openError('md1')?.code, 'MD_MDC_LISTEN_FAILED');
      assert.match(h2.openError('md1')?.remedy ?? '', /another mdc port on node-2/);
      await h2.close();
    } finally {
      await new Promise<void>((r) => squatter.close(() => r()));
    }
  } finally {
    await w.close();
  }
});
