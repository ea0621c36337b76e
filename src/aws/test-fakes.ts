/**
 * Loopback doubles for the AWS access layer's tests (not used by the product): a fake IMDSv2 (token PUT and
 * GETs, role credentials), a counting HTTP CONNECT proxy, and a tiny EC2 Query endpoint answering canned
 * XML and recording what it was asked (which access key signed, which parameters). They exist so the
 * tests need neither the simulator's IMDS nor its IAM, and each listens on 127.0.0.1 port 0 and closes
 * every socket on `close()`.
 */
import { createServer, STATUS_CODES } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';

/** Listen on 127.0.0.1:0; resolves to `http://127.0.0.1:PORT`. */
export function listenLoopback(server: Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    });
  });
}

/** Close the server and every connection it holds (including held, never-answered requests). */
export function closeServer(server: Server, sockets: Set<Socket> = new Set()): Promise<void> {
  return new Promise((resolve) => {
    for (const s of sockets) s.destroy();
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

function trackSockets(server: Server): Set<Socket> {
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return sockets;
}

async function bodyOf(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export type FakeImdsAnswer = string | { status: number; body?: string };

export interface FakeImds {
  url: string;
  /** Answers by path below `/latest/` (e.g. `meta-data/placement/region`); others are 404. */
  paths: Map<string, FakeImdsAnswer>;
  /** Every request: method, path, and the token it carried (GET) or the TTL it asked for (PUT). */
  log: Array<{ method: string; path: string; token: string | null; ttl: string | null }>;
  tokensIssued: number;
  /** Tokens issued so far stop being accepted (GETs with them answer 401). */
  revokeTokens(): void;
  /** While true, requests are held unanswered. */
  hang: boolean;
  close(): Promise<void>;
}

export async function startFakeImds(paths: Record<string, FakeImdsAnswer> = {}): Promise<FakeImds> {
  const valid = new Set<string>();
  const fake: FakeImds = {
    url: '',
    paths: new Map(Object.entries(paths)),
    log: [],
    tokensIssued: 0,
    revokeTokens: () => valid.clear(),
    hang: false,
    close: () => closeServer(server, sockets),
  };
  const send = (res: ServerResponse, status: number, body = STATUS_CODES[status] ?? ''): void => {
    res.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const token = req.headers['x-aws-ec2-metadata-token'];
    const ttl = req.headers['x-aws-ec2-metadata-token-ttl-seconds'];
    fake.log.push({
      method: req.method ?? '',
      path,
      token: typeof token === 'string' ? token : null,
      ttl: typeof ttl === 'string' ? ttl : null,
    });
    if (fake.hang) return;
    if (req.method === 'PUT' && path === '/latest/api/token') {
      if (typeof ttl !== 'string') return send(res, 400);
      fake.tokensIssued += 1;
      const t = `token-${fake.tokensIssued}`;
      valid.add(t);
      return send(res, 200, t);
    }
    if (req.method !== 'GET') return send(res, 405);
    if (typeof token !== 'string' || !valid.has(token)) return send(res, 401);
    const answer = fake.paths.get(path.replace(/^\/latest\//, ''));
    if (answer === undefined) return send(res, 404);
    if (typeof answer === 'string') return send(res, 200, answer);
    return send(res, answer.status, answer.body);
  });
  const sockets = trackSockets(server);
  fake.url = await listenLoopback(server);
  return fake;
}

/** The IMDS answers of an instance role, as the real IMDS gives them. */
export function roleCredentialPaths(
  role: string,
  creds: { accessKeyId: string; secretAccessKey: string; token: string; expiration: Date },
): Record<string, FakeImdsAnswer> {
  return {
    'meta-data/iam/security-credentials/': `${role}\n`,
    [`meta-data/iam/security-credentials/${role}`]: JSON.stringify({
      Code: 'Success',
      LastUpdated: new Date().toISOString(),
      Type: 'AWS-HMAC',
      AccessKeyId: creds.accessKeyId,
      SecretAccessKey: creds.secretAccessKey,
      Token: creds.token,
      Expiration: creds.expiration.toISOString(),
    }),
  };
}

export interface CountingProxy {
  url: string;
  /** `host:port` of every CONNECT. */
  connects: string[];
  /** Proxy-Authorization headers seen (decoded `user:password`), one per CONNECT that had one. */
  auth: string[];
  close(): Promise<void>;
}

/** An HTTP proxy that tunnels CONNECT (the only method HttpsProxyAgent uses) and counts the tunnels. */
export async function startConnectProxy(): Promise<CountingProxy> {
  const tunnels = new Set<Socket>();
  const server = createServer((_req, res) => {
    res.writeHead(405).end();
  });
  const proxy: CountingProxy = {
    url: '',
    connects: [],
    auth: [],
    close: () => {
      for (const t of tunnels) t.destroy();
      return closeServer(server, sockets);
    },
  };
  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    const target = req.url ?? '';
    proxy.connects.push(target);
    const auth = req.headers['proxy-authorization'];
    if (typeof auth === 'string' && auth.startsWith('Basic ')) {
      proxy.auth.push(Buffer.from(auth.slice(6), 'base64').toString('utf8'));
    }
    const [host, port] = [
      target.slice(0, target.lastIndexOf(':')),
      Number(target.slice(target.lastIndexOf(':') + 1)),
    ];
    const upstream = connect(port, host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    tunnels.add(upstream);
    tunnels.add(client);
    const drop = (): void => {
      upstream.destroy();
      client.destroy();
      tunnels.delete(upstream);
      tunnels.delete(client);
    };
    upstream.on('error', drop);
    client.on('error', drop);
    upstream.on('close', drop);
    client.on('close', drop);
  });
  const sockets = trackSockets(server);
  proxy.url = await listenLoopback(server);
  return proxy;
}

/** One EC2 Query request as the fake endpoint saw it. */
export interface FakeEc2Request {
  action: string;
  params: URLSearchParams;
  /** The access key id of the SigV4 `Credential=`, or null when unsigned. */
  accessKeyId: string | null;
  /** The region of the SigV4 credential scope, or null. */
  region: string | null;
  sessionToken: string | null;
}

export interface FakeEc2 {
  url: string;
  requests: FakeEc2Request[];
  /** Answer per action: `{ status, xml }`, where `xml` is the inner elements of `<ActionResponse>`. */
  answers: Map<string, { status: number; xml: string } | { status: number; code: string; message: string }>;
  close(): Promise<void>;
}

const EC2_NS = 'http://ec2.amazonaws.com/doc/2016-11-15/';

/** A canned EC2 Query endpoint. An action without an answer gets InvalidAction. */
export async function startFakeEc2(): Promise<FakeEc2> {
  const fake: FakeEc2 = {
    url: '',
    requests: [],
    answers: new Map(),
    close: () => closeServer(server, sockets),
  };
  const server = createServer((req, res) => {
    void bodyOf(req).then((body) => {
      const params = new URLSearchParams(body);
      const action = params.get('Action') ?? '';
      const auth = req.headers['authorization'] ?? '';
      const token = req.headers['x-amz-security-token'];
      const scope = /Credential=([^/]+)\/\d{8}\/([^/]+)\//.exec(auth);
      fake.requests.push({
        action,
        params,
        accessKeyId: scope?.[1] ?? null,
        region: scope?.[2] ?? null,
        sessionToken: typeof token === 'string' ? token : null,
      });
      const a = fake.answers.get(action) ?? {
        status: 400,
        code: 'InvalidAction',
        message: `The action ${action} is not valid for this web service.`,
      };
      const xml =
        'xml' in a
          ? `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${EC2_NS}"><requestId>r-1</requestId>${a.xml}</${action}Response>`
          : `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${a.code}</Code><Message>${a.message}</Message></Error></Errors><RequestID>r-1</RequestID></Response>`;
      res.writeHead(a.status, { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(xml) });
      res.end(xml);
    });
  });
  const sockets = trackSockets(server);
  fake.url = await listenLoopback(server);
  return fake;
}

/**
 * A small world for the simulator (its YAML world-file format) without an `iam:` section, so any signed
 * request is accepted: one VPC with two CIDRs, three route tables of which two route the VIP 10.1.0.20/32
 * to node-1's ENI, a second VPC whose table routes the same VIP elsewhere, two instances with one ENI
 * each, one Elastic IP on node-1, a private hosted zone `hz1.local.` with one A record.
 */
export const TEST_WORLD_YAML = `
region: us-east-1
availabilityZones:
  - { name: us-east-1a, zoneId: use1-az1, state: available }
  - { name: us-east-1b, zoneId: use1-az2, state: impaired }
vpcs:
  - id: vpc-0a1b2c3d
    cidrBlocks: [10.0.0.0/16, 10.2.0.0/16]
    subnets:
      - { id: subnet-0a000001, cidr: 10.0.1.0/24, availabilityZone: us-east-1a }
      - { id: subnet-0a000002, cidr: 10.0.2.0/24, availabilityZone: us-east-1b }
    routeTables:
      - id: rtb-0000000000000001
        subnets: [subnet-0a000001]
        routes:
          - { destination: 10.0.0.0/16, target: local }
          - { destination: 10.1.0.20/32, target: eni-0000000000000001 }
      - id: rtb-0000000000000002
        subnets: [subnet-0a000002]
        routes:
          - { destination: 10.0.0.0/16, target: local }
          - { destination: 10.1.0.20/32, target: eni-0000000000000001 }
      - id: rtb-0000000000000003
        subnets: []
        routes:
          - { destination: 10.0.0.0/16, target: local }
  - id: vpc-0e0e0e0e
    cidrBlocks: [172.16.0.0/16]
    subnets:
      - { id: subnet-0b000001, cidr: 172.16.1.0/24, availabilityZone: us-east-1a }
    routeTables:
      - id: rtb-0000000000000009
        subnets: [subnet-0b000001]
        routes:
          - { destination: 172.16.0.0/16, target: local }
          - { destination: 10.1.0.20/32, target: igw-0e0e0e0e }
instances:
  - id: i-0000000000000001
    availabilityZone: us-east-1a
    subnet: subnet-0a000001
    state: running
    networkInterfaces:
      - { id: eni-0000000000000001, privateIp: 10.0.1.10, sourceDestCheck: false }
  - id: i-0000000000000002
    availabilityZone: us-east-1b
    subnet: subnet-0a000002
    state: running
    networkInterfaces:
      - { id: eni-0000000000000002, privateIp: 10.0.2.10, sourceDestCheck: true }
addresses:
  - allocationId: eipalloc-0000000000000001
    publicIp: 203.0.113.10
    association: { networkInterfaceId: eni-0000000000000001 }
hostedZones:
  - id: Z0123456789ABC
    name: hz1.local.
    private: true
    vpcs: [vpc-0a1b2c3d]
    records:
      - { name: srv.hz1.local., type: A, ttl: 60, values: [10.1.0.20] }
`;

/**
 * The environment of a test's `AwsAccess` against an endpoint: region and static keys set, the shared
 * files and IMDS pointed at places that do not exist (so nothing of the host's own AWS setup is used).
 */
export function endpointEnv(url: string, closedImdsUrl: string): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: url,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIDTEST',
    AWS_SECRET_ACCESS_KEY: 'test-secret',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/tandem-test/credentials',
    AWS_CONFIG_FILE: '/nonexistent/tandem-test/config',
    AWS_EC2_METADATA_SERVICE_ENDPOINT: closedImdsUrl,
  };
}
