/**
 * Check 5 of `tandem doctor` (issue 4 section 6; the seed's troubleshooting of the AWS DNS resource and
 * monitor): for each `awsdns`, the hosted zone exists (GetHostedZone), the record name (normalised by the
 * config to a lowercase FQDN with the trailing dot) lies inside it, a private zone is associated with the
 * VPC of the servers, that VPC has enableDnsSupport, and the record can be read (ListResourceRecordSets,
 * what awsdnsw does every interval). Route 53 has no DryRun, so write permission is reported as not
 * checked rather than guessed.
 *
 * The VPC of a server comes from an awsvip or awseip of that server (its ENI as EC2 describes it, else the
 * awsvip's vpcId), else from the instance metadata when this machine is that server; otherwise the VPC
 * checks are skipped for it with the reason.
 */
import type { HostedZoneInfo } from '../aws/types.ts';
import type { CompiledMonitor, CompiledResource } from '../shared/config/types.ts';
import { calls, groupBy, objectName, resourceServers, stringParam, type DoctorContext } from './context.ts';
import {
  callProblem,
  CODES,
  finding,
  isNotFound,
  isPermissionError,
  ok,
  problemFinding,
  skipped,
  type CallCodes,
} from './findings.ts';
import type { Finding } from './types.ts';

const DNS_CODES: CallCodes = { failed: CODES.dnsFailed, timeout: CODES.dnsTimeout, access: CODES.dnsAccess };

/** Where a server's VPC is known from, or null. */
async function vpcOfServer(
  ctx: DoctorContext,
  server: string,
): Promise<{ vpcId: string; from: string } | null> {
  for (const r of ctx.config.resources) {
    if (r.type !== 'awsvip' && r.type !== 'awseip') continue;
    if (!resourceServers({ ...ctx, server: null }, r).includes(server)) continue;
    const eniId = stringParam(r, server, 'eniId');
    if (eniId !== null && ctx.ec2Blocked === null) {
      const n = await calls.networkInterface(ctx, eniId);
      if (n.ok) return { vpcId: n.value.vpcId, from: `ENI ${eniId} of ${r.name}` };
    }
    const vpcId = r.type === 'awsvip' ? stringParam(r, server, 'vpcId') : null;
    if (vpcId !== null) return { vpcId, from: `vpcId of ${r.name}` };
  }
  if (ctx.local.server === server && ctx.local.vpcId !== null) {
    return { vpcId: ctx.local.vpcId, from: 'the instance metadata of this machine' };
  }
  return null;
}

/** The address part of a compiled resolver (`10.0.0.2:53`, `[fd00::2]:53`). */
function resolverHost(resolver: string): string {
  const v6 = /^\[([^\]]+)\]:\d+$/.exec(resolver);
  if (v6) return v6[1]!;
  const i = resolver.lastIndexOf(':');
  return i < 0 ? resolver : resolver.slice(0, i);
}

/** The base address of an IPv4 CIDR block plus `n` (`10.0.0.0/16`, 2 -> `10.0.0.2`), or null. */
function basePlus(cidr: string, n: number): string | null {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr);
  if (!m) return null;
  const ip = m.slice(1, 5).reduce((a, p) => a * 256 + Number(p), 0);
  const size = 2 ** (32 - Number(m[5]));
  const v = ip - (ip % size) + n;
  return [24, 16, 8, 0].map((sh) => Math.floor(v / 2 ** sh) % 256).join('.');
}

/**
 * Whether every resolving awsdnsw monitor asks a DNS server of its own on each of `servers`: not the
 * system resolver, and not the VPC's own resolver (the base of a CIDR block plus two, or 169.254.169.253),
 * which is what enableDnsSupport turns off. The seed: with enableDnsSupport off on purpose, "set an
 * appropriate DNS resolver".
 */
async function asksOwnResolver(
  ctx: DoctorContext,
  resolving: readonly CompiledMonitor[],
  servers: readonly string[],
  vpcId: string,
): Promise<boolean> {
  if (resolving.length === 0) return false;
  const cidrs = await calls.vpcCidrs(ctx, vpcId);
  const vpcResolvers = new Set(['169.254.169.253', 'fd00:ec2::253']);
  if (cidrs.ok) for (const c of cidrs.value) vpcResolvers.add(basePlus(c, 2) ?? '');
  return resolving.every((m) =>
    servers.every((s) => {
      const r = stringParam(m, s, 'resolver');
      return r !== null && !vpcResolvers.has(resolverHost(r));
    }),
  );
}

