/**
 * IMDSv2 of each simulated instance (issue 4 section 5, "IMDSv2 per simulated instance"): one HTTP listener
 * per instance on loopback, so that a daemon (or any AWS SDK) pointed at it with
 * `AWS_EC2_METADATA_SERVICE_ENDPOINT` sees itself as that instance: its id, zone, region, addresses, ENIs
 * (MACs derived from the ENI ids), identity document and instance-role credentials.
 *
 * As the real service in "IMDSv2 only" mode: `PUT /latest/api/token` with `X-aws-ec2-metadata-token-ttl-seconds`
 * (1-21600) returns a session token; every GET needs it in `X-aws-ec2-metadata-token`, else 401; a token is
 * good only on the instance that issued it and until its TTL ends. A stopped, stopping or rebooting instance
 * answers nothing (requests are held until the client gives up, like a powered-off machine). Faults: the
 * action `IMDS` (every instance) or `IMDS:<instance id>` with kind `noAnswer` or `latency`.
 *
 * `handleImds` is a pure function of the request, the world and the time (plus the token store it mutates);
 * `startImds` puts it on sockets.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { instanceUp } from './ec2-instances.ts';
import { instanceProfileId } from './ec2-render.ts';
import type { SimRequest, SimResponse } from './http-types.ts';
import { issueRoleCredentials } from './iam.ts';
import type { Instance, World } from './world.ts';

/** Session tokens issued by the instances' IMDS: token -> issuing instance and expiry. */
export type ImdsTokens = Map<string, { instanceId: string; expiresAtMs: number }>;

/** A fault hitting one IMDS request (server.ts decides which apply). */
export interface ImdsFault {
  kind: 'throttle' | 'error5xx' | 'noAnswer' | 'latency';
  latencyMs?: number;
}

/** A locally administered MAC derived from the ENI id, stable across runs (`02:` + 5 hash bytes). */
export function macOf(eniId: string): string {
  const h = createHash('sha256').update(eniId).digest();
  return ['02', ...[...h.subarray(0, 5)].map((b) => b.toString(16).padStart(2, '0'))].join(':');
}

/** `ip-10-0-1-10.ec2.internal` (us-east-1) or `ip-10-0-1-10.REGION.compute.internal`. */
function hostnameOf(ip: string, region: string): string {
  const domain = region === 'us-east-1' ? 'ec2.internal' : `${region}.compute.internal`;
  return `ip-${ip.replace(/\./g, '-')}.${domain}`;
}

const isoSeconds = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** A metadata directory: a leaf is its text, computed on demand (credentials are issued only when read). */
interface MetadataDir {
  [name: string]: MetadataDir | (() => string);
}

