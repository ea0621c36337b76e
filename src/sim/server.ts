/**
 * The simulator's front end (issue 4 section 5): one HTTP endpoint serving the EC2 Query API (a form POST
 * with `Action=`, handled by ec2.ts) and Route 53 (paths under `/2013-04-01/`, handled by route53.ts), as
 * the AWS SDK and CLI address them through `AWS_ENDPOINT_URL`, plus one IMDSv2 listener per instance
 * (imds.ts) and a DNS responder for the hosted zones (dns.ts). It adds what a protocol handler cannot:
 * the SigV4-shaped Authorization check and IAM (iam.ts: who signed, what is denied; signatures are not
 * verified cryptographically), the simulated API latency, fault injection per operation (faults.ts) and
 * the admin API under `/_sim/` (admin.ts).
 *
 * Order of an API call: shape of the Authorization header -> role credentials of an instance that is not
 * up get no answer -> faults and latency -> unknown access key (AuthFailure / InvalidClientTokenId) ->
 * denied action (UnauthorizedOperation / AccessDenied, DryRun included) -> the protocol handler.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AdminError, handleAdmin, json } from './admin.ts';
import { startDnsResponder } from './dns.ts';
import { ec2ErrorResponse, esc } from './ec2-xml.ts';
import { EC2_ACTIONS, handleEc2, nextRequestId } from './ec2.ts';
import { forceInstanceState, instanceUp } from './ec2-instances.ts';
import { FaultTable, hitsApiCall, hitsDns, hitsImds } from './faults.ts';
import type { FaultSpec } from './faults.ts';
import type { SimRequest, SimResponse } from './http-types.ts';
import { deniedBy, findPrincipal, identifyCaller } from './iam.ts';
import { startImds } from './imds.ts';
import { handleRoute53, ROUTE53_NAMESPACE } from './route53.ts';
import type { World } from './world.ts';

export { FaultSpecSchema } from './faults.ts';
export type { FaultKind, FaultSpec } from './faults.ts';
export { worldView } from './admin.ts';
export type { WorldView } from './admin.ts';

export interface SimServerOptions {
  world: World;
  host: string;
  port: number;
  /** Uniform random delay per AWS API call, [min, max] ms. @default [0, 0] */
  latencyMs?: [number, number];
  /**
   * Instance k's IMDS (0-based, world order) listens on 127.0.0.1:`imdsBasePort + k`.
   * @default 0 (ephemeral ports)
   */
  imdsBasePort?: number;
  /** The DNS responder's UDP address. @default { host: '127.0.0.1', port: 0 } (ephemeral port) */
  dns?: { host: string; port: number };
  /** Overrides the world's `instanceStopDelayMs` (stopping -> stopped, pending -> running, reboot; ms). */
  instanceStopDelayMs?: number;
  /** Clock and randomness, injectable for tests. */
  now?: () => number;
  random?: () => number;
}

export interface SimServer {
  /** `http://HOST:PORT` (the real port when 0 was asked for). */
  url: string;
  world: World;
  /** instance id -> its IMDS, `http://127.0.0.1:PORT` (for `AWS_EC2_METADATA_SERVICE_ENDPOINT`). */
  imds: Record<string, string>;
  /** Where the DNS responder listens (UDP). */
  dns: { host: string; port: number };
  injectFault(spec: FaultSpec): void;
  clearFaults(): void;
  setLatency(minMs: number, maxMs: number): void;
  /** Sets an instance running or stopped at once (as `POST /_sim/instance`). Throws on an unknown id. */
  setInstanceState(instanceId: string, state: 'running' | 'stopped'): void;
  /** Replaces a user's (name or key id) or role's denied action patterns (as `POST /_sim/iam/deny`). */
  setDenials(principal: string, actions: string[]): void;
  /** Stops listening (API, IMDS, DNS), drops held (noAnswer) and delayed requests, clears every timer. */
  close(): Promise<void>;
}

const SIGV4 =
  /^AWS4-HMAC-SHA256 Credential=[^/\s]+\/\d{8}\/[^/]+\/[^/]+\/aws4_request, ?SignedHeaders=[a-z0-9;-]+, ?Signature=[0-9a-f]{64}$/;

