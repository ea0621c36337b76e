/**
 * `npm run demo`: a two-server Tandem cluster on AWS, simulated on loopback (issue 4 section 7).
 *
 * - The AWS simulator runs in this process with the demo world (src/sim/demo-world.yaml: a two-AZ VPC, three
 *   route tables holding the VIP route 10.1.0.20/32, an Elastic IP, the private zone hz1.local.) and a
 *   realistic API latency of 50-200 ms per call.
 * - node-1 (127.0.0.1, instance i-…1 in us-east-1a) and node-2 (127.0.0.2, i-…2 in us-east-1b) are separate
 *   `tandem daemon` processes, each in its own process group like a separate machine, each told its instance
 *   by its IMDS endpoint (role credentials, region and zone come from there). An HTTP NP target on 127.0.0.3
 *   stands in for aws.amazon.com.
 * - Group failover1: awsvip1 + awseip1 + awsdns1 + app (demo/app.mjs, an HTTP service on a loopback address
 *   standing in for the VIP: only one server can bind it), the AWS monitors every second, awsazw1, and fencing
 *   (node-1 fences at once, node-2 after 2 s).
 *
 * Act 1 crashes the active server (SIGKILL of its process group) and prints the timeline from the crash: the
 * survivor's alerts next to every change on the AWS side (polled from the simulator every 10 ms). Act 2
 * restarts the crashed server (its instance set running again; it rejoins as standby) and makes the active
 * server's availability zone unavailable: awsazw1 errs there, its final action stops the cluster service, and
 * the group moves back. Everything is killed at the end, on failure and on Ctrl-C.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { freeTcpPort, makeClusterDir, ProcCluster, REPO, TANDEM } from '../test/process/harness.ts';
import {
  allPointAt,
  awsClusterConfig,
  awsDaemonEnv,
  awsNode,
  AWS_NODES,
  SimWatch,
  simAdmin,
  simWorld,
  startAwsSim,
  startNpTarget,
} from '../test/process/aws-harness.ts';
import type { SimServer } from '../src/sim/server.ts';
import { awsState, timeline, type Alert } from './timeline.ts';

const HB = { interval: '200ms', timeout: '1s' };
const LATENCY: [number, number] = [50, 200];
const STOP_DELAY_MS = 1500;
const execFileAsync = promisify(execFile);

/** `tandem status` through the CLI. Spawned asynchronously: the simulator and the NP target live in this process. */
async function tandemStatus(pc: ProcCluster, via: string): Promise<string> {
  const s = pc.cd.servers.find((x) => x.name === via)!;
  const args = [TANDEM, 'status', '--config', pc.cd.configPath, '--host', `${s.address}:${s.apiPort}`];
  const r = await execFileAsync(process.execPath, args, { encoding: 'utf8' }).catch(
    (e: { stdout?: string; stderr?: string }) => ({ stdout: e.stdout ?? '', stderr: e.stderr ?? '' }),
  );
  return r.stdout + r.stderr;
}

async function alertsOf(pc: ProcCluster, names: string[]): Promise<Alert[]> {
  const out: Alert[] = [];
  for (const n of names) {
    const r = await pc.api<{ alerts: Alert[] }>(n, 'GET', '/api/v1/alerts?limit=1000').catch(() => null);
    // Each server's own alerts only: the same event is not listed twice.
    if (r !== null) out.push(...r.body.alerts.filter((a) => a.server === n));
  }
  return out;
}

