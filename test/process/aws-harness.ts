/**
 * The AWS part of the process harness (issue 4 section 7): the simulator in the calling process seeded from
 * the demo world, the cluster config of the AWS demo (awsvip + awseip + awsdns, their monitors, awsazw,
 * fencing), daemons told their instance through their IMDS endpoint, and a watcher that timestamps what
 * changes on the AWS side by polling the simulator's admin API. Used by the AWS process test, the demo and
 * the AWS failover benchmark.
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { freeTcpPort } from '../../src/adapters/test-support.ts';
import { createSimServer, type SimServer, type WorldView } from '../../src/sim/server.ts';
import { loadWorld } from '../../src/sim/world.ts';
import { REPO } from './harness.ts';

/** The simulator's demo world (two AZs, three route tables holding the VIP route, two instances). */
export const DEMO_WORLD_FILE = join(REPO, 'src', 'sim', 'demo-world.yaml');
/** The virtual IP of the demo world's route tables. */
export const DEMO_VIP = '10.1.0.20';
export const DEMO_ALLOCATION = 'eipalloc-0000000000000001';
export const DEMO_ZONE = 'Z0123456789ABC';
export const DEMO_RECORD = 'srv.hz1.local.';
export const DEMO_VPC = 'vpc-0a1b2c3d';

/** A server of the AWS demo: its loopback "machine" and the simulated instance it runs on. */
export interface AwsNode {
  name: string;
  address: string;
  instanceId: string;
  eniId: string;
  privateIp: string;
  availabilityZone: string;
}

export const AWS_NODES: readonly AwsNode[] = [
  {
    name: 'node-1',
    address: '127.0.0.1',
    instanceId: 'i-0000000000000001',
    eniId: 'eni-0000000000000001',
    privateIp: '10.0.1.10',
    availabilityZone: 'us-east-1a',
  },
  {
    name: 'node-2',
    address: '127.0.0.2',
    instanceId: 'i-0000000000000002',
    eniId: 'eni-0000000000000002',
    privateIp: '10.0.2.10',
    availabilityZone: 'us-east-1b',
  },
];

export function awsNode(name: string): AwsNode {
  const n = AWS_NODES.find((x) => x.name === name);
  if (n === undefined) throw new Error(`no AWS demo server ${name}`);
  return n;
}

type YamlMap = Record<string, unknown>;

/**
 * The demo world as YAML text. With `routeTables`, the VPC has exactly that many route tables holding the VIP
 * route (the demo's three first, then generated ones without subnets), for the benchmark. Instances without an
 * `iamRole` get `tandem-ha`, so that their IMDS serves role credentials (and a stopped instance's credentials get
 * no answer, which is what makes a fenced server harmless).
 */
export function demoWorldText(opts: { routeTables?: number } = {}): string {
  const w = parseYaml(readFileSync(DEMO_WORLD_FILE, 'utf8')) as YamlMap;
  const vpc = (w['vpcs'] as YamlMap[])[0]!;
  const tables = vpc['routeTables'] as YamlMap[];
  if (opts.routeTables !== undefined) {
    const n = opts.routeTables;
    const out = tables.slice(0, n);
    for (let i = out.length; i < n; i++) {
      out.push({
        id: `rtb-${(0xb000 + i).toString(16).padStart(17, '0')}`,
        subnets: [],
        routes: [
          { destination: '10.0.0.0/16', target: 'local' },
          { destination: `${DEMO_VIP}/32`, target: AWS_NODES[0]!.eniId },
        ],
      });
    }
    vpc['routeTables'] = out;
  }
  for (const inst of w['instances'] as YamlMap[]) inst['iamRole'] ??= 'tandem-ha';
  const iam = w['iam'] as { roles?: YamlMap[] } | undefined;
  if (iam !== undefined) {
    iam.roles ??= [];
    if (!iam.roles.some((r) => r['name'] === 'tandem-ha')) iam.roles.push({ name: 'tandem-ha', deny: [] });
  }
  return stringifyYaml(w);
}

