/**
 * The EC2 operations of the access layer (`Ec2Ops` in types.ts; issue 4 sections 1-4 and 6): thin
 * translations between the drivers' vocabulary and the SDK's commands. Each op is one `run` (deadline,
 * retries, error kinds: call.ts). Where AWS answers "nothing" rather than an error for an id that does not
 * exist (an empty filter result), the op answers the error AWS gives for a direct lookup
 * (`InvalidVpcID.NotFound`, ...), so the drivers see one shape for "no such object".
 */
import {
  AssociateAddressCommand,
  DescribeAddressesCommand,
  DescribeAvailabilityZonesCommand,
  DescribeInstancesCommand,
  DescribeNetworkInterfacesCommand,
  DescribeRouteTablesCommand,
  DescribeVpcAttributeCommand,
  DescribeVpcsCommand,
  DisassociateAddressCommand,
  RebootInstancesCommand,
  ReplaceRouteCommand,
  StopInstancesCommand,
} from '@aws-sdk/client-ec2';
import type {
  AssociateAddressCommandInput,
  DescribeAddressesCommandInput,
  DescribeAvailabilityZonesCommandInput,
  DescribeInstancesCommandInput,
  DescribeNetworkInterfacesCommandInput,
  DescribeRouteTablesCommandInput,
  DisassociateAddressCommandInput,
  EC2Client,
  RebootInstancesCommandInput,
  ReplaceRouteCommandInput,
  Route,
  RouteTable,
  StopInstancesCommandInput,
} from '@aws-sdk/client-ec2';
import type { Runner } from './call.ts';
import { AwsCallError } from './errors.ts';
import type { Ec2DryRunOperation, Ec2Ops } from './types.ts';

/** The `answered` error AWS gives for a direct lookup of an id that does not exist. */
function notFound(operation: string, code: string, kind: string, id: string): AwsCallError {
  return new AwsCallError({
    kind: 'answered',
    service: 'ec2',
    operation,
    awsCode: `Invalid${code}ID.NotFound`,
    httpStatus: 400,
    awsMessage: `The ${kind} ID '${id}' does not exist`,
  });
}

/** An answer that lacks what the op needs: AWS (or the endpoint) answered something unusable. */
function unusable(operation: string, what: string): AwsCallError {
  return new AwsCallError({
    kind: 'answered',
    service: 'ec2',
    operation,
    awsMessage: `the answer has no ${what}`,
  });
}

/** What a route points at: ENI first (an ENI route also names its instance), then the gateways. */
export function routeTarget(r: Route): string | null {
  return (
    r.NetworkInterfaceId ??
    r.GatewayId ??
    r.NatGatewayId ??
    r.InstanceId ??
    r.TransitGatewayId ??
    r.VpcPeeringConnectionId ??
    r.LocalGatewayId ??
    r.CarrierGatewayId ??
    r.EgressOnlyInternetGatewayId ??
    r.CoreNetworkArn ??
    null
  );
}

/** Query parameters of each DryRun operation that are lists (`InstanceId.1` -> `InstanceIds`). */
const LIST_PARAMS: Record<Ec2DryRunOperation, readonly string[]> = {
  ReplaceRoute: [],
  AssociateAddress: [],
  DisassociateAddress: [],
  StopInstances: ['InstanceId'],
  RebootInstances: ['InstanceId'],
  DescribeRouteTables: ['RouteTableId'],
  DescribeAddresses: ['AllocationId', 'PublicIp'],
  DescribeAvailabilityZones: ['ZoneName', 'ZoneId'],
  DescribeInstances: ['InstanceId'],
  DescribeNetworkInterfaces: ['NetworkInterfaceId'],
};
const BOOLEAN_PARAMS = new Set(['AllowReassociation', 'Force', 'Hibernate', 'AllAvailabilityZones']);

