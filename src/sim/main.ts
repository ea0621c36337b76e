/**
 * Composition root of `tandem sim [--world FILE] [--listen HOST:PORT] [--imds-port PORT] [--dns HOST:PORT]
 * [--stop-delay MS]` and `tandem sim show [--endpoint URL] [--json]` (issue 4 section 5, "The AWS
 * simulator"). `sim` loads a world file (the demo's world by default), serves EC2 and Route 53 on one
 * endpoint with a realistic 50-200 ms latency, one IMDSv2 per instance and a DNS responder for the hosted
 * zones, prints how to point the SDK, the AWS CLI, a resolver and each instance's daemon at it, and on
 * SIGTERM or SIGINT closes and returns 0. `sim show` reads a running simulator's state through its admin
 * API and prints it. Usage and world-file errors return 2.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigError } from '../shared/errors.ts';
import type { WorldView } from './admin.ts';
import { createSimServer } from './server.ts';
import type { SimServer } from './server.ts';
import { loadWorld } from './world.ts';
import type { World } from './world.ts';

export const DEFAULT_LISTEN = '127.0.0.1:4566';
export const DEMO_WORLD_FILE = fileURLToPath(new URL('./demo-world.yaml', import.meta.url));
/** Worlds with one mistake each, for `tandem doctor` tests (each file's header names its mistake). */
export const WORLDS_DIR = fileURLToPath(new URL('./worlds/', import.meta.url));
/** The demo world's IAM user (every world under worlds/ has it too): nothing denied. */
export const DEMO_ACCESS_KEY_ID = 'AKIASIMALLOWED000001';
export const DEMO_SECRET_ACCESS_KEY = 'allowed-secret';
/** `tandem sim`'s default delay of stopping -> stopped (ms). */
export const DEFAULT_STOP_DELAY_MS = 1000;