/** The route tables of a world text that hold the VIP route. */
export function vipRouteTables(worldText: string): string[] {
  const w = parseYaml(worldText) as {
    vpcs: { routeTables: { id: string; routes: { destination: string }[] }[] }[];
  };
  return w.vpcs
    .flatMap((v) => v.routeTables)
    .filter((t) => t.routes.some((r) => r.destination === `${DEMO_VIP}/32`))
    .map((t) => t.id);
}

/**
 * Start the simulator in this process on 127.0.0.1 (ephemeral ports for the API, every IMDS and the DNS
 * responder) with the demo world (or `worldText`).
 */
export async function startAwsSim(opts: {
  worldText?: string;
  latencyMs: [number, number];
  /** stopping -> stopped (ms). */
  instanceStopDelayMs?: number;
  /** How long a Route 53 change stays PENDING (ms). */
  insyncDelayMs?: number;
}): Promise<SimServer> {
  const world = loadWorld(opts.worldText ?? demoWorldText(), DEMO_WORLD_FILE);
  if (opts.insyncDelayMs !== undefined) world.route53.insyncDelayMs = opts.insyncDelayMs;
  return await createSimServer({
    world,
    host: '127.0.0.1',
    port: 0,
    latencyMs: opts.latencyMs,
    imdsBasePort: 0,
    dns: { host: '127.0.0.1', port: 0 },
    ...(opts.instanceStopDelayMs === undefined ? {} : { instanceStopDelayMs: opts.instanceStopDelayMs }),
  });
}

