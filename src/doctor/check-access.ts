/**
 * Checks 1 and 2 of `tandem doctor` (issue 4 section 6; the seed's troubleshooting on "the AWS CLI has not
 * been set up", the instance's IAM role, the proxy and slow instance metadata):
 *
 * - AWS access: the region and the credentials with where they come from (never a secret), the proxy in
 *   use (password masked), the endpoints in use; then one call to each service the config needs, which
 *   proves the endpoint answers and accepts the credentials. When any of this fails, the checks that need
 *   the service are skipped instead of each failing the same way (or each waiting for the same timeout).
 * - The instance metadata (IMDS): reachable with an IMDSv2 token, how fast, and which instance this
 *   machine is; with `--server`, that instance must be the one `fencing.servers` names for that server.
 *   Unreachable IMDS is only a warning when region and credentials come from elsewhere (running off EC2
 *   against the simulator, or with keys in a profile), an error when they depend on it.
 */
import type { AwsResolution } from '../aws/types.ts';
import { calls, type DoctorContext, type LocalMachine } from './context.ts';
import { callProblem, CODES, finding, isCredentialError, ok, problemFinding, skipped } from './findings.ts';
import type { Finding } from './types.ts';
import { AwsCallError } from '../aws/errors.ts';

const ACCESS = 'aws access';
const IMDS = 'instance metadata (IMDS)';

/** IMDS slower than this makes instance-role credentials (and so every AWS call) late. */
export const SLOW_IMDS_MS = 1000;

/** The AWS object types of the config, which decide the codes of an access problem. */
export interface AwsUse {
  types: Set<string>;
  ec2: boolean;
  route53: boolean;
}

export function awsUseOf(ctx: Pick<DoctorContext, 'config'>): AwsUse {
  const types = new Set<string>();
  for (const r of ctx.config.resources) if (r.type.startsWith('aws')) types.add(r.type);
  for (const m of ctx.config.monitors) if (m.type.startsWith('aws')) types.add(m.type);
  if (ctx.config.fencing !== null) types.add('fencing');
  const ec2 = ['awsvip', 'awseip', 'awsazw', 'fencing', 'awsdns'].some((t) => types.has(t));
  return { types, ec2, route53: types.has('awsdns') };
}

/** The "access not set up" codes of the types in use: `awsvip 51 / awseip 51 / awsdns 52`. */
export function accessCodes(use: AwsUse): string | null {
  const byType: Array<[string, string]> = [
    ['awsvip', CODES.vipAccess],
    ['awseip', CODES.eipAccess],
    ['awsdns', CODES.dnsAccess],
    ['awsazw', CODES.azwFailed],
    ['fencing', CODES.fenceAccess],
  ];
  const codes = byType.filter(([t]) => use.types.has(t)).map(([, c]) => c);
  return codes.length === 0 ? null : codes.join(' / ');
}

/** The "no answer" codes of the types in use. */
function timeoutCodes(use: AwsUse, service: 'ec2' | 'route53'): string {
  const byType: Array<[string, string]> =
    service === 'ec2'
      ? [
          ['awsvip', CODES.vipTimeout],
          ['awseip', CODES.eipTimeout],
          ['awsazw', CODES.azwTimeout],
          ['fencing', CODES.fenceNoAnswer],
        ]
      : [['awsdns', CODES.dnsTimeout]];
  const codes = byType.filter(([t]) => use.types.has(t)).map(([, c]) => c);
  return codes.length === 0 ? (service === 'ec2' ? CODES.vipTimeout : CODES.dnsTimeout) : codes.join(' / ');
}

function failedCodes(use: AwsUse, service: 'ec2' | 'route53'): string {
  const byType: Array<[string, string]> =
    service === 'ec2'
      ? [
          ['awsvip', CODES.vipFailed],
          ['awseip', CODES.eipFailed],
          ['awsazw', CODES.azwFailed],
          ['fencing', CODES.fenceFailed],
        ]
      : [['awsdns', CODES.dnsFailed]];
  const codes = byType.filter(([t]) => use.types.has(t)).map(([, c]) => c);
  return codes.length === 0 ? (service === 'ec2' ? CODES.vipFailed : CODES.dnsFailed) : codes.join(' / ');
}