function metadataTree(world: World, inst: Instance, nowMs: number, startedAtMs: number): MetadataDir {
  const s = world.ec2;
  const enis = s.networkInterfaces
    .filter((n) => n.instanceId === inst.id)
    .sort((a, b) => a.deviceIndex - b.deviceIndex);
  const primary = enis[0];
  const vpc = s.vpcs.find((v) => v.id === inst.vpcId);
  const az = s.availabilityZones.find((a) => a.name === inst.availabilityZone);
  const ip = primary?.privateIp ?? '';
  const macs: MetadataDir = {};
  for (const n of enis) {
    const subnet = s.subnets.find((x) => x.id === n.subnetId);
    const eip = s.addresses.find((a) => a.networkInterfaceId === n.id);
    macs[macOf(n.id)] = {
      'device-number': () => String(n.deviceIndex),
      'interface-id': () => n.id,
      'local-hostname': () => hostnameOf(n.privateIp, world.region),
      'local-ipv4s': () => n.privateIp,
      mac: () => macOf(n.id),
      'owner-id': () => s.accountId,
      ...(eip === undefined ? {} : { 'public-ipv4s': () => eip.publicIp }),
      'subnet-id': () => n.subnetId,
      'subnet-ipv4-cidr-block': () => subnet?.cidr ?? '',
      'vpc-id': () => n.vpcId,
      'vpc-ipv4-cidr-block': () => vpc?.cidrBlocks[0] ?? '',
      'vpc-ipv4-cidr-blocks': () => vpc?.cidrBlocks.join('\n') ?? '',
    };
  }
  const role = inst.iamRole;
  const iam: MetadataDir =
    role === undefined
      ? {}
      : {
          iam: {
            info: () =>
              JSON.stringify(
                {
                  Code: 'Success',
                  LastUpdated: isoSeconds(nowMs),
                  InstanceProfileArn: `arn:aws:iam::${s.accountId}:instance-profile/${role}`,
                  InstanceProfileId: instanceProfileId(role),
                },
                null,
                2,
              ),
            'security-credentials': {
              [role]: () => {
                const c = issueRoleCredentials(world.iam, inst.id, role, nowMs);
                return JSON.stringify(
                  {
                    Code: 'Success',
                    LastUpdated: isoSeconds(c.issuedAtMs),
                    Type: 'AWS-HMAC',
                    AccessKeyId: c.accessKeyId,
                    SecretAccessKey: c.secretAccessKey,
                    Token: c.sessionToken,
                    Expiration: isoSeconds(c.expiresAtMs),
                  },
                  null,
                  2,
                );
              },
            },
          },
        };
  return {
    'meta-data': {
      'ami-id': () => 'ami-00000001',
      hostname: () => hostnameOf(ip, world.region),
      ...iam,
      'instance-id': () => inst.id,
      'instance-type': () => 't3.micro',
      'local-hostname': () => hostnameOf(ip, world.region),
      'local-ipv4': () => ip,
      mac: () => (primary === undefined ? '' : macOf(primary.id)),
      network: { interfaces: { macs } },
      placement: {
        'availability-zone': () => inst.availabilityZone,
        'availability-zone-id': () => az?.zoneId ?? '',
        region: () => world.region,
      },
      services: { domain: () => 'amazonaws.com' },
    },
    dynamic: {
      'instance-identity': {
        document: () =>
          JSON.stringify(
            {
              accountId: s.accountId,
              architecture: 'x86_64',
              availabilityZone: inst.availabilityZone,
              billingProducts: null,
              devpayProductCodes: null,
              marketplaceProductCodes: null,
              imageId: 'ami-00000001',
              instanceId: inst.id,
              instanceType: 't3.micro',
              kernelId: null,
              pendingTime: isoSeconds(startedAtMs),
              privateIp: ip,
              ramdiskId: null,
              region: world.region,
              version: '2017-09-30',
            },
            null,
            2,
          ),
      },
    },
  };
}

/** The real IMDS's error pages (an XHTML document), e.g. `404 - Not Found`. */
function errorPage(status: number, text: string): SimResponse {
  const title = `${status} - ${text}`;
  return {
    status,
    headers: { 'content-type': 'text/html', server: 'EC2ws' },
    body:
      '<?xml version="1.0" encoding="iso-8859-1"?>\n' +
      '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"\n' +
      '\t"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n' +
      '<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">\n' +
      ` <head>\n  <title>${title}</title>\n </head>\n <body>\n  <h1>${title}</h1>\n </body>\n</html>\n`,
  };
}

const text = (body: string, headers: Record<string, string> = {}): SimResponse => ({
  status: 200,
  headers: { 'content-type': 'text/plain', server: 'EC2ws', ...headers },
  body,
});

/** The longest token TTL IMDSv2 accepts (6 h). */
export const MAX_TOKEN_TTL_SEC = 21600;

/**
 * Answers one IMDS request for `instanceId` at `nowMs` (the caller has already decided that the instance is
 * up). `startedAtMs` is the identity document's `pendingTime`.
 */
export function handleImds(
  req: SimRequest,
  instanceId: string,
  world: World,
  tokens: ImdsTokens,
  nowMs: number,
  startedAtMs: number,
): SimResponse {
  const inst = world.ec2.instances.find((i) => i.id === instanceId);
  if (inst === undefined) return errorPage(404, 'Not Found');
  const method = req.method.toUpperCase();
  if (req.path === '/latest/api/token') {
    if (method !== 'PUT') return errorPage(405, 'Method Not Allowed');
    if (req.headers['x-forwarded-for'] !== undefined) return errorPage(403, 'Forbidden');
    const raw = req.headers['x-aws-ec2-metadata-token-ttl-seconds'];
    const ttl = Number(raw);
    if (raw === undefined || !/^\d+$/.test(raw) || ttl < 1 || ttl > MAX_TOKEN_TTL_SEC) {
      return errorPage(400, 'Bad Request');
    }
    for (const [t, v] of tokens) if (v.expiresAtMs <= nowMs) tokens.delete(t);
    const token = randomBytes(40).toString('base64');
    tokens.set(token, { instanceId, expiresAtMs: nowMs + ttl * 1000 });
    return text(token, { 'x-aws-ec2-metadata-token-ttl-seconds': String(ttl) });
  }
  if (method !== 'GET' && method !== 'HEAD') return errorPage(405, 'Method Not Allowed');
  // IMDSv2 only: a GET without a valid session token of this instance is 401, as with HttpTokens=required.
  const token = req.headers['x-aws-ec2-metadata-token'];
  const session = token === undefined ? undefined : tokens.get(token);
  if (session === undefined || session.instanceId !== instanceId || session.expiresAtMs <= nowMs) {
    return errorPage(401, 'Unauthorized');
  }
  const remaining = {
    'x-aws-ec2-metadata-token-ttl-seconds': String(Math.floor((session.expiresAtMs - nowMs) / 1000)),
  };
  const segments = req.path.split('/').filter((x) => x !== '');
  if (segments[0] !== 'latest') return errorPage(404, 'Not Found');
  let node: MetadataDir | (() => string) = metadataTree(world, inst, nowMs, startedAtMs);
  for (const seg of segments.slice(1)) {
    if (typeof node === 'function') return errorPage(404, 'Not Found');
    const next: MetadataDir | (() => string) | undefined = Object.hasOwn(node, seg) ? node[seg] : undefined;
    if (next === undefined) return errorPage(404, 'Not Found');
    node = next;
  }
  if (typeof node === 'function') return text(node(), remaining);
  const listing = Object.entries(node).map(([k, v]) => (typeof v === 'function' ? k : `${k}/`));
  return text(listing.join('\n'), remaining);
}

