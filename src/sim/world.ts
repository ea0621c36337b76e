/**
 * The AWS simulator's world (issue 4 section 5, "Seeded from a YAML world file"): the YAML schema, its
 * validation (every problem reported with its YAML path and line), and the in-memory state the EC2 and
 * Route 53 handlers, the instances' IMDS and the DNS responder read and mutate. `loadWorld` is the only way
 * a world comes to exist; the Route 53 half is parsed by `parseRoute53World` in route53.ts and the optional
 * `iam:` section by `parseIamWorld` in iam.ts.
 */
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import type { ConfigIssue } from '../shared/config/types.ts';
import { ConfigError } from '../shared/errors.ts';
import { parseIamWorld } from './iam.ts';
import type { IamState } from './iam.ts';
import { parseRoute53World } from './route53.ts';
import type { Route53State } from './route53.ts';

/** The whole simulated account: one region, its EC2 state, its Route 53 state and its IAM principals. */
export interface World {
  region: string;
  ec2: Ec2State;
  route53: Route53State;
  iam: IamState;
}

export type AzStateName = 'available' | 'impaired' | 'information' | 'unavailable';
export type InstanceStateName = 'pending' | 'running' | 'stopping' | 'stopped';

export interface AvailabilityZone {
  name: string;
  zoneId: string;
  state: AzStateName;
}

export interface Subnet {
  id: string;
  vpcId: string;
  cidr: string;
  availabilityZone: string;
}

export interface Vpc {
  id: string;
  cidrBlocks: string[];
  /** The VPC's DNS resolver answers (DescribeVpcAttribute enableDnsSupport). @default true */
  enableDnsSupport: boolean;
  /** Instances get DNS host names (enableDnsHostnames). @default false, as for a non-default VPC */
  enableDnsHostnames: boolean;
}

/** `target` is `local`, `igw-…`, `nat-…` or `eni-…`, as in the world file. */
export interface Route {
  destination: string;
  target: string;
}

export interface RouteTable {
  id: string;
  vpcId: string;
  subnets: string[];
  routes: Route[];
}

export interface NetworkInterface {
  id: string;
  instanceId: string;
  subnetId: string;
  vpcId: string;
  availabilityZone: string;
  privateIp: string;
  sourceDestCheck: boolean;
  deviceIndex: number;
}

export interface Instance {
  id: string;
  availabilityZone: string;
  subnetId: string;
  vpcId: string;
  state: InstanceStateName;
  /** When a `stopping`/`pending` state settles (epoch ms); see `settleInstances` in ec2-instances.ts. */
  settlesAtMs?: number;
  /** The role of its instance profile (world `iamRole`), whose credentials its IMDS serves. */
  iamRole?: string;
  /**
   * A graceful StopInstances never completes (the OS hangs on shutdown): the instance stays `stopping`
   * until a forced stop (`Force=true`), as on EC2. @default false
   */
  hangsOnStop: boolean;
  /** Until when a reboot is in progress (epoch ms): EC2 says `running`, but the machine answers nothing. */
  rebootingUntilMs?: number;
}

export interface Address {
  allocationId: string;
  publicIp: string;
  associationId?: string;
  networkInterfaceId?: string;
}

/** Everything the EC2 Query handler serves. Mutated in place by handlers and the admin API. */
export interface Ec2State {
  accountId: string;
  availabilityZones: AvailabilityZone[];
  vpcs: Vpc[];
  subnets: Subnet[];
  routeTables: RouteTable[];
  instances: Instance[];
  networkInterfaces: NetworkInterface[];
  addresses: Address[];
  /**
   * How long `stopping` -> `stopped`, `pending` -> `running` and a reboot take (ms; 0 allowed). Set from the
   * world's `instanceStopDelayMs` or `SimServerOptions.instanceStopDelayMs`. @default 2000
   */
  transitionDelayMs: number;
  /** Counter for generated ids (association ids, request ids). */
  nextSeq: number;
}

const CIDR_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;
const IP_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** `10.0.1.0/24` -> [network, prefix] or undefined when malformed. */
export function parseCidr(cidr: string): { net: number; prefix: number } | undefined {
  const m = CIDR_RE.exec(cidr);
  if (m === null) return undefined;
  const parts = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (parts.some((p) => p > 255) || prefix > 32) return undefined;
  const ip = parts.reduce((a, p) => a * 256 + p, 0);
  const size = 2 ** (32 - prefix);
  return { net: ip - (ip % size), prefix };
}

