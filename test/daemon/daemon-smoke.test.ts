// Smoke test of the real daemon process (issue 3, section 3): `node bin/tandem daemon ...` on loopback with a
// one-server config and a group of exec resources (one plain, one async with its automatic pid monitor).
// It must log 'daemon ready', bring the group online (seen through the API with the Bearer token), record
// its process groups and decision inputs, and on SIGTERM stop the group (stop script ran, async process
// gone) and exit 0 leaving nothing running. A bad config exits 2 with FILE:LINE:COL lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isProcessAlive } from '../../src/drivers/process/proc.ts';
import { makeClusterDir, ProcCluster, TANDEM } from '../process/harness.ts';

const FILES = {
  'start.sh':
    '#!/bin/sh\necho "START $TANDEM_EVENT $TANDEM_GROUP $TANDEM_RESOURCE $TANDEM_SERVER" >> ./events.log\n',
  'stop.sh': '#!/bin/sh\necho "STOP $TANDEM_EVENT $TANDEM_RESOURCE" >> ./events.log\n',
  'check.sh': '#!/bin/sh\nexit 0\n',
};

const BODY = `groups:
  - name: failover1
    resources:
      - { name: exec1, type: exec, start: ./start.sh, stop: ./stop.sh, timeout: 10s }
      - { name: app1, type: exec, start: "exec sleep 1000", async: true, timeout: 5s, dependsOn: [exec1] }
monitors:
  - { name: custom1, type: custom, command: ./check.sh, interval: 1s, timeout: 5s, timing: { active: exec1 } }
`;

/** Resolves when the daemon's output contains `text` (its log is line-oriented JSON on stdout). */
function outputContains(d: { proc: ChildProcess; output: string[] }, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = (): boolean => d.output.join('').includes(text);
    if (check()) return resolve();
    const onData = (): void => {
      if (!check()) return;
      d.proc.stdout?.off('data', onData);
      resolve();
    };
    d.proc.stdout?.on('data', onData);
    d.proc.once('exit', (code) =>
      reject(new Error(`daemon exited (${code}) before logging "${text}":\n${d.output.join('')}`)),
    );
  });
}

void test(
  'daemon smoke: ready, group online through the API, SIGTERM stops the group and exits 0',
  { timeout: 60_000 },
  async () => {
    const cd = await makeClusterDir({
      servers: [{ name: 'node-1', address: '127.0.0.1' }],
      body: BODY,
      files: FILES,
    });
    const pc = new ProcCluster(cd);
    try {
      const d = pc.start('node-1');
      await outputContains(d, '"msg":"daemon ready"');
      const ready = d.output
        .join('')
        .split('\n')
        .find((l) => l.includes('"msg":"daemon ready"'))!;
      const fields = JSON.parse(ready);
      assert.equal(fields.server, 'node-1');
      assert.equal(fields.api, `127.0.0.1:${cd.servers[0]!.apiPort}`);
      assert.match(fields.incarnation, /^\d{15}-[0-9a-f]{8}$/);
      assert.equal(readFileSync(join(d.stateDir, 'daemon.pid'), 'utf8').trim(), String(d.proc.pid));

      assert.equal(await pc.waitGroupOnline('node-1', 'failover1'), 'node-1');
      const st = await pc.status('node-1');
      const g = st!.groups.find((x) => x.name === 'failover1')!;
      assert.deepEqual(
        g.resources.map((r) => [r.name, r.state]),
        [
          ['exec1', 'online'],
          ['app1', 'online'],
        ],
      );
      const unauth = await fetch(`${pc.apiBase('node-1')}/api/v1/status`);
      assert.equal(unauth.status, 401);
      const rec = JSON.parse(readFileSync(join(d.stateDir, 'run', 'app1.pid'), 'utf8'));
      assert.ok(
        readFileSync(join(d.stateDir, 'run', 'pgids'), 'utf8')
          .split('\n')
          .includes(String(rec.pgid)),
      );
      assert.ok(readdirSync(join(d.stateDir, 'decisions')).length > 0);

      const code = await pc.stopGraceful('node-1');
      assert.equal(code, 0, d.output.join('').slice(-4000));
      const events = readFileSync(join(cd.dir, 'events.log'), 'utf8').trim().split('\n');
      assert.deepEqual(events, ['START START failover1 exec1 node-1', 'STOP START exec1']);
      assert.throws(() => process.kill(rec.pid, 0), /ESRCH/);
      assert.equal(existsSync(join(d.stateDir, 'daemon.pid')), false);
      assert.match(d.output.join(''), /"msg":"daemon stopped"/);
    } finally {
      await pc.dispose();
    }
  },
);

void test(
  'daemon smoke: a daemon restarted after a crash finds its resources running through the startup probe',
  { timeout: 60_000 },
  async () => {
    const cd = await makeClusterDir({
      servers: [{ name: 'node-1', address: '127.0.0.1' }],
      body: BODY,
      files: FILES,
    });
    const pc = new ProcCluster(cd);
    try {
      const d1 = pc.start('node-1');
      await pc.waitGroupOnline('node-1', 'failover1');
      const rec = JSON.parse(readFileSync(join(d1.stateDir, 'run', 'app1.pid'), 'utf8'));
      // Only the daemon dies (not its resources, which live in their own process groups).
      d1.proc.kill('SIGKILL');
      await d1.exited;
      process.kill(rec.pid, 0);
      const d2 = pc.start('node-1');
      assert.equal(await pc.waitGroupOnline('node-1', 'failover1'), 'node-1');
      // Nothing was started again: the probe found both resources running.
      const events = readFileSync(join(cd.dir, 'events.log'), 'utf8').trim().split('\n');
      assert.deepEqual(events, ['START START failover1 exec1 node-1']);
      assert.equal(JSON.parse(readFileSync(join(d2.stateDir, 'run', 'app1.pid'), 'utf8')).pid, rec.pid);
      assert.equal(await pc.stopGraceful('node-1'), 0);
      // Not our child any more: it may linger as a zombie until init reaps it, which counts as gone.
      assert.equal(isProcessAlive(rec.pid, rec.startTime), false);
    } finally {
      await pc.dispose();
    }
  },
);

void test(
  'daemon smoke: a bad config exits 2 with FILE:LINE:COL lines and starts nothing',
  { timeout: 30_000 },
  async () => {
    const cd = await makeClusterDir({
      servers: [{ name: 'node-1', address: '127.0.0.1' }],
      body: BODY,
      files: FILES,
    });
    try {
      writeFileSync(
        cd.configPath,
        readFileSync(cd.configPath, 'utf8').replace('interval: 1s', 'interval: fast'),
      );
      const p = spawn(
        process.execPath,
        [TANDEM, 'daemon', '--config', cd.configPath, '--server', 'node-1', '--state-dir', join(cd.dir, 's')],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let err = '';
      p.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
      const code = await new Promise<number | null>((r) => p.once('exit', (c) => r(c)));
      assert.equal(code, 2);
      assert.match(err, new RegExp(`${cd.configPath}:\\d+:\\d+: monitors\\[0\\]\\.interval`));
      assert.equal(existsSync(join(cd.dir, 's', 'daemon.pid')), false);
    } finally {
      rmSync(cd.dir, { recursive: true, force: true });
    }
  },
);