const REGION_SOURCES: Record<NonNullable<AwsResolution['regionSource']>, string> = {
  config: 'aws.region in the config',
  environment: 'AWS_REGION or AWS_DEFAULT_REGION',
  profile: 'the profile in the shared config file',
  imds: 'the instance metadata',
};

/** Whether region or credentials depend on IMDS (or were looked for there and not found). */
export function needsImds(res: AwsResolution): boolean {
  return (
    res.regionSource === 'imds' ||
    res.region === null ||
    res.credentialsSource === null ||
    /\bIMDS\b/.test(res.credentialsSource)
  );
}

/** Region, credentials, proxy and endpoints (no AWS call: `resolve()` only reads files, env and maybe IMDS). */
export function accessFindings(
  res: AwsResolution,
  use: AwsUse,
  env: Readonly<Record<string, string | undefined>>,
): Finding[] {
  const out: Finding[] = [];
  const codes = accessCodes(use);
  if (res.region !== null && res.regionSource !== null) {
    out.push(ok('aws.region', ACCESS, `region ${res.region} (from ${REGION_SOURCES[res.regionSource]})`));
  } else {
    out.push(
      finding(
        'aws.region',
        'error',
        ACCESS,
        codes,
        res.regionError ?? 'no AWS region found',
        'Set aws.region in the config (or AWS_REGION in aws.environment), or run on EC2 with the instance metadata reachable.',
      ),
    );
  }
  if (res.credentialsSource !== null) {
    out.push(
      ok(
        'aws.credentials',
        ACCESS,
        `credentials from ${res.credentialsSource}; the permission checks below use this machine's credentials (run tandem doctor --server NAME on each server)`,
      ),
    );
  } else {
    out.push(
      finding(
        'aws.credentials',
        'error',
        ACCESS,
        codes,
        res.credentialsError ?? 'no AWS credentials found',
        'Give this machine credentials: attach an IAM role to the instance (the seed: check that http://169.254.169.254/latest/meta-data/iam/security-credentials/ names it), run `aws configure` as the daemon user (and set aws.profile if not default), or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in aws.environment.',
      ),
    );
  }
  const envProxy = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy'].find(
    (k) => (env[k] ?? '').trim() !== '',
  );
  if (res.proxy !== null) {
    out.push(
      ok(
        'aws.proxy',
        ACCESS,
        `AWS API calls go through the proxy ${res.proxy} (the instance metadata never does)`,
      ),
    );
  } else if (envProxy !== undefined) {
    out.push(
      finding(
        'aws.proxy',
        'warning',
        ACCESS,
        null,
        `${envProxy} is set in the environment, but Tandem sends AWS API calls through aws.proxy only, which is not set: the calls go direct`,
        'If this machine reaches AWS only through that proxy, set aws.proxy in the config to its URL; otherwise unset the variable to avoid confusion.',
      ),
    );
  } else {
    out.push(ok('aws.proxy', ACCESS, 'no proxy: AWS API calls go direct (aws.proxy is not set)'));
  }
  const e = res.endpoints;
  out.push(
    ok(
      'aws.endpoints',
      ACCESS,
      `endpoints: EC2 ${e.ec2 ?? "the region's (ec2.REGION.amazonaws.com)"}, Route 53 ${e.route53 ?? 'route53.amazonaws.com'}, IMDS ${e.imds}`,
    ),
  );
  return out;
}

