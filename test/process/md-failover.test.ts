/**
 * Mirror disk end to end (issue 5 sections 1-4), with real `tandem daemon` processes on loopback: two
 * servers (127.0.0.1 and 127.0.0.2) each with a 32 MiB data file and a 4 MiB cluster file, the mirror
 * connect on a free TCP port of each, the volume served on a unix socket per server (per-server `nbd:`),
 * and group failover1 = md1 + an exec application depending on it.
 *
 * The NBD client is the real `qemu-io` (qemu-utils): write through the active server's socket, check the
 * standby's data file holds the data (sync mode: acknowledged = on both copies), kill -9 the active
 * server, read the data back through the survivor's socket, write more there, restart the crashed server:
 * it rejoins, receives only the dirty regions (the survivor's log says how many bytes it copied), and the
 * two data files end identical.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MirrorDiskStatus } from '../../src/shared/status.ts';
import { freeTcpPort, makeClusterDir, ProcCluster, TANDEM, type ClusterDir } from './harness.ts';

const MiB = 1024 * 1024;
const DATA_BYTES = 32 * MiB;
const CLUSTER_BYTES = 4 * MiB;

function which(program: string): boolean {
  return (process.env.PATH ?? '').split(':').some((d) => d.length > 0 && existsSync(join(d, program)));
}

const HAVE_QEMU_IO = which('qemu-io');
const SKIP =
  HAVE_QEMU_IO || process.env.TANDEM_REQUIRE_ALL === '1'
    ? false
    : 'qemu-io is not installed (apt-get install qemu-utils); set TANDEM_REQUIRE_ALL=1 to make this a failure';

/** Runs qemu-io on the md1 export of the unix socket; resolves with its output, rejects on failure. */
function qemuIo(socket: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'qemu-io',
      ['-f', 'raw', `nbd+unix:///md1?socket=${socket}`, '-c', command],
      { timeout: 20_000, encoding: 'utf8' },
      (err, stdout, stderr) => {
        // qemu-io exits 0 even when a pattern check fails: it says so on stdout.
        const out = `${stdout}${stderr}`;
        if (err !== null || /fail|error|mismatch/i.test(out))
          reject(new Error(`qemu-io ${command} on ${socket}: ${err?.message ?? ''}\n${out}`));
        else resolve(out);
      },
    );
  });
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function filled(path: string, offset: number, length: number, byte: number): boolean {
  const b = readFileSync(path).subarray(offset, offset + length);
  return b.length === length && b.every((x) => x === byte);
}

async function mirrorOf(pc: ProcCluster, server: string): Promise<MirrorDiskStatus | null> {
  const st = await pc.status(server);
  return st?.mirrors?.find((m) => m.name === 'md1') ?? null;
}

/** JSON log lines of a daemon whose `msg` matches. */
function logLines(pc: ProcCluster, server: string, re: RegExp): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of (pc.daemons.get(server)?.output ?? []).join('').split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const j = JSON.parse(line) as Record<string, unknown>;
      if (typeof j['msg'] === 'string' && re.test(j['msg'])) out.push(j);
    } catch {
      /* a partial line */
    }
  }
  return out;
}

/** Two servers on 127.0.0.1 / .2 with md1 (sync, 32 MiB) + app1 on it; `extra` adds md keys. */
async function mdCluster(extra = ''): Promise<{ cd: ClusterDir; file: (n: string) => string }> {
  const mdc1 = await freeTcpPort('127.0.0.1');
  const mdc2 = await freeTcpPort('127.0.0.2');
  const body = `groups:
  - name: failover1
    resources:
      - name: md1
        type: md
        mode: sync
        timeout: 30s
        connectTimeout: 2s
        ackTimeout: 5s
${extra}        servers:
          node-1: { dataPath: ./node-1.data, clusterPath: ./node-1.cluster, mdc: "127.0.0.1:${mdc1}", nbd: ./node-1.sock }
          node-2: { dataPath: ./node-2.data, clusterPath: ./node-2.cluster, mdc: "127.0.0.2:${mdc2}", nbd: ./node-2.sock }
      - { name: app1, type: exec, start: ./start.sh, stop: ./stop.sh, timeout: 10s, dependsOn: [md1] }
`;
  const cd = await makeClusterDir({
    servers: [
      { name: 'node-1', address: '127.0.0.1' },
      { name: 'node-2', address: '127.0.0.2' },
    ],
    body,
    files: {
      'start.sh': '#!/bin/sh\necho "START $TANDEM_SERVER" >> ./app.log\n',
      'stop.sh': '#!/bin/sh\necho "STOP $TANDEM_SERVER" >> ./app.log\n',
    },
  });
  const file = (n: string): string => join(cd.dir, n);
  for (const s of ['node-1', 'node-2']) {
    writeFileSync(file(`${s}.data`), Buffer.alloc(DATA_BYTES));
    writeFileSync(file(`${s}.cluster`), Buffer.alloc(CLUSTER_BYTES));
  }
  return { cd, file };
}