/**
 * EC2 Query parameters (`{ InstanceId.1: 'i-1', Force: 'true', Filter.1.Name: 'vpc-id', Filter.1.Value.1:
 * 'vpc-1' }`) as the SDK's input (`{ InstanceIds: ['i-1'], Force: true, Filters: [...] }`). A list
 * parameter may also be given bare (`InstanceId`).
 */
export function queryToInput(
  op: Ec2DryRunOperation,
  params: Record<string, string>,
): Record<string, unknown> {
  const lists = LIST_PARAMS[op];
  const out: Record<string, unknown> = {};
  const listed = new Map<string, Array<[number, string]>>();
  const filters = new Map<number, { name?: string; values: Array<[number, string]> }>();
  for (const [key, value] of Object.entries(params)) {
    const f = /^Filter\.(\d+)\.(Name|Value\.(\d+))$/.exec(key);
    if (f) {
      const n = Number(f[1]);
      const entry = filters.get(n) ?? { values: [] };
      if (f[2] === 'Name') entry.name = value;
      else entry.values.push([Number(f[3]), value]);
      filters.set(n, entry);
      continue;
    }
    const m = /^([A-Za-z]+)(?:\.(\d+))?$/.exec(key);
    const base = m?.[1];
    if (base !== undefined && lists.includes(base)) {
      listed.set(base, [...(listed.get(base) ?? []), [Number(m?.[2] ?? 0), value]]);
    } else if (BOOLEAN_PARAMS.has(key)) {
      out[key] = value.toLowerCase() === 'true';
    } else {
      out[key] = value;
    }
  }
  const ordered = (xs: Array<[number, string]>): string[] => xs.sort((a, b) => a[0] - b[0]).map((x) => x[1]);
  for (const [base, xs] of listed) out[`${base}s`] = ordered(xs);
  if (filters.size > 0) {
    out['Filters'] = [...filters.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([, e]) => ({ Name: e.name, Values: ordered(e.values) }));
  }
  return out;
}

/** Sends `op` with DryRun=true. */
function sendDryRun(
  client: EC2Client,
  op: Ec2DryRunOperation,
  input: Record<string, unknown>,
  abortSignal: AbortSignal,
): Promise<unknown> {
  const i = { ...input, DryRun: true };
  const opts = { abortSignal };
  switch (op) {
    case 'ReplaceRoute':
      return client.send(new ReplaceRouteCommand(i as ReplaceRouteCommandInput), opts);
    case 'AssociateAddress':
      return client.send(new AssociateAddressCommand(i as AssociateAddressCommandInput), opts);
    case 'DisassociateAddress':
      return client.send(new DisassociateAddressCommand(i as DisassociateAddressCommandInput), opts);
    case 'StopInstances':
      return client.send(new StopInstancesCommand(i as StopInstancesCommandInput), opts);
    case 'RebootInstances':
      return client.send(new RebootInstancesCommand(i as RebootInstancesCommandInput), opts);
    case 'DescribeRouteTables':
      return client.send(new DescribeRouteTablesCommand(i as DescribeRouteTablesCommandInput), opts);
    case 'DescribeAddresses':
      return client.send(new DescribeAddressesCommand(i as DescribeAddressesCommandInput), opts);
    case 'DescribeAvailabilityZones':
      return client.send(
        new DescribeAvailabilityZonesCommand(i as DescribeAvailabilityZonesCommandInput),
        opts,
      );
    case 'DescribeInstances':
      return client.send(new DescribeInstancesCommand(i as DescribeInstancesCommandInput), opts);
    case 'DescribeNetworkInterfaces':
      return client.send(
        new DescribeNetworkInterfacesCommand(i as DescribeNetworkInterfacesCommandInput),
        opts,
      );
  }
}

