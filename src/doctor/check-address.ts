/**
 * Checks 3 and 4 of `tandem doctor` (issue 4 section 6; the seed's troubleshooting of the AWS Virtual IP
 * and Elastic IP resources): for each `awsvip`, the VPC exists, the VIP lies outside every CIDR block of it
 * (else 53), some route table holds `ip/32` (else 54), each server's ENI exists in that VPC with
 * Source/Dest check disabled (else "ping cannot reach the VIP"), and ReplaceRoute is allowed on every route
 * table holding the VIP (DryRun with the server's ENI; the seed's "not authorized" case of an IAM policy
 * limited to some route tables). For each `awseip`, the allocation and each ENI exist and AssociateAddress
 * is allowed (DryRun).
 *
 * VPC-wide findings are reported once per VPC (`resource awsvip1 (node-1, node-2)`), ENI findings per
 * server. Every call goes through the probe, so the ENI of a server used by an awsvip and an awseip is
 * described once.
 */
import type { NetworkInterfaceInfo } from '../aws/types.ts';
import { cidrContains } from '../drivers/awsvip/params.ts';
import type { CompiledResource } from '../shared/config/types.ts';
import { calls, groupBy, objectName, resourceServers, stringParam, type DoctorContext } from './context.ts';
import {
  callProblem,
  CODES,
  finding,
  isNotFound,
  ok,
  problemFinding,
  skipped,
  type CallCodes,
} from './findings.ts';
import type { Outcome } from './probe.ts';
import type { Finding } from './types.ts';

const VIP_CODES: CallCodes = { failed: CODES.vipFailed, timeout: CODES.vipTimeout, access: CODES.vipAccess };
const EIP_CODES: CallCodes = { failed: CODES.eipFailed, timeout: CODES.eipTimeout, access: CODES.eipAccess };

/** The skipped finding of a resource none of whose servers is in scope, or whose EC2 access is blocked. */
export function outOfScope(ctx: DoctorContext, r: CompiledResource, servers: string[]): Finding | null {
  if (servers.length === 0) {
    return skipped(
      r.type,
      objectName('resource', r.name, []),
      `${ctx.server ?? '?'} does not run group ${r.group}, so ${r.name} is not checked for it`,
    );
  }
  if (ctx.ec2Blocked !== null)
    return skipped(r.type, objectName('resource', r.name, servers), ctx.ec2Blocked);
  return null;
}

/** Every ENI of the resource (every server of its group, in scope or not): a route or EIP on one is ours. */
function ownEnisOf(ctx: DoctorContext, r: CompiledResource): Set<string | null> {
  const enis = resourceServers({ ...ctx, server: null }, r).map((s) => stringParam(r, s, 'eniId'));
  return new Set(enis.filter((e) => e !== null));
}

/** ENI exists (in `vpcId` when given), attached; on this machine's server, attached to this machine. */
function eniFinding(
  ctx: DoctorContext,
  r: CompiledResource,
  server: string,
  eniId: string,
  vpcId: string | null,
  eni: Outcome<NetworkInterfaceInfo>,
  codes: CallCodes,
): Finding {
  const id = `${r.type}.eni`;
  const obj = objectName('resource', r.name, [server]);
  if (!eni.ok) {
    const p = callProblem(
      eni.error,
      { service: 'ec2', operation: 'DescribeNetworkInterfaces', about: eniId },
      codes,
      {
        permission: `Grant ec2:DescribeNetworkInterfaces to the instance role or user of ${server}.`,
        notFound: `Set servers.${server}.eniId of ${r.name} to the ENI of ${server}'s instance (aws ec2 describe-network-interfaces --filters Name=attachment.instance-id,Values=<instance> lists it).`,
      },
    );
    return problemFinding(id, obj, p, eni.ms);
  }
  const n = eni.value;
  if (vpcId !== null && n.vpcId !== vpcId) {
    return finding(
      id,
      'error',
      obj,
      codes.failed,
      `ENI ${eniId} is in ${n.vpcId}, not in ${vpcId} (vpcId of ${r.name}): a route of ${vpcId} cannot target it`,
      `Set servers.${server}.eniId to the ENI of ${server}'s instance in ${vpcId}, or correct vpcId.`,
      eni.ms,
    );
  }
  if (n.instanceId === null) {
    return finding(
      id,
      'warning',
      obj,
      null,
      `ENI ${eniId} is not attached to any instance, so nothing receives the traffic sent to it`,
      `Attach ${eniId} to ${server}'s instance, or set servers.${server}.eniId to the ENI that is.`,
      eni.ms,
    );
  }
  const local = ctx.local;
  if (local.server === server && local.instanceId !== null && n.instanceId !== local.instanceId) {
    return finding(
      id,
      'warning',
      obj,
      null,
      `ENI ${eniId} is attached to ${n.instanceId}, but this machine (${server}) is ${local.instanceId}`,
      `Set servers.${server}.eniId to the ENI of this machine, or run tandem doctor --server with the name of this machine's server.`,
      eni.ms,
    );
  }
  const ips = n.privateIps.length === 0 ? '' : `, ${n.privateIps.join(', ')}`;
  return ok(
    id,
    obj,
    `ENI ${eniId} exists in ${n.vpcId}, attached to ${n.instanceId} (${n.availabilityZone}${ips})`,
    eni.ms,
  );
}

