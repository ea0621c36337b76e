/**
 * `npm run bench:aws-failover`: crash-to-switched times against the AWS simulator (issue 4 section 7).
 *
 * For worlds derived from the demo world with 1, 5 and 20 route tables holding the VIP route, and a simulated
 * AWS API latency of 50-200 ms per call, each trial starts the simulator and two daemons (heartbeat 200 ms /
 * 1 s; group failover1 = awsvip1 + awseip1 + awsdns1; fencing with node-2 acting at once, so the figures are
 * the mechanism's and not a configured delay), waits for the group online on node-1, SIGKILLs node-1's
 * process group and polls the simulator's world every 5 ms until every route table, the EIP and the record
 * point at node-2. Printed per setting, median and p95 of the times from the kill to:
 * - detection: node-2's SERVER_DOWN alert (peer lost and confirmed down by the NP target),
 * - forced stop done: node-2's FENCE_DONE alert (node-1's instance stopped),
 * - group starting: GROUP_STARTING on node-2,
 * - all routes / EIP / record switched, and all switched (seen in the simulator),
 * and how long the route updates take from the group's start, with the spread from the first to the last
 * route table switched: with parallel updates 20 tables cost about what 1 does.
 *
 * Options (env): BENCH_TRIALS (default 10), BENCH_TABLES (default "1,5,20").
 */
import { makeClusterDir, ProcCluster } from '../test/process/harness.ts';
import {
  allPointAt,
  awsClusterConfig,
  awsDaemonEnv,
  awsNode,
  AWS_NODES,
  demoWorldText,
  SimWatch,
  startAwsSim,
  startNpTarget,
  vipRouteTables,
} from '../test/process/aws-harness.ts';

const TRIALS = Number(process.env.BENCH_TRIALS ?? '10');
const TABLES = (process.env.BENCH_TABLES ?? '1,5,20').split(',').map(Number);
const LATENCY: [number, number] = [50, 200];
const STOP_DELAY_MS = 500;

interface Alert {
  time: number;
  server: string;
  code: string;
  object: string;
}

type Metric =
  | 'detection'
  | 'fenceDone'
  | 'groupStarting'
  | 'routes'
  | 'eip'
  | 'record'
  | 'all'
  | 'routeWork'
  | 'routeSpread';
type Trial = Partial<Record<Metric, number>>;

function stats(xs: number[]): { median: number; p95: number; n: number } {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number): number => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))] ?? NaN;
  return { median: q(0.5), p95: q(0.95), n: s.length };
}

async function trial(worldText: string, tables: string[]): Promise<Trial> {
  const sim = await startAwsSim({ worldText, latencyMs: LATENCY, instanceStopDelayMs: STOP_DELAY_MS });
  const np = await startNpTarget();
  const watch = new SimWatch(sim.url, 5);
  let pc: ProcCluster | undefined;
  try {
    const { clusterExtra, body } = awsClusterConfig({
      sim,
      np,
      fencingDelays: { 'node-1': '1s', 'node-2': '0s' },
    });
    const cd = await makeClusterDir({
      name: 'bench',
      servers: AWS_NODES.map((n) => ({ name: n.name, address: n.address })),
      heartbeat: { interval: '200ms', timeout: '1s' },
      clusterExtra,
      body,
    });
    const cluster = (pc = new ProcCluster(cd));
    for (const n of AWS_NODES) pc.start(n.name, { env: awsDaemonEnv(sim, n.instanceId, cd.dir) });
    const owner = await pc.waitGroupOnline('node-2', 'failover1', 60_000);
    if (owner !== 'node-1') throw new Error(`failover1 came online on ${owner}, not node-1`);
    await pc.waitFor('node-2 sees node-1 online', async () => {
      const st = await cluster.status('node-2');
      return st?.servers.find((s) => s.name === 'node-1')?.state === 'online' ? true : null;
    });
    await watch.start();
    await watch.until('AWS pointing at node-1', (s) => allPointAt(s, awsNode('node-1')), 30_000);
    const killedAt = Date.now();
    pc.killHard('node-1');
    await watch.until('AWS pointing at node-2', (s) => allPointAt(s, awsNode('node-2')), 60_000);
    const alerts = (
      await pc.api<{ alerts: Alert[] }>('node-2', 'GET', '/api/v1/alerts?limit=1000')
    ).body.alerts.filter((a) => a.time >= killedAt && a.server === 'node-2');
    const alertAt = (code: string, object: string): number | undefined => {
      const a = alerts.find((x) => x.code === code && x.object === object);
      return a === undefined ? undefined : a.time - killedAt;
    };
    const switched = (key: string, to: string): number | undefined => {
      const c = watch.firstChange(key, killedAt, to);
      return c === undefined ? undefined : c.at - killedAt;
    };
    const routeTimes = tables.map((t) => switched(`route ${t}`, awsNode('node-2').eniId) ?? NaN);
    const out: Trial = {
      routes: Math.max(...routeTimes),
      routeSpread: Math.max(...routeTimes) - Math.min(...routeTimes),
    };
    const put = (m: Metric, v: number | undefined): void => {
      if (v !== undefined && Number.isFinite(v)) out[m] = v;
    };
    put('detection', alertAt('SERVER_DOWN', 'node-1'));
    put('fenceDone', alertAt('FENCE_DONE', 'node-1'));
    put('groupStarting', alertAt('GROUP_STARTING', 'failover1'));
    put('eip', switched('eip eipalloc-0000000000000001', awsNode('node-2').eniId));
    put('record', switched('record srv.hz1.local.', awsNode('node-2').privateIp));
    put('all', Math.max(out.routes ?? NaN, out.eip ?? NaN, out.record ?? NaN));
    if (out.groupStarting !== undefined) put('routeWork', (out.routes ?? NaN) - out.groupStarting);
    return out;
  } finally {
    await watch.stop();
    await pc?.dispose();
    await Promise.all([sim.close(), np.close()]);
  }
}