async function main(): Promise<void> {
  let sim: SimServer | undefined;
  let np: Awaited<ReturnType<typeof startNpTarget>> | undefined;
  let pc: ProcCluster | undefined;
  let watch: SimWatch | undefined;
  let cleaned: Promise<void> | undefined;
  const cleanup = (): Promise<void> =>
    (cleaned ??= (async () => {
      await watch?.stop();
      await pc?.dispose(process.env.TANDEM_DEMO_KEEP === '1');
      await Promise.all([sim?.close(), np?.close()]);
    })());
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      console.log(`\n${sig}: stopping everything ...`);
      void cleanup().finally(() => process.exit(130));
    });
  }
  try {
    sim = await startAwsSim({ latencyMs: LATENCY, instanceStopDelayMs: STOP_DELAY_MS });
    np = await startNpTarget();
    const service = `127.0.0.10:${await freeTcpPort('127.0.0.10')}`;
    const { clusterExtra, body } = awsClusterConfig({
      sim,
      np,
      fencingDelays: { 'node-1': '0s', 'node-2': '2s' },
      extraResources: [
        {
          name: 'app',
          type: 'exec',
          start: `exec node ${join(REPO, 'demo', 'app.mjs')}`,
          async: true,
          timeout: '10s',
          env: { DEMO_SERVICE: service },
        },
      ],
    });
    const cd = await makeClusterDir({
      name: 'demo',
      servers: AWS_NODES.map((n) => ({ name: n.name, address: n.address })),
      heartbeat: HB,
      clusterExtra,
      body,
    });
    pc = new ProcCluster(cd);
    const cluster = pc;
    const simUrl = sim.url;
    const answer = async (): Promise<string | null> => {
      try {
        const r = await fetch(`http://${service}/`, { signal: AbortSignal.timeout(300) });
        return (await r.text()).trim();
      } catch {
        return null;
      }
    };
    const start = (name: string): void => {
      cluster.start(name, { env: awsDaemonEnv(sim!, awsNode(name).instanceId, cd.dir) });
    };

    console.log(`Tandem AWS demo: two servers on loopback against the AWS simulator at ${simUrl}`);
    console.log(
      `  heartbeat ${HB.interval} / ${HB.timeout}, AWS API latency ${LATENCY[0]}-${LATENCY[1]} ms, instance stop ${STOP_DELAY_MS} ms, fencing delay node-1 0 s / node-2 2 s`,
    );
    console.log(`  cluster dir ${cd.dir}\n`);
    start('node-1');
    start('node-2');
    const owner = await pc.waitGroupOnline('node-2', 'failover1', 60_000);
    const survivor = owner === 'node-1' ? 'node-2' : 'node-1';
    watch = new SimWatch(simUrl, 10);
    await watch.start();
    await watch.until(`AWS pointing at ${owner}`, (s) => allPointAt(s, awsNode(owner)), 20_000);
    await pc.waitFor('application answering', answer, 20_000);
    await pc.waitFor(`${survivor} sees ${owner} online`, async () => {
      const st = await cluster.status(survivor);
      return st?.servers.find((s) => s.name === owner)?.state === 'online' ? true : null;
    });
    console.log('$ tandem status');
    console.log(await tandemStatus(pc, survivor));
    console.log(
      `$ curl http://${service}/   (the service clients reach through the VIP)\n${await answer()}\n`,
    );

    // Act 1: crash.
    console.log(`== Act 1: crashing ${owner} (SIGKILL of its process group; its instance keeps running) ...`);
    const crashedAt = Date.now();
    pc.killHard(owner);
    await watch.until(`AWS pointing at ${survivor}`, (s) => allPointAt(s, awsNode(survivor)), 60_000);
    const servedAt = await pc.waitFor(
      `application answering from ${survivor}`,
      async () => ((await answer())?.includes(survivor) ? Date.now() : null),
      30_000,
      10,
    );
    await pc.waitGroupOnline(survivor, 'failover1', 30_000);
    console.log(`\nTimeline (ms after the crash; aws = the simulator's world, polled every 10 ms):`);
    console.log(
      timeline(crashedAt, await alertsOf(pc, [survivor]), watch.changes, [
        { at: crashedAt, source: 'demo', what: 'crash', detail: `SIGKILL of ${owner}'s process group` },
        { at: servedAt, source: 'client', what: 'application answers', detail: (await answer()) ?? '' },
      ]),
    );
    console.log('\nAWS state read back from the simulator:');
    console.log(awsState(await simWorld(simUrl)));

    // Act 2: the crashed server comes back as standby, then the active server's zone fails.
    console.log(`\n== Act 2: restarting ${owner} (instance set running, daemon started) ...`);
    await pc.daemons.get(owner)?.exited;
    await simAdmin(simUrl, 'instance', { instanceId: awsNode(owner).instanceId, state: 'running' });
    start(owner);
    await pc.waitFor(
      `${owner} rejoined as standby`,
      async () => {
        const st = await cluster.status(owner);
        const g = st?.groups.find((x) => x.name === 'failover1');
        const peer = st?.servers.find((s) => s.name === survivor);
        const az = st?.monitors.find((m) => m.name === 'awsazw1');
        return g?.server === survivor && peer?.state === 'online' && az?.state === 'normal' ? true : null;
      },
      60_000,
      100,
    );
    console.log('$ tandem status');
    console.log(await tandemStatus(pc, owner));
    const zone = awsNode(survivor).availabilityZone;
    console.log(`Setting ${survivor}'s availability zone ${zone} to unavailable in the simulator ...`);
    const azAt = Date.now();
    await simAdmin(simUrl, 'az', { name: zone, state: 'unavailable' });
    await watch.until(`AWS pointing at ${owner}`, (s) => allPointAt(s, awsNode(owner)), 60_000);
    const servedAt2 = await pc.waitFor(
      `application answering from ${owner}`,
      async () => ((await answer())?.includes(owner) ? Date.now() : null),
      30_000,
      10,
    );
    await pc.waitGroupOnline(owner, 'failover1', 30_000);
    console.log(`\nTimeline (ms after ${zone} became unavailable):`);
    console.log(
      timeline(azAt, await alertsOf(pc, ['node-1', 'node-2']), watch.changes, [
        { at: servedAt2, source: 'client', what: 'application answers', detail: (await answer()) ?? '' },
      ]),
    );
    console.log('\nAWS state read back from the simulator:');
    console.log(awsState(await simWorld(simUrl)));
    console.log('\n$ tandem status');
    console.log(await tandemStatus(pc, owner));
  } finally {
    await cleanup();
  }
  console.log('Demo finished; nothing left running.');
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
