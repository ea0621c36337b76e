/**
 * The two-server AWS failover end to end in processes (issue 4 section 7): real `tandem daemon` processes on
 * 127.0.0.1 / 127.0.0.2, each told its simulated instance through its IMDS endpoint, against the AWS simulator
 * running in this test process (latency 0-20 ms). Group failover1 holds awsvip1 (three route tables), awseip1,
 * awsdns1 and an exec resource; fencing stops a lost server's instance before its group is taken over.
 *
 * - kill -9 of the active server: every route table, the EIP and the record end up at the survivor, the crashed
 *   server's instance is `stopped` (forced stop), and the survivor's alerts show FENCE_STARTED and FENCE_DONE.
 * - both servers alive, interconnect cut both ways (the NP target still answers, so each sees the other as
 *   down): the smaller fencing delay wins. node-1 (0 s) stops node-2's instance; node-2 (2 s) finds AWS silent
 *   (its machine is off) and takes nothing over; the group runs on node-1 only.
 * - a route, the EIP and the record changed behind Tandem's back: awsvipw (56), awseipw (52) and awsdnsw (52)
 *   report it and the reactivation of each resource puts it back; the group stays where it is.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cutInterconnects, interconnectCutEnv, makeClusterDir, ProcCluster } from './harness.ts';
import {
  allPointAt,
  awsClusterConfig,
  awsDaemonEnv,
  awsNode,
  AWS_NODES,
  SimWatch,
  simAdmin,
  startAwsSim,
  startNpTarget,
} from './aws-harness.ts';

interface Alert {
  time: number;
  server: string;
  code: string;
  object: string;
  message: string;
}

const SCRIPTS = {
  'start.sh': '#!/bin/sh\necho "$TANDEM_EVENT $TANDEM_SERVER" >> ./events.log\n',
  'stop.sh': '#!/bin/sh\necho "STOP $TANDEM_SERVER" >> ./events.log\n',
};

/** Simulator, NP target and the cluster directory; both daemons started; `dispose()` removes everything. */
async function awsCluster(opts: { delays: Record<string, string>; fencingTimeout: string; cut?: boolean }) {
  const sim = await startAwsSim({ latencyMs: [0, 20], instanceStopDelayMs: 200, insyncDelayMs: 100 });
  const np = await startNpTarget();
  const { clusterExtra, body } = awsClusterConfig({
    sim,
    np,
    fencingDelays: opts.delays,
    fencingTimeout: opts.fencingTimeout,
    callTimeout: '3s',
    monitorTimeout: '3s',
    extraResources: [{ name: 'app', type: 'exec', start: './start.sh', stop: './stop.sh', timeout: '10s' }],
  });
  const cd = await makeClusterDir({
    name: 'awsfo',
    servers: AWS_NODES.map((n) => ({ name: n.name, address: n.address })),
    heartbeat: { interval: '200ms', timeout: '1s' },
    clusterExtra,
    body,
    files: SCRIPTS,
  });
  const pc = new ProcCluster(cd);
  const watch = new SimWatch(sim.url, 10);
  for (const n of AWS_NODES) {
    pc.start(n.name, {
      env: { ...awsDaemonEnv(sim, n.instanceId, cd.dir), ...(opts.cut ? interconnectCutEnv(cd) : {}) },
    });
  }
  const events = (): string[] => {
    const f = join(cd.dir, 'events.log');
    return existsSync(f) ? readFileSync(f, 'utf8').trim().split('\n') : [];
  };
  const alerts = async (name: string): Promise<Alert[]> =>
    (await pc.api<{ alerts: Alert[] }>(name, 'GET', '/api/v1/alerts?limit=1000')).body.alerts;
  const dispose = async (): Promise<void> => {
    await watch.stop();
    await pc.dispose();
    await Promise.all([sim.close(), np.close()]);
  };
  return { sim, np, cd, pc, watch, events, alerts, dispose };
}

test(
  'kill -9 of the active server: fenced, and every route table, the EIP and the record follow the survivor',
  { timeout: 60_000 },
  async () => {
    const c = await awsCluster({ delays: { 'node-1': '0s', 'node-2': '1s' }, fencingTimeout: '10s' });
    try {
      assert.equal(await c.pc.waitGroupOnline('node-2', 'failover1', 30_000), 'node-1');
      await c.watch.start();
      await c.watch.until('AWS pointing at node-1', (s) => allPointAt(s, awsNode('node-1')), 10_000);
      const killedAt = Date.now();
      c.pc.killHard('node-1');
      await c.watch.until('AWS pointing at node-2', (s) => allPointAt(s, awsNode('node-2')), 30_000);
      await c.pc.waitFor('failover1 online on node-2', async () => {
        const g = (await c.pc.status('node-2'))?.groups.find((x) => x.name === 'failover1');
        return g?.state === 'online' && g.server === 'node-2' ? true : null;
      });
      const s = await c.watch.poll();
      assert.equal(s.get('instance i-0000000000000001'), 'stopped', 'the crashed instance was force-stopped');
      assert.equal(s.get('instance i-0000000000000002'), 'running');
      const routes = [...s].filter(([k]) => k.startsWith('route '));
      assert.equal(routes.length, 3, JSON.stringify(routes));
      for (const [k, v] of routes) assert.equal(v, 'eni-0000000000000002', k);
      // The forced stop came before any AWS change of the takeover.
      const stoppedAt = c.watch.firstChange('instance i-0000000000000001', killedAt, 'stopped')!.at;
      for (const [k] of routes) assert.ok(c.watch.firstChange(k, killedAt)!.at >= stoppedAt, k);
      const codes = (await c.alerts('node-2')).filter((a) => a.time >= killedAt && a.object === 'node-1');
      const started = codes.find((a) => a.code === 'FENCE_STARTED');
      const done = codes.find((a) => a.code === 'FENCE_DONE');
      assert.ok(started && done, JSON.stringify(codes.map((a) => a.code)));
      assert.ok(started.time <= done.time);
      assert.ok(
        c.events().some((l) => l.startsWith('FAILOVER node-2')),
        c.events().join('\n'),
      );
    } finally {
      await c.dispose();
    }
  },
);