/** One call per service the config uses: proves the endpoint answers and accepts the credentials. */
export async function serviceGates(
  ctx: DoctorContext,
  use: AwsUse,
): Promise<{ findings: Finding[]; ec2Blocked: string | null; route53Blocked: string | null }> {
  const out: Finding[] = [];
  let ec2Blocked: string | null = null;
  let route53Blocked: string | null = null;

  const ec2 = use.ec2 ? calls.dryRun(ctx, 'DescribeAvailabilityZones', {}) : Promise.resolve(null);
  const firstZone = ctx.config.resources.find((r) => r.type === 'awsdns')?.params['hostedZoneId'];
  const r53 =
    use.route53 && typeof firstZone === 'string' ? calls.hostedZone(ctx, firstZone) : Promise.resolve(null);
  const [e, r] = await Promise.all([ec2, r53]);
  // A proxy that is down or refuses looks like AWS not answering: say that it was in the way.
  const via = ctx.resolution.proxy === null ? '' : ` through the proxy ${ctx.resolution.proxy}`;

  if (e !== null) {
    const endpoint = ctx.resolution.endpoints.ec2 ?? `the EC2 endpoint of ${ctx.resolution.region ?? '?'}`;
    // Allowed or denied, the endpoint answered and recognised the credentials.
    if (e.ok) {
      out.push(
        ok(
          'aws.ec2',
          ACCESS,
          `${endpoint} answers and accepts the credentials (DescribeAvailabilityZones DryRun)`,
          e.ms,
        ),
      );
    } else {
      const p = callProblem(
        e.error,
        { service: 'ec2', operation: 'DescribeAvailabilityZones' },
        {
          failed: failedCodes(use, 'ec2'),
          timeout: timeoutCodes(use, 'ec2'),
          access: accessCodes(use) ?? CODES.vipAccess,
        },
        { permission: 'Grant ec2:DescribeAvailabilityZones to the instance role or user of this machine.' },
      );
      const blocking =
        isCredentialError(e.error) ||
        (e.error instanceof AwsCallError && (e.error.kind === 'no-answer' || e.error.kind === 'access'));
      if (blocking) ec2Blocked = `EC2 cannot be used from this machine (see aws.ec2 above)`;
      out.push(problemFinding('aws.ec2', ACCESS, { ...p, message: `${endpoint}${via}: ${p.message}` }, e.ms));
    }
  }
  if (r !== null) {
    const endpoint = ctx.resolution.endpoints.route53 ?? 'route53.amazonaws.com';
    const answered =
      r.ok || (r.error instanceof AwsCallError && r.error.kind === 'answered' && !isCredentialError(r.error));
    if (answered) {
      out.push(
        ok('aws.route53', ACCESS, `${endpoint} answers and accepts the credentials (GetHostedZone)`, r.ms),
      );
    } else {
      const p = callProblem(
        r.error,
        { service: 'route53', operation: 'GetHostedZone' },
        { failed: CODES.dnsFailed, timeout: timeoutCodes(use, 'route53'), access: CODES.dnsAccess },
        { permission: 'Grant route53:GetHostedZone to the instance role or user of this machine.' },
      );
      const remedy =
        r.error instanceof AwsCallError && r.error.kind === 'no-answer'
          ? `${p.remedy} A VPC endpoint does not serve Route 53 ("Could not connect to the endpoint URL"): reach it through a NAT gateway or aws.proxy.`
          : p.remedy;
      if (p.status === 'error')
        route53Blocked = 'Route 53 cannot be used from this machine (see aws.route53 above)';
      out.push(
        problemFinding(
          'aws.route53',
          ACCESS,
          { ...p, message: `${endpoint}${via}: ${p.message}`, remedy },
          r.ms,
        ),
      );
    }
  }
  return { findings: out, ec2Blocked, route53Blocked };
}

