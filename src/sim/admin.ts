/**
 * The simulator's admin API under `/_sim/` (issue 4 section 5, "state inspectable and changeable while
 * running"): JSON endpoints that change the world behind the clients' back, the way an operator with the
 * console (or a failure) would, and the JSON view `tandem sim show` prints.
 *
 * | endpoint                       | body                                                           |
 * | ------------------------------ | -------------------------------------------------------------- |
 * | `GET /_sim/world`              | (none) -> the world, instances with state and IMDS URL, IAM principals (no secrets), DNS address |
 * | `POST /_sim/az`                | `{ name, state }` (available, impaired, information, unavailable) |
 * | `POST /_sim/route`             | `{ routeTableId, destination, target }` (rewrite or add a route) |
 * | `POST /_sim/eip/disassociate`  | `{ allocationId }`                                              |
 * | `POST /_sim/record/delete`     | `{ zoneId, name, type }`                                        |
 * | `POST /_sim/instance`          | `{ instanceId, state?, hangsOnStop? }` (state running/stopped, at once) |
 * | `POST /_sim/iam/deny`          | `{ principal, actions }` (user name or key id, or role name; replaces its denials) |
 * | `POST /_sim/route53`           | `{ insyncDelayMs }` (how long later changes stay PENDING)       |
 * | `POST /_sim/fault`             | a `FaultSpec` (faults.ts); `DELETE /_sim/fault` clears them     |
 * | `POST /_sim/latency`           | `{ min, max }` (ms per AWS API call)                            |
 *
 * Refusals are `{ error: { code, message } }` with 400 (bad body), 404 (unknown object) or 409 (not
 * applicable to this world).
 */
import { z } from 'zod';
import { forceInstanceState, settleInstances } from './ec2-instances.ts';
import { FaultSpecSchema } from './faults.ts';
import type { FaultSpec, FaultTable } from './faults.ts';
import type { SimRequest, SimResponse } from './http-types.ts';
import { findPrincipal, iamView, isActionPattern } from './iam.ts';
import type { IamView } from './iam.ts';
import { deleteRecord, listAll } from './route53.ts';
import type { HostedZoneView } from './route53.ts';
import type { Ec2State, InstanceStateName, World } from './world.ts';

/** What `GET /_sim/world` answers. */
export interface WorldView {
  region: string;
  /** Instances with their state and the URL of their IMDS, in world order. */
  instances: Array<{
    id: string;
    availabilityZone: string;
    state: InstanceStateName;
    iamRole: string | null;
    imds: string | null;
  }>;
  ec2: Ec2State;
  route53: { hostedZones: HostedZoneView[]; insyncDelayMs: number };
  iam: IamView;
  /** instance id -> IMDS URL. */
  imds: Record<string, string>;
  /** The DNS responder's UDP address, or null when not running. */
  dns: { host: string; port: number } | null;
}

/** A JSON view of the world for `GET /_sim/world` and `tandem sim show` (no secrets). */
export function worldView(
  world: World,
  nowMs: number,
  endpoints: { imds?: Record<string, string>; dns?: { host: string; port: number } } = {},
): WorldView {
  settleInstances(world.ec2, nowMs);
  const imds = endpoints.imds ?? {};
  return {
    region: world.region,
    instances: world.ec2.instances.map((i) => ({
      id: i.id,
      availabilityZone: i.availabilityZone,
      state: i.state,
      iamRole: i.iamRole ?? null,
      imds: imds[i.id] ?? null,
    })),
    ec2: world.ec2,
    route53: { hostedZones: listAll(world.route53), insyncDelayMs: world.route53.insyncDelayMs },
    iam: iamView(world.iam, world.ec2.instances),
    imds,
    dns: endpoints.dns ?? null,
  };
}

export class AdminError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'AdminError';
    this.status = status;
    this.code = code;
  }
}

export function json(status: number, value: unknown): SimResponse {
  return {
    status,
    headers: { 'content-type': 'application/json' },
    body: `${JSON.stringify(value, (_k, v: unknown): unknown => (v instanceof Map ? (Object.fromEntries(v) as unknown) : v), 2)}\n`,
  };
}

/** What the admin API changes besides the world. */
export interface AdminContext {
  world: World;
  now: () => number;
  faults: FaultTable;
  setLatency(minMs: number, maxMs: number): [number, number];
  imds: Record<string, string>;
  dns: { host: string; port: number };
}

const AzBody = z.strictObject({
  name: z.string(),
  state: z.enum(['available', 'impaired', 'information', 'unavailable']),
});
const RouteBody = z.strictObject({ routeTableId: z.string(), destination: z.string(), target: z.string() });
const EipBody = z.strictObject({ allocationId: z.string() });
const LatencyBody = z.strictObject({ min: z.number().nonnegative(), max: z.number().nonnegative() });
const RecordBody = z.strictObject({ zoneId: z.string(), name: z.string(), type: z.string() });
const InstanceBody = z
  .strictObject({
    instanceId: z.string(),
    state: z.enum(['running', 'stopped']).optional(),
    hangsOnStop: z.boolean().optional(),
  })
  .refine((b) => b.state !== undefined || b.hangsOnStop !== undefined, 'give state and/or hangsOnStop');
