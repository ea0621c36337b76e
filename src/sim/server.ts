/**
 * The simulator's HTTP front end (issue 4 section 5): one endpoint serving the EC2 Query API (a form POST
 * with `Action=`, handled by ec2.ts) and Route 53 (paths under `/2013-04-01/`, handled by route53.ts), as
 * the AWS SDK and CLI address them through `AWS_ENDPOINT_URL`. It adds what a protocol handler cannot:
 * a SigV4-shaped Authorization check, the simulated API latency, fault injection per operation
 * (throttling, 5xx, no answer, added latency; for a count or until a time) and a small admin API under
 * `/_sim/` for changing the world behind the client's back.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { ec2ErrorResponse, esc } from './ec2-xml.ts';
import { handleEc2, nextRequestId, settleInstances } from './ec2.ts';
import type { SimRequest, SimResponse } from './http-types.ts';
import { deleteRecord, handleRoute53, listAll, ROUTE53_NAMESPACE } from './route53.ts';
import type { World } from './world.ts';

export type FaultKind = 'throttle' | 'error5xx' | 'noAnswer' | 'latency';

/** One injected fault. `action` is an EC2 action or Route 53 operation name, or `*` for every call. */
export interface FaultSpec {
  action: string;
  kind: FaultKind;
  /** How many calls it hits; absent means until `untilMs` (or forever when both are absent). */
  count?: number;
  /** Epoch ms after which it no longer applies. */
  untilMs?: number;
  /** Relative alternative to `untilMs`: applies for this many ms from injection. */
  forMs?: number;
  /** Extra delay of a `latency` fault (ms). */
  latencyMs?: number;
}

export const FaultSpecSchema = z.strictObject({
  action: z.string().min(1),
  kind: z.enum(['throttle', 'error5xx', 'noAnswer', 'latency']),
  count: z.number().int().positive().optional(),
  untilMs: z.number().nonnegative().optional(),
  forMs: z.number().nonnegative().optional(),
  latencyMs: z.number().nonnegative().optional(),
});

export interface SimServerOptions {
  world: World;
  host: string;
  port: number;
  /** Uniform random delay per AWS call, [min, max] ms. @default [0, 0] */
  latencyMs?: [number, number];
  /** Clock and randomness, injectable for tests. */
  now?: () => number;
  random?: () => number;
}