test(
  'md: write through NBD, kill -9 the active server, fail over, write more, rejoin with a dirty-region resync',
  { skip: SKIP, timeout: 60_000 },
  async (t) => {
    assert.ok(HAVE_QEMU_IO, 'TANDEM_REQUIRE_ALL=1 but qemu-io (qemu-utils) is not installed');
    const { cd, file } = await mdCluster();
    const pc = new ProcCluster(cd);
    try {
      pc.start('node-1');
      pc.start('node-2');
      const owner = await pc.waitGroupOnline('node-2', 'failover1');
      assert.equal(owner, 'node-1');
      // The initial full sync of the fresh pair: until it is over, the standby's copy is not usable.
      const inSync = async (server: string): Promise<true | null> => {
        const m = await mirrorOf(pc, server);
        return m?.connection === 'Connected' && m.local === 'UpToDate' ? true : null;
      };
      await pc.waitFor('the initial sync is over', () => inSync('node-2'), 20_000, 50);

      // Sync mode: once qemu-io has its acknowledgement, the standby's copy holds the data.
      await qemuIo(file('node-1.sock'), 'write -P 0xab 0 4M');
      assert.ok(filled(file('node-2.data'), 0, 4 * MiB, 0xab), "the standby's data file lacks the write");
      // The standby never serves the volume.
      await assert.rejects(qemuIo(file('node-2.sock'), 'read 0 4k'));

      pc.killHard('node-1');
      await pc.waitFor('failover1 online on node-2', async () => {
        const st = await pc.status('node-2');
        const g = st?.groups.find((x) => x.name === 'failover1');
        return g?.state === 'online' && g.server === 'node-2' ? true : null;
      });
      await qemuIo(file('node-2.sock'), 'read -P 0xab 0 4M');
      await qemuIo(file('node-2.sock'), 'write -P 0xcd 8M 4M');
      const alone = await mirrorOf(pc, 'node-2');
      assert.equal(alone?.role, 'primary');
      assert.equal(alone?.connection, 'Disconnected');
      assert.ok((alone?.dirtyBytes ?? 0) >= 4 * MiB, `dirty bytes while alone: ${alone?.dirtyBytes}`);

      pc.start('node-1');
      await pc.waitFor(
        'node-1 rejoined and the mirror is back in sync',
        async () => {
          const [a, b] = [await mirrorOf(pc, 'node-1'), await mirrorOf(pc, 'node-2')];
          return a?.connection === 'Connected' &&
            b?.connection === 'Connected' &&
            a.local === 'UpToDate' &&
            b.dirtyBytes === 0
            ? true
            : null;
        },
        30_000,
        100,
      );
      assert.equal((await mirrorOf(pc, 'node-1'))?.role, 'secondary');
      assert.ok(
        logLines(pc, 'node-2', /mirror recovery to the peer \(dirty regions/).length > 0,
        'node-2 did not log a dirty-regions recovery',
      );
      const copied = await pc.waitFor('the recovery summary in the log of node-2', () =>
        Promise.resolve(
          logLines(pc, 'node-2', /^mirror recovery of md1 from this server over/).at(-1) ?? null,
        ),
      );
      const bytes = Number(copied['resyncBytes']);
      t.diagnostic(`the recovery copied ${bytes} bytes of the ${DATA_BYTES}-byte volume`);
      // The 4 MiB written alone, plus at most what node-1 still had marked when it was killed.
      assert.ok(bytes >= 4 * MiB && bytes <= 8 * MiB, `recovery copied ${bytes} bytes`);
      assert.equal(sha256(file('node-1.data')), sha256(file('node-2.data')), 'the copies differ');
      assert.ok(filled(file('node-1.data'), 8 * MiB, 4 * MiB, 0xcd));
      const group = (await pc.status('node-1'))?.groups.find((g) => g.name === 'failover1');
      assert.equal(group?.server, 'node-2', 'the group stays where it runs');
    } finally {
      await pc.dispose();
    }
  },
);

/** Runs `tandem ARGS --config CONFIG` and resolves with its exit code and output. */
function tandem(cd: ClusterDir, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [TANDEM, ...args, '--config', cd.configPath],
      { timeout: 20_000, encoding: 'utf8' },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
        resolve({ code, out: `${stdout}${stderr}` });
      },
    );
  });
}