const DenyBody = z.strictObject({
  principal: z.string().min(1),
  actions: z
    .array(z.string())
    .refine(
      (a) => a.every(isActionPattern),
      'each action is a pattern such as ec2:ReplaceRoute, route53:* or *',
    ),
});
const Route53Body = z.strictObject({ insyncDelayMs: z.number().int().nonnegative() });

/** Answers one `/_sim/` request; refusals are thrown as `AdminError` (server.ts renders them). */
export function handleAdmin(req: SimRequest, ctx: AdminContext): SimResponse {
  const { world } = ctx;
  const body = <S extends z.ZodType>(schema: S): z.infer<S> => {
    const parsed = schema.safeParse(req.body === '' ? {} : JSON.parse(req.body));
    if (!parsed.success) throw new AdminError(400, 'BadRequest', z.prettifyError(parsed.error));
    return parsed.data;
  };
  const ep = `${req.method} ${req.path}`;
  if (ep === 'GET /_sim/world')
    return json(200, worldView(world, ctx.now(), { imds: ctx.imds, dns: ctx.dns }));
  if (ep === 'POST /_sim/az') {
    const b = body(AzBody);
    const az = world.ec2.availabilityZones.find((a) => a.name === b.name);
    if (az === undefined)
      throw new AdminError(404, 'NotFound', `availability zone ${b.name} is not in the world`);
    az.state = b.state;
    return json(200, { ok: true, availabilityZone: az });
  }
  if (ep === 'POST /_sim/route') {
    const b = body(RouteBody);
    const rt = world.ec2.routeTables.find((r) => r.id === b.routeTableId);
    if (rt === undefined)
      throw new AdminError(404, 'NotFound', `route table ${b.routeTableId} is not in the world`);
    const route = rt.routes.find((r) => r.destination === b.destination);
    if (route !== undefined) route.target = b.target;
    else rt.routes.push({ destination: b.destination, target: b.target });
    return json(200, { ok: true, routeTable: rt });
  }
  if (ep === 'POST /_sim/eip/disassociate') {
    const b = body(EipBody);
    const a = world.ec2.addresses.find((x) => x.allocationId === b.allocationId);
    if (a === undefined)
      throw new AdminError(404, 'NotFound', `allocation ${b.allocationId} is not in the world`);
    delete a.associationId;
    delete a.networkInterfaceId;
    return json(200, { ok: true, address: a });
  }
  if (ep === 'POST /_sim/record/delete') {
    const b = body(RecordBody);
    if (!deleteRecord(world.route53, b.zoneId, b.name, b.type)) {
      throw new AdminError(404, 'NotFound', `no ${b.type} record ${b.name} in hosted zone ${b.zoneId}`);
    }
    return json(200, { ok: true });
  }
  if (ep === 'POST /_sim/instance') {
    const b = body(InstanceBody);
    const inst = world.ec2.instances.find((i) => i.id === b.instanceId);
    if (inst === undefined) {
      throw new AdminError(
        404,
        'NotFound',
        `instance ${b.instanceId} is not in the world (${world.ec2.instances.map((i) => i.id).join(', ')})`,
      );
    }
    if (b.state !== undefined) forceInstanceState(inst, b.state);
    if (b.hangsOnStop !== undefined) inst.hangsOnStop = b.hangsOnStop;
    return json(200, { ok: true, instance: inst });
  }
  if (ep === 'POST /_sim/iam/deny') {
    const b = body(DenyBody);
    if (!world.iam.enforced) {
      throw new AdminError(
        409,
        'NoIam',
        'the world has no iam: section, so every well-formed request is accepted and nothing can be denied; add an iam: section to the world file',
      );
    }
    const p = findPrincipal(world.iam, b.principal);
    if (p === undefined) {
      const names = [...world.iam.users.map((u) => u.name), ...world.iam.roles.map((r) => r.name)];
      throw new AdminError(
        404,
        'NotFound',
        `no user or role ${b.principal} in the world's iam: section (${names.join(', ')})`,
      );
    }
    p.deny = [...b.actions];
    return json(200, { ok: true, iam: iamView(world.iam, world.ec2.instances) });
  }
  if (ep === 'POST /_sim/route53') {
    world.route53.insyncDelayMs = body(Route53Body).insyncDelayMs;
    return json(200, { ok: true, insyncDelayMs: world.route53.insyncDelayMs });
  }
  if (ep === 'POST /_sim/fault') {
    ctx.faults.inject(body(FaultSpecSchema) as FaultSpec);
    return json(200, { ok: true, faults: ctx.faults.list() });
  }
  if (ep === 'DELETE /_sim/fault') {
    ctx.faults.clear();
    return json(200, { ok: true });
  }
  if (ep === 'POST /_sim/latency') {
    const b = body(LatencyBody);
    if (b.max < b.min) throw new AdminError(400, 'BadRequest', 'latency max must be >= min');
    return json(200, { ok: true, latencyMs: ctx.setLatency(b.min, b.max) });
  }
  throw new AdminError(404, 'NotFound', `no admin endpoint ${ep}`);
}
