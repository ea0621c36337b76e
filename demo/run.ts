/**
 * `npm run demo`: a two-server Tandem cluster on loopback, crashed and failed over, with a timeline.
 *
 * - node-1 on 127.0.0.1 and node-2 on 127.0.0.2 are separate `tandem daemon` processes (each in its own
 *   process group, like separate machines), with a witness (`tandem witness`, 127.0.0.4) and an HTTP NP
 *   target (a stand-in for aws.amazon.com:443, 127.0.0.3).
 * - Failover group `failover1`: `prepare` (exec), then `app` (exec, async: an HTTP service on 127.0.0.10:18080,
 *   the "virtual IP" clients use; only one server can bind it), with a custom monitor and the automatic pid
 *   monitor.
 * - The demo shows `tandem status`, crashes the active server (SIGKILL to its daemon's process group and its
 *   resources), prints the timeline from the survivor's alert log, shows status again and cleans up.
 */
import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { spawn } from 'node:child_process';
import { makeClusterDir, ProcCluster, TANDEM, REPO, freeTcpPort } from '../test/process/harness.ts';
import { join } from 'node:path';

const SERVICE = '127.0.0.10:18080';
const HB = { interval: '500ms', timeout: '3s' };

interface Alert {
  time: number;
  server: string;
  code: string;
  object: string;
  message: string;
}

function tandemCli(pc: ProcCluster, args: string[], host: string): string {
  const r = spawnSync(process.execPath, [TANDEM, ...args, '--config', pc.cd.configPath, '--host', host], {
    encoding: 'utf8',
  });
  return (r.stdout ?? '') + (r.stderr ?? '');
}

async function serviceAnswer(): Promise<string | null> {
  try {
    const r = await fetch(`http://${SERVICE}/`, { signal: AbortSignal.timeout(300) });
    return (await r.text()).trim();
  } catch {
    return null;
  }
}

async function main(): Promise<void> {
  // NP target: answers HEAD with 200, standing in for aws.amazon.com.
  const npPort = await freeTcpPort('127.0.0.3');
  const np: Server = createServer((_req, res) => res.writeHead(200).end());
  await new Promise<void>((r) => np.listen(npPort, '127.0.0.3', r));
  const witnessPort = await freeTcpPort('127.0.0.4');
  const witness = spawn(process.execPath, [TANDEM, 'witness', '--listen', `127.0.0.4:${witnessPort}`], {
    stdio: 'ignore',
    detached: true,
  });

  const cd = await makeClusterDir({
    name: 'demo',
    servers: [
      { name: 'node-1', address: '127.0.0.1' },
      { name: 'node-2', address: '127.0.0.2' },
    ],
    heartbeat: HB,
    clusterExtra: `  networkPartition:
    actionOnIsolation: shutdown
    http:
      - { name: httpnp1, target: 127.0.0.3, port: ${npPort}, ssl: false, path: /, interval: 5s, timeout: 2s }
  witness: { target: 127.0.0.4, port: ${witnessPort}, ssl: false }`,
    body: `groups:
  - name: failover1
    resources:
      - { name: prepare, type: exec, start: ./prepare.sh, stop: ./unprepare.sh, timeout: 10s }
      - { name: app, type: exec, start: "exec node ${join(REPO, 'demo', 'app.mjs')}", async: true, timeout: 10s, dependsOn: [prepare], env: { DEMO_SERVICE: "${SERVICE}" } }
monitors:
  - { name: appw, type: custom, command: ./check.sh, interval: 2s, timeout: 5s, timing: { active: app }, recovery: { target: failover1, action: custom, maxReactivations: 1, maxFailovers: 1 } }
`,
    files: {
      'prepare.sh':
        '#!/bin/sh\necho "prepared on $TANDEM_SERVER ($TANDEM_EVENT)" > ./prepared-$TANDEM_SERVER\n',
      'unprepare.sh': '#!/bin/sh\nrm -f ./prepared-$TANDEM_SERVER\n',
      'check.sh': `#!/bin/sh\nexec node -e "fetch('http://${SERVICE}/').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"\n`,
    },
  });
  const pc = new ProcCluster(cd);
  const cleanup = async (): Promise<void> => {
    await pc.dispose(process.env.TANDEM_DEMO_KEEP === '1');
    try {
      if (witness.pid) process.kill(-witness.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
    np.close();
  };
  try {
    console.log(
      `Tandem demo: two servers on loopback (heartbeat ${HB.interval} / timeout ${HB.timeout}), cluster dir ${cd.dir}\n`,
    );
    pc.start('node-1');
    pc.start('node-2');
    const owner = await pc.waitGroupOnline('node-2', 'failover1', 40_000);
    await pc.waitFor('service answering', serviceAnswer, 20_000);
    const other = owner === 'node-1' ? 'node-2' : 'node-1';
    const hostOf = (n: string) =>
      `${pc.cd.servers.find((s) => s.name === n)!.address}:${pc.cd.servers.find((s) => s.name === n)!.apiPort}`;
    console.log('$ tandem status');
    console.log(tandemCli(pc, ['status'], hostOf(other)));
    console.log(`$ curl http://${SERVICE}/\n${await serviceAnswer()}\n`);

    console.log(`Crashing ${owner}: SIGKILL to its daemon's process group and its resources ...`);
    const killedAt = Date.now();
    pc.killHard(owner);
    const servedAt = await pc.waitFor(
      'service answering from the survivor',
      async () => {
        const a = await serviceAnswer();
        return a?.includes(other) ? Date.now() : null;
      },
      60_000,
      10,
    );
    await pc.waitGroupOnline(other, 'failover1', 30_000);
    const res = await pc.api<{ alerts: Alert[] }>(other, 'GET', '/api/v1/alerts?limit=500');
    const alerts = res.body.alerts.filter((a) => a.time >= killedAt);
    const at = (pred: (a: Alert) => boolean): string => {
      const a = alerts.find(pred);
      return a ? `${String(a.time - killedAt).padStart(6)} ms  ${a.message}` : '     -     (not recorded)';
    };
    console.log(`\nTimeline on ${other} (ms after the crash):`);
    console.log(`  heartbeat lost      ${at((a) => a.code === 'SERVER_LOST' && a.object === owner)}`);
    console.log(
      `  NP resolution       ${at((a) => (a.code === 'SERVER_DOWN' && a.object === owner) || a.code === 'NP_ISOLATED')}`,
    );
    console.log(
      `  failover started    ${at((a) => a.code === 'GROUP_STARTING' && a.object === 'failover1')}`,
    );
    console.log(`  group online        ${at((a) => a.code === 'GROUP_ONLINE' && a.object === 'failover1')}`);
    console.log(
      `  service answering   ${String(servedAt - killedAt).padStart(6)} ms  ${await serviceAnswer()}`,
    );
    console.log('\n$ tandem status');
    console.log(tandemCli(pc, ['status'], hostOf(other)));
    console.log(`Stopping ${other} gracefully ...`);
    await pc.stopGraceful(other);
  } finally {
    await cleanup();
  }
  console.log('Demo finished; nothing left running.');
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
