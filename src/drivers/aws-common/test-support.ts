/**
 * Helpers shared by the tests of the AWS drivers (awsvip, awseip, awsdns, awsazw, fencing; not used by the
 * daemon): the test world's ids and keys, compiled resources and monitors built by hand, an AwsAccess
 * pointed at a simulator URL with a hermetic environment (nothing of the host's ~/.aws or instance metadata
 * leaks in), an AwsAccess wrapper that counts or alters calls, and `AwsTestEnv`, which owns what one test
 * (or test file) sets up and cleans all of it up.
 *
 * The tests create the simulator themselves and hand it in: src/sim is outside the drivers' layer
 * (eslint.config.mjs), and a test is a composition root that may wire both.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { createAwsAccess } from '../../aws/access.ts';
import type { AwsAccess, Ec2Ops } from '../../aws/types.ts';
import type { CompiledConfig, CompiledMonitor, CompiledResource } from '../../shared/config/types.ts';
import { ResourceError } from '../../shared/errors.ts';
import type { DriverContext } from '../driver.ts';
import { NoResponseError } from '../messages.ts';
import { execResource, makeConfig } from '../../../test/daemon-fakes/config.ts';
import { Sandbox } from '../../../test/daemon-fakes/driver-ctx.ts';

/**
 * Access keys of the simulator's users: in TEST_WORLD one user allowed everything and one denied the calls
 * that move things; `demo` is the allowed user of the demo world (src/sim/demo-world.yaml).
 */
export const KEYS = {
  allowed: { id: 'AKIATESTALLOWED00001', secret: 'allowed-secret' },
  denied: { id: 'AKIATESTDENIED000001', secret: 'denied-secret' },
  demo: { id: 'AKIASIMALLOWED000001', secret: 'allowed-secret' },
} as const;

/**
 * The world of these tests (the demo's shape, written out here so that changes to the demo do not move
 * them): VPC 10.0.0.0/16 with three route tables routing the VIP 10.1.0.20/32 to node-1's ENI, node-1 and
 * node-2 with one ENI each, the Elastic IP on node-1, and IAM with the two users of KEYS.
 */
export const TEST_WORLD = `
region: us-east-1
availabilityZones:
  - { name: us-east-1a, zoneId: use1-az1, state: available }
  - { name: us-east-1b, zoneId: use1-az2, state: available }
vpcs:
  - id: vpc-0a1b2c3d
    cidrBlocks: [10.0.0.0/16]
    subnets:
      - { id: subnet-0a000001, cidr: 10.0.1.0/24, availabilityZone: us-east-1a }
      - { id: subnet-0a000002, cidr: 10.0.2.0/24, availabilityZone: us-east-1b }
      - { id: subnet-0a000011, cidr: 10.0.11.0/24, availabilityZone: us-east-1a }
      - { id: subnet-0a000012, cidr: 10.0.12.0/24, availabilityZone: us-east-1b }
    routeTables:
      - id: rtb-0000000000000public
        subnets: [subnet-0a000001, subnet-0a000002]
        routes:
          - { destination: 10.0.0.0/16, target: local }
          - { destination: 0.0.0.0/0, target: igw-0a1b2c3d }
          - { destination: 10.1.0.20/32, target: eni-0000000000000001 }
      - id: rtb-00000000000private1
        subnets: [subnet-0a000011]
        routes:
          - { destination: 10.0.0.0/16, target: local }
          - { destination: 10.1.0.20/32, target: eni-0000000000000001 }
      - id: rtb-00000000000private2
        subnets: [subnet-0a000012]
        routes:
          - { destination: 10.0.0.0/16, target: local }
          - { destination: 10.1.0.20/32, target: eni-0000000000000001 }
instances:
  - id: i-0000000000000001
    availabilityZone: us-east-1a
    subnet: subnet-0a000001
    networkInterfaces:
      - { id: eni-0000000000000001, privateIp: 10.0.1.10, sourceDestCheck: false }
  - id: i-0000000000000002
    availabilityZone: us-east-1b
    subnet: subnet-0a000002
    networkInterfaces:
      - { id: eni-0000000000000002, privateIp: 10.0.2.10, sourceDestCheck: false }
addresses:
  - allocationId: eipalloc-0000000000000001
    publicIp: 203.0.113.10
    association: { networkInterfaceId: eni-0000000000000001 }
iam:
  users:
    - { name: allowed, accessKeyId: ${KEYS.allowed.id}, secretAccessKey: ${KEYS.allowed.secret} }
    - name: denied
      accessKeyId: ${KEYS.denied.id}
      secretAccessKey: ${KEYS.denied.secret}
      deny: [ec2:ReplaceRoute, ec2:AssociateAddress]
`;

