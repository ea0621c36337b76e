/**
 * XML renderers of the simulator's EC2 resources (route tables, VPCs, ENIs, instances, Elastic IPs) in the
 * element names and nesting of the real EC2 Query API (2016-11-15), so the AWS SDK's parser fills the same
 * fields it does against AWS. Used by ec2.ts.
 */
import { el, set, wrap } from './ec2-xml.ts';
import type {
  Address,
  Ec2State,
  Instance,
  InstanceStateName,
  NetworkInterface,
  RouteTable,
} from './world.ts';

/** EC2's instance state codes. */
export const STATE_CODES: Record<InstanceStateName, number> = {
  pending: 0,
  running: 16,
  stopping: 64,
  stopped: 80,
};

export function renderRoute(s: Ec2State, r: { destination: string; target: string }): string {
  const t = r.target;
  const eni = t.startsWith('eni-') ? s.networkInterfaces.find((n) => n.id === t) : undefined;
  const inst = eni === undefined ? undefined : s.instances.find((i) => i.id === eni.instanceId);
  const target = t.startsWith('eni-')
    ? el('instanceId', eni?.instanceId) +
      el('instanceOwnerId', eni && s.accountId) +
      el('networkInterfaceId', t)
    : t.startsWith('nat-')
      ? el('natGatewayId', t)
      : el('gatewayId', t);
  const blackhole = t.startsWith('eni-') && (eni === undefined || inst?.state !== 'running');
  return (
    el('destinationCidrBlock', r.destination) +
    target +
    el('state', blackhole ? 'blackhole' : 'active') +
    el('origin', t === 'local' ? 'CreateRouteTable' : 'CreateRoute')
  );
}

export function renderRouteTable(s: Ec2State, rt: RouteTable): string {
  return (
    el('routeTableId', rt.id) +
    el('vpcId', rt.vpcId) +
    el('ownerId', s.accountId) +
    set('routeSet', rt.routes, (r) => renderRoute(s, r)) +
    set(
      'associationSet',
      rt.subnets,
      (sub) =>
        el('routeTableAssociationId', `rtbassoc-${rt.id.slice(4)}${sub.slice(7, 11)}`) +
        el('routeTableId', rt.id) +
        el('subnetId', sub) +
        el('main', false) +
        wrap('associationState', el('state', 'associated')),
    ) +
    wrap('propagatingVgwSet', '') +
    wrap('tagSet', '')
  );
}

export function renderVpc(v: { id: string; cidrBlocks: string[] }, accountId: string): string {
  return (
    el('vpcId', v.id) +
    el('ownerId', accountId) +
    el('state', 'available') +
    el('cidrBlock', v.cidrBlocks[0]) +
    set(
      'cidrBlockAssociationSet',
      v.cidrBlocks,
      (c) =>
        el('cidrBlock', c) +
        el('associationId', `vpc-cidr-assoc-${v.id.slice(4)}${v.cidrBlocks.indexOf(c)}`) +
        wrap('cidrBlockState', el('state', 'associated')),
    ) +
    el('dhcpOptionsId', 'dopt-00000001') +
    el('instanceTenancy', 'default') +
    el('isDefault', false)
  );
}

export function renderEni(s: Ec2State, n: NetworkInterface): string {
  const eip = s.addresses.find((a) => a.networkInterfaceId === n.id);
  const assoc =
    eip === undefined
      ? ''
      : wrap(
          'association',
          el('publicIp', eip.publicIp) +
            el('publicDnsName', '') +
            el('ipOwnerId', s.accountId) +
            el('allocationId', eip.allocationId) +
            el('associationId', eip.associationId),
        );
  return (
    el('networkInterfaceId', n.id) +
    el('subnetId', n.subnetId) +
    el('vpcId', n.vpcId) +
    el('availabilityZone', n.availabilityZone) +
    el('ownerId', s.accountId) +
    el('status', 'in-use') +
    el('privateIpAddress', n.privateIp) +
    el('sourceDestCheck', n.sourceDestCheck) +
    el('interfaceType', 'interface') +
    wrap(
      'attachment',
      el('attachmentId', `eni-attach-${n.id.slice(4)}`) +
        el('instanceId', n.instanceId) +
        el('instanceOwnerId', s.accountId) +
        el('deviceIndex', n.deviceIndex) +
        el('status', 'attached') +
        el('deleteOnTermination', true),
    ) +
    assoc +
    set(
      'privateIpAddressesSet',
      [n.privateIp],
      (ip) => el('privateIpAddress', ip) + el('primary', true) + assoc,
    ) +
    wrap('groupSet', '') +
    wrap('tagSet', '')
  );
}

/** A stable `AIPA…` instance profile id for a role name (EC2 shows one next to the profile's ARN). */
export function instanceProfileId(role: string): string {
  let h = 0x811c9dc5;
  for (const c of role) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return `AIPA${h.toString(36).toUpperCase().padStart(7, '0')}SIM${'0'.repeat(6)}`.slice(0, 21);
}

export function renderInstance(s: Ec2State, i: Instance): string {
  const enis = s.networkInterfaces.filter((n) => n.instanceId === i.id);
  const primary = enis.find((n) => n.deviceIndex === 0);
  return (
    el('instanceId', i.id) +
    el('imageId', 'ami-00000001') +
    wrap('instanceState', el('code', STATE_CODES[i.state]) + el('name', i.state)) +
    el('privateIpAddress', primary?.privateIp) +
    el('instanceType', 't3.micro') +
    wrap('placement', el('availabilityZone', i.availabilityZone) + el('tenancy', 'default')) +
    el('subnetId', i.subnetId) +
    el('vpcId', i.vpcId) +
    el('sourceDestCheck', primary?.sourceDestCheck) +
    (i.iamRole === undefined
      ? ''
      : wrap(
          'iamInstanceProfile',
          el('arn', `arn:aws:iam::${s.accountId}:instance-profile/${i.iamRole}`) +
            el('id', instanceProfileId(i.iamRole)),
        )) +
    set('networkInterfaceSet', enis, (n) => renderEni(s, n)) +
    wrap('tagSet', '')
  );
}

export function renderAddress(s: Ec2State, a: Address): string {
  const eni =
    a.networkInterfaceId === undefined
      ? undefined
      : s.networkInterfaces.find((n) => n.id === a.networkInterfaceId);
  return (
    el('publicIp', a.publicIp) +
    el('allocationId', a.allocationId) +
    el('domain', 'vpc') +
    el('associationId', a.associationId) +
    el('instanceId', eni?.instanceId) +
    el('networkInterfaceId', a.networkInterfaceId) +
    el('networkInterfaceOwnerId', eni && s.accountId) +
    el('privateIpAddress', eni?.privateIp) +
    el('publicIpv4Pool', 'amazon') +
    el('networkBorderGroup', s.availabilityZones[0]?.name.replace(/[a-z]$/, '')) +
    wrap('tagSet', '')
  );
}
