/**
 * Multi-process tests on loopback (issue "Cluster core", section 5): real `tandem daemon` processes on
 * 127.0.0.x talking UDP heartbeats and serving the API. Covered: kill -9 of the active server's process group
 * -> failover (2 and 3 servers); graceful stop -> immediate failover; group move; config mismatch refused;
 * API without credential -> 401.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeClusterDir, ProcCluster } from './harness.ts';

const SCRIPTS = {
  'start.sh':
    '#!/bin/sh\necho "$TANDEM_EVENT $TANDEM_SERVER $TANDEM_FAILOVER_FROM" >> "./events-$TANDEM_RESOURCE.log"\n',
  'stop.sh': '#!/bin/sh\necho "STOP $TANDEM_SERVER" >> "./events-$TANDEM_RESOURCE.log"\n',
  'check.sh': '#!/bin/sh\n[ ! -f "./fail-$TANDEM_SERVER" ]\n',
};

const BODY = `groups:
  - name: failover1
    resources:
      - { name: exec1, type: exec, start: ./start.sh, stop: ./stop.sh, timeout: 10s }
      - { name: exec2, type: exec, start: ./start.sh, stop: ./stop.sh, timeout: 10s, dependsOn: [exec1] }
monitors:
  - { name: custom1, type: custom, command: ./check.sh, interval: 1s, timeout: 5s, timing: { active: exec1 } }
`;

async function twoServers(servers = 2): Promise<ProcCluster> {
  const names = Array.from({ length: servers }, (_, i) => ({
    name: `node-${i + 1}`,
    address: `127.0.0.${i + 1}`,
  }));
  const cd = await makeClusterDir({ servers: names, body: BODY, files: SCRIPTS });
  const pc = new ProcCluster(cd);
  for (const n of names) pc.start(n.name);
  return pc;
}

function events(pc: ProcCluster, resource: string): string[] {
  const f = join(pc.cd.dir, `events-${resource}.log`);
  return existsSync(f) ? readFileSync(f, 'utf8').trim().split('\n') : [];
}

test('kill -9 of the active server fails the group over to the survivor', { timeout: 60_000 }, async () => {
  const pc = await twoServers();
  try {
    const owner = await pc.waitGroupOnline('node-2', 'failover1');
    assert.equal(owner, 'node-1');
    pc.killHard('node-1');
    const t0 = Date.now();
    await pc.waitFor('failover to node-2', async () => {
      const st = await pc.status('node-2');
      const g = st?.groups.find((x) => x.name === 'failover1');
      return g?.state === 'online' && g.server === 'node-2' ? true : null;
    });
    const took = Date.now() - t0;
    assert.ok(took < 2_000 + 3_000, `failover took ${took} ms`);
    assert.ok(
      events(pc, 'exec1').some((l) => l.startsWith('FAILOVER node-2 node-1')),
      events(pc, 'exec1').join('\n'),
    );
    const st = (await pc.status('node-2'))!;
    assert.equal(st.servers.find((s) => s.name === 'node-1')?.state, 'offline');
  } finally {
    await pc.dispose();
  }
});

test(
  'graceful stop of the active server fails over at once, without waiting for the heartbeat timeout',
  { timeout: 60_000 },
  async () => {
    const pc = await twoServers();
    try {
      await pc.waitGroupOnline('node-2', 'failover1');
      const t0 = Date.now();
      const code = await pc.stopGraceful('node-1');
      assert.equal(code, 0);
      await pc.waitFor('failover to node-2', async () => {
        const st = await pc.status('node-2');
        const g = st?.groups.find((x) => x.name === 'failover1');
        return g?.state === 'online' && g.server === 'node-2' ? true : null;
      });
      const took = Date.now() - t0;
      assert.ok(took < 2_000, `graceful failover took ${took} ms, more than the 2 s heartbeat timeout`);
      assert.ok(events(pc, 'exec1').includes('STOP node-1'));
    } finally {
      await pc.dispose();
    }
  },
);

test('group move through the API of either server', { timeout: 60_000 }, async () => {
  const pc = await twoServers();
  try {
    await pc.waitGroupOnline('node-1', 'failover1');
    const r = await pc.api<{ ok: boolean }>('node-2', 'POST', '/api/v1/groups/failover1/move', {
      to: 'node-2',
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await pc.waitFor('group on node-2', async () => {
      const st = await pc.status('node-1');
      const g = st?.groups.find((x) => x.name === 'failover1');
      return g?.state === 'online' && g.server === 'node-2' ? true : null;
    });
    const bad = await pc.api<{ error: { code: string; object: string } }>(
      'node-1',
      'POST',
      '/api/v1/groups/failover1/move',
      { to: 'node-9' },
    );
    assert.notEqual(bad.status, 200);
    assert.match(JSON.stringify(bad.body), /node-9/);
  } finally {
    await pc.dispose();
  }
});

test(
  'three servers: the group goes to the next server by priority when the active one crashes',
  { timeout: 60_000 },
  async () => {
    const pc = await twoServers(3);
    try {
      assert.equal(await pc.waitGroupOnline('node-3', 'failover1'), 'node-1');
      pc.killHard('node-1');
      await pc.waitFor('failover to node-2', async () => {
        const st = await pc.status('node-3');
        const g = st?.groups.find((x) => x.name === 'failover1');
        return g?.state === 'online' && g.server === 'node-2' ? true : null;
      });
      const st = (await pc.status('node-3'))!;
      assert.deepEqual(
        st.servers.map((s) => [s.name, s.state]),
        [
          ['node-1', 'offline'],
          ['node-2', 'online'],
          ['node-3', 'online'],
        ],
      );
    } finally {
      await pc.dispose();
    }
  },
);

test('API refuses requests without the cluster credential', { timeout: 30_000 }, async () => {
  const names = [{ name: 'node-1', address: '127.0.0.1' }];
  const cd = await makeClusterDir({ servers: names, body: BODY, files: SCRIPTS });
  const pc = new ProcCluster(cd);
  pc.start('node-1');
  try {
    await pc.waitFor('api up', async () => (await pc.status('node-1')) ?? null);
    const none = await fetch(pc.apiBase('node-1') + '/api/v1/status');
    assert.equal(none.status, 401);
    const body = (await none.json()) as { error: { code: string } };
    assert.equal(body.error.code, 'UNAUTHORIZED');
    const wrong = await pc.api('node-1', 'GET', '/api/v1/status', undefined, 'f'.repeat(64));
    assert.equal(wrong.status, 401);
    const post = await pc.api('node-1', 'POST', '/api/v1/cluster/stop', undefined, 'nope');
    assert.equal(post.status, 401);
  } finally {
    await pc.dispose();
  }
});

test(
  'a server whose config differs is refused: both sides name the server and the hashes',
  { timeout: 60_000 },
  async () => {
    const names = [
      { name: 'node-1', address: '127.0.0.1' },
      { name: 'node-2', address: '127.0.0.2' },
    ];
    const cd = await makeClusterDir({ servers: names, body: BODY, files: SCRIPTS });
    const pc = new ProcCluster(cd);
    // node-2 gets a copy of the config with one monitor setting changed.
    const other = join(cd.dir, 'cluster-node2.yaml');
    writeFileSync(
      other,
      readFileSync(cd.configPath, 'utf8').replace('interval: 1s, timeout: 5s', 'interval: 2s, timeout: 5s'),
    );
    pc.start('node-1');
    try {
      await pc.waitGroupOnline('node-1', 'failover1');
      pc.start('node-2', { configPath: other });
      const st = await pc.waitFor('mismatch reported by node-1', async () => {
        const s = await pc.status('node-1');
        const peer = s?.servers.find((x) => x.name === 'node-2');
        return peer?.configMismatch ? s : null;
      });
      const peer = st.servers.find((x) => x.name === 'node-2')!;
      assert.notEqual(peer.configMismatch!.ours, peer.configMismatch!.theirs);
      assert.notEqual(peer.state, 'online');
      const alerts = await pc.api<{ alerts: { code: string; message: string }[] }>(
        'node-1',
        'GET',
        '/api/v1/alerts',
      );
      assert.ok(
        alerts.body.alerts.some((a) => a.code === 'CONFIG_MISMATCH' && a.message.includes('node-2')),
        JSON.stringify(alerts.body),
      );
      const st2 = await pc.waitFor('mismatch reported by node-2', async () => {
        const s = await pc.status('node-2');
        const p = s?.servers.find((x) => x.name === 'node-1');
        return p?.configMismatch ? s : null;
      });
      assert.ok(st2);
      // node-2 refuses to cluster: it does not start the group that node-1 runs, even after its sync wait.
      await new Promise((r) => setTimeout(r, 6_000));
      assert.deepEqual(
        events(pc, 'exec1').filter((l) => l.includes('node-2')),
        [],
      );
    } finally {
      await pc.dispose();
    }
  },
);

test(
  'a custom monitor error fails the group over to the other server (recovery action failover)',
  { timeout: 60_000 },
  async () => {
    const pc = await twoServers();
    try {
      assert.equal(await pc.waitGroupOnline('node-2', 'failover1'), 'node-1');
      writeFileSync(join(pc.cd.dir, 'fail-node-1'), '');
      await pc.waitFor('failover to node-2 after the monitor error', async () => {
        const st = await pc.status('node-2');
        const g = st?.groups.find((x) => x.name === 'failover1');
        return g?.state === 'online' && g.server === 'node-2' ? true : null;
      });
      const alerts = await pc.api<{ alerts: { code: string; message: string }[] }>(
        'node-1',
        'GET',
        '/api/v1/alerts',
      );
      const codes = alerts.body.alerts.map((a) => a.code);
      assert.ok(codes.includes('MONITOR_ERROR'), codes.join(' '));
      assert.ok(codes.includes('RECOVERY_FAILOVER'), codes.join(' '));
      const st = (await pc.status('node-2'))!;
      assert.deepEqual(st.groups.find((g) => g.name === 'failover1')?.failedOn, ['node-1']);
      assert.ok(
        events(pc, 'exec1').some((l) => l.startsWith('FAILOVER node-2 node-1')),
        events(pc, 'exec1').join('\n'),
      );
    } finally {
      await pc.dispose();
    }
  },
);