test(
  'md with autoRecovery: false: the returning copy waits until `tandem md recover md1`, then only the dirty regions are copied',
  { skip: SKIP, timeout: 60_000 },
  async () => {
    assert.ok(HAVE_QEMU_IO, 'TANDEM_REQUIRE_ALL=1 but qemu-io (qemu-utils) is not installed');
    const { cd, file } = await mdCluster('        autoRecovery: false\n');
    const pc = new ProcCluster(cd);
    try {
      pc.start('node-1');
      pc.start('node-2');
      assert.equal(await pc.waitGroupOnline('node-2', 'failover1'), 'node-1');
      // The initial full sync still runs with autoRecovery off.
      await pc.waitFor(
        'the initial sync is over',
        async () => {
          const m = await mirrorOf(pc, 'node-2');
          return m?.connection === 'Connected' && m.local === 'UpToDate' ? true : null;
        },
        20_000,
        50,
      );
      pc.killHard('node-2');
      await pc.waitFor('node-1 goes on alone', async () =>
        (await mirrorOf(pc, 'node-1'))?.connection === 'Disconnected' ? true : null,
      );
      await qemuIo(file('node-1.sock'), 'write -P 0x5c 4M 2M');
      pc.start('node-2');
      const pending = await pc.waitFor(
        'the recovery is pending on node-2',
        async () => {
          const m = await mirrorOf(pc, 'node-2');
          return m?.connection.startsWith('RecoveryPending') === true ? m : null;
        },
        20_000,
        100,
      );
      assert.equal(pending.local, 'Outdated');
      assert.equal(pending.recoveryPending?.command, 'tandem md recover md1');
      const shown = await tandem(cd, ['md', 'status', '--host', 'node-2']);
      assert.equal(shown.code, 0, shown.out);
      assert.match(shown.out, /RecoveryPending/);
      assert.match(shown.out, /tandem md recover md1/);
      // Nothing is copied while it waits.
      await new Promise((r) => setTimeout(r, 500));
      assert.ok(!filled(file('node-2.data'), 4 * MiB, 2 * MiB, 0x5c), 'copied without being asked');

      const summaries = (): Record<string, unknown>[] =>
        logLines(pc, 'node-1', /^mirror recovery of md1 from this server over/);
      const before = summaries().length; // the initial sync's
      const run = await tandem(cd, ['md', 'recover', 'md1', '--host', 'node-2']);
      assert.equal(run.code, 0, run.out);
      await pc.waitFor(
        'the mirror is back in sync',
        async () => {
          const [a, b] = [await mirrorOf(pc, 'node-1'), await mirrorOf(pc, 'node-2')];
          return a?.connection === 'Connected' && b?.local === 'UpToDate' && a.dirtyBytes === 0 ? true : null;
        },
        30_000,
        100,
      );
      const copied = await pc.waitFor('the summary of the recovery in the log of node-1', () =>
        Promise.resolve(summaries().length > before ? summaries().at(-1)! : null),
      );
      // The 2 MiB written alone, not the whole volume.
      const bytes = Number(copied['resyncBytes']);
      assert.ok(bytes >= 2 * MiB && bytes < DATA_BYTES, `recovery copied ${bytes} bytes`);
      assert.equal(sha256(file('node-1.data')), sha256(file('node-2.data')), 'the copies differ');
    } finally {
      await pc.dispose();
    }
  },
);