/** Ids of TEST_WORLD. */
export const IDS = {
  vpcId: 'vpc-0a1b2c3d',
  eni1: 'eni-0000000000000001',
  eni2: 'eni-0000000000000002',
  eni2Ip: '10.0.2.10',
  vip: '10.1.0.20',
  allocationId: 'eipalloc-0000000000000001',
  routeTables: ['rtb-0000000000000public', 'rtb-00000000000private1', 'rtb-00000000000private2'],
} as const;

/**
 * A compiled awsvip resource as the config compiler makes it (per-server keys null in the common params):
 * node-1 on eni-1, node-2 on eni-2. `assignAddress` is off unless asked for (tests never touch the host).
 */
export function vipResource(
  params: Record<string, unknown> = {},
  over: Partial<CompiledResource> = {},
): CompiledResource {
  return {
    name: 'awsvip1',
    type: 'awsvip',
    group: 'failover1',
    dependsOn: [],
    timeoutMs: 10_000,
    activation: { retries: 0, failoverThreshold: 1, finalAction: 'none' },
    deactivation: { retries: 0, finalAction: 'shutdown' },
    params: {
      ip: IDS.vip,
      vpcId: IDS.vpcId,
      eniId: null,
      interface: null,
      assignAddress: false,
      ...params,
    },
    perServer: { 'node-1': { eniId: IDS.eni1 }, 'node-2': { eniId: IDS.eni2 } },
    ...over,
  };
}

/** A compiled awseip resource of the test world, node-1 on eni-1 and node-2 on eni-2. */
export function eipResource(
  params: Record<string, unknown> = {},
  over: Partial<CompiledResource> = {},
): CompiledResource {
  return {
    name: 'awseip1',
    type: 'awseip',
    group: 'failover1',
    dependsOn: [],
    timeoutMs: 10_000,
    activation: { retries: 0, failoverThreshold: 1, finalAction: 'none' },
    deactivation: { retries: 0, finalAction: 'shutdown' },
    params: { allocationId: IDS.allocationId, eniId: null, ...params },
    perServer: { 'node-1': { eniId: IDS.eni1 }, 'node-2': { eniId: IDS.eni2 } },
    ...over,
  };
}