function usage(prog: string): string {
  return [
    `Usage: ${prog} sim [--world FILE] [--listen HOST:PORT] [--latency MIN-MAX] [--imds-port PORT]`,
    `                    [--dns HOST:PORT] [--stop-delay MS]`,
    `       ${prog} sim show [--endpoint URL] [--json]`,
    '',
    'Runs a local AWS simulator seeded from a YAML world file, or shows the state of a running one:',
    '  - EC2 (Query API) and Route 53 on one endpoint: point the AWS SDK or CLI at it with',
    '    AWS_ENDPOINT_URL=http://HOST:PORT (AWS CLI: --endpoint-url);',
    '  - an IMDSv2 per instance on 127.0.0.1: a daemon with AWS_EC2_METADATA_SERVICE_ENDPOINT set to an',
    "    instance's URL sees itself as that instance and gets its role's credentials;",
    '  - a DNS responder (UDP) for the hosted zones, answering from the record sets once a change is INSYNC;',
    "  - IAM: with an iam: section in the world only its users' keys and the instances' role credentials",
    '    are accepted, and its deny lists refuse actions (signatures are not verified).',
    'Change the world while it runs through its admin API (POST /_sim/az, /_sim/route, /_sim/instance,',
    '/_sim/iam/deny, /_sim/fault, ...; see src/sim/admin.ts).',
    '',
    `  --world FILE         world file (default: the demo world, ${DEMO_WORLD_FILE})`,
    `  --listen HOST:PORT   address to serve on (default ${DEFAULT_LISTEN}; port 0 picks a free port)`,
    '  --latency MIN-MAX    simulated AWS API latency per call in ms (default 50-200)',
    '  --imds-port PORT     first IMDS port: instance k (0-based, world order) gets PORT+k on 127.0.0.1',
    '                       (default: the --listen port + 1, e.g. 4567, 4568; 0 picks free ports)',
    '  --dns HOST:PORT      DNS responder address (default: 127.0.0.1 and the --listen port + 100, e.g. 4666;',
    '                       port 0 picks a free port)',
    `  --stop-delay MS      how long an instance stays stopping (or pending, or rebooting) (default ${DEFAULT_STOP_DELAY_MS})`,
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

/** The text of `tandem sim show`: AZ states, instances with IMDS, route tables, EIPs, zones, IAM, DNS. */
export function renderWorld(w: WorldView): string {
  const out: string[] = [`Region ${w.region}`, '', 'Availability zones:'];
  for (const az of w.ec2.availabilityZones) out.push(`  ${az.name} (${az.zoneId})  ${az.state}`);
  out.push('', 'Instances:');
  for (const i of w.ec2.instances) {
    const enis = w.ec2.networkInterfaces.filter((n) => n.instanceId === i.id);
    const desc = enis.map((n) => `${n.id} ${n.privateIp}${n.sourceDestCheck ? '' : ' (src/dst check off)'}`);
    out.push(`  ${i.id}  ${i.availabilityZone}  ${i.state}  ${desc.join(', ')}`);
    const role = i.iamRole === undefined ? 'no role' : `role ${i.iamRole}`;
    out.push(`    IMDS ${w.imds[i.id] ?? '(not served)'}  ${role}`);
  }
  out.push('', 'VPCs:');
  for (const v of w.ec2.vpcs) {
    out.push(
      `  ${v.id}  ${v.cidrBlocks.join(', ')}  DNS support ${v.enableDnsSupport ? 'on' : 'off'}, DNS hostnames ${v.enableDnsHostnames ? 'on' : 'off'}`,
    );
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
  out.push('', 'IAM:');
  if (!w.iam.enforced) out.push('  no iam: section: every well-formed request is accepted');
  const denies = (d: string[]): string => (d.length === 0 ? 'nothing denied' : `denied ${d.join(', ')}`);
  for (const u of w.iam.users) out.push(`  user ${u.name}  ${u.accessKeyId}  ${denies(u.deny)}`);
  for (const r of w.iam.roles) {
    out.push(`  role ${r.name}  ${denies(r.deny)}  (${r.instances.join(', ') || 'no instances'})`);
  }
  out.push('', `DNS: ${w.dns === null ? 'not served' : `udp ${w.dns.host}:${w.dns.port}`}`);
  return out.join('\n');
}

/** What `tandem sim` prints once it serves: endpoints, and what to export to act as each instance. */
export function renderStartup(prog: string, server: SimServer, world: World, file: string): string {
  const lines = [
    `${prog} sim: serving EC2 and Route 53 (${world.region}) at ${server.url} from ${file}; ` +
      `point clients at it with AWS_ENDPOINT_URL=${server.url} (AWS CLI: --endpoint-url ${server.url}); ` +
      `state: ${prog} sim show --endpoint ${server.url}`,
  ];
  const example = world.route53.hostedZones[0]?.records.find((r) => r.type === 'A')?.name;
  lines.push(
    `${prog} sim: DNS for the hosted zones at udp ${server.dns.host}:${server.dns.port}` +
      (example === undefined ? '' : ` (try: dig @${server.dns.host} -p ${server.dns.port} ${example})`),
  );
  if (world.iam.enforced) {
    lines.push(`${prog} sim: IAM: only these users' keys and the instances' role credentials are accepted:`);
    for (const u of world.iam.users) {
      const deny = u.deny.length === 0 ? 'nothing denied' : `denied ${u.deny.join(', ')}`;
      lines.push(
        `AWS_ACCESS_KEY_ID=${u.accessKeyId} AWS_SECRET_ACCESS_KEY=${u.secretAccessKey}  # ${u.name}, ${deny}`,
      );
    }
  } else {
    lines.push(`${prog} sim: IAM: no iam: section in the world, any access key is accepted`);
  }
  lines.push(`${prog} sim: instance metadata (IMDSv2); to run as an instance, export:`);
  for (const i of world.ec2.instances) {
    const url = server.imds[i.id];
    if (url !== undefined)
      lines.push(`AWS_EC2_METADATA_SERVICE_ENDPOINT=${url}  # ${i.id} (${i.availabilityZone})`);
  }
  return `${lines.join('\n')}\n`;
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
  const world = (await res.json()) as WorldView;
  process.stdout.write(asJson ? `${JSON.stringify(world, null, 2)}\n` : `${renderWorld(world)}\n`);
  return 0;
}

export async function main(argv: string[], ctx: { prog: string }): Promise<number> {
  const args = argv[0] === 'sim' ? argv.slice(1) : argv;
  let values: {
    world?: string;
    listen?: string;
    latency?: string;
    'imds-port'?: string;
    dns?: string;
    'stop-delay'?: string;
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
        'imds-port': { type: 'string' },
        dns: { type: 'string' },
        'stop-delay': { type: 'string' },
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
  const derived = (offset: number): number => (listen.port === 0 ? 0 : listen.port + offset);
  let imdsBasePort = derived(1);
  if (values['imds-port'] !== undefined) {
    imdsBasePort = Number(values['imds-port']);
    if (!/^\d+$/.test(values['imds-port']) || imdsBasePort > 65535) {
      return fail(
        `--imds-port ${values['imds-port']}: expected a port number such as 4567 (0 picks free ports)`,
      );
    }
  }
  let dns = { host: '127.0.0.1', port: derived(100) };
  if (values.dns !== undefined) {
    const d = parseListen(values.dns);
    if ('error' in d) return fail(d.error.replace('--listen', '--dns'));
    dns = d;
  }
  let stopDelayMs = DEFAULT_STOP_DELAY_MS;
  if (values['stop-delay'] !== undefined) {
    stopDelayMs = Number(values['stop-delay']);
    if (!/^\d+$/.test(values['stop-delay'])) {
      return fail(`--stop-delay ${values['stop-delay']}: expected milliseconds such as 1000 (0 allowed)`);
    }
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
    world = loadWorld(text, file, { instanceStopDelayMs: DEFAULT_STOP_DELAY_MS });
  } catch (err) {
    if (err instanceof ConfigError) return fail(err.message);
    throw err;
  }
  let server;
  try {
    server = await createSimServer({
      world,
      host: listen.host,
      port: listen.port,
      latencyMs,
      imdsBasePort,
      dns,
      // --stop-delay wins over the world file's instanceStopDelayMs, which wins over the CLI default.
      ...(values['stop-delay'] === undefined ? {} : { instanceStopDelayMs: stopDelayMs }),
    });
  } catch (err) {
    return fail(
      `cannot listen on ${values.listen ?? DEFAULT_LISTEN} (API), 127.0.0.1:${imdsBasePort}+ (IMDS) or ` +
        `${dns.host}:${dns.port} (DNS): ${(err as Error).message}; choose other ports with --listen, --imds-port and --dns`,
    );
  }
  process.stdout.write(renderStartup(ctx.prog, server, world, file));
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