/** DryRun of `operation` for each of `params`: one finding saying allowed everywhere, or where denied. */
async function dryRunFinding(
  ctx: DoctorContext,
  id: string,
  obj: string,
  operation: 'ReplaceRoute' | 'AssociateAddress',
  targets: Array<{ about: string; params: Record<string, string> }>,
  codes: CallCodes,
  permission: string,
  allowedText: string,
): Promise<Finding> {
  const results = await Promise.all(targets.map((t) => calls.dryRun(ctx, operation, t.params)));
  const ms = Math.max(...results.map((x) => x.ms));
  const denied: string[] = [];
  for (const [i, res] of results.entries()) {
    const about = targets[i]!.about;
    if (!res.ok) {
      return problemFinding(
        id,
        obj,
        callProblem(res.error, { service: 'ec2', operation: `${operation} DryRun`, about }, codes, {
          permission,
        }),
        res.ms,
      );
    }
    if (res.value === 'denied') denied.push(about);
  }
  if (denied.length > 0) {
    return finding(
      id,
      'error',
      obj,
      codes.failed,
      `ec2:${operation} is denied on ${denied.join(', ')} (DryRun with this machine's credentials): You are not authorized to perform this operation.`,
      permission,
      ms,
    );
  }
  return ok(id, obj, allowedText, ms);
}

