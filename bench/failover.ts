/**
 * `npm run bench:failover`: kill -9 trials on loopback (issue "Cluster core", section 5).
 *
 * For each heartbeat setting (1 s / 10 s and 200 ms / 1 s by default), a two-server cluster runs a group whose
 * application serves HTTP on a shared loopback address; each trial crashes the active server hard (SIGKILL to
 * its daemon's process group and its resources) and measures, from the kill:
 * - detection: the survivor's SERVER_LOST alert (every heartbeat path silent for the timeout),
 * - group online: the survivor's GROUP_ONLINE alert,
 * - serving: the first HTTP answer from the survivor's application (polled every 5 ms).
 * Then the crashed server is restarted (it rejoins as standby) and the next trial crashes the new active one.
 * Prints median, p95 and max per setting and checks the target: group online within timeout + 1 s at the median.
 *
 * Options (env): BENCH_TRIALS (default 20), BENCH_SETTINGS (e.g. "1s/10s,200ms/1s").
 */
import { createServer } from 'node:http';
import { join } from 'node:path';
import { makeClusterDir, ProcCluster, REPO, freeTcpPort } from '../test/process/harness.ts';
import { parseDuration } from '../src/shared/duration.ts';

const TRIALS = Number(process.env.BENCH_TRIALS ?? '20');
const SETTINGS = (process.env.BENCH_SETTINGS ?? '1s/10s,200ms/1s').split(',').map((s) => {
  const [interval, timeout] = s.split('/') as [string, string];
  return { interval, timeout };
});
const SERVICE = '127.0.0.11:18081';

interface Alert {
  time: number;
  code: string;
  object: string;
}

function ms(d: string): number {
  const r = parseDuration(d);
  if (!r.ok) throw new Error(`bad duration ${d}`);
  return r.ms;
}

function stats(xs: number[]): { median: number; p95: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)] ?? NaN;
  return { median: q(0.5), p95: q(0.95), max: s[s.length - 1] ?? NaN };
}

async function answer(): Promise<string | null> {
  try {
    const r = await fetch(`http://${SERVICE}/`, { signal: AbortSignal.timeout(200) });
    return await r.text();
  } catch {
    return null;
  }
}

async function runSetting(hb: { interval: string; timeout: string }): Promise<boolean> {
  const npPort = await freeTcpPort('127.0.0.3');
  const np = createServer((_q, r) => r.writeHead(200).end());
  await new Promise<void>((r) => np.listen(npPort, '127.0.0.3', r));
  const cd = await makeClusterDir({
    name: 'bench',
    servers: [
      { name: 'node-1', address: '127.0.0.1' },
      { name: 'node-2', address: '127.0.0.2' },
    ],
    heartbeat: hb,
    clusterExtra: `  networkPartition:
    actionOnIsolation: none
    http:
      - { name: httpnp1, target: 127.0.0.3, port: ${npPort}, ssl: false, path: /, interval: 5s, timeout: 2s }`,
    body: `groups:
  - name: failover1
    failback: manual
    resources:
      - { name: app, type: exec, start: "exec node ${join(REPO, 'demo', 'app.mjs')}", async: true, timeout: 10s, env: { DEMO_SERVICE: "${SERVICE}" } }
`,
  });
  const pc = new ProcCluster(cd);
  const detect: number[] = [];
  const online: number[] = [];
  const serve: number[] = [];
  try {
    pc.start('node-1');
    pc.start('node-2');
    for (let i = 0; i < TRIALS; i++) {
      const owner = await pc
        .waitGroupOnline('node-1', 'failover1', 60_000)
        .catch(() => pc.waitGroupOnline('node-2', 'failover1', 60_000));
      const survivor = owner === 'node-1' ? 'node-2' : 'node-1';
      await pc.waitFor('service up', async () => ((await answer())?.includes(owner) ? true : null), 30_000);
      // Let the standby be fully joined and quiet before the crash.
      await pc.waitFor('standby sees the owner online', async () => {
        const st = await pc.status(survivor);
        return st?.servers.find((s) => s.name === owner)?.state === 'online' ? true : null;
      });
      const killedAt = Date.now();
      pc.killHard(owner);
      const servedAt = await pc.waitFor(
        'survivor serving',
        async () => ((await answer())?.includes(survivor) ? Date.now() : null),
        120_000,
        5,
      );
      await pc.waitGroupOnline(survivor, 'failover1', 30_000);
      const alerts = (
        await pc.api<{ alerts: Alert[] }>(survivor, 'GET', '/api/v1/alerts?limit=1000')
      ).body.alerts.filter((a) => a.time >= killedAt);
      const lost = alerts.find((a) => a.code === 'SERVER_LOST' && a.object === owner);
      const on = alerts.find((a) => a.code === 'GROUP_ONLINE' && a.object === 'failover1');
      if (lost) detect.push(lost.time - killedAt);
      if (on) online.push(on.time - killedAt);
      serve.push(servedAt - killedAt);
      process.stdout.write(
        `  trial ${String(i + 1).padStart(2)}: detected ${lost ? lost.time - killedAt : '?'} ms, online ${on ? on.time - killedAt : '?'} ms, serving ${servedAt - killedAt} ms\n`,
      );
      // Bring the crashed server back as standby.
      await pc.daemons.get(owner)!.exited;
      pc.start(owner);
      await pc.waitFor(
        'crashed server rejoined',
        async () => {
          const st = await pc.status(survivor);
          return st?.servers.find((s) => s.name === owner)?.state === 'online' ? true : null;
        },
        60_000,
      );
    }
  } finally {
    await pc.dispose();
    np.close();
  }
  const t = ms(hb.timeout);
  const d = stats(detect);
  const o = stats(online);
  const s = stats(serve);
  console.log(`\nheartbeat ${hb.interval} / ${hb.timeout}, ${TRIALS} trials (ms after kill -9)`);
  console.log(`  detection       median ${d.median}  p95 ${d.p95}  max ${d.max}`);
  console.log(`  group online    median ${o.median}  p95 ${o.p95}  max ${o.max}`);
  console.log(`  serving         median ${s.median}  p95 ${s.p95}  max ${s.max}`);
  console.log(`  takeover after detection (median online - median detection): ${o.median - d.median} ms`);
  const ok = o.median <= t + 1000;
  console.log(
    `  target: group online within timeout + 1 s (${t + 1000} ms) at the median: ${ok ? 'met' : 'NOT met'}`,
  );
  return ok;
}

let allOk = true;
for (const hb of SETTINGS) {
  console.log(`\n== heartbeat interval ${hb.interval}, timeout ${hb.timeout}`);
  allOk = (await runSetting(hb)) && allOk;
}
process.exitCode = allOk ? 0 : 1;