export function createEc2Ops(run: Runner<EC2Client>): Ec2Ops {
  const vpcCidrs: Ec2Ops['vpcCidrs'] = (vpcId, o) =>
    run('DescribeVpcs', o, async (c, abortSignal) => {
      const out = await c.send(new DescribeVpcsCommand({ VpcIds: [vpcId] }), { abortSignal });
      const vpc = out.Vpcs?.find((v) => v.VpcId === vpcId);
      if (vpc === undefined) throw notFound('DescribeVpcs', 'Vpc', 'vpc', vpcId);
      const associated = (vpc.CidrBlockAssociationSet ?? [])
        .filter((a) => a.CidrBlockState?.State === undefined || a.CidrBlockState.State === 'associated')
        .map((a) => a.CidrBlock)
        .filter((c): c is string => c !== undefined);
      if (associated.length > 0) return associated;
      if (vpc.CidrBlock !== undefined) return [vpc.CidrBlock];
      throw unusable('DescribeVpcs', `CIDR block for ${vpcId}`);
    });

  return {
    vpcCidrs,

    vpcDnsSupport: (vpcId, o) =>
      run('DescribeVpcAttribute', o, async (c, abortSignal) => {
        const out = await c.send(
          new DescribeVpcAttributeCommand({ VpcId: vpcId, Attribute: 'enableDnsSupport' }),
          {
            abortSignal,
          },
        );
        const v = out.EnableDnsSupport?.Value;
        if (v === undefined) throw unusable('DescribeVpcAttribute', 'EnableDnsSupport value');
        return v;
      }),

    routesFor: (vpcId, destinationCidr, o) =>
      run('DescribeRouteTables', o, async (c, abortSignal) => {
        const tables: RouteTable[] = [];
        let token: string | undefined;
        do {
          const out = await c.send(
            new DescribeRouteTablesCommand({
              Filters: [
                { Name: 'vpc-id', Values: [vpcId] },
                { Name: 'route.destination-cidr-block', Values: [destinationCidr] },
              ],
              ...(token === undefined ? {} : { NextToken: token }),
            }),
            { abortSignal },
          );
          tables.push(...(out.RouteTables ?? []));
          token = out.NextToken === '' ? undefined : out.NextToken;
        } while (token !== undefined);
        // The filter is AWS's; check the answer too (a looser endpoint must not make us repoint the wrong table).
        const found = tables.flatMap((t) => {
          if (t.RouteTableId === undefined || (t.VpcId !== undefined && t.VpcId !== vpcId)) return [];
          const r = t.Routes?.find((x) => x.DestinationCidrBlock === destinationCidr);
          return r === undefined ? [] : [{ routeTableId: t.RouteTableId, target: routeTarget(r) }];
        });
        if (found.length === 0) {
          // A filter on an unknown VPC answers an empty list: ask for the VPC so that a wrong id is named.
          const vpcs = await c.send(new DescribeVpcsCommand({ VpcIds: [vpcId] }), { abortSignal });
          if (!(vpcs.Vpcs ?? []).some((v) => v.VpcId === vpcId)) {
            throw notFound('DescribeVpcs', 'Vpc', 'vpc', vpcId);
          }
        }
        return found;
      }),

    replaceRoute: (routeTableId, destinationCidr, eniId, o) =>
      run('ReplaceRoute', o, async (c, abortSignal) => {
        await c.send(
          new ReplaceRouteCommand({
            RouteTableId: routeTableId,
            DestinationCidrBlock: destinationCidr,
            NetworkInterfaceId: eniId,
          }),
          { abortSignal },
        );
      }),

    networkInterface: (eniId, o) =>
      run('DescribeNetworkInterfaces', o, async (c, abortSignal) => {
        const out = await c.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [eniId] }), {
          abortSignal,
        });
        const n = out.NetworkInterfaces?.find((x) => x.NetworkInterfaceId === eniId);
        if (n === undefined)
          throw notFound('DescribeNetworkInterfaces', 'NetworkInterface', 'networkInterface', eniId);
        const ips = (n.PrivateIpAddresses ?? [])
          .map((p) => p.PrivateIpAddress)
          .filter((ip): ip is string => ip !== undefined);
        return {
          eniId,
          vpcId: n.VpcId ?? '',
          subnetId: n.SubnetId ?? '',
          availabilityZone: n.AvailabilityZone ?? '',
          instanceId: n.Attachment?.InstanceId ?? null,
          privateIps: ips.length > 0 ? ips : n.PrivateIpAddress === undefined ? [] : [n.PrivateIpAddress],
          sourceDestCheck: n.SourceDestCheck ?? true,
        };
      }),

    address: (allocationId, o) =>
      run('DescribeAddresses', o, async (c, abortSignal) => {
        const out = await c.send(new DescribeAddressesCommand({ AllocationIds: [allocationId] }), {
          abortSignal,
        });
        const a = out.Addresses?.find((x) => x.AllocationId === allocationId);
        if (a === undefined) throw notFound('DescribeAddresses', 'Allocation', 'allocation', allocationId);
        if (a.PublicIp === undefined) throw unusable('DescribeAddresses', `PublicIp for ${allocationId}`);
        return {
          allocationId,
          publicIp: a.PublicIp,
          eniId: a.NetworkInterfaceId ?? null,
          associationId: a.AssociationId ?? null,
        };
      }),

    associateAddress: (allocationId, eniId, o) =>
      run('AssociateAddress', o, async (c, abortSignal) => {
        const out = await c.send(
          new AssociateAddressCommand({
            AllocationId: allocationId,
            NetworkInterfaceId: eniId,
            AllowReassociation: true,
          }),
          { abortSignal },
        );
        if (out.AssociationId === undefined) throw unusable('AssociateAddress', 'AssociationId');
        return out.AssociationId;
      }),

    disassociateAddress: (associationId, o) =>
      run('DisassociateAddress', o, async (c, abortSignal) => {
        await c.send(new DisassociateAddressCommand({ AssociationId: associationId }), { abortSignal });
      }),

    availabilityZone: async (name, o) => {
      try {
        return await run('DescribeAvailabilityZones', o, async (c, abortSignal) => {
          const out = await c.send(new DescribeAvailabilityZonesCommand({ ZoneNames: [name] }), {
            abortSignal,
          });
          const z = out.AvailabilityZones?.find((x) => x.ZoneName === name);
          return z === undefined ? null : { name, state: z.State ?? 'unknown' };
        });
      } catch (err) {
        // AWS answers an unknown zone name with InvalidParameterValue ("Invalid availability zone: [x]").
        if (
          err instanceof AwsCallError &&
          err.kind === 'answered' &&
          err.awsCode === 'InvalidParameterValue'
        ) {
          return null;
        }
        throw err;
      }
    },

    instanceState: (instanceId, o) =>
      run('DescribeInstances', o, async (c, abortSignal) => {
        const out = await c.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }), {
          abortSignal,
        });
        const i = (out.Reservations ?? [])
          .flatMap((r) => r.Instances ?? [])
          .find((x) => x.InstanceId === instanceId);
        if (i === undefined) throw notFound('DescribeInstances', 'Instance', 'instance', instanceId);
        const state = i.State?.Name;
        if (state === undefined) throw unusable('DescribeInstances', `state for ${instanceId}`);
        return state;
      }),

    stopInstance: (instanceId, force, o) =>
      run('StopInstances', o, async (c, abortSignal) => {
        await c.send(new StopInstancesCommand({ InstanceIds: [instanceId], Force: force }), { abortSignal });
      }),

    rebootInstance: (instanceId, o) =>
      run('RebootInstances', o, async (c, abortSignal) => {
        await c.send(new RebootInstancesCommand({ InstanceIds: [instanceId] }), { abortSignal });
      }),

    dryRun: async (operation, params, o) => {
      const input = queryToInput(operation, params);
      try {
        // An endpoint that ignores DryRun carries the call out: it was allowed.
        await run(operation, o, (c, abortSignal) => sendDryRun(c, operation, input, abortSignal));
        return 'allowed';
      } catch (err) {
        if (err instanceof AwsCallError && err.kind === 'answered') {
          if (err.awsCode === 'DryRunOperation') return 'allowed';
          if (err.awsCode === 'UnauthorizedOperation') return 'denied';
        }
        throw err;
      }
    },
  };
}