export async function checkAwsVip(ctx: DoctorContext, r: CompiledResource): Promise<Finding[]> {
  const servers = resourceServers(ctx, r);
  const blocked = outOfScope(ctx, r, servers);
  if (blocked !== null) return [blocked];
  const ip = typeof r.params['ip'] === 'string' ? r.params['ip'] : '';
  const cidr = `${ip}/32`;
  const per = servers.map((s) => ({
    server: s,
    vpcId: stringParam(r, s, 'vpcId') ?? '',
    eniId: stringParam(r, s, 'eniId'),
  }));
  const ownEnis = ownEnisOf(ctx, r);

  const vpcChecks = groupBy(per, (x) => x.vpcId).map(async ([vpcId, members]): Promise<Finding[]> => {
    const obj = objectName(
      'resource',
      r.name,
      members.map((m) => m.server),
    );
    const [cidrs, routes] = await Promise.all([
      calls.vpcCidrs(ctx, vpcId),
      calls.routesFor(ctx, vpcId, cidr),
    ]);
    const out: Finding[] = [];
    if (!cidrs.ok) {
      const p = callProblem(
        cidrs.error,
        { service: 'ec2', operation: 'DescribeVpcs', about: vpcId },
        VIP_CODES,
        {
          permission:
            'Grant ec2:DescribeVpcs to the instance role or user of every server (awsvip reads the VPC before it routes the VIP).',
          notFound: `Set vpcId of ${r.name} to the VPC of the servers' ENIs (aws ec2 describe-vpcs lists them).`,
        },
      );
      out.push(problemFinding('awsvip.vpc', obj, p, cidrs.ms));
      out.push(
        skipped(
          'awsvip.cidr',
          obj,
          `the CIDR blocks of ${vpcId} could not be read, so the VIP ${ip} is not checked against them`,
        ),
      );
    } else {
      out.push(ok('awsvip.vpc', obj, `VPC ${vpcId} exists (CIDR ${cidrs.value.join(', ')})`, cidrs.ms));
      const inside = cidrs.value.filter((c) => cidrContains(c, ip));
      out.push(
        inside.length > 0
          ? finding(
              'awsvip.cidr',
              'error',
              obj,
              CODES.vipInVpc,
              `the VIP ${ip} is inside ${inside.join(', ')}, a CIDR block of ${vpcId}: traffic inside the VPC follows its local route, never the VIP route`,
              `Choose a VIP address outside every CIDR block of ${vpcId} (${cidrs.value.join(', ')}), and add its /32 route to the route tables.`,
            )
          : ok('awsvip.cidr', obj, `the VIP ${ip} is outside every CIDR block of ${vpcId}`),
      );
    }
    if (!routes.ok && !cidrs.ok && isNotFound(cidrs.error)) {
      // The same missing VPC: said once, above.
      out.push(
        skipped('awsvip.routes', obj, `the route tables are not read: ${vpcId} does not exist (see above)`),
      );
    } else if (!routes.ok) {
      const p = callProblem(
        routes.error,
        { service: 'ec2', operation: 'DescribeRouteTables', about: vpcId },
        VIP_CODES,
        {
          permission:
            'Grant ec2:DescribeRouteTables to the instance role or user of every server: awsvip and its monitor awsvipw read the route tables.',
          notFound: `Set vpcId of ${r.name} to the VPC of the servers' ENIs (aws ec2 describe-vpcs lists them).`,
        },
      );
      out.push(problemFinding('awsvip.routes', obj, p, routes.ms));
    } else if (routes.value.length === 0) {
      const eni = members.find((m) => m.eniId !== null)?.eniId ?? 'eni-...';
      out.push(
        finding(
          'awsvip.routes',
          'error',
          obj,
          CODES.vipNoRoute,
          `no route table of ${vpcId} holds a route for ${cidr}, so there is nothing to point at the active server`,
          `Add the route to every route table whose subnets hold clients of the VIP: aws ec2 create-route --route-table-id <rtb> --destination-cidr-block ${cidr} --network-interface-id ${eni}`,
          routes.ms,
        ),
      );
    } else {
      const list = routes.value.map((t) => `${t.routeTableId} -> ${t.target ?? 'nothing'}`).join(', ');
      const foreign = routes.value.filter((t) => !ownEnis.has(t.target));
      out.push(
        foreign.length > 0
          ? finding(
              'awsvip.routes',
              'warning',
              obj,
              null,
              `${routes.value.length} route table(s) hold ${cidr} (${list}); ${foreign.map((t) => t.routeTableId).join(', ')} point(s) at no ENI of the servers of ${r.group}`,
              'Activation repoints them to the active server; check that no other cluster or tool uses the same VIP (the seed: awsvipw 56 "The routing for VIP was changed").',
              routes.ms,
            )
          : ok(
              'awsvip.routes',
              obj,
              `${routes.value.length} route table(s) hold ${cidr}: ${list}`,
              routes.ms,
            ),
      );
    }
    return out;
  });

  const serverChecks = per.map(async ({ server, vpcId, eniId }): Promise<Finding[]> => {
    const obj = objectName('resource', r.name, [server]);
    if (eniId === null)
      return [
        skipped('awsvip.eni', obj, `no eniId for ${server}`, `Set servers.${server}.eniId of ${r.name}.`),
      ];
    const [eni, routes] = await Promise.all([
      calls.networkInterface(ctx, eniId),
      calls.routesFor(ctx, vpcId, cidr),
    ]);
    const out = [eniFinding(ctx, r, server, eniId, vpcId, eni, VIP_CODES)];
    if (!eni.ok) {
      out.push(skipped('awsvip.source-dest-check', obj, `ENI ${eniId} could not be read`));
    } else if (eni.value.sourceDestCheck) {
      out.push(
        finding(
          'awsvip.source-dest-check',
          'error',
          obj,
          null,
          `Source/Dest check is enabled on ENI ${eniId}: once the VIP ${ip} is routed to ${server}, EC2 drops its packets and ping cannot reach the VIP`,
          `Disable it: aws ec2 modify-network-interface-attribute --network-interface-id ${eniId} --no-source-dest-check (EC2 console: the instance's Networking > Change source/destination check).`,
          eni.ms,
        ),
      );
    } else {
      out.push(ok('awsvip.source-dest-check', obj, `Source/Dest check is disabled on ENI ${eniId}`, eni.ms));
    }
    if (!routes.ok || routes.value.length === 0 || !eni.ok || eni.value.vpcId !== vpcId) {
      out.push(
        skipped(
          'awsvip.iam',
          obj,
          'ec2:ReplaceRoute is not checked: the route tables holding the VIP or the ENI of this VPC are not known (see above)',
        ),
      );
      return out;
    }
    const tables = routes.value.map((t) => t.routeTableId);
    out.push(
      await dryRunFinding(
        ctx,
        'awsvip.iam',
        obj,
        'ReplaceRoute',
        tables.map((t) => ({
          about: t,
          params: { RouteTableId: t, DestinationCidrBlock: cidr, NetworkInterfaceId: eniId },
        })),
        VIP_CODES,
        `Grant ec2:ReplaceRoute on every route table holding ${cidr} (${tables.join(', ')}) to the instance role or user of ${server}: an IAM policy limited to some route tables must list all of them.`,
        `ec2:ReplaceRoute is allowed on ${tables.join(', ')} with ENI ${eniId} (DryRun with this machine's credentials)`,
      ),
    );
    return out;
  });

  return [...(await Promise.all(vpcChecks)).flat(), ...(await Promise.all(serverChecks)).flat()];
}