/** An HTTP NP target (HEAD -> 200) on 127.0.0.3, standing in for aws.amazon.com. */
export async function startNpTarget(): Promise<{ host: string; port: number; close(): Promise<void> }> {
  const host = '127.0.0.3';
  const port = await freeTcpPort(host);
  const server: Server = createHttpServer((_req, res) => res.writeHead(200).end());
  await new Promise<void>((r) => server.listen(port, host, r));
  return {
    host,
    port,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

export interface AwsClusterOptions {
  sim: SimServer;
  np: { host: string; port: number };
  /** Fencing delay per server. @default node-1 0s, node-2 3s */
  fencingDelays?: Record<string, string>;
  /** @default 10s */
  fencingTimeout?: string;
  /** Interval of the awsvipw/awseipw/awsdnsw/awsazw monitors. @default 1s */
  monitorInterval?: string;
  /** Timeout of those monitors. @default 5s */
  monitorTimeout?: string;
  /** aws.callTimeout. @default 5s */
  callTimeout?: string;
  /** More group resources after awsvip1, awseip1 and awsdns1 (an exec application). */
  extraResources?: YamlMap[];
  /** More monitors. */
  extraMonitors?: YamlMap[];
}

/**
 * `clusterExtra` and `body` for `makeClusterDir`: the NP target, `aws:` pointed at the simulator, `fencing:` of
 * both instances, group `failover1` with awsvip1 (`assignAddress: false`: loopback addresses are never changed),
 * awseip1, awsdns1 and `extraResources`, their monitors declared with short intervals (reactivate once, then
 * fail over), the DNS monitor resolving through the simulator's DNS responder, and awsazw1 (recovery: the
 * default, stop the cluster service on the server whose zone failed).
 */
export function awsClusterConfig(o: AwsClusterOptions): { clusterExtra: string; body: string } {
  const interval = o.monitorInterval ?? '1s';
  const timeout = o.monitorTimeout ?? '5s';
  const perServer = <T>(f: (n: AwsNode) => T): Record<string, T> =>
    Object.fromEntries(AWS_NODES.map((n) => [n.name, f(n)]));
  const delays = o.fencingDelays ?? { 'node-1': '0s', 'node-2': '3s' };
  const recovery = { action: 'custom', maxReactivations: 1, maxFailovers: 1 };
  const doc = {
    aws: {
      region: 'us-east-1',
      callTimeout: o.callTimeout ?? '5s',
      environment: { AWS_ENDPOINT_URL: o.sim.url },
    },
    fencing: {
      type: 'aws',
      action: 'stop',
      timeout: o.fencingTimeout ?? '10s',
      checkInterval: '5s',
      servers: perServer((n) => ({ instanceId: n.instanceId, delay: delays[n.name] ?? '0s' })),
    },
    groups: [
      {
        name: 'failover1',
        resources: [
          {
            name: 'awsvip1',
            type: 'awsvip',
            ip: DEMO_VIP,
            vpcId: DEMO_VPC,
            assignAddress: false,
            servers: perServer((n) => ({ eniId: n.eniId })),
          },
          {
            name: 'awseip1',
            type: 'awseip',
            allocationId: DEMO_ALLOCATION,
            servers: perServer((n) => ({ eniId: n.eniId })),
          },
          {
            name: 'awsdns1',
            type: 'awsdns',
            hostedZoneId: DEMO_ZONE,
            recordName: DEMO_RECORD,
            ttl: 60,
            servers: perServer((n) => ({ ipAddress: n.privateIp })),
          },
          ...(o.extraResources ?? []),
        ],
      },
    ],
    monitors: [
      { name: 'awsvipw1', type: 'awsvipw', resource: 'awsvip1', interval, timeout, recovery },
      { name: 'awseipw1', type: 'awseipw', resource: 'awseip1', interval, timeout, recovery },
      {
        name: 'awsdnsw1',
        type: 'awsdnsw',
        resource: 'awsdns1',
        interval,
        timeout,
        resolveCheck: true,
        resolver: `${o.sim.dns.host}:${o.sim.dns.port}`,
        recovery,
      },
      {
        name: 'awsazw1',
        type: 'awsazw',
        interval,
        timeout,
        servers: perServer((n) => ({ availabilityZone: n.availabilityZone })),
      },
      ...(o.extraMonitors ?? []),
    ],
  };
  const clusterExtra = `  networkPartition:
    actionOnIsolation: none
    http:
      - { name: httpnp1, target: ${o.np.host}, port: ${o.np.port}, ssl: false, path: /, interval: 5s, timeout: 2s }`;
  return { clusterExtra, body: stringifyYaml(doc) };
}

/**
 * Environment of a daemon running on `instanceId`: its IMDS is the simulator's for that instance (credentials
 * of the instance role, region and zone come from there), and nothing of the caller's own AWS setup leaks in
 * (keys, profiles, endpoints: blank values count as unset for Tandem's AWS layer; the shared files point at
 * files that do not exist).
 */
export function awsDaemonEnv(sim: SimServer, instanceId: string, dir: string): Record<string, string> {
  const imds = sim.imds[instanceId];
  if (imds === undefined) throw new Error(`the simulated world has no instance ${instanceId}`);
  const env: Record<string, string> = {};
  for (const k of Object.keys(process.env)) if (/^AWS_|^https?_proxy$/i.test(k)) env[k] = '';
  env['AWS_EC2_METADATA_SERVICE_ENDPOINT'] = imds;
  env['AWS_CONFIG_FILE'] = join(dir, 'no-aws-config');
  env['AWS_SHARED_CREDENTIALS_FILE'] = join(dir, 'no-aws-credentials');
  return env;
}

/** What the watcher tracks, by key: `route <rtb>`, `eip <allocation>`, `record <name>`, `instance <id>`, `az <name>`. */
export type SimState = Map<string, string>;

export interface SimChange {
  /** Date.now() when the poll that saw it was answered. */
  at: number;
  key: string;
  from: string | undefined;
  to: string;
}

/** The tracked values of a `GET /_sim/world` answer. */
export function simState(view: WorldView): SimState {
  const s: SimState = new Map();
  for (const rt of view.ec2.routeTables) {
    const r = rt.routes.find((x) => x.destination === `${DEMO_VIP}/32`);
    if (r !== undefined) s.set(`route ${rt.id}`, r.target);
  }
  for (const a of view.ec2.addresses) s.set(`eip ${a.allocationId}`, a.networkInterfaceId ?? 'none');
  for (const z of view.route53.hostedZones) {
    for (const r of z.records) if (r.type === 'A') s.set(`record ${r.name}`, r.values.join(','));
  }
  if (!s.has(`record ${DEMO_RECORD}`)) s.set(`record ${DEMO_RECORD}`, 'absent');
  for (const i of view.instances) s.set(`instance ${i.id}`, i.state);
  for (const az of view.ec2.availabilityZones) s.set(`az ${az.name}`, az.state);
  return s;
}

export async function simWorld(simUrl: string): Promise<WorldView> {
  const r = await fetch(`${simUrl}/_sim/world`, { signal: AbortSignal.timeout(5_000) });
  if (!r.ok) throw new Error(`GET /_sim/world answered ${r.status}`);
  return (await r.json()) as WorldView;
}

/** `POST /_sim/<path>` on the simulator's admin API; throws on a refusal. */
export async function simAdmin(simUrl: string, path: string, body: unknown): Promise<void> {
  const r = await fetch(`${simUrl}/_sim/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5_000),
  });
  if (!r.ok) throw new Error(`POST /_sim/${path} answered ${r.status}: ${await r.text()}`);
}

/**
 * Polls `GET /_sim/world` every `everyMs` and records every change of the tracked values with the time it was
 * seen, so that the AWS side of a failover can be put on a timeline next to the daemons' alerts.
 */
export class SimWatch {
  readonly changes: SimChange[] = [];
  state: SimState = new Map();
  #running = false;
  #loop: Promise<void> | undefined;

  constructor(
    readonly simUrl: string,
    readonly everyMs = 10,
  ) {}

  async poll(): Promise<SimState> {
    const next = simState(await simWorld(this.simUrl));
    const at = Date.now();
    for (const [key, to] of next) {
      const from = this.state.get(key);
      if (from !== to) this.changes.push({ at, key, from, to });
    }
    this.state = next;
    return next;
  }

  /** Take a first snapshot (not recorded as changes), then poll in the background until `stop()`. */
  async start(): Promise<void> {
    this.state = simState(await simWorld(this.simUrl));
    this.#running = true;
    this.#loop = (async () => {
      while (this.#running) {
        try {
          await this.poll();
        } catch {
          // a poll that fails (simulator closing) is retried; stop() ends the loop
        }
        await new Promise((r) => setTimeout(r, this.everyMs));
      }
    })();
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
  }

  /** The first change of `key` to `to` (or any value when omitted) seen at or after `since`. */
  firstChange(key: string, since: number, to?: string): SimChange | undefined {
    return this.changes.find((c) => c.key === key && c.at >= since && (to === undefined || c.to === to));
  }

  /** Wait (polling the recorded state) until `pred` holds; returns the time it was first seen. */
  async until(what: string, pred: (s: SimState) => boolean, timeoutMs: number): Promise<number> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      if (pred(this.state)) return Date.now();
      if (Date.now() > end) {
        throw new Error(
          `timed out after ${timeoutMs} ms waiting for ${what}: ${JSON.stringify([...this.state])}`,
        );
      }
      await new Promise((r) => setTimeout(r, this.everyMs));
    }
  }
}

/** Whether every VIP route, the EIP and the record point at `node` in `s`. */
export function allPointAt(s: SimState, node: AwsNode): boolean {
  for (const [k, v] of s) if (k.startsWith('route ') && v !== node.eniId) return false;
  return s.get(`eip ${DEMO_ALLOCATION}`) === node.eniId && s.get(`record ${DEMO_RECORD}`) === node.privateIp;
}