/** Route 53 operation name of a REST path, for fault matching. */
export function route53Operation(method: string, path: string): string {
  const rest = path.replace(/^\/2013-04-01\//, '');
  if (rest.startsWith('change/')) return 'GetChange';
  if (rest.startsWith('hostedzonesbyname')) return 'ListHostedZonesByName';
  if (rest.startsWith('hostedzonesbyvpc')) return 'ListHostedZonesByVPC';
  if (/^hostedzone\/[^/]+\/rrset/.test(rest)) {
    return method === 'POST' ? 'ChangeResourceRecordSets' : 'ListResourceRecordSets';
  }
  if (/^hostedzone\/[^/]+$/.test(rest)) return 'GetHostedZone';
  if (rest === 'hostedzone') return method === 'POST' ? 'CreateHostedZone' : 'ListHostedZones';
  return rest;
}

function route53Error(status: number, code: string, message: string, requestId: string): SimResponse {
  return {
    status,
    headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId },
    body:
      `<?xml version="1.0"?>\n<ErrorResponse xmlns="${ROUTE53_NAMESPACE}"><Error><Type>${status >= 500 ? 'Receiver' : 'Sender'}</Type>` +
      `<Code>${code}</Code><Message>${esc(message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
  };
}

/** The IAM resource a Route 53 call acts on, as AWS names it in AccessDenied. */
function route53Resource(path: string): string {
  const m = /^\/2013-04-01\/(hostedzone|change)\/([^/]+)/.exec(path);
  if (m === null) return '*';
  const id = decodeURIComponent(m[2] ?? '').replace(/^\/?(hostedzone|change)\//, '');
  return `arn:aws:route53:::${m[1] ?? ''}/${id}`;
}

export async function createSimServer(opts: SimServerOptions): Promise<SimServer> {
  const { world } = opts;
  const now = opts.now ?? Date.now;
  const random = opts.random ?? Math.random;
  let latency: [number, number] = opts.latencyMs ?? [0, 0];
  const faults = new FaultTable(now);
  const timers = new Set<NodeJS.Timeout>();
  if (opts.instanceStopDelayMs !== undefined) world.ec2.transitionDelayMs = opts.instanceStopDelayMs;

  const delay = (ms: number): Promise<void> =>
    ms <= 0
      ? Promise.resolve()
      : new Promise((resolve) => {
          const t = setTimeout(() => {
            timers.delete(t);
            resolve();
          }, ms);
          timers.add(t);
        });

  /** Answers one AWS call, or returns undefined to never answer (noAnswer, instance off). */
  const aws = async (req: SimRequest): Promise<SimResponse | undefined> => {
    const isRoute53 = req.path.startsWith('/2013-04-01/');
    const params = isRoute53 ? undefined : new URLSearchParams(req.body);
    const action = isRoute53 ? route53Operation(req.method, req.path) : (params?.get('Action') ?? '');
    const requestId = nextRequestId(world.ec2);
    const error = (status: number, code: string, message: string): SimResponse =>
      isRoute53
        ? route53Error(status, code, message, requestId)
        : ec2ErrorResponse(status, code, message, requestId);
    if (!isRoute53 && (req.method !== 'POST' || params?.get('Action') === null)) {
      return error(400, 'InvalidAction', 'The request must be a form POST with an Action parameter.');
    }
    const auth = req.headers['authorization'];
    if (auth === undefined || auth === '') {
      return error(403, 'MissingAuthenticationToken', 'Request is missing Authentication Token');
    }
    if (!SIGV4.test(auth)) {
      return error(
        403,
        'IncompleteSignature',
        `Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters. Authorization=${auth.slice(0, 40)}`,
      );
    }
    const keyId = /Credential=([^/\s]+)\//.exec(auth)?.[1] ?? '';
    const caller = identifyCaller(
      world.iam,
      world.ec2.accountId,
      keyId,
      req.headers['x-amz-security-token'],
      now(),
      (id) => instanceUp(world.ec2, id, now()),
    );
    // The signing instance is powered off: its processes cannot reach AWS at all.
    if (!caller.ok && caller.reason === 'instance-off') return undefined;
    const hit = faults.take(hitsApiCall(action));
    await delay(latency[0] + random() * (latency[1] - latency[0]));
    await delay(hit.filter((f) => f.kind === 'latency').reduce((s, f) => s + (f.latencyMs ?? 0), 0));
    const fault = hit.find((f) => f.kind !== 'latency');
    if (fault?.kind === 'noAnswer') return undefined;
    if (fault?.kind === 'throttle') {
      return isRoute53
        ? error(400, 'Throttling', 'Rate exceeded')
        : error(400, 'RequestLimitExceeded', 'Request limit exceeded.');
    }
    if (fault?.kind === 'error5xx') {
      return error(503, 'Unavailable', 'The service is unavailable. Please try again shortly.');
    }
    if (!caller.ok) {
      return isRoute53
        ? error(403, 'InvalidClientTokenId', 'The security token included in the request is invalid.')
        : error(401, 'AuthFailure', 'AWS was not able to validate the provided access credentials');
    }
    const known = isRoute53 ? /^[A-Z][A-Za-z]+$/.test(action) : EC2_ACTIONS.includes(action);
    if (known && deniedBy(caller.deny, isRoute53 ? 'route53' : 'ec2', action) !== undefined) {
      return isRoute53
        ? error(
            403,
            'AccessDenied',
            `User: ${caller.arn} is not authorized to perform: route53:${action} on resource: ${route53Resource(req.path)}`,
          )
        : error(
            403,
            'UnauthorizedOperation',
            `You are not authorized to perform this operation. User: ${caller.arn} is not authorized to perform: ec2:${action} with an explicit deny in an identity-based policy`,
          );
    }
    return isRoute53
      ? handleRoute53(req, world.route53, now())
      : handleEc2(params ?? new URLSearchParams(), world.ec2, world.region, now());
  };

  const imds = await startImds({
    world,
    host: '127.0.0.1',
    basePort: opts.imdsBasePort ?? 0,
    now,
    takeFaults: (instanceId) => faults.take(hitsImds(instanceId)),
    delay,
  });
  let dns;
  try {
    dns = await startDnsResponder({
      world,
      host: opts.dns?.host ?? '127.0.0.1',
      port: opts.dns?.port ?? 0,
      now,
      takeFaults: () => faults.take(hitsDns),
      delay,
    });
  } catch (err) {
    await imds.close();
    throw err;
  }
  const dnsAddress = { host: dns.host, port: dns.port };
  const setLatency = (minMs: number, maxMs: number): [number, number] => {
    latency = [minMs, maxMs];
    return latency;
  };
  const adminContext = { world, now, faults, setLatency, imds: imds.urls, dns: dnsAddress };

  const handle = async (msg: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const c of msg) chunks.push(c as Buffer);
    const url = new URL(msg.url ?? '/', 'http://sim');
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(msg.headers)) {
      if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
    }
    const req: SimRequest = {
      method: msg.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers,
      body: Buffer.concat(chunks).toString('utf8'),
    };
    let out: SimResponse | undefined;
    try {
      out = req.path.startsWith('/_sim/') ? handleAdmin(req, adminContext) : await aws(req);
    } catch (err) {
      out =
        err instanceof AdminError
          ? json(err.status, { error: { code: err.code, message: err.message } })
          : err instanceof SyntaxError
            ? json(400, { error: { code: 'BadRequest', message: `body is not JSON: ${err.message}` } })
            : json(500, { error: { code: 'InternalError', message: (err as Error).message } });
    }
    if (out === undefined || res.destroyed) return; // no answer: held until close()
    res.writeHead(out.status, { ...out.headers, 'content-length': Buffer.byteLength(out.body) });
    res.end(out.body);
  };

  const server = createServer((msg, res) => {
    handle(msg, res).catch(() => res.destroy());
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, opts.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    await Promise.all([imds.close(), dns.close()]);
    throw err;
  }
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const running = dns;
  return {
    url: `http://${host}:${addr.port}`,
    world,
    imds: imds.urls,
    dns: dnsAddress,
    injectFault: (spec) => faults.inject(spec),
    clearFaults: () => faults.clear(),
    setLatency: (minMs, maxMs) => {
      setLatency(minMs, maxMs);
    },
    setInstanceState: (instanceId, state) => {
      const inst = world.ec2.instances.find((i) => i.id === instanceId);
      if (inst === undefined) throw new Error(`instance ${instanceId} is not in the simulated world`);
      forceInstanceState(inst, state);
    },
    setDenials: (principal, actions) => {
      const p = findPrincipal(world.iam, principal);
      if (p === undefined)
        throw new Error(`no user or role ${principal} in the simulated world's iam: section`);
      p.deny = [...actions];
    },
    close: async () => {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await Promise.all([
        imds.close(),
        running.close(),
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
      ]);
    },
  };
}
