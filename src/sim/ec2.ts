/**
 * The simulator's EC2 Query API (Version 2016-11-15; issue 4 section 5): the operations Tandem's drivers
 * and `tandem doctor` use, answered from the world's `Ec2State` with AWS's real response shapes, error
 * codes and messages, so the unmodified AWS SDK (or AWS CLI) parses them. A pure function of the form
 * parameters, the state it mutates and the current time; the HTTP front end lives in server.ts.
 */
import { renderAddress, renderEni, renderInstance, renderRouteTable, renderVpc } from './ec2-render.ts';
import { changeInstances, rebootInstances, settleInstances } from './ec2-instances.ts';
import { applyFilters, bool, byIds, dryRunOk, listParam, notFound, required } from './ec2-params.ts';
import { Ec2Fault, ec2ErrorResponse, el, ok, set, wrap } from './ec2-xml.ts';
import type { SimResponse } from './http-types.ts';
import type { Ec2State, NetworkInterface, RouteTable, Vpc } from './world.ts';
import { parseCidr } from './world.ts';

export { settleInstances } from './ec2-instances.ts';

/** A new request id, UUID-shaped as AWS's are. */
export function nextRequestId(state: Ec2State): string {
  const n = state.nextSeq++;
  return `5e1a0000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}

function findEni(s: Ec2State, id: string): NetworkInterface {
  const eni = s.networkInterfaces.find((n) => n.id === id);
  if (eni === undefined) throw notFound('NetworkInterface', 'networkInterface', id);
  return eni;
}

function findRouteTable(s: Ec2State, id: string): RouteTable {
  const rt = s.routeTables.find((r) => r.id === id);
  if (rt === undefined) throw notFound('RouteTable', 'routeTable', id);
  return rt;
}

/** The route target the request names (exactly one of the target parameters). */
function routeTarget(s: Ec2State, p: URLSearchParams): string {
  const eni = p.get('NetworkInterfaceId');
  if (eni !== null) return findEni(s, eni).id;
  const inst = p.get('InstanceId');
  if (inst !== null) {
    const n = s.networkInterfaces.find((x) => x.instanceId === inst && x.deviceIndex === 0);
    if (n === undefined) throw notFound('Instance', 'instance', inst);
    return n.id;
  }
  const gw = p.get('GatewayId') ?? p.get('NatGatewayId');
  if (gw !== null) return gw;
  throw new Ec2Fault('InvalidParameterCombination', 'No route target specified.');
}

function describeRouteTables(s: Ec2State, p: URLSearchParams): string {
  const ids = listParam(p, 'RouteTableId');
  const tables = applyFilters(
    p,
    byIds(s.routeTables, ids, (r) => r.id, 'RouteTable', 'routeTable'),
    (r) => ({
      'vpc-id': [r.vpcId],
      'route-table-id': [r.id],
      'route.destination-cidr-block': r.routes.map((x) => x.destination),
      'route.network-interface-id': r.routes.map((x) => x.target),
      'association.subnet-id': r.subnets,
    }),
  );
  return set('routeTableSet', tables, (rt) => renderRouteTable(s, rt));
}

function replaceOrCreateRoute(s: Ec2State, p: URLSearchParams, create: boolean, dryRun: boolean): string {
  const rt = findRouteTable(s, required(p, 'RouteTableId'));
  const dest = required(p, 'DestinationCidrBlock');
  if (parseCidr(dest) === undefined) {
    throw new Ec2Fault(
      'InvalidParameterValue',
      `Value (${dest}) for parameter destinationCidrBlock is invalid.`,
    );
  }
  const target = routeTarget(s, p);
  const existing = rt.routes.find((r) => r.destination === dest);
  if (create && existing !== undefined) {
    throw new Ec2Fault('RouteAlreadyExists', `The route identified by ${dest} already exists.`);
  }
  if (!create && existing === undefined) {
    throw new Ec2Fault(
      'InvalidRoute.NotFound',
      `There is no route defined for '${dest}' in the route table. Use CreateRoute instead.`,
    );
  }
  if (existing?.target === 'local') {
    throw new Ec2Fault('InvalidParameterValue', `Cannot replace the local route ${dest} of ${rt.id}.`);
  }
  if (target.startsWith('eni-') && findEni(s, target).vpcId !== rt.vpcId) {
    throw new Ec2Fault(
      'InvalidParameterValue',
      `route table ${rt.id} and network interface ${target} belong to different networks`,
    );
  }
  if (dryRun) throw dryRunOk();
  if (existing !== undefined) existing.target = target;
  else rt.routes.push({ destination: dest, target });
  return el('return', true);
}

function associateAddress(s: Ec2State, p: URLSearchParams, dryRun: boolean): string {
  const allocId = required(p, 'AllocationId');
  const a = s.addresses.find((x) => x.allocationId === allocId);
  if (a === undefined) throw notFound('Allocation', 'allocation', allocId);
  const eniId = p.get('NetworkInterfaceId');
  const instId = p.get('InstanceId');
  let eni: NetworkInterface;
  if (eniId !== null) eni = findEni(s, eniId);
  else if (instId !== null) {
    const n = s.networkInterfaces.find((x) => x.instanceId === instId && x.deviceIndex === 0);
    if (n === undefined) throw notFound('Instance', 'instance', instId);
    eni = n;
  } else {
    throw new Ec2Fault(
      'MissingParameter',
      'Either an instance ID or a network interface ID must be specified.',
    );
  }
  if (a.associationId !== undefined && a.networkInterfaceId !== eni.id && !bool(p, 'AllowReassociation')) {
    throw new Ec2Fault(
      'Resource.AlreadyAssociated',
      `resource ${a.allocationId} is already associated with associate-id ${a.associationId}`,
    );
  }
  if (dryRun) throw dryRunOk();
  // An ENI holds one EIP on its primary address: the one it had is disassociated.
  for (const other of s.addresses) {
    if (other !== a && other.networkInterfaceId === eni.id) {
      delete other.associationId;
      delete other.networkInterfaceId;
    }
  }
  a.associationId = `eipassoc-${String(s.nextSeq++).padStart(8, '0')}`;
  a.networkInterfaceId = eni.id;
  return el('return', true) + el('associationId', a.associationId);
}

function disassociateAddress(s: Ec2State, p: URLSearchParams, dryRun: boolean): string {
  const assocId = p.get('AssociationId');
  const publicIp = p.get('PublicIp');
  const a =
    assocId !== null
      ? s.addresses.find((x) => x.associationId === assocId)
      : publicIp !== null
        ? s.addresses.find((x) => x.publicIp === publicIp && x.associationId !== undefined)
        : undefined;
  if (a === undefined) {
    if (assocId === null && publicIp === null) {
      throw new Ec2Fault('MissingParameter', 'The request must contain the parameter AssociationId');
    }
    throw assocId !== null
      ? notFound('Association', 'association', assocId)
      : new Ec2Fault('InvalidAddress.NotFound', `Address '${publicIp ?? ''}' not found.`);
  }
  if (dryRun) throw dryRunOk();
  delete a.associationId;
  delete a.networkInterfaceId;
  return el('return', true);
}

type Handler = (s: Ec2State, p: URLSearchParams, nowMs: number, dryRun: boolean, region: string) => string;

const HANDLERS: Record<string, Handler> = {
  DescribeRouteTables: (s, p) => describeRouteTables(s, p),
  ReplaceRoute: (s, p, _n, d) => replaceOrCreateRoute(s, p, false, d),
  CreateRoute: (s, p, _n, d) => replaceOrCreateRoute(s, p, true, d),
  DescribeVpcs: (s, p) => {
    const vpcs = byIds(s.vpcs, listParam(p, 'VpcId'), (v) => v.id, 'Vpc', 'vpc');
    const out = applyFilters(p, vpcs, (v) => ({
      'vpc-id': [v.id],
      'cidr-block': v.cidrBlocks,
      state: ['available'],
    }));
    return set('vpcSet', out, (v) => renderVpc(v, s.accountId));
  },
  DescribeSubnets: (s, p) => {
    const subs = byIds(s.subnets, listParam(p, 'SubnetId'), (x) => x.id, 'Subnet', 'subnet');
    const out = applyFilters(p, subs, (x) => ({
      'vpc-id': [x.vpcId],
      'subnet-id': [x.id],
      'availability-zone': [x.availabilityZone],
      'cidr-block': [x.cidr],
    }));
    return set(
      'subnetSet',
      out,
      (x) =>
        el('subnetId', x.id) +
        el('state', 'available') +
        el('vpcId', x.vpcId) +
        el('cidrBlock', x.cidr) +
        el('availableIpAddressCount', 2 ** (32 - (parseCidr(x.cidr)?.prefix ?? 32)) - 5) +
        el('availabilityZone', x.availabilityZone) +
        el('availabilityZoneId', s.availabilityZones.find((a) => a.name === x.availabilityZone)?.zoneId) +
        el('defaultForAz', false) +
        el('mapPublicIpOnLaunch', false) +
        el('ownerId', s.accountId),
    );
  },
  DescribeInstances: (s, p) => {
    const insts = byIds(s.instances, listParam(p, 'InstanceId'), (i) => i.id, 'Instance', 'instance');
    const out = applyFilters(p, insts, (i) => ({
      'instance-id': [i.id],
      'instance-state-name': [i.state],
      'availability-zone': [i.availabilityZone],
      'vpc-id': [i.vpcId],
      'subnet-id': [i.subnetId],
      'network-interface.network-interface-id': s.networkInterfaces
        .filter((n) => n.instanceId === i.id)
        .map((n) => n.id),
    }));
    return set(
      'reservationSet',
      out,
      (i) =>
        el('reservationId', `r-${i.id.slice(2)}`) +
        el('ownerId', s.accountId) +
        wrap('groupSet', '') +
        set('instancesSet', [i], (x) => renderInstance(s, x)),
    );
  },
  DescribeNetworkInterfaces: (s, p) => {
    const ids = listParam(p, 'NetworkInterfaceId');
    const enis = byIds(s.networkInterfaces, ids, (n) => n.id, 'NetworkInterface', 'networkInterface');
    const out = applyFilters(p, enis, (n) => ({
      'network-interface-id': [n.id],
      'vpc-id': [n.vpcId],
      'subnet-id': [n.subnetId],
      'attachment.instance-id': [n.instanceId],
      'availability-zone': [n.availabilityZone],
      'private-ip-address': [n.privateIp],
      'addresses.private-ip-address': [n.privateIp],
    }));
    return set('networkInterfaceSet', out, (n) => renderEni(s, n));
  },
  ModifyNetworkInterfaceAttribute: (s, p, _n, d) => {
    const eni = findEni(s, required(p, 'NetworkInterfaceId'));
    const v = p.get('SourceDestCheck.Value');
    if (v === null)
      throw new Ec2Fault('MissingParameter', 'The request must contain exactly one attribute to modify');
    if (d) throw dryRunOk();
    eni.sourceDestCheck = v.toLowerCase() === 'true';
    return el('return', true);
  },
  DescribeAddresses: (s, p) => {
    let addrs = byIds(
      s.addresses,
      listParam(p, 'AllocationId'),
      (a) => a.allocationId,
      'Allocation',
      'allocation',
    );
    const ips = listParam(p, 'PublicIp');
    if (ips.length > 0) {
      addrs = ips.map((ip) => {
        const a = s.addresses.find((x) => x.publicIp === ip);
        if (a === undefined) throw new Ec2Fault('InvalidAddress.NotFound', `Address '${ip}' not found.`);
        return a;
      });
    }
    const out = applyFilters(p, addrs, (a) => ({
      'allocation-id': [a.allocationId],
      'public-ip': [a.publicIp],
      'association-id': a.associationId === undefined ? [] : [a.associationId],
      'network-interface-id': a.networkInterfaceId === undefined ? [] : [a.networkInterfaceId],
      domain: ['vpc'],
    }));
    return set('addressesSet', out, (a) => renderAddress(s, a));
  },
  AssociateAddress: (s, p, _n, d) => associateAddress(s, p, d),
  DisassociateAddress: (s, p, _n, d) => disassociateAddress(s, p, d),
  DescribeAvailabilityZones: (s, p, _n, _d, region) => {
    const names = listParam(p, 'ZoneName');
    const zones =
      names.length === 0
        ? s.availabilityZones
        : names.map((n) => {
            const z = s.availabilityZones.find((a) => a.name === n);
            if (z === undefined)
              throw new Ec2Fault('InvalidParameterValue', `Invalid availability zone: [${n}]`);
            return z;
          });
    const out = applyFilters(p, zones, (z) => ({
      'zone-name': [z.name],
      'zone-id': [z.zoneId],
      state: [z.state],
      'region-name': [region],
    }));
    return set(
      'availabilityZoneInfo',
      out,
      (z) =>
        el('zoneName', z.name) +
        el('zoneState', z.state) +
        el('regionName', region) +
        el('zoneId', z.zoneId) +
        el('zoneType', 'availability-zone') +
        el('groupName', region) +
        el('networkBorderGroup', region) +
        el('optInStatus', 'opt-in-not-required') +
        wrap('messageSet', ''),
    );
  },
  StopInstances: (s, p, now, d) => changeInstances(s, p, 'stopped', now, d),
  StartInstances: (s, p, now, d) => changeInstances(s, p, 'running', now, d),
  RebootInstances: (s, p, now, d) => rebootInstances(s, p, now, d),
  DescribeVpcAttribute: (s, p) => {
    const vpc = findVpc(s, required(p, 'VpcId'));
    const attr = vpcAttribute(required(p, 'Attribute'));
    return el('vpcId', vpc.id) + wrap(attr, el('value', vpc[attr]));
  },
  ModifyVpcAttribute: (s, p, _n, d) => {
    const vpc = findVpc(s, required(p, 'VpcId'));
    const given = VPC_ATTRIBUTES.filter((a) => p.get(`${a.param}.Value`) !== null);
    const attr = given[0];
    if (attr === undefined || given.length > 1) {
      throw new Ec2Fault('InvalidParameterCombination', 'Exactly one attribute must be specified.');
    }
    const value = bool(p, `${attr.param}.Value`);
    if (attr.name === 'enableDnsHostnames' && value && !vpc.enableDnsSupport) {
      throw new Ec2Fault(
        'InvalidParameterValue',
        'enableDnsHostnames cannot be enabled unless enableDnsSupport is enabled on the VPC.',
      );
    }
    if (d) throw dryRunOk();
    vpc[attr.name] = value;
    return el('return', true);
  },
};

const VPC_ATTRIBUTES = [
  { name: 'enableDnsSupport', param: 'EnableDnsSupport' },
  { name: 'enableDnsHostnames', param: 'EnableDnsHostnames' },
] as const;

function findVpc(s: Ec2State, id: string): Vpc {
  const vpc = s.vpcs.find((v) => v.id === id);
  if (vpc === undefined) throw notFound('Vpc', 'vpc', id);
  return vpc;
}

/** The DescribeVpcAttribute attributes the simulator knows; others are AWS's InvalidParameterValue. */
function vpcAttribute(name: string): 'enableDnsSupport' | 'enableDnsHostnames' {
  if (name === 'enableDnsSupport' || name === 'enableDnsHostnames') return name;
  throw new Ec2Fault(
    'InvalidParameterValue',
    `Value (${name}) for parameter attribute is invalid. Unknown attribute.`,
  );
}

/** The EC2 actions the simulator implements. */
export const EC2_ACTIONS: readonly string[] = Object.keys(HANDLERS);

/**
 * Answers one EC2 Query request (the decoded form body). Mutating actions honour `DryRun=true` by
 * validating and then answering `DryRunOperation` (HTTP 412) without changing anything.
 */
export function handleEc2(
  params: URLSearchParams,
  state: Ec2State,
  region: string,
  nowMs: number,
): SimResponse {
  const requestId = nextRequestId(state);
  const action = params.get('Action') ?? '';
  const handler = HANDLERS[action];
  if (handler === undefined) {
    return ec2ErrorResponse(
      400,
      'InvalidAction',
      `The action ${action} is not valid for this web service.`,
      requestId,
    );
  }
  settleInstances(state, nowMs);
  try {
    const dryRun = bool(params, 'DryRun');
    const inner = handler(state, params, nowMs, dryRun, region);
    // Mutating handlers refuse before changing anything; a Describe* with DryRun is answered here.
    if (dryRun) throw dryRunOk();
    return ok(action, requestId, inner);
  } catch (err) {
    if (err instanceof Ec2Fault) return ec2ErrorResponse(err.status, err.code, err.message, requestId);
    throw err;
  }
}
