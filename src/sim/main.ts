/**
 * Composition root of `tandem sim [--world FILE] [--listen HOST:PORT]` and `tandem sim show [--endpoint URL]
 * [--json]` (issue 4 section 5, "The AWS simulator"). `sim` loads a world file (the demo's world by
 * default), serves EC2 and Route 53 on one endpoint with a realistic 50-200 ms latency, prints how to point
 * the SDK or AWS CLI at it, and on SIGTERM or SIGINT closes and returns 0. `sim show` reads a running
 * simulator's state through its admin API and prints it. Usage and world-file errors return 2.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigError } from '../shared/errors.ts';
import { createSimServer } from './server.ts';
import { loadWorld } from './world.ts';
import type { Ec2State } from './world.ts';
import type { HostedZoneView } from './route53.ts';

export const DEFAULT_LISTEN = '127.0.0.1:4566';
export const DEMO_WORLD_FILE = fileURLToPath(new URL('./demo-world.yaml', import.meta.url));

function usage(prog: string): string {
  return [
    `Usage: ${prog} sim [--world FILE] [--listen HOST:PORT] [--latency MIN-MAX]`,
    `       ${prog} sim show [--endpoint URL] [--json]`,
    '',
    'Runs a local AWS simulator (EC2 Query API and Route 53) seeded from a YAML world file, or shows the',
    'state of a running one. Point the AWS SDK or CLI at it with AWS_ENDPOINT_URL=http://HOST:PORT.',
    '',
    `  --world FILE         world file (default: the demo world, ${DEMO_WORLD_FILE})`,
    `  --listen HOST:PORT   address to serve on (default ${DEFAULT_LISTEN}; port 0 picks a free port)`,
    '  --latency MIN-MAX    simulated AWS API latency per call in ms (default 50-200)',
    `  --endpoint URL       simulator to show (default http://${DEFAULT_LISTEN})`,
    '  --json               print the state as JSON',
  ].join('\n');
}

/** `127.0.0.1:4566` or `[::1]:4566` -> host and port, or an error message. */
export function parseListen(s: string): { host: string; port: number } | { error: string } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:]+):(\d+)$/.exec(s);
  const host = m?.[1];
  const port = Number(m?.[2]);
  if (host === undefined || !Number.isInteger(port) || port < 0 || port > 65535) {
    return { error: `--listen ${s}: expected HOST:PORT such as 127.0.0.1:4566` };
  }
  if (isIP(host) === 0 && host !== 'localhost')
    return { error: `--listen ${s}: ${host} is not an IP address` };
  return { host, port };
}

interface WorldJson {
  region: string;
  ec2: Ec2State;
  route53: { hostedZones: HostedZoneView[] };
}

/** The text of `tandem sim show`: AZ states, route tables with targets, EIP associations, record sets. */
export function renderWorld(w: WorldJson): string {
  const out: string[] = [`Region ${w.region}`, '', 'Availability zones:'];
  for (const az of w.ec2.availabilityZones) out.push(`  ${az.name} (${az.zoneId})  ${az.state}`);
  out.push('', 'Instances:');
  for (const i of w.ec2.instances) {
    const enis = w.ec2.networkInterfaces.filter((n) => n.instanceId === i.id);
    const desc = enis.map((n) => `${n.id} ${n.privateIp}${n.sourceDestCheck ? '' : ' (src/dst check off)'}`);
    out.push(`  ${i.id}  ${i.availabilityZone}  ${i.state}  ${desc.join(', ')}`);
  }
  out.push('', 'Route tables:');
  for (const rt of w.ec2.routeTables) {
    out.push(`  ${rt.id} (${rt.vpcId}; ${rt.subnets.join(', ') || 'no subnets'})`);
    for (const r of rt.routes) out.push(`    ${r.destination.padEnd(18)} -> ${r.target}`);
  }
  out.push('', 'Elastic IPs:');
  for (const a of w.ec2.addresses) {
    const eni = w.ec2.networkInterfaces.find((n) => n.id === a.networkInterfaceId);
    const to =
      a.networkInterfaceId === undefined
        ? 'not associated'
        : `${a.networkInterfaceId}${eni ? ` (${eni.instanceId})` : ''} [${a.associationId ?? ''}]`;
    out.push(`  ${a.allocationId}  ${a.publicIp} -> ${to}`);
  }
  out.push('', 'Hosted zones:');
  for (const z of w.route53.hostedZones) {
    out.push(`  ${z.id}  ${z.name}  ${z.private ? `private (${z.vpcs.join(', ')})` : 'public'}`);
    for (const r of z.records) out.push(`    ${r.name} ${r.type} ${r.ttl} ${r.values.join(' ')}`);
  }
  return out.join('\n');
}