export async function checkAwsEip(ctx: DoctorContext, r: CompiledResource): Promise<Finding[]> {
  const servers = resourceServers(ctx, r);
  const blocked = outOfScope(ctx, r, servers);
  if (blocked !== null) return [blocked];
  const allocationId = typeof r.params['allocationId'] === 'string' ? r.params['allocationId'] : '';
  const ownEnis = ownEnisOf(ctx, r);

  const allocation = (async (): Promise<Finding> => {
    const obj = objectName('resource', r.name, servers);
    const a = await calls.address(ctx, allocationId);
    if (!a.ok) {
      const p = callProblem(
        a.error,
        { service: 'ec2', operation: 'DescribeAddresses', about: allocationId },
        EIP_CODES,
        {
          permission:
            'Grant ec2:DescribeAddresses to the instance role or user of every server (awseip and awseipw read the address).',
          notFound: `Set allocationId of ${r.name} to an Elastic IP of the region (aws ec2 describe-addresses lists them).`,
        },
      );
      return problemFinding('awseip.allocation', obj, p, a.ms);
    }
    const where = a.value.eniId === null ? 'not associated' : `associated with ${a.value.eniId}`;
    const text = `Elastic IP ${a.value.publicIp} (${allocationId}) exists, ${where}`;
    if (a.value.eniId !== null && !ownEnis.has(a.value.eniId)) {
      return finding(
        'awseip.allocation',
        'warning',
        obj,
        null,
        `${text}, which is no ENI of the servers of ${r.group}`,
        'Activation re-associates it with the active server; check that no other cluster or instance uses the same Elastic IP (the seed: awseipw 52).',
        a.ms,
      );
    }
    return ok('awseip.allocation', obj, text, a.ms);
  })();

  const serverChecks = servers.map(async (server): Promise<Finding[]> => {
    const obj = objectName('resource', r.name, [server]);
    const eniId = stringParam(r, server, 'eniId');
    if (eniId === null)
      return [
        skipped('awseip.eni', obj, `no eniId for ${server}`, `Set servers.${server}.eniId of ${r.name}.`),
      ];
    const [eni, a] = await Promise.all([
      calls.networkInterface(ctx, eniId),
      calls.address(ctx, allocationId),
    ]);
    const out = [eniFinding(ctx, r, server, eniId, null, eni, EIP_CODES)];
    if (!eni.ok || !a.ok) {
      out.push(
        skipped(
          'awseip.iam',
          obj,
          'ec2:AssociateAddress is not checked: the Elastic IP or the ENI could not be read (see above)',
        ),
      );
      return out;
    }
    out.push(
      await dryRunFinding(
        ctx,
        'awseip.iam',
        obj,
        'AssociateAddress',
        [
          {
            about: `${allocationId} -> ${eniId}`,
            params: { AllocationId: allocationId, NetworkInterfaceId: eniId, AllowReassociation: 'true' },
          },
        ],
        EIP_CODES,
        `Grant ec2:AssociateAddress, ec2:DisassociateAddress and ec2:DescribeAddresses to the instance role or user of ${server}.`,
        `ec2:AssociateAddress of ${allocationId} with ENI ${eniId} is allowed (DryRun with this machine's credentials)`,
      ),
    );
    return out;
  });

  return [await allocation, ...(await Promise.all(serverChecks)).flat()];
}