export interface SimServer {
  /** `http://HOST:PORT` (the real port when 0 was asked for). */
  url: string;
  world: World;
  injectFault(spec: FaultSpec): void;
  clearFaults(): void;
  setLatency(minMs: number, maxMs: number): void;
  /** Stops listening, drops held (noAnswer) and delayed requests, clears every timer. */
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

function json(status: number, value: unknown): SimResponse {
  return {
    status,
    headers: { 'content-type': 'application/json' },
    body: `${JSON.stringify(value, (_k, v: unknown): unknown => (v instanceof Map ? (Object.fromEntries(v) as unknown) : v), 2)}\n`,
  };
}

const AzBody = z.strictObject({
  name: z.string(),
  state: z.enum(['available', 'impaired', 'information', 'unavailable']),
});
const RouteBody = z.strictObject({ routeTableId: z.string(), destination: z.string(), target: z.string() });
const EipBody = z.strictObject({ allocationId: z.string() });
const LatencyBody = z.strictObject({ min: z.number().nonnegative(), max: z.number().nonnegative() });
const RecordBody = z.strictObject({ zoneId: z.string(), name: z.string(), type: z.string() });

/** A JSON view of the world for `GET /_sim/world` and `tandem sim show`. */
export function worldView(world: World, nowMs: number): unknown {
  settleInstances(world.ec2, nowMs);
  return {
    region: world.region,
    ec2: world.ec2,
    route53: { hostedZones: listAll(world.route53), insyncDelayMs: world.route53.insyncDelayMs },
  };
}

export async function createSimServer(opts: SimServerOptions): Promise<SimServer> {
  const { world } = opts;
  const now = opts.now ?? Date.now;
  const random = opts.random ?? Math.random;
  let latency: [number, number] = opts.latencyMs ?? [0, 0];
  let faults: FaultSpec[] = [];
  const timers = new Set<NodeJS.Timeout>();

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

  /** The faults hitting this call (consuming one of each counted fault). */
  const takeFaults = (action: string): FaultSpec[] => {
    const t = now();
    faults = faults.filter((f) => (f.untilMs === undefined || t < f.untilMs) && f.count !== 0);
    const hit = faults.filter((f) => f.action === '*' || f.action === action);
    for (const f of hit) if (f.count !== undefined) f.count -= 1;
    faults = faults.filter((f) => f.count !== 0);
    return hit;
  };

  const injectFault = (spec: FaultSpec): void => {
    const f: FaultSpec = { ...spec };
    if (f.forMs !== undefined) {
      f.untilMs = now() + f.forMs;
      delete f.forMs;
    }
    faults.push(f);
  };

  const admin = (req: SimRequest): SimResponse => {
    const body = (schema: z.ZodType): unknown => {
      const parsed = schema.safeParse(req.body === '' ? {} : JSON.parse(req.body));
      if (!parsed.success) throw new AdminError(400, 'BadRequest', z.prettifyError(parsed.error));
      return parsed.data;
    };
    const ep = `${req.method} ${req.path}`;
    if (ep === 'GET /_sim/world') return json(200, worldView(world, now()));
    if (ep === 'POST /_sim/az') {
      const b = body(AzBody) as z.infer<typeof AzBody>;
      const az = world.ec2.availabilityZones.find((a) => a.name === b.name);
      if (az === undefined)
        throw new AdminError(404, 'NotFound', `availability zone ${b.name} is not in the world`);
      az.state = b.state;
      return json(200, { ok: true, availabilityZone: az });
    }
    if (ep === 'POST /_sim/route') {
      const b = body(RouteBody) as z.infer<typeof RouteBody>;
      const rt = world.ec2.routeTables.find((r) => r.id === b.routeTableId);
      if (rt === undefined)
        throw new AdminError(404, 'NotFound', `route table ${b.routeTableId} is not in the world`);
      const route = rt.routes.find((r) => r.destination === b.destination);
      if (route !== undefined) route.target = b.target;
      else rt.routes.push({ destination: b.destination, target: b.target });
      return json(200, { ok: true, routeTable: rt });
    }
    if (ep === 'POST /_sim/eip/disassociate') {
      const b = body(EipBody) as z.infer<typeof EipBody>;
      const a = world.ec2.addresses.find((x) => x.allocationId === b.allocationId);
      if (a === undefined)
        throw new AdminError(404, 'NotFound', `allocation ${b.allocationId} is not in the world`);
      delete a.associationId;
      delete a.networkInterfaceId;
      return json(200, { ok: true, address: a });
    }
    if (ep === 'POST /_sim/record/delete') {
      const b = body(RecordBody) as z.infer<typeof RecordBody>;
      if (!deleteRecord(world.route53, b.zoneId, b.name, b.type)) {
        throw new AdminError(404, 'NotFound', `no ${b.type} record ${b.name} in hosted zone ${b.zoneId}`);
      }
      return json(200, { ok: true });
    }
    if (ep === 'POST /_sim/fault') {
      injectFault(body(FaultSpecSchema) as FaultSpec);
      return json(200, { ok: true, faults });
    }
    if (ep === 'DELETE /_sim/fault') {
      faults = [];
      return json(200, { ok: true });
    }
    if (ep === 'POST /_sim/latency') {
      const b = body(LatencyBody) as z.infer<typeof LatencyBody>;
      if (b.max < b.min) throw new AdminError(400, 'BadRequest', 'latency max must be >= min');
      latency = [b.min, b.max];
      return json(200, { ok: true, latencyMs: latency });
    }
    throw new AdminError(404, 'NotFound', `no admin endpoint ${ep}`);
  };

  /** Answers one AWS call, or returns undefined to never answer (noAnswer). */
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
    const hit = takeFaults(action);
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
    return isRoute53
      ? handleRoute53(req, world.route53, now())
      : handleEc2(params ?? new URLSearchParams(), world.ec2, world.region, now());
  };

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
      out = req.path.startsWith('/_sim/') ? admin(req) : await aws(req);
    } catch (err) {
      out =
        err instanceof AdminError
          ? json(err.status, { error: { code: err.code, message: err.message } })
          : err instanceof SyntaxError
            ? json(400, { error: { code: 'BadRequest', message: `body is not JSON: ${err.message}` } })
            : json(500, { error: { code: 'InternalError', message: (err as Error).message } });
    }
    if (out === undefined || res.destroyed) return; // noAnswer: held until close()
    res.writeHead(out.status, { ...out.headers, 'content-length': Buffer.byteLength(out.body) });
    res.end(out.body);
  };

  const server = createServer((msg, res) => {
    handle(msg, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${host}:${addr.port}`,
    world,
    injectFault,
    clearFaults: () => {
      faults = [];
    },
    setLatency: (minMs, maxMs) => {
      latency = [minMs, maxMs];
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

class AdminError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'AdminError';
    this.status = status;
    this.code = code;
  }
}