test(
  'interconnect cut both ways: only the server with the larger fencing delay is stopped, the group runs once',
  { timeout: 60_000 },
  async () => {
    const c = await awsCluster({
      delays: { 'node-1': '0s', 'node-2': '2s' },
      fencingTimeout: '4s',
      cut: true,
    });
    try {
      assert.equal(await c.pc.waitGroupOnline('node-2', 'failover1', 30_000), 'node-1');
      await c.pc.waitFor('node-2 sees node-1 online', async () => {
        const st = await c.pc.status('node-2');
        return st?.servers.find((x) => x.name === 'node-1')?.state === 'online' ? true : null;
      });
      await c.watch.start();
      const cutAt = Date.now();
      cutInterconnects(c.cd);
      await c.watch.until(
        'node-2 stopped',
        (s) => s.get('instance i-0000000000000002') === 'stopped',
        15_000,
      );
      // node-2's own forced stop is due 2 s after it lost node-1; give it that and its 4 s timeout.
      await c.pc.waitFor(
        'node-2 gave up fencing node-1',
        async () => {
          const a = await c.alerts('node-2');
          return a.some((x) => x.time >= cutAt && x.code === 'FENCE_FAILED' && x.object === 'node-1')
            ? a
            : null;
        },
        20_000,
        100,
      );
      const s = await c.watch.poll();
      assert.equal(s.get('instance i-0000000000000001'), 'running', 'node-1 was never stopped');
      assert.ok(allPointAt(s, awsNode('node-1')), JSON.stringify([...s]));
      const n1 = await c.alerts('node-1');
      assert.ok(
        n1.some((a) => a.time >= cutAt && a.code === 'FENCE_DONE' && a.object === 'node-2'),
        JSON.stringify(n1.filter((a) => a.time >= cutAt).map((a) => `${a.code} ${a.object}`)),
      );
      const st1 = await c.pc.status('node-1');
      assert.deepEqual(
        st1?.groups.find((g) => g.name === 'failover1')?.server,
        'node-1',
        JSON.stringify(st1?.groups),
      );
      const n2 = await c.alerts('node-2');
      assert.ok(
        !n2.some((a) => a.time >= cutAt && a.code === 'GROUP_ONLINE'),
        JSON.stringify(n2.filter((a) => a.time >= cutAt).map((a) => `${a.code} ${a.object}`)),
      );
      assert.deepEqual(
        c.events().filter((l) => l.includes('node-2')),
        [],
        'the application never started on node-2',
      );
    } finally {
      await c.dispose();
    }
  },
);

test(
  "AWS changed behind Tandem's back: the monitors notice and reactivation repairs the route, the EIP and the record",
  { timeout: 60_000 },
  async () => {
    const c = await awsCluster({ delays: { 'node-1': '0s', 'node-2': '1s' }, fencingTimeout: '10s' });
    try {
      assert.equal(await c.pc.waitGroupOnline('node-2', 'failover1', 30_000), 'node-1');
      await c.watch.start();
      await c.watch.until('AWS pointing at node-1', (s) => allPointAt(s, awsNode('node-1')), 10_000);
      const changedAt = Date.now();
      // Another cluster (or an operator) takes one route, the EIP and the record away from node-1.
      await simAdmin(c.sim.url, 'route', {
        routeTableId: 'rtb-00000000000private1',
        destination: '10.1.0.20/32',
        target: 'eni-0000000000000002',
      });
      await simAdmin(c.sim.url, 'eip/disassociate', { allocationId: 'eipalloc-0000000000000001' });
      await simAdmin(c.sim.url, 'record/delete', {
        zoneId: 'Z0123456789ABC',
        name: 'srv.hz1.local.',
        type: 'A',
      });
      await c.watch.poll();
      await c.watch.until('the changes seen', (s) => !allPointAt(s, awsNode('node-1')), 5_000);
      await c.watch.until('AWS repaired', (s) => allPointAt(s, awsNode('node-1')), 30_000);
      const alerts = (await c.alerts('node-1')).filter((a) => a.time >= changedAt);
      const err = (monitor: string, code: number): boolean =>
        alerts.some(
          (a) => a.code === 'MONITOR_ERROR' && a.object === monitor && a.message.includes(`(${code} :`),
        );
      const summary = JSON.stringify(
        alerts.map((a) => `${a.code} ${a.object} ${a.message}`),
        null,
        1,
      );
      assert.ok(err('awsvipw1', 56), summary);
      assert.ok(err('awseipw1', 52), summary);
      assert.ok(err('awsdnsw1', 52), summary);
      assert.ok(
        alerts.some((a) => a.code === 'RECOVERY_REACTIVATION'),
        summary,
      );
      const st = await c.pc.status('node-1');
      assert.equal(st?.groups.find((g) => g.name === 'failover1')?.server, 'node-1', 'no failover for this');
    } finally {
      await c.dispose();
    }
  },
);