export function ipToNumber(ip: string): number | undefined {
  const m = IP_RE.exec(ip);
  if (m === null) return undefined;
  const parts = m.slice(1, 5).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return parts.reduce((a, p) => a * 256 + p, 0);
}

/** Whether `ip` lies inside `cidr`. */
export function cidrContains(cidr: string, ip: string): boolean {
  const c = parseCidr(cidr);
  const n = ipToNumber(ip);
  if (c === undefined || n === undefined) return false;
  const size = 2 ** (32 - c.prefix);
  return n >= c.net && n < c.net + size;
}

const cidr = z
  .string()
  .refine((s) => parseCidr(s) !== undefined, 'expected an IPv4 CIDR such as 10.0.0.0/16');
const ipv4 = z.string().refine((s) => ipToNumber(s) !== undefined, 'expected an IPv4 address');
const idOf = (prefix: string) =>
  z.string().regex(new RegExp(`^${prefix}-[0-9a-zA-Z]+$`), `expected an id such as ${prefix}-0123abcd`);

const WorldSchema = z.strictObject({
  region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'expected a region such as us-east-1'),
  instanceStopDelayMs: z.number().int().nonnegative().optional(),
  availabilityZones: z
    .array(
      z.strictObject({
        name: z.string().min(1),
        zoneId: z.string().optional(),
        state: z.enum(['available', 'impaired', 'information', 'unavailable']).default('available'),
      }),
    )
    .min(1),
  vpcs: z
    .array(
      z.strictObject({
        id: idOf('vpc'),
        cidrBlocks: z.array(cidr).min(1),
        enableDnsSupport: z.boolean().default(true),
        enableDnsHostnames: z.boolean().default(false),
        subnets: z
          .array(z.strictObject({ id: idOf('subnet'), cidr, availabilityZone: z.string().min(1) }))
          .default([]),
        routeTables: z
          .array(
            z.strictObject({
              id: idOf('rtb'),
              subnets: z.array(z.string()).default([]),
              routes: z
                .array(
                  z.strictObject({
                    destination: cidr,
                    target: z
                      .string()
                      .regex(/^(local|(igw|nat|eni)-[0-9a-zA-Z]+)$/, 'expected local, igw-…, nat-… or eni-…'),
                  }),
                )
                .default([]),
            }),
          )
          .default([]),
      }),
    )
    .default([]),
  instances: z
    .array(
      z.strictObject({
        id: idOf('i'),
        availabilityZone: z.string().min(1),
        subnet: z.string().min(1),
        state: z.enum(['running', 'stopped']).default('running'),
        iamRole: z
          .string()
          .regex(/^[\w+=,.@-]{1,64}$/, 'expected an IAM role name such as tandem-ha')
          .optional(),
        hangsOnStop: z.boolean().default(false),
        networkInterfaces: z
          .array(
            z.strictObject({ id: idOf('eni'), privateIp: ipv4, sourceDestCheck: z.boolean().default(true) }),
          )
          .min(1),
      }),
    )
    .default([]),
  addresses: z
    .array(
      z.strictObject({
        allocationId: idOf('eipalloc'),
        publicIp: ipv4,
        association: z.strictObject({ networkInterfaceId: z.string() }).optional(),
      }),
    )
    .default([]),
  hostedZones: z.unknown().optional(),
  iam: z.unknown().optional(),
});

type RawWorld = z.infer<typeof WorldSchema>;
type Path = (string | number)[];

function pathText(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `${out === '' ? '' : '.'}${String(p)}`;
  return out === '' ? '(top level)' : out;
}

/** `hostedZones[0].records[1].name` -> ['hostedZones', 0, 'records', 1, 'name']. */
function parsePathText(text: string): Path {
  const out: Path = [];
  for (const m of text.matchAll(/([^.[\]]+)|\[(\d+)\]/g))
    out.push(m[2] !== undefined ? Number(m[2]) : (m[1] ?? ''));
  return out;
}