export interface ImdsOptions {
  world: World;
  host: string;
  /** Instance k (0-based, world order) listens on `basePort + k`; 0 = ephemeral ports. */
  basePort: number;
  now: () => number;
  /** The faults hitting one request to `instanceId`'s IMDS (consuming counted ones). */
  takeFaults: (instanceId: string) => ImdsFault[];
  /** A cancellable delay owned by the caller (cleared on close). */
  delay: (ms: number) => Promise<void>;
}

export interface ImdsListeners {
  /** instance id -> `http://127.0.0.1:PORT`, in world order. */
  urls: Record<string, string>;
  /** Stops every listener and destroys held connections. */
  close(): Promise<void>;
}

/** Starts one IMDS listener per instance of the world (the instances present when it starts). */
export async function startImds(opts: ImdsOptions): Promise<ImdsListeners> {
  const tokens: ImdsTokens = new Map();
  const startedAtMs = opts.now();
  const servers: Server[] = [];
  const urls: Record<string, string> = {};
  const close = async (): Promise<void> => {
    await Promise.all(
      servers.map(
        (srv) =>
          new Promise<void>((resolve) => {
            srv.close(() => resolve());
            srv.closeAllConnections();
          }),
      ),
    );
  };
  const serve = async (instanceId: string, msg: IncomingMessage, res: ServerResponse): Promise<void> => {
    for await (const _chunk of msg) {
      // IMDS requests carry no body; drain whatever comes.
    }
    const faults = opts.takeFaults(instanceId);
    await opts.delay(faults.filter((f) => f.kind === 'latency').reduce((s, f) => s + (f.latencyMs ?? 0), 0));
    const fault = faults.find((f) => f.kind !== 'latency');
    // A powered-off (or rebooting) machine, or a noAnswer fault: the request is held until the client
    // gives up or the simulator closes.
    if (fault?.kind === 'noAnswer' || !instanceUp(opts.world.ec2, instanceId, opts.now())) return;
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(msg.headers)) {
      if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
    }
    const url = new URL(msg.url ?? '/', 'http://imds');
    const req: SimRequest = {
      method: msg.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers,
      body: '',
    };
    const out =
      fault?.kind === 'throttle'
        ? errorPage(429, 'Too Many Requests')
        : fault?.kind === 'error5xx'
          ? errorPage(500, 'Internal Server Error')
          : handleImds(req, instanceId, opts.world, tokens, opts.now(), startedAtMs);
    if (res.destroyed) return;
    res.writeHead(out.status, { ...out.headers, 'content-length': Buffer.byteLength(out.body) });
    res.end(req.method.toUpperCase() === 'HEAD' ? undefined : out.body);
  };
  try {
    for (const [k, inst] of opts.world.ec2.instances.entries()) {
      const srv = createServer((msg, res) => {
        serve(inst.id, msg, res).catch(() => res.destroy());
      });
      servers.push(srv);
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(opts.basePort === 0 ? 0 : opts.basePort + k, opts.host, () => {
          srv.off('error', reject);
          resolve();
        });
      });
      const addr = srv.address() as AddressInfo;
      urls[inst.id] = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
    }
  } catch (err) {
    await close();
    throw err;
  }
  return { urls, close };
}