/** The IMDS checks, and what IMDS says about this machine. */
export async function imdsFindings(
  ctx: DoctorContext,
): Promise<{ findings: Finding[]; local: LocalMachine }> {
  const fencing = ctx.config.fencing;
  const local: LocalMachine = { instanceId: null, availabilityZone: null, vpcId: null, server: ctx.server };
  const needed = needsImds(ctx.resolution);
  const endpoint = ctx.resolution.endpoints.imds;
  const id = await calls.imds(ctx, 'meta-data/instance-id');
  if (!id.ok) {
    const err = id.error;
    if (err instanceof AwsCallError && err.kind === 'access') {
      // AWS_EC2_METADATA_DISABLED: the operator turned it off on purpose.
      const f = needed
        ? finding(
            'imds.reachable',
            'error',
            IMDS,
            accessCodes(awsUseOf(ctx)),
            `the instance metadata is turned off (${err.awsMessage}), and the region or the credentials need it`,
            'Unset AWS_EC2_METADATA_DISABLED, or set the region (aws.region) and credentials (a profile or keys) so that nothing depends on the instance metadata.',
          )
        : skipped(
            'imds.reachable',
            IMDS,
            `the instance metadata is turned off (${err.awsMessage}); region and credentials come from elsewhere`,
          );
      return { findings: [f], local };
    }
    const why =
      err instanceof AwsCallError ? err.awsMessage : err instanceof Error ? err.message : String(err);
    return {
      findings: [
        finding(
          'imds.reachable',
          needed ? 'error' : 'warning',
          IMDS,
          needed ? accessCodes(awsUseOf(ctx)) : null,
          `the instance metadata at ${endpoint} cannot be read (IMDSv2 token and meta-data/instance-id): ${why}` +
            (needed
              ? '; the region or the credentials need it'
              : '; region and credentials come from elsewhere'),
          needed
            ? 'On EC2: check that the instance metadata service is enabled with IMDSv2 tokens allowed (aws ec2 modify-instance-metadata-options --http-endpoint enabled), that the hop limit is at least 2 in containers, and that no firewall drops 169.254.169.254; or configure the region and credentials explicitly.'
            : 'Nothing to do when this machine is not an EC2 instance (e.g. against the simulator); on EC2, check that the instance metadata service is enabled, since the AWS monitors and the instance checks below rely on it.',
          id.ms,
        ),
      ],
      local,
    };
  }
  local.instanceId = id.value.trim();
  // Placement and VPC are only informative (zone and zone-association checks); failures are ignored.
  const [az, mac] = await Promise.all([
    calls.imds(ctx, 'meta-data/placement/availability-zone'),
    calls.imds(ctx, 'meta-data/mac'),
  ]);
  if (az.ok) local.availabilityZone = az.value.trim();
  if (mac.ok) {
    const vpc = await calls.imds(ctx, `meta-data/network/interfaces/macs/${mac.value.trim()}/vpc-id`);
    if (vpc.ok) local.vpcId = vpc.value.trim();
  }
  if (local.server === null && fencing !== null) {
    local.server =
      Object.entries(fencing.servers).find(([, s]) => s.instanceId === local.instanceId)?.[0] ?? null;
  }

  const out: Finding[] = [];
  const ms = Math.round(id.ms);
  const where = [local.availabilityZone, local.vpcId].filter((x) => x !== null).join(', ');
  const about = `this machine is ${local.instanceId}${where === '' ? '' : ` (${where})`}`;
  if (needed && ms > SLOW_IMDS_MS) {
    out.push(
      finding(
        'imds.reachable',
        'warning',
        IMDS,
        null,
        `the instance metadata at ${endpoint} answers slowly (${ms} ms for token and instance-id), and the credentials come from it: AWS calls start late and may time out`,
        'Find what slows the instance metadata down (load of this machine, a proxy or firewall intercepting 169.254.169.254); or give this machine an access key (aws configure) so the credentials do not depend on it, as the seed suggests.',
        id.ms,
      ),
    );
  } else {
    out.push(
      ok('imds.reachable', IMDS, `the instance metadata at ${endpoint} answers in ${ms} ms: ${about}`, id.ms),
    );
  }

  const server = ctx.server;
  const expected = server === null ? undefined : fencing?.servers[server]?.instanceId;
  if (server !== null && expected !== undefined) {
    if (expected === local.instanceId) {
      out.push(
        ok(
          'imds.instance',
          IMDS,
          `this machine is ${expected}, as fencing.servers.${server}.instanceId says`,
        ),
      );
    } else {
      out.push(
        finding(
          'imds.instance',
          'warning',
          IMDS,
          null,
          `this machine is ${local.instanceId}, the config says ${server} is ${expected} (fencing.servers.${server}.instanceId)`,
          `Run tandem doctor --server with the name of this machine's server, or correct fencing.servers.${server}.instanceId: the other servers would stop the wrong instance when fencing ${server}.`,
        ),
      );
    }
  }
  return { findings: out, local };
}