/** Cross-reference checks zod cannot express: ids unique, references resolve, addresses inside CIDRs. */
function crossCheck(w: RawWorld, add: (path: Path, message: string) => void): void {
  const azs = new Set(w.availabilityZones.map((a) => a.name));
  const seen = new Map<string, string>();
  const unique = (id: string, path: Path): void => {
    const prev = seen.get(id);
    if (prev !== undefined) add(path, `duplicate id ${id} (also at ${prev})`);
    else seen.set(id, pathText(path));
  };
  w.availabilityZones.forEach((a, i) => unique(a.name, ['availabilityZones', i, 'name']));
  const subnets = new Map<string, { vpcId: string; cidr: string; az: string }>();
  const enis = new Set<string>();
  for (const inst of w.instances) for (const n of inst.networkInterfaces) enis.add(n.id);
  w.vpcs.forEach((vpc, vi) => {
    unique(vpc.id, ['vpcs', vi, 'id']);
    vpc.subnets.forEach((s, si) => {
      const p: Path = ['vpcs', vi, 'subnets', si];
      unique(s.id, [...p, 'id']);
      subnets.set(s.id, { vpcId: vpc.id, cidr: s.cidr, az: s.availabilityZone });
      if (!azs.has(s.availabilityZone)) {
        add([...p, 'availabilityZone'], `unknown availability zone ${s.availabilityZone}`);
      }
      const net = s.cidr.split('/')[0] ?? '';
      if (!vpc.cidrBlocks.some((c) => cidrContains(c, net))) {
        add([...p, 'cidr'], `${s.cidr} is outside every CIDR block of ${vpc.id}`);
      }
    });
    vpc.routeTables.forEach((rt, ri) => {
      const p: Path = ['vpcs', vi, 'routeTables', ri];
      unique(rt.id, [...p, 'id']);
      rt.subnets.forEach((sid, k) => {
        if (!vpc.subnets.some((s) => s.id === sid))
          add([...p, 'subnets', k], `unknown subnet ${sid} in ${vpc.id}`);
      });
      rt.routes.forEach((r, k) => {
        if (r.target.startsWith('eni-') && !enis.has(r.target)) {
          add([...p, 'routes', k, 'target'], `unknown network interface ${r.target}`);
        }
      });
    });
  });
  w.instances.forEach((inst, ii) => {
    const p: Path = ['instances', ii];
    unique(inst.id, [...p, 'id']);
    const s = subnets.get(inst.subnet);
    if (s === undefined) add([...p, 'subnet'], `unknown subnet ${inst.subnet}`);
    else if (s.az !== inst.availabilityZone) {
      add(
        [...p, 'availabilityZone'],
        `${inst.availabilityZone} differs from the zone of ${inst.subnet} (${s.az})`,
      );
    }
    inst.networkInterfaces.forEach((n, ni) => {
      unique(n.id, [...p, 'networkInterfaces', ni, 'id']);
      if (s !== undefined && !cidrContains(s.cidr, n.privateIp)) {
        add(
          [...p, 'networkInterfaces', ni, 'privateIp'],
          `${n.privateIp} is outside ${inst.subnet} (${s.cidr})`,
        );
      }
    });
  });
  w.addresses.forEach((a, ai) => {
    unique(a.allocationId, ['addresses', ai, 'allocationId']);
    if (a.association !== undefined && !enis.has(a.association.networkInterfaceId)) {
      add(
        ['addresses', ai, 'association', 'networkInterfaceId'],
        `unknown network interface ${a.association.networkInterfaceId}`,
      );
    }
  });
}

function zoneIdFor(region: string, index: number): string {
  const short = region.replace(/^([a-z]{2})-([a-z])[a-z]*-(\d)$/, '$1$2$3');
  return `${short}-az${index + 1}`;
}