export async function checkAwsDns(ctx: DoctorContext, r: CompiledResource): Promise<Finding[]> {
  const servers = resourceServers(ctx, r);
  const obj = objectName('resource', r.name, servers);
  if (servers.length === 0) {
    return [
      skipped(
        'awsdns',
        objectName('resource', r.name, []),
        `${ctx.server ?? '?'} does not run group ${r.group}, so ${r.name} is not checked for it`,
      ),
    ];
  }
  if (ctx.route53Blocked !== null) return [skipped('awsdns', obj, ctx.route53Blocked)];
  const zoneId = typeof r.params['hostedZoneId'] === 'string' ? r.params['hostedZoneId'] : '';
  const recordName = typeof r.params['recordName'] === 'string' ? r.params['recordName'] : '';
  const monitors = ctx.config.monitors.filter((m) => m.type === 'awsdnsw' && m.params['resource'] === r.name);
  const resolving = monitors.filter((m) => m.params['resolveCheck'] === true);
  const resolveCode = resolving.length > 0 ? CODES.dnswResolveFailed : null;

  const [zone, record, vpcs] = await Promise.all([
    calls.hostedZone(ctx, zoneId),
    calls.recordA(ctx, zoneId, recordName),
    Promise.all(servers.map(async (s) => ({ server: s, vpc: await vpcOfServer(ctx, s) }))),
  ]);
  const out: Finding[] = [];

  // 1. The hosted zone, 2. the record name inside it.
  let info: HostedZoneInfo | null = null;
  if (zone.ok) {
    info = zone.value;
    out.push(
      ok(
        'awsdns.zone',
        obj,
        `hosted zone ${zoneId} exists (${info.name}, ${info.private ? 'private' : 'public'})`,
        zone.ms,
      ),
    );
  } else if (isPermissionError(zone.error)) {
    // awsdns itself never reads the zone: only doctor needs route53:GetHostedZone.
    out.push(
      finding(
        'awsdns.zone',
        'warning',
        obj,
        null,
        `route53:GetHostedZone is denied on ${zoneId}, so the zone and its VPC associations cannot be checked (Tandem itself does not need this permission)`,
        `Grant route53:GetHostedZone on hostedzone/${zoneId} to let tandem doctor check the zone, or check it in the Route 53 console.`,
        zone.ms,
      ),
    );
  } else {
    const p = callProblem(
      zone.error,
      { service: 'route53', operation: 'GetHostedZone', about: zoneId },
      DNS_CODES,
      {
        permission: `Grant route53:GetHostedZone on hostedzone/${zoneId}.`,
        notFound: `Set hostedZoneId of ${r.name} to the id of the zone holding ${recordName} (aws route53 list-hosted-zones lists them).`,
      },
    );
    out.push(problemFinding('awsdns.zone', obj, p, zone.ms));
  }
  const normal = `record name ${recordName} is a lowercase FQDN with the trailing dot (as the config normalises it)`;
  if (info === null) {
    out.push(
      ok('awsdns.record-name', obj, `${normal}; the zone could not be read, so it is not checked against it`),
    );
  } else if (recordName === info.name || recordName.endsWith(`.${info.name}`)) {
    out.push(ok('awsdns.record-name', obj, `${normal}, inside ${info.name}`));
  } else {
    out.push(
      finding(
        'awsdns.record-name',
        'error',
        obj,
        CODES.dnsFailed,
        `record name ${recordName} is not inside the zone ${info.name} (${zoneId}): Route 53 refuses the change (InvalidChangeBatch)`,
        `Set recordName of ${r.name} to a name ending in .${info.name}, or hostedZoneId to the zone of ${recordName}.`,
      ),
    );
  }

  // 3. Private zone associated with the servers' VPCs, 4. enableDnsSupport in those VPCs.
  const unknown = vpcs.filter((v) => v.vpc === null).map((v) => v.server);
  const known = groupBy(
    vpcs.filter((v): v is { server: string; vpc: { vpcId: string; from: string } } => v.vpc !== null),
    (v) => v.vpc.vpcId,
  );
  if (unknown.length > 0) {
    const why = `the VPC of ${unknown.join(', ')} is not known (no awsvip or awseip gives its ENI, and the instance metadata describes ${ctx.local.instanceId ?? 'no machine'})`;
    const fix = `Run tandem doctor --server ${unknown[0]!} on ${unknown[0]!}.`;
    out.push(
      skipped(
        'awsdns.zone-vpc',
        objectName('resource', r.name, unknown),
        `the zone association is not checked: ${why}`,
        fix,
      ),
    );
    out.push(
      skipped(
        'awsdns.dns-support',
        objectName('resource', r.name, unknown),
        `enableDnsSupport is not checked: ${why}`,
        fix,
      ),
    );
  }
  const vpcFindings = known.map(async ([vpcId, members]): Promise<Finding[]> => {
    const vobj = objectName(
      'resource',
      r.name,
      members.map((m) => m.server),
    );
    const from = [...new Set(members.map((m) => m.vpc.from))].join(', ');
    const res: Finding[] = [];
    if (info === null) {
      res.push(skipped('awsdns.zone-vpc', vobj, `the hosted zone ${zoneId} could not be read (see above)`));
    } else if (!info.private) {
      res.push(ok('awsdns.zone-vpc', vobj, `${info.name} is a public zone: no VPC association needed`));
    } else if (info.vpcs.some((v) => v.vpcId === vpcId)) {
      res.push(
        ok('awsdns.zone-vpc', vobj, `private zone ${info.name} is associated with ${vpcId} (from ${from})`),
      );
    } else {
      const region = ctx.resolution.region ?? '<region>';
      res.push(
        finding(
          'awsdns.zone-vpc',
          'error',
          vobj,
          resolveCode,
          `private hosted zone ${info.name} (${zoneId}) is not associated with ${vpcId}, the VPC of ${members.map((m) => m.server).join(', ')} (from ${from}): nothing in that VPC resolves ${recordName}` +
            (info.vpcs.length > 0
              ? `; it is associated with ${info.vpcs.map((v) => v.vpcId).join(', ')}`
              : ''),
          `Associate the VPC with the zone: aws route53 associate-vpc-with-hosted-zone --hosted-zone-id ${zoneId} --vpc VPCRegion=${region},VPCId=${vpcId} (Route 53 console: the zone's Associated VPCs).`,
        ),
      );
    }
    if (ctx.ec2Blocked !== null) {
      res.push(skipped('awsdns.dns-support', vobj, ctx.ec2Blocked));
      return res;
    }
    const dns = await calls.vpcDnsSupport(ctx, vpcId);
    if (!dns.ok) {
      if (isPermissionError(dns.error)) {
        res.push(
          finding(
            'awsdns.dns-support',
            'warning',
            vobj,
            null,
            `ec2:DescribeVpcAttribute is denied, so enableDnsSupport of ${vpcId} cannot be checked (Tandem itself does not need this permission)`,
            `Grant ec2:DescribeVpcAttribute to let tandem doctor check it, or check enableDnsSupport in the VPC console.`,
            dns.ms,
          ),
        );
      } else {
        const p = callProblem(
          dns.error,
          { service: 'ec2', operation: 'DescribeVpcAttribute', about: vpcId },
          {
            failed: CODES.dnsFailed,
            timeout: CODES.dnsTimeout,
            access: CODES.dnsAccess,
          },
          { permission: 'Grant ec2:DescribeVpcAttribute.' },
        );
        res.push(problemFinding('awsdns.dns-support', vobj, p, dns.ms));
      }
    } else if (dns.value) {
      res.push(ok('awsdns.dns-support', vobj, `enableDnsSupport is on in ${vpcId}`, dns.ms));
    } else {
      const ownResolvers = await asksOwnResolver(
        ctx,
        resolving,
        members.map((m) => m.server),
        vpcId,
      );
      res.push(
        finding(
          'awsdns.dns-support',
          ownResolvers ? 'warning' : 'error',
          vobj,
          resolveCode,
          `enableDnsSupport is off in ${vpcId}: the VPC's DNS resolver does not answer, so the instances there cannot resolve ${recordName}` +
            (ownResolvers ? ' (the awsdnsw monitors ask their own resolver)' : ''),
          `Turn it on: aws ec2 modify-vpc-attribute --vpc-id ${vpcId} --enable-dns-support "{\\"Value\\":true}"; if it is off on purpose, set resolver: on the awsdnsw monitor of ${r.name} to a DNS server that answers for the zone, and make the clients use it.`,
          dns.ms,
        ),
      );
    }
    return res;
  });
  const vpcResults = (await Promise.all(vpcFindings)).flat();
  out.push(
    ...vpcResults.filter((f) => f.id === 'awsdns.zone-vpc'),
    ...vpcResults.filter((f) => f.id === 'awsdns.dns-support'),
  );

  // 5. Read access (what awsdnsw does), 6. write access (not checkable).
  if (!record.ok && !zone.ok && isNotFound(zone.error)) {
    // The same missing zone: said once, above.
    out.push(
      skipped('awsdns.read', obj, `the record is not read: hosted zone ${zoneId} does not exist (see above)`),
    );
  } else if (record.ok) {
    const now =
      record.value === null
        ? 'it does not exist yet (awsdns creates it on activation)'
        : `it holds ${record.value.values.join(', ')} (TTL ${record.value.ttl})`;
    out.push(
      ok(
        'awsdns.read',
        obj,
        `route53:ListResourceRecordSets is allowed on ${zoneId}: ${recordName} read, ${now}`,
        record.ms,
      ),
    );
  } else {
    const p = callProblem(
      record.error,
      { service: 'route53', operation: 'ListResourceRecordSets', about: zoneId },
      DNS_CODES,
      {
        permission: `Grant route53:ListResourceRecordSets, route53:ChangeResourceRecordSets and route53:GetChange on hostedzone/${zoneId} to the instance role or user of every server (awsdnsw reads the record every interval).`,
        notFound: `Set hostedZoneId of ${r.name} to the id of the zone holding ${recordName} (aws route53 list-hosted-zones lists them).`,
      },
    );
    out.push(problemFinding('awsdns.read', obj, p, record.ms));
  }
  out.push(
    skipped(
      'awsdns.write',
      obj,
      'write permission (route53:ChangeResourceRecordSets, route53:GetChange) is not checked: Route 53 has no DryRun, and doctor changes nothing',
      `Make sure the IAM policy of every server grants route53:ChangeResourceRecordSets and route53:GetChange on hostedzone/${zoneId}.`,
    ),
  );
  return out;
}