const LABELS: [Metric, string][] = [
  ['detection', 'detection (SERVER_DOWN)'],
  ['fenceDone', 'forced stop done'],
  ['groupStarting', 'group starting'],
  ['routes', 'all routes switched'],
  ['eip', 'EIP switched'],
  ['record', 'record switched'],
  ['all', 'all switched'],
  ['routeWork', 'route updates (from group starting)'],
  ['routeSpread', 'first -> last route switched'],
];

const began = Date.now();
console.log(
  `AWS failover benchmark: heartbeat 200ms / 1s, AWS API latency ${LATENCY[0]}-${LATENCY[1]} ms per call, ` +
    `instance stop ${STOP_DELAY_MS} ms, fencing delay node-2 0 s, ${TRIALS} trials per setting (ms after kill -9 of node-1)`,
);
const summary = new Map<number, Map<Metric, ReturnType<typeof stats>>>();
for (const n of TABLES) {
  const worldText = demoWorldText({ routeTables: n });
  const tables = vipRouteTables(worldText);
  console.log(`\n== ${n} route table(s) holding the VIP route`);
  const trials: Trial[] = [];
  for (let i = 0; i < TRIALS; i++) {
    const t = await trial(worldText, tables);
    trials.push(t);
    console.log(
      `  trial ${String(i + 1).padStart(2)}: down ${t.detection ?? '?'}, fenced ${t.fenceDone ?? '?'}, routes ${t.routes ?? '?'} ` +
        `(spread ${t.routeSpread ?? '?'}), EIP ${t.eip ?? '?'}, record ${t.record ?? '?'}, all ${t.all ?? '?'}`,
    );
  }
  const per = new Map<Metric, ReturnType<typeof stats>>();
  for (const [m, label] of LABELS) {
    const s = stats(trials.flatMap((t) => (t[m] === undefined ? [] : [t[m]])));
    per.set(m, s);
    const missing = s.n < trials.length ? `  (${trials.length - s.n} trial(s) without it)` : '';
    console.log(
      `  ${label.padEnd(38)} median ${String(s.median).padStart(6)}  p95 ${String(s.p95).padStart(6)}${missing}`,
    );
  }
  summary.set(n, per);
}
const first = TABLES[0]!;
const last = TABLES[TABLES.length - 1]!;
const work = (n: number): number => summary.get(n)?.get('routeWork')?.median ?? NaN;
const spread = (n: number): number => summary.get(n)?.get('routeSpread')?.median ?? NaN;
const meanLatency = (LATENCY[0] + LATENCY[1]) / 2;
console.log(
  `\nRoute updates run in parallel: from group starting to the last route switched, median ${work(last)} ms with ` +
    `${last} tables vs ${work(first)} ms with ${first} (first -> last route ${spread(last)} ms vs ${spread(first)} ms); ` +
    `one ReplaceRoute after another would add about ${(last - first) * meanLatency} ms for ${last} tables.`,
);
console.log(`Benchmark took ${Math.round((Date.now() - began) / 1000)} s.`);