function buildEc2(w: RawWorld, defaultStopDelayMs: number): Ec2State {
  const subnets: Subnet[] = w.vpcs.flatMap((v) =>
    v.subnets.map((s) => ({ id: s.id, vpcId: v.id, cidr: s.cidr, availabilityZone: s.availabilityZone })),
  );
  const vpcOfSubnet = (id: string): string => subnets.find((s) => s.id === id)?.vpcId ?? '';
  let seq = 1;
  return {
    accountId: '123456789012',
    availabilityZones: w.availabilityZones.map((a, i) => ({
      name: a.name,
      zoneId: a.zoneId ?? zoneIdFor(w.region, i),
      state: a.state,
    })),
    vpcs: w.vpcs.map((v) => ({
      id: v.id,
      cidrBlocks: [...v.cidrBlocks],
      enableDnsSupport: v.enableDnsSupport,
      enableDnsHostnames: v.enableDnsHostnames,
    })),
    subnets,
    routeTables: w.vpcs.flatMap((v) =>
      v.routeTables.map((rt) => ({
        id: rt.id,
        vpcId: v.id,
        subnets: [...rt.subnets],
        routes: rt.routes.map((r) => ({ ...r })),
      })),
    ),
    instances: w.instances.map((i) => ({
      id: i.id,
      availabilityZone: i.availabilityZone,
      subnetId: i.subnet,
      vpcId: vpcOfSubnet(i.subnet),
      state: i.state,
      hangsOnStop: i.hangsOnStop,
      ...(i.iamRole === undefined ? {} : { iamRole: i.iamRole }),
    })),
    networkInterfaces: w.instances.flatMap((i) =>
      i.networkInterfaces.map((n, k) => ({
        id: n.id,
        instanceId: i.id,
        subnetId: i.subnet,
        vpcId: vpcOfSubnet(i.subnet),
        availabilityZone: i.availabilityZone,
        privateIp: n.privateIp,
        sourceDestCheck: n.sourceDestCheck,
        deviceIndex: k,
      })),
    ),
    addresses: w.addresses.map((a) => {
      if (a.association === undefined) return { allocationId: a.allocationId, publicIp: a.publicIp };
      return {
        allocationId: a.allocationId,
        publicIp: a.publicIp,
        associationId: `eipassoc-${String(seq++).padStart(8, '0')}`,
        networkInterfaceId: a.association.networkInterfaceId,
      };
    }),
    transitionDelayMs: w.instanceStopDelayMs ?? defaultStopDelayMs,
    nextSeq: seq,
  };
}

/**
 * Parses and validates a world file. Throws a `ConfigError` whose message lists every problem as
 * `FILE:LINE: PATH: MESSAGE` (and whose `issues` carry the same), so one run shows all mistakes.
 * `defaults.instanceStopDelayMs` applies when the file sets none (2000 ms when not given either).
 */
export function loadWorld(
  yamlText: string,
  file: string,
  defaults: { instanceStopDelayMs?: number } = {},
): World {
  const lines = new LineCounter();
  const doc = parseDocument(yamlText, { lineCounter: lines, prettyErrors: false });
  const issues: ConfigIssue[] = [];
  const add = (path: Path, message: string): void => {
    let line = 0;
    let col = 0;
    const node: unknown = path.length === 0 ? doc.contents : doc.getIn(path, true);
    const range = (node as { range?: [number, number, number] } | undefined)?.range;
    if (range !== undefined) ({ line, col } = lines.linePos(range[0]));
    issues.push({
      severity: 'error',
      path: pathText(path),
      line,
      col,
      message,
      remedy: 'fix the world file',
    });
  };
  for (const e of doc.errors) {
    const pos = e.linePos?.[0];
    issues.push({
      severity: 'error',
      path: '(yaml)',
      line: pos?.line ?? 0,
      col: pos?.col ?? 0,
      message: e.message,
      remedy: 'fix the YAML syntax',
    });
  }
  let world: World | undefined;
  if (issues.length === 0) {
    const parsed = WorldSchema.safeParse(doc.toJS() ?? {});
    if (!parsed.success) {
      for (const i of parsed.error.issues)
        add(
          i.path.filter((p) => typeof p !== 'symbol'),
          i.message,
        );
    } else {
      crossCheck(parsed.data, add);
      if (issues.length === 0) {
        const vpcIds = parsed.data.vpcs.map((v) => v.id);
        const part = <T>(build: () => T): T | undefined => {
          try {
            return build();
          } catch (err) {
            if (!(err instanceof ConfigError)) throw err;
            for (const i of err.issues) add(parsePathText(i.path), `${i.message} ${i.remedy}`);
            return undefined;
          }
        };
        const route53 = part(() => parseRoute53World(parsed.data.hostedZones ?? [], vpcIds));
        const iam = part(() => parseIamWorld(parsed.data.iam, parsed.data.instances));
        if (route53 !== undefined && iam !== undefined) {
          world = {
            region: parsed.data.region,
            ec2: buildEc2(parsed.data, defaults.instanceStopDelayMs ?? 2000),
            route53,
            iam,
          };
          world.route53.vpcRegion = world.region;
        }
      }
    }
  }
  if (world === undefined || issues.length > 0) {
    const text = issues.map((i) => `  ${file}:${i.line}: ${i.path}: ${i.message}`).join('\n');
    throw new ConfigError(`world file ${file} has ${issues.length} problem(s):\n${text}`, issues);
  }
  return world;
}