async function show(prog: string, endpoint: string, asJson: boolean): Promise<number> {
  let res: Response;
  try {
    res = await fetch(new URL('/_sim/world', endpoint), { signal: AbortSignal.timeout(5000) });
  } catch (err) {
    process.stderr.write(
      `${prog} sim show: cannot reach the simulator at ${endpoint} (${(err as Error).message}); start it with ${prog} sim or pass --endpoint URL\n`,
    );
    return 1;
  }
  if (!res.ok) {
    process.stderr.write(
      `${prog} sim show: ${endpoint} answered HTTP ${res.status}; is it a tandem simulator?\n`,
    );
    return 1;
  }
  const world = (await res.json()) as WorldJson;
  process.stdout.write(asJson ? `${JSON.stringify(world, null, 2)}\n` : `${renderWorld(world)}\n`);
  return 0;
}

export async function main(argv: string[], ctx: { prog: string }): Promise<number> {
  const args = argv[0] === 'sim' ? argv.slice(1) : argv;
  let values: {
    world?: string;
    listen?: string;
    latency?: string;
    endpoint?: string;
    json?: boolean;
    help?: boolean;
  };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args,
      options: {
        world: { type: 'string' },
        listen: { type: 'string' },
        latency: { type: 'string' },
        endpoint: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: true,
    }));
  } catch (err) {
    process.stderr.write(`${ctx.prog} sim: ${(err as Error).message}\n\n${usage(ctx.prog)}\n`);
    return 2;
  }
  const fail = (msg: string): number => {
    process.stderr.write(`${ctx.prog} sim: ${msg}\n`);
    return 2;
  };
  if (values.help === true) {
    process.stdout.write(`${usage(ctx.prog)}\n`);
    return 0;
  }
  if (positionals.length > 0 && (positionals[0] !== 'show' || positionals.length > 1)) {
    return fail(`unexpected argument ${positionals.join(' ')}\n\n${usage(ctx.prog)}`);
  }
  if (positionals[0] === 'show') {
    return show(ctx.prog, values.endpoint ?? `http://${DEFAULT_LISTEN}`, values.json === true);
  }
  const listen = parseListen(values.listen ?? DEFAULT_LISTEN);
  if ('error' in listen) return fail(listen.error);
  let latencyMs: [number, number] = [50, 200];
  if (values.latency !== undefined) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(values.latency);
    const min = Number(m?.[1]);
    const max = Number(m?.[2] ?? m?.[1]);
    if (m === null || max < min)
      return fail(`--latency ${values.latency}: expected MIN-MAX in ms such as 50-200`);
    latencyMs = [min, max];
  }
  const file = values.world ?? DEMO_WORLD_FILE;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return fail(`cannot read the world file ${file}: ${(err as Error).message}`);
  }
  let world;
  try {
    world = loadWorld(text, file);
  } catch (err) {
    if (err instanceof ConfigError) return fail(err.message);
    throw err;
  }
  let server;
  try {
    server = await createSimServer({ world, host: listen.host, port: listen.port, latencyMs });
  } catch (err) {
    return fail(`cannot listen on ${values.listen ?? DEFAULT_LISTEN}: ${(err as Error).message}`);
  }
  process.stdout.write(
    `${ctx.prog} sim: serving EC2 and Route 53 (${world.region}) at ${server.url} from ${file}; ` +
      `point clients at it with AWS_ENDPOINT_URL=${server.url} (AWS CLI: --endpoint-url ${server.url}); ` +
      `state: ${ctx.prog} sim show --endpoint ${server.url}\n`,
  );
  const running = server;
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolve();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  await running.close();
  return 0;
}