/** Files and ports that make credential lookups find nothing: cleaned up by `dispose()`. */
export class NoCredentials {
  readonly dir = mkdtempSync(join(tmpdir(), 'tandem-aws-'));
  readonly credentialsFile = join(this.dir, 'credentials');
  readonly configFile = join(this.dir, 'config');
  constructor() {
    writeFileSync(this.credentialsFile, '');
    writeFileSync(this.configFile, '');
  }
  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A loopback port nobody listens on (bound, then closed). */
export async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/**
 * An AwsAccess for the simulator at `url`. The environment is hermetic: empty shared files in `files.dir`,
 * no instance metadata (a closed port), so only `environment` decides. `keys`: which user of KEYS signs
 * (default `allowed`), null for no keys at all.
 */
export function simAccess(
  url: string,
  files: NoCredentials,
  opts: { keys?: keyof typeof KEYS | null; imdsPort?: number; callTimeoutMs?: number } = {},
): AwsAccess {
  const env: Record<string, string> = {
    AWS_ENDPOINT_URL: url,
    AWS_SHARED_CREDENTIALS_FILE: files.credentialsFile,
    AWS_CONFIG_FILE: files.configFile,
    HOME: files.dir,
    AWS_EC2_METADATA_SERVICE_ENDPOINT: `http://127.0.0.1:${opts.imdsPort ?? 9}`,
  };
  const keys = opts.keys === undefined ? KEYS.allowed : opts.keys === null ? null : KEYS[opts.keys];
  if (keys !== null) {
    env.AWS_ACCESS_KEY_ID = keys.id;
    env.AWS_SECRET_ACCESS_KEY = keys.secret;
  }
  return createAwsAccess(
    {
      region: 'us-east-1',
      profile: null,
      proxy: null,
      callTimeoutMs: opts.callTimeoutMs ?? 5_000,
      environment: env,
    },
    {},
  );
}

/** `aws` with some EC2 operations replaced (the others pass through). */
export function withEc2(aws: AwsAccess, over: Partial<Ec2Ops>): AwsAccess {
  const ec2 = new Proxy(aws.ec2, {
    get: (target, key: string): unknown => {
      if (key in over) return over[key as keyof Ec2Ops];
      const v: unknown = Reflect.get(target, key);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return {
    settings: aws.settings,
    ec2,
    route53: aws.route53,
    imds: aws.imds,
    resolve: (o) => aws.resolve(o),
    close: () => aws.close(),
  };
}

/** A compiled monitor watching `resource` (awsvipw / awseipw), noResponse `warn` unless told. */
export function awsMonitor(
  name: string,
  type: 'awsvipw' | 'awseipw' | 'awsdnsw',
  resource: string,
  over: Partial<CompiledMonitor> = {},
  noResponse: CompiledMonitor['recovery']['noResponse'] = 'warn',
): CompiledMonitor {
  return {
    name,
    type,
    intervalMs: 60_000,
    timeoutMs: 10_000,
    retries: 0,
    startWaitMs: 0,
    activeResource: resource,
    recovery: {
      targetKind: 'resource',
      target: resource,
      action: 'restart',
      maxReactivations: 3,
      maxFailovers: 1,
      failoverTarget: 'stable',
      finalAction: 'none',
      scripts: {
        beforeReactivation: null,
        beforeFailover: null,
        beforeFinalAction: null,
        timeoutMs: 30_000,
        cwd: '/',
      },
      noResponse,
    },
    params: { resource },
    perServer: {},
    auto: true,
    ...over,
  };
}

/** Ids of the demo world (src/sim/demo-world.yaml) that the awsdns, awsazw and fencing tests use. */
export const DEMO_IDS = {
  hostedZoneId: 'Z0123456789ABC',
  recordName: 'srv.hz1.local.',
  ip1: '10.0.1.10',
  ip2: '10.0.2.10',
  instance1: 'i-0000000000000001',
  instance2: 'i-0000000000000002',
} as const;

/** A compiled awsdns resource of the demo world's hosted zone, node-1 at ip1 and node-2 at ip2. */
export function dnsResource(
  params: Record<string, unknown> = {},
  over: Partial<CompiledResource> = {},
): CompiledResource {
  return execResource(
    'awsdns1',
    {},
    {
      type: 'awsdns',
      timeoutMs: 10_000,
      params: {
        hostedZoneId: DEMO_IDS.hostedZoneId,
        recordName: DEMO_IDS.recordName,
        ipAddress: null,
        ttl: 60,
        deleteOnStop: true,
        ...params,
      },
      perServer: { 'node-1': { ipAddress: DEMO_IDS.ip1 }, 'node-2': { ipAddress: DEMO_IDS.ip2 } },
      ...over,
    },
  );
}

/** The ResourceError `p` rejects with (fails the test when it resolves or rejects with something else). */
export async function rejection(p: Promise<unknown>): Promise<ResourceError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ResourceError, `expected a ResourceError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the call to fail');
}

/** What AwsTestEnv needs of the simulator the test created (`SimServer` of src/sim/server.ts). */
export interface TestSim {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * What one AWS driver test (or test file) sets up around the simulator it created: an AwsAccess signed
 * with `keys`, hermetic credential files and a driver Sandbox. `close()` releases all of it, the simulator
 * included.
 */
export class AwsTestEnv<S extends TestSim> {
  readonly sb = new Sandbox();
  readonly files = new NoCredentials();
  readonly aws: AwsAccess;

  constructor(
    readonly sim: S,
    keys: keyof typeof KEYS = 'allowed',
  ) {
    this.aws = simAccess(sim.url, this.files, { keys });
  }

  /** Another AwsAccess to the same simulator (other keys, none, or other timeouts); the caller closes it. */
  access(opts: Parameters<typeof simAccess>[2] = {}): AwsAccess {
    return simAccess(this.sim.url, this.files, opts);
  }

  /** A config of node-1 and node-2 holding `resources` and `monitors`. */
  config(o: { resources?: CompiledResource[]; monitors?: CompiledMonitor[] } = {}): CompiledConfig {
    return makeConfig({
      baseDir: this.sb.dir,
      servers: ['node-1', 'node-2'],
      resources: o.resources ?? [],
      monitors: o.monitors ?? [],
    });
  }

  /** A DriverContext on `server` with `config`, using this env's access unless told otherwise. */
  ctx(config: CompiledConfig, server: string, aws: AwsAccess = this.aws): DriverContext {
    return this.sb.ctx(config, new AbortController().signal, server, aws);
  }

  async close(): Promise<void> {
    this.aws.close();
    await this.sim.close();
    this.sb.cleanup();
    this.files.dispose();
  }
}

/**
 * Asserts that `p` rejects with a ResourceError of `code` for `object` whose message matches `re`, and that
 * it is a NoResponseError exactly when `noResponse` says so (default: not); returns the error.
 */
export async function rejectsWith(
  p: Promise<unknown>,
  code: number,
  re: RegExp,
  opts: { object: string; noResponse?: boolean },
): Promise<ResourceError> {
  const caught = await rejection(p);
  assert.equal(caught instanceof NoResponseError, opts.noResponse ?? false, 'NoResponseError or not');
  assert.equal(caught.code, code, caught.message);
  assert.equal(caught.object, opts.object);
  assert.match(caught.message, re);
  return caught;
}
